"""The wildcard constraints of every rule, next to the names they must accept.

The Mapper wildcards (``cloud``, ``setting``) are :data:`cnntopo.names.WILDCARD_PATTERNS`,
built from the same pieces as the name formatters; the PH wildcards are written here.
``tests/test_plan_wildcards.py`` checks that every name the layout of a configuration
produces matches its constraint.

Examples
--------
>>> import re
>>> bool(re.fullmatch(PH_PATTERNS["measure"], "sliced_wasserstein_H1"))
True
>>> bool(re.fullmatch(PH_PATTERNS["layer"], "block_seq.0.0.conv1"))
True
"""

from __future__ import annotations

from cnntopo.names import WILDCARD_PATTERNS

__all__ = ["PH_PATTERNS", "wildcard_constraints"]

#: Regular expressions of the nets and PH wildcards.
PH_PATTERNS: dict[str, str] = {
    # a model seed
    "seed": r"\d+",
    # a module path of the network: dotted identifiers ("layer4.1.bn2", "features.0")
    "layer": r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*",
    # a figure format: figures.extra_formats and the report's png
    "ext": r"png|pdf|svg",
    # a diagram distance
    "metric": r"sliced_wasserstein|wasserstein|bottleneck",
    # a diagram distance on H_dim ("sliced_wasserstein_H1"), a similarity measure label
    # ("cka_linear", "cka_rbf_0.4", a user function's name) or "cka" (the figures' short
    # name of linear CKA)
    "measure": r"[A-Za-z_][A-Za-z0-9_]*|cka_rbf_[0-9.e+-]+",
    # a representation of the similarity measures
    "representation": r"topl2|flat|pool",
}


def wildcard_constraints() -> dict[str, str]:
    """Wildcard name -> regular expression, for Snakemake's global ``wildcard_constraints``.

    Returns
    -------
    dict of str to str
        The PH patterns (:data:`PH_PATTERNS`) and the Mapper ones
        (:data:`cnntopo.names.WILDCARD_PATTERNS`).
    """
    return {**PH_PATTERNS, **WILDCARD_PATTERNS}
