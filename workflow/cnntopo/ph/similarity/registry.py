"""The measures by name, and the door for user-written measures.

- :data:`MEASURES`: the built-in measures (:class:`Measure`: function, kind, Gram form).
- :func:`resolve`: a built-in name or a user measure ``"python:<file.py>:<function>"``.
- :func:`check_user_measure`: the check run when the workflow is planned.
- :func:`measure_specs`, :func:`user_files`: what the ``similarity`` config asks for.

**User measures.** ``similarity.measures`` may list ``"python:my_measure.py:score"``
next to the built-in names. ``score(x, y)`` receives two float64 arrays of shape
``(n, p)`` and ``(n, q)`` whose rows are the same ``n`` images in the same order, in
the representation compared (``topl2``, ``pool``: the stored features; ``flat``, stored
as Gram matrices only: the *principal coordinates*, an isometric ``n x rank`` embedding,
i.e. the centred flattened activations up to an orthogonal transform, see
:func:`cnntopo.ph.similarity.principal_coordinates`). It returns a finite real number:
larger = more alike, unless the function has an attribute ``kind = "distance"``
(smaller = more alike). Where the measure is undefined on an input it may raise
:class:`~cnntopo.ph.similarity.base.UndefinedMeasureError` (the entry becomes NaN
with that reason); a NaN return, another return type or any other exception is an
error that names the file and the function. The output rows are labelled by the
function's name. A relative file path is relative to the current working directory
(the workflow's root when Snakemake runs).
"""

from __future__ import annotations

import importlib.util
import math
import numbers
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from cnntopo.ph.similarity.base import UndefinedMeasureError
from cnntopo.ph.similarity.cca import cca, cca_from_grams, pwcca, svcca, svcca_from_grams
from cnntopo.ph.similarity.cka import cka_debiased, cka_from_grams, cka_linear, cka_rbf
from cnntopo.ph.similarity.grams import rbf_from_linear_gram
from cnntopo.ph.similarity.neighbours import (
    knn_jaccard,
    knn_jaccard_from_grams,
    mutual_knn,
    mutual_knn_from_grams,
)
from cnntopo.ph.similarity.procrustes import procrustes, procrustes_from_grams
from cnntopo.ph.similarity.rtd import RTD_BATCH_SIZE, RTD_BATCHES, rtd, rtd_from_grams

__all__ = [
    "Measure",
    "MEASURES",
    "USER_PREFIX",
    "builtin_names",
    "is_user_spec",
    "parse_user_spec",
    "resolve",
    "check_user_measure",
    "measure_specs",
    "user_files",
]

#: Prefix of a user measure in ``similarity.measures``: ``"python:<file.py>:<function>"``.
USER_PREFIX = "python:"


class Measure(NamedTuple):
    """A representational-similarity measure, for callers that loop over measures.

    Attributes
    ----------
    function : callable
        ``function(X, Y, **params) -> float`` on two ``(n, p)`` representations.
    kind : {"similarity", "distance"}
        Larger is closer (``"similarity"``) or smaller is closer (``"distance"``);
        the ``kind`` argument of :mod:`cnntopo.ph.specificity`.
    from_grams : callable or None
        ``from_grams(K, L, **params) -> float``: the same measure from the two
        *linear* Gram matrices ``X X^T`` and ``Y Y^T`` (e.g. from
        :func:`cnntopo.ph.representations.centred_gram`), or None if the measure
        needs the features (PWCCA). For ``cka_rbf`` it builds the RBF kernels with
        :func:`rbf_from_linear_gram` first.
    """

    function: Callable[..., float]
    kind: str
    from_grams: Callable[..., float] | None


def _cka_linear_from_grams(K: Any, L: Any) -> float:
    return cka_from_grams(K, L)


def _cka_debiased_from_grams(K: Any, L: Any) -> float:
    return cka_from_grams(K, L, debiased=True)


def _cka_rbf_from_grams(
    K: Any, L: Any, sigma_frac: float = 0.4, *, debiased: bool = False, include_self: bool = False
) -> float:
    return cka_from_grams(
        rbf_from_linear_gram(K, sigma_frac, include_self=include_self),
        rbf_from_linear_gram(L, sigma_frac, include_self=include_self),
        debiased=debiased,
    )


#: The measures by name: linear, RBF and debiased CKA, orthogonal Procrustes,
#: mean CCA, SVCCA and PWCCA; k-NN Jaccard and mutual k-NN (:mod:`.neighbours`) and
#: the Representation Topology Divergence (:mod:`.rtd`), whose Gram forms the engines
#: evaluate through :data:`cnntopo.ph.similarity.prepared.GRAM_PREPARATIONS`.
MEASURES: dict[str, Measure] = {
    "cka_linear": Measure(cka_linear, "similarity", _cka_linear_from_grams),
    "cka_rbf": Measure(cka_rbf, "similarity", _cka_rbf_from_grams),
    "cka_debiased": Measure(cka_debiased, "similarity", _cka_debiased_from_grams),
    "procrustes": Measure(procrustes, "distance", procrustes_from_grams),
    "cca": Measure(cca, "similarity", cca_from_grams),
    "svcca": Measure(svcca, "similarity", svcca_from_grams),
    "pwcca": Measure(pwcca, "similarity", None),
    "knn_jaccard": Measure(knn_jaccard, "similarity", knn_jaccard_from_grams),
    "mutual_knn": Measure(mutual_knn, "similarity", mutual_knn_from_grams),
    "rtd": Measure(rtd, "distance", rtd_from_grams),
}


