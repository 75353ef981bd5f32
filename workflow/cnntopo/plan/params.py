"""Params that carry their names: a fingerprint param for Snakemake's params check.

Snakemake (9.x) records a job's params as a *set of serialized values without their
names* (``Persistence._params``: ``sorted(repr(v) for v in job.non_derived_params)``) and
reruns a job only when that set changes. Two params that swap values, or one that takes
a value another param already has (``sensitivity.step: 2 -> 1`` next to ``maxdim: 1``),
leave the set unchanged, so the job is not rerun. :func:`named` adds one param,
``fingerprint``, whose value is the dict ``{name: value}`` of every other param: any
change of any named value changes its ``repr``, hence the recorded set.

Examples
--------
>>> p = named(step=2, maxdim=1, title="seed {seed}", label=lambda w: w["seed"])
>>> sorted(p)
['fingerprint', 'label', 'maxdim', 'step', 'title']
>>> p["fingerprint"]({"seed": "3"})
{'step': 2, 'maxdim': 1, 'title': 'seed {seed}', 'label': '3'}
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["FINGERPRINT", "named", "is_derived", "fingerprint_values", "job_params"]

#: Name of the extra param (scripts ignore it).
FINGERPRINT = "fingerprint"

#: Arguments that make Snakemake treat a param function as *derived* (from the job's
#: files or resources) and leave it out of the params check (``Rule._is_deriving_function``).
_DERIVING = frozenset({"input", "output", "threads", "resources"})


def is_derived(value: Any) -> bool:
    """Whether Snakemake leaves the param ``value`` out of its params check.

    A callable whose signature names ``input``, ``output``, ``threads`` or
    ``resources`` (Snakemake's rule for derived params); everything else is compared.

    >>> is_derived(lambda wildcards: 1), is_derived(lambda wildcards, input: 1), is_derived(3)
    (False, True, False)
    """
    if not callable(value):
        return False
    try:
        names = set(inspect.signature(value).parameters)
    except (TypeError, ValueError):
        return False
    return bool(names & _DERIVING)


def fingerprint_values(params: Mapping[str, Any], wildcards: Any) -> dict[str, Any]:
    """``{name: value}`` of the compared params of one job.

    Parameters
    ----------
    params : mapping of str to object
        A rule's params as written (values, or callables of ``wildcards``).
    wildcards : snakemake.io.Wildcards or mapping
        The job's wildcards; callables get it as their one positional argument.

    Returns
    -------
    dict
        Every param that is not derived (:func:`is_derived`), callables evaluated, in the
        order written. Static strings are kept as written (their wildcard templates are
        fixed by the rule; the wildcard values are part of the job's output paths).
    """
    return {
        name: value(wildcards) if callable(value) else value
        for name, value in params.items()
        if not is_derived(value)
    }


def named(**params: Any) -> dict[str, Any]:
    """A rule's params plus their fingerprint (use as ``params: **named(a=..., b=...)``).

    Parameters
    ----------
    **params
        The rule's params: values, or callables of ``wildcards`` only (evaluated per job),
        or derived callables (arguments ``input``, ``output``, ``threads``,
        ``resources``; left out of the fingerprint, as Snakemake leaves them out of
        its params check).

    Returns
    -------
    dict
        ``params`` and ``fingerprint``: a callable of ``wildcards`` returning
        :func:`fingerprint_values` (a dict: Snakemake does not wildcard-format the values
        a param function returns, so strings with braces are safe). The callable's
        attribute ``params`` holds the params as written.

    Raises
    ------
    ValueError
        If a param is itself called ``fingerprint``.
    """
    if FINGERPRINT in params:
        raise ValueError(
            f"a rule param may not be called {FINGERPRINT!r}: named() adds it; rename the param"
        )
    frozen = dict(params)

    def fingerprint(wildcards: Any) -> dict[str, Any]:
        return fingerprint_values(frozen, wildcards)

    fingerprint.params = frozen  # type: ignore[attr-defined]
    return {**frozen, FINGERPRINT: fingerprint}


def raw_params(fingerprint: Callable) -> dict[str, Any]:
    """The params as written of a :func:`named` fingerprint (for tests and tools)."""
    return dict(fingerprint.params)  # type: ignore[attr-defined]


def job_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A job's params for its script's function: every param but the fingerprint.

    Scripts pass their rule's params on as keyword arguments
    (``f(**job_params(snakemake.params))``); the fingerprint exists for Snakemake's
    params check only.

    >>> job_params({"step": 2, FINGERPRINT: {"step": 2}})
    {'step': 2}
    """
    return {name: value for name, value in dict(params).items() if name != FINGERPRINT}
