"""The plan: a validated configuration turned into everything the rule files ask (torch-free).

The rule files keep only glue; what they ask lives here, one concept per module:

- :mod:`cnntopo.plan.core`: :class:`Plan` (outputs, layers and shapes, targets);
- :mod:`cnntopo.plan.ph`: inputs and params of the nets and PH jobs;
- :mod:`cnntopo.plan.mapper`: the Mapper clouds, their rules, the setting table, targets;
- :mod:`cnntopo.plan.resources`: every resource request (formulas in
  :mod:`cnntopo.resources` and :mod:`cnntopo.mapper.resources`);
- :mod:`cnntopo.plan.wildcards`: the wildcard constraints;
- :mod:`cnntopo.plan.params`: :func:`named`, params that carry their names.
"""

from cnntopo.plan.core import Plan
from cnntopo.plan.params import FINGERPRINT, named
from cnntopo.plan.wildcards import PH_PATTERNS, wildcard_constraints

__all__ = ["Plan", "named", "FINGERPRINT", "PH_PATTERNS", "wildcard_constraints"]