#: The ``similarity.rtd`` settings that reach :func:`rtd`, with the library defaults.
_RTD_DEFAULTS = {
    "batch_size": RTD_BATCH_SIZE,
    "n_batches": RTD_BATCHES,
    "seed": 0,
    "backend": "ripser",
}


def builtin_names() -> list[str]:
    """Names of the built-in measures (the keys of :data:`MEASURES`), in registry order."""
    return list(MEASURES)


def is_user_spec(spec: Any) -> bool:
    """Whether ``spec`` is a user measure ``"python:<file.py>:<function>"`` (by its prefix)."""
    return isinstance(spec, str) and spec.startswith(USER_PREFIX)


def parse_user_spec(spec: str) -> tuple[str, str]:
    """Split ``"python:<file.py>:<function>"`` into ``(file, function)``.

    Raises
    ------
    ValueError
        If ``spec`` lacks the prefix, the file or the function name, or the file does
        not end in ``.py``.
    """
    if not is_user_spec(spec):
        raise ValueError(
            f"{spec!r} is not a user measure; write it as 'python:<file.py>:<function>'"
        )
    file, sep, function = spec[len(USER_PREFIX) :].rpartition(":")
    if not sep or not file or not function:
        raise ValueError(
            f"user measure {spec!r} must be 'python:<file.py>:<function>', e.g. "
            "'python:my_measure.py:score'"
        )
    if not file.endswith(".py"):
        raise ValueError(f"user measure {spec!r}: the file {file!r} must be a .py file")
    if not function.isidentifier():
        raise ValueError(f"user measure {spec!r}: {function!r} is not a Python function name")
    return file, function


#: Loaded user modules by (absolute path, modification time).
_MODULES: dict[tuple[str, int], Any] = {}


def _load_function(file: str, function: str) -> Callable[..., Any]:
    """Import ``file`` (relative to the working directory) and return its ``function``."""
    where = f"user measure {function!r} in {file!r}"
    path = Path(file)
    if not path.is_file():
        raise ValueError(
            f"{where}: the file {file!r} does not exist (relative paths are relative to the "
            f"working directory {os.getcwd()!r}, the workflow's root)"
        )
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    module = _MODULES.get(key)
    if module is None:
        name = f"cnntopo_user_measure_{abs(hash(key))}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ValueError(f"{where}: {file!r} cannot be imported as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as err:
            del sys.modules[name]
            raise ValueError(
                f"{where}: importing {file!r} failed: {type(err).__name__}: {err}"
            ) from err
        _MODULES[key] = module
    if not hasattr(module, function):
        defined = sorted(
            n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
        )
        raise ValueError(f"{where}: {file!r} defines no {function!r}; it defines {defined}")
    fn = getattr(module, function)
    if not callable(fn):
        raise ValueError(f"{where}: {function!r} is a {type(fn).__name__}, not a function")
    return fn


def _user_kind(fn: Any, where: str) -> str:
    kind = getattr(fn, "kind", "similarity")
    if kind not in ("similarity", "distance"):
        raise ValueError(
            f"{where}: its attribute kind = {kind!r} must be 'similarity' (larger = more alike, "
            "the default) or 'distance' (smaller = more alike)"
        )
    return kind


