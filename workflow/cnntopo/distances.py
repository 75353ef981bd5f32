"""Compatibility name of :mod:`cnntopo.ph.distances` (the documented ``cnntopo.distances`` API)."""

from cnntopo.ph.distances import *  # noqa: F403
from cnntopo.ph.distances import __all__  # noqa: F401
