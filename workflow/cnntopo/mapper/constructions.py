"""The registry of point-cloud constructions of the Mapper branch (torch-free import).

A *construction* turns the activations of one layer for the Mapper images into a point
cloud (docs/methods.md §11). Every entry of ``mapper.constructions`` resolves to one
:class:`Construction`: a built-in (:data:`BUILTINS`: ``random``, ``full``, ``fg1``,
``fg5``, ``bg1``, ``bg5``) or a user function ``"python:<file.py>:<function>"``. An entry
knows everything the workflow needs of it: its cloud name (the ``{cloud}`` wildcard),
the rule group its job belongs to, the ``mapper`` key listing its layers, the user files
its job reads, the config values it reads (:meth:`Construction.settings`), and how to
build a cloud (:meth:`Construction.prepare`, :meth:`Construction.build`: the one routing
point of :func:`cnntopo.stages.mapper.clouds.mapper_clouds`). Adding a built-in is one
entry of :data:`BUILTINS` (and its builder, if none fits); :mod:`cnntopo.names` derives
the cloud grammar from this module. The user door's parsing, import and output checks
live in :mod:`cnntopo.mapper.user_construction` (re-exported here).

The user door
-------------
``mapper.constructions: [random, "python:my_cloud.py:gap"]`` with, in ``my_cloud.py``::

    import numpy as np

    def gap(activations, labels):
        # activations: (N, c, h, w) float32, labels: (N,) int64 -> (N, c) points
        return activations.mean(axis=(2, 3))

``function(activations, labels)`` receives the layer's outputs for the ``N`` Mapper
images (float32 numpy, ``(N, *layer shape)``: ``(N, c, h, w)`` for convolutional
layers, ``(N, tokens, d)`` or ``(N, c)`` for others; for the option-B network's
``*.bn2`` layers the official values, BN2 plus the shortcut before the ReLU) and their
classes (``(N,)`` int64, class-major), and returns either the points ``(m, d)`` or a
tuple ``(points, image_index)`` with ``image_index`` ``(m,)`` integers in ``[0, N)``: the
image each point comes from. Without an index, point ``i`` is image ``i`` (``m`` must
be ``N``). The cloud's name is the function's name (``gap``). Its file is like a
built-in's (:func:`cnntopo.mapper.clouds.build_user_cloud`), so graphs, purity and the
explorer read it unchanged. Noisy versions (``mapper.noise``) exist for built-ins only.
Relative file paths are relative to the working directory of the workflow.

References
----------
.. [1] Purvine, E., et al. 2023. Experimental Observations of the Topology of
   Convolutional Neural Network Activations. AAAI. arXiv:2212.00222.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnntopo.mapper.user_construction import (
    RESERVED_NAMES,
    USER_FORM,
    USER_NAME,
    USER_PREFIX,
    UserSpec,
    check_cloud_name,
    check_user_construction,
    check_user_output,
    file_sha256,
    is_user_spec,
    load_user_function,
    parse_user_spec,
)

__all__ = [
    "BUILTINS",
    "Construction",
    "USER_FORM",
    "USER_NAME",
    "USER_PREFIX",
    "RESERVED_NAMES",
    "UserSpec",
    "builtin_names",
    "check_cloud_name",
    "check_user_construction",
    "check_user_output",
    "is_user_spec",
    "load_user_function",
    "parse_user_spec",
    "resolve",
    "resolve_all",
]

#: Rule groups of the cloud jobs.
RULE_CLOUDS = "mapper_clouds"
RULE_FGBG = "mapper_clouds_fgbg"


# --------------------------------------------------------------------------- the entry


@dataclass(frozen=True)
class Construction:
    """One point-cloud construction: a built-in or a user function.

    Attributes
    ----------
    name : str
        The cloud name (the ``{cloud}`` wildcard): ``"random"``, ``"full"``, ``"fg1"``,
        ... or the user function's name.
    rule : {"mapper_clouds", "mapper_clouds_fgbg"}
        The rule group of its job (the noisy clouds have a rule of their own).
    layers_key : {"layers", "fgbg_layers"}
        The ``mapper`` config key that lists its layers.
    files : tuple of str
        The user files its job reads (inputs of the job); ``()`` for a built-in.
    method : {"random", "full", "foreground", "background", "user"}
        What :func:`cnntopo.mapper.clouds.build_cloud` calls the construction
        (``"user"``: :func:`cnntopo.mapper.clouds.build_user_cloud`).
    topk : int
        Positions per image of the foreground / background clouds (1 otherwise).
    keys : tuple of str
        The settings its job receives (the keys of :meth:`settings`).
    noisy : bool
        Whether ``mapper.noise`` may add noisy versions of it (built-ins only).
    spec : str or None
        The user construction's ``"python:<file.py>:<function>"``; None for a built-in.
    read : callable
        ``read(mapper_config) -> dict``: the values of :attr:`keys` in the config
        section ``mapper``.
    builder : callable
        ``builder(construction, model, images, labels, layer, *, settings, shared,
        **common) -> dict``: one layer's cloud (the dict of
        :func:`cnntopo.mapper.clouds.build_cloud`).
    preparer : callable or None
        ``preparer(construction, images, *, settings, mean, std, image_size, log) ->
        dict``: work shared by the layers of one job (the GrabCut masks); None = nothing.
    """

    name: str
    rule: str
    layers_key: str
    files: tuple[str, ...] = ()
    method: str = "user"
    topk: int = 1
    keys: tuple[str, ...] = ()
    noisy: bool = True
    spec: str | None = None
    read: Callable[[Mapping], dict] = field(default=lambda m: {}, compare=False, repr=False)
    builder: Callable[..., dict] | None = field(default=None, compare=False, repr=False)
    preparer: Callable[..., dict] | None = field(default=None, compare=False, repr=False)

    @property
    def is_user(self) -> bool:
        """A user function (``python:``), not a built-in."""
        return self.spec is not None

    def settings(self, mapper_config: Mapping) -> dict:
        """The config values its job reads.

        Parameters
        ----------
        mapper_config : mapping
            The validated config section ``mapper``.

        Returns
        -------
        dict
            ``random``: ``{"low"}``; ``full``: ``{"cap", "replace"}``; foreground /
            background: ``{"grabcut", "grabcut_iters", "empty_mask", "ties"}``; a user
            construction: ``{"spec"}``.
        """
        return dict(self.read(mapper_config))

    def check_settings(self, settings: Mapping) -> dict:
        """The job's ``construction`` settings, checked against :attr:`keys`.

        Raises
        ------
        ValueError
            A setting is missing or one the construction does not read is given.
        """
        given = set(settings)
        missing = [k for k in self.keys if k not in given]
        extra = sorted(given - set(self.keys))
        if missing or extra:
            raise ValueError(
                f"the {self.name!r} cloud reads the settings {', '.join(self.keys) or 'none'}; "
                f"missing: {', '.join(missing) or 'none'}, unexpected: {', '.join(extra) or 'none'} "
                "(pass Construction.settings(config['mapper']))"
            )
        if self.is_user and settings["spec"] != self.spec:
            raise ValueError(
                f"the {self.name!r} cloud is {self.spec!r}, but its settings name "
                f"{settings['spec']!r}"
            )
        return dict(settings)

    def record(self) -> dict:
        """What a cloud file's ``meta["construction"]`` holds about the construction.

        Built-in: ``{"name", "kind": "builtin"}``. User: ``{"name", "kind": "python",
        "spec", "file", "function", "sha256"}`` (the hash of the file's bytes now).
        """
        if not self.is_user:
            return {"name": self.name, "kind": "builtin"}
        user = parse_user_spec(self.spec)
        return {
            "name": self.name,
            "kind": "python",
            "spec": self.spec,
            "file": user.path,
            "function": user.function,
            "sha256": file_sha256(user.path),
        }

    def prepare(
        self,
        images: np.ndarray,
        *,
        settings: Mapping,
        mean: Sequence[float],
        std: Sequence[float],
        image_size: int,
        log: Callable[[str], None] | None = None,
    ) -> dict:
        """Work shared by the layers of one job (foreground / background: the GrabCut
        masks of ``images``, ``(N, H, W, C)`` uint8); ``{}`` for the others."""
        if self.preparer is None:
            return {}
        return self.preparer(
            self, images, settings=settings, mean=mean, std=std, image_size=image_size, log=log
        )

    def build(
        self,
        model: Any,
        images: np.ndarray,
        labels: np.ndarray,
        layer: str,
        *,
        settings: Mapping,
        shared: Mapping | None = None,
        **common: Any,
    ) -> dict:
        """One layer's cloud.

        Parameters
        ----------
        model : torch.nn.Module
        images : numpy.ndarray, shape (N, H, W, C), uint8
            The Mapper images, class-major.
        labels : numpy.ndarray, shape (N,), int
        layer : str
        settings : mapping
            :meth:`settings` (checked by :meth:`check_settings`).
        shared : mapping, optional
            :meth:`prepare` of the same images and settings.
        **common
            ``seed``, ``mean``, ``std``, ``batch_size``, ``device``, ``image_size``,
            ``shape``, ``sigma``, ``log``: as :func:`cnntopo.mapper.clouds.build_cloud`.

        Returns
        -------
        dict
            ``points`` (P, d) float32, ``labels`` (P,), ``image_index`` (P,),
            ``position`` (P,) (-1 where a point has no spatial position), ``correct``
            (N,), ``meta``.
        """
        if self.builder is None:
            raise ValueError(f"construction {self.name!r} has no builder")
        return self.builder(
            self, model, images, labels, layer, settings=settings, shared=shared or {}, **common
        )


# --------------------------------------------------------------------------- builders


def _build_builtin(c: Construction, model, images, labels, layer, *, settings, shared, **common):
    from cnntopo.mapper.clouds import build_cloud

    return build_cloud(
        model,
        images,
        labels,
        layer,
        c.method,
        topk=c.topk,
        masks=shared.get("masks"),
        **common,
        **settings,
    )


def _prepare_region(c: Construction, images, *, settings, mean, std, image_size, log):
    from cnntopo.mapper.grabcut import grabcut_masks

    masks = grabcut_masks(
        images,
        mode=settings["grabcut"],
        mean=mean,
        std=std,
        iters=settings["grabcut_iters"],
        size=image_size,
        log=log,
    )
    return {"masks": masks}


def _build_user(c: Construction, model, images, labels, layer, *, settings, shared, **common):
    from cnntopo.mapper.clouds import build_user_cloud

    sigma = float(common.pop("sigma", 0.0) or 0.0)
    if sigma:
        raise ValueError(
            f"{c.spec}: noisy clouds (mapper.noise) are built-in only, got sigma={sigma}"
        )
    return build_user_cloud(model, images, labels, layer, c, **common)


def _read_random(m: Mapping) -> dict:
    return {"low": m["random_low"]}


def _read_full(m: Mapping) -> dict:
    return {"cap": m["full"]["cap"], "replace": m["full"]["replace"]}


def _read_region(m: Mapping) -> dict:
    return {
        "grabcut": m["grabcut"]["input"],
        "grabcut_iters": m["grabcut"]["iterations"],
        "empty_mask": m["fgbg"]["empty_mask"],
        "ties": m["fgbg"]["ties"],
    }


_REGION_KEYS = ("grabcut", "grabcut_iters", "empty_mask", "ties")


def _region(name: str, method: str, topk: int) -> Construction:
    return Construction(
        name=name,
        rule=RULE_FGBG,
        layers_key="fgbg_layers",
        method=method,
        topk=topk,
        keys=_REGION_KEYS,
        read=_read_region,
        builder=_build_builtin,
        preparer=_prepare_region,
    )


#: The built-in constructions, by cloud name (P2-P5 of the paper; docs/methods.md §11).
BUILTINS: dict[str, Construction] = {
    c.name: c
    for c in (
        Construction(
            "random", RULE_CLOUDS, "layers", method="random", keys=("low",),
            read=_read_random, builder=_build_builtin,
        ),
        Construction(
            "full", RULE_CLOUDS, "layers", method="full", keys=("cap", "replace"),
            read=_read_full, builder=_build_builtin,
        ),
        _region("fg1", "foreground", 1),
        _region("fg5", "foreground", 5),
        _region("bg1", "background", 1),
        _region("bg5", "background", 5),
    )
}  # fmt: skip


def builtin_names() -> list[str]:
    """The built-in construction names, in registry order.

    >>> builtin_names()
    ['random', 'full', 'fg1', 'fg5', 'bg1', 'bg5']
    """
    return list(BUILTINS)


# --------------------------------------------------------------------------- resolving


def resolve(spec: str) -> Construction:
    """The construction of one ``mapper.constructions`` entry.

    Parameters
    ----------
    spec : str
        A built-in name (:func:`builtin_names`) or ``"python:<file.py>:<function>"``.

    Returns
    -------
    Construction
        A user spec gives ``name`` = the function's name, ``rule="mapper_clouds"``,
        ``layers_key="layers"``, ``files=(file,)``, ``keys=("spec",)``,
        ``noisy=False``. The file is not read here (:func:`check_user_construction`).

    Raises
    ------
    ValueError
        Unknown built-in or a malformed user spec.

    >>> resolve("fg5").rule, resolve("python:my_cloud.py:gap").name
    ('mapper_clouds_fgbg', 'gap')
    """
    if isinstance(spec, str) and spec in BUILTINS:
        return BUILTINS[spec]
    if is_user_spec(spec):
        user = parse_user_spec(spec)
        return Construction(
            name=user.function,
            rule=RULE_CLOUDS,
            layers_key="layers",
            files=(user.path,),
            method="user",
            keys=("spec",),
            noisy=False,
            spec=spec,
            read=lambda m, _spec=spec: {"spec": _spec},
            builder=_build_user,
        )
    raise ValueError(
        f"unknown point-cloud construction {spec!r}; built-in: {', '.join(builtin_names())}, "
        f"or a user function {USER_FORM}"
    )


def resolve_all(specs: Iterable[str]) -> dict[str, Construction]:
    """Cloud name -> construction of every ``mapper.constructions`` entry (config order).

    Raises
    ------
    ValueError
        An entry does not resolve, or two entries give the same cloud name (e.g. two
        files' functions called ``gap``, or ``random`` twice).
    """
    out: dict[str, Construction] = {}
    for spec in specs:
        c = resolve(spec)
        if c.name in out:
            first = out[c.name].spec or c.name
            raise ValueError(
                f"mapper.constructions: {spec!r} and {first!r} both give the cloud "
                f"{c.name!r}; rename one function or drop the duplicate"
            )
        out[c.name] = c
    return out
