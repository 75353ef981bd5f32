"""Compatibility name of :mod:`cnntopo.ph.persistence` (the documented ``cnntopo.persistence`` API)."""

from cnntopo.ph.persistence import *  # noqa: F403
from cnntopo.ph.persistence import __all__  # noqa: F401