def _as_value(value: Any, where: str) -> float:
    """The user function's return value as a finite float, or ValueError naming it."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"{where} returned {type(value).__name__} {value!r:.80}; it must return one real "
            "number (a float) for the two representations"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(
            f"{where} returned {value}; it must return a finite number. Where the measure is "
            "undefined on an input, raise cnntopo.ph.similarity.UndefinedMeasureError instead"
        )
    return value


def _user_measure(spec: str) -> Measure:
    file, function = parse_user_spec(spec)
    fn = _load_function(file, function)
    where = f"user measure {function!r} in {file!r}"
    kind = _user_kind(fn, where)

    def measure(X: Any, Y: Any) -> float:
        x = np.asarray(X, dtype=np.float64)
        y = np.asarray(Y, dtype=np.float64)
        try:
            value = fn(x, y)
        except UndefinedMeasureError:
            raise
        except Exception as err:
            raise ValueError(
                f"{where} raised {type(err).__name__} on inputs of shapes {x.shape} and "
                f"{y.shape}: {err}"
            ) from err
        return _as_value(value, where)

    measure.__name__ = function
    measure.__qualname__ = function
    measure.__doc__ = f"{where} (kind {kind!r}), checked: a finite float per call."
    return Measure(measure, kind, None)


def resolve(spec: str) -> Measure:
    """The measure of a ``similarity.measures`` entry.

    Parameters
    ----------
    spec : str
        A built-in name (a key of :data:`MEASURES`) or a user measure
        ``"python:<file.py>:<function>"`` (see the module docstring).

    Returns
    -------
    Measure
        For a user measure: ``function(x, y) -> float`` (the user's function, its
        return value checked at every call), ``kind`` from the function's ``kind``
        attribute (default ``"similarity"``), ``from_grams`` None.

    Raises
    ------
    ValueError
        If ``spec`` is neither, or the user file / function cannot be loaded (the
        message names both).
    """
    if is_user_spec(spec):
        return _user_measure(spec)
    if spec not in MEASURES:
        raise ValueError(
            f"unknown measure {spec!r}; expected one of {builtin_names()} or a user measure "
            "'python:<file.py>:<function>'"
        )
    return MEASURES[spec]


def check_user_measure(spec: str) -> None:
    """Check a user measure when the workflow is planned (before any job runs).

    The file exists and imports, the function exists and is callable, its ``kind`` is
    valid, and on a small seeded random pair of representations (20 images, 5 and 3
    features, the second a noisy linear map of the first) it returns a finite float.

    Raises
    ------
    ValueError
        Naming the file and the function, on any failure.
    """
    measure = _user_measure(spec)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 5))
    y = x @ rng.normal(size=(5, 3)) + 0.1 * rng.normal(size=(20, 3))
    try:
        measure.function(x, y)
    except UndefinedMeasureError as err:
        file, function = parse_user_spec(spec)
        raise ValueError(
            f"user measure {function!r} in {file!r} is undefined on a generic random pair of "
            f"(20, 5) and (20, 3) representations: {err}"
        ) from err


def _user_label(spec: str) -> str:
    return parse_user_spec(spec)[1]


def measure_specs(similarity: Mapping[str, Any]) -> list[dict]:
    """The ``similarity.measures`` as jobs read them: label, name and parameters of each.

    RBF CKA gives one entry per bandwidth (label ``cka_rbf_<sigma>``), SVCCA carries
    ``similarity.svcca_keep``, ``knn_jaccard`` and ``mutual_knn`` carry ``k`` and
    ``metric`` (``similarity.knn_k``, ``similarity.knn_metric``), ``rtd`` carries
    ``batch_size``, ``n_batches``, ``seed`` and ``backend`` (``similarity.rtd``); their labels stay
    the measure names (one setting per run). A user measure gets its function's name as label, the
    spec string as name and no parameters.

    >>> measure_specs({"measures": ["cka_linear", "cka_rbf"], "rbf_sigmas": [0.4]})
    ... # doctest: +NORMALIZE_WHITESPACE
    [{'label': 'cka_linear', 'name': 'cka_linear', 'params': {}},
     {'label': 'cka_rbf_0.4', 'name': 'cka_rbf', 'params': {'sigma_frac': 0.4}}]

    Raises
    ------
    ValueError
        If two entries get the same label (e.g. a user function named ``cka_linear``
        next to the built-in).
    """
    out = []
    for name in similarity["measures"]:
        if is_user_spec(name):
            out.append({"label": _user_label(name), "name": name, "params": {}})
        elif name == "cka_rbf":
            out += [
                {"label": f"cka_rbf_{s:g}", "name": name, "params": {"sigma_frac": float(s)}}
                for s in similarity["rbf_sigmas"]
            ]
        elif name == "svcca":
            out.append({"label": name, "name": name, "params": {"keep": similarity["svcca_keep"]}})
        elif name in ("knn_jaccard", "mutual_knn"):
            # a validated config has every key; the library defaults stand in otherwise
            params = {
                "k": int(similarity.get("knn_k", 10)),
                "metric": similarity.get("knn_metric", "cosine"),
            }
            out.append({"label": name, "name": name, "params": params})
        elif name == "rtd":
            settings = {**_RTD_DEFAULTS, **(similarity.get("rtd") or {})}
            params = {k: settings[k] for k in _RTD_DEFAULTS}
            out.append({"label": name, "name": name, "params": params})
        else:
            out.append({"label": name, "name": name, "params": {}})
    labels = [m["label"] for m in out]
    twice = sorted({x for x in labels if labels.count(x) > 1})
    if twice:
        raise ValueError(
            f"similarity.measures gives the label(s) {twice} twice; rename the user function(s)"
        )
    return out


def user_files(similarity: Mapping[str, Any]) -> list[str]:
    """The files of the user measures in ``similarity.measures`` (as written), in order."""
    files = [parse_user_spec(m)[0] for m in similarity["measures"] if is_user_spec(m)]
    return list(dict.fromkeys(files))
