"""The plan of the representative-cycles jobs (``rules/ph/cycles.smk``; torch-free).

One ``cycles`` job per (representation, model) reads that model's clouds (``topl2``:
the point clouds; ``flat``, ``pool``: the similarity representation files, through
:func:`cnntopo.ph.representations.representation_distances`) and their diagrams,
and writes one JSON per layer; one ``figure_cycles`` job per (representation, plotted
model) draws every layer's loops as rings of images; one ``cycles_page`` job writes the
page of all of them.

Examples
--------
>>> from cnntopo.config import load_config                    # doctest: +SKIP
>>> CyclesPlan(Plan(load_config("config/tiny.yaml"))).outputs  # doctest: +SKIP
['results/tiny/figures/cycles/topl2_seed0.png', ...]
"""

from __future__ import annotations

from cnntopo.paths import LAYOUT, fill

__all__ = ["CYCLES_LAYOUT", "CyclesPlan"]

#: Output templates of the cycles jobs (entries of :data:`cnntopo.paths.LAYOUT`).
CYCLES_LAYOUT: dict[str, str] = {
    name: LAYOUT[name] for name in ("cycles", "fig_cycles", "cycles_page")
}


class CyclesPlan:
    """What the cycles rules ask of one experiment's :class:`cnntopo.plan.Plan`.

    Parameters
    ----------
    plan : cnntopo.plan.Plan

    Attributes
    ----------
    enabled : bool
        ``cycles.enabled``.
    top_k : int
        ``cycles.top_k``.
    representations : list of str
        ``cycles.representations``, or (when null) ``persistence.representations``
        (``["topl2"]`` where the config has no such key).

    Raises
    ------
    ValueError
        If a representation other than ``topl2`` is not in
        ``persistence.representations`` (its diagrams would not exist).
    """

    def __init__(self, plan):
        self.plan = plan
        config = plan.config
        section = config.get("cycles") or {}
        self.enabled = bool(section.get("enabled", True))
        self.top_k = int(section.get("top_k", 3))
        with_diagrams = list(config["persistence"].get("representations") or ["topl2"])
        reps = section.get("representations")
        self.representations = list(dict.fromkeys(reps if reps is not None else with_diagrams))
        missing = [r for r in self.representations if r != "topl2" and r not in with_diagrams]
        if missing:
            raise ValueError(
                f"config key 'cycles.representations': {missing} have no persistence diagrams; "
                f"add them to persistence.representations (now {with_diagrams}) or drop them"
            )

    def path(self, name: str, **fields) -> str:
        """The path of output ``name`` of :data:`CYCLES_LAYOUT` (unset fields stay wildcards)."""
        return fill(CYCLES_LAYOUT[name], out=self.plan.out, **fields)

    def json_files(self, representation="{representation}", seed="{seed}") -> list[str]:
        """One model's cycle files, one per recorded layer, in layer order."""
        return [
            self.path("cycles", representation=representation, seed=seed, layer=layer)
            for layer in self.plan.layers
        ]

    def figure_files(self, representation="{representation}", seed="{seed}") -> list[str]:
        """One model's ring figure (a row per layer) in every figure format."""
        return [
            self.path("fig_cycles", representation=representation, seed=seed, ext=ext)
            for ext in self.plan.ext
        ]

    def inputs(self, wildcards) -> dict[str, list[str] | str]:
        """Inputs of one ``cycles`` job: the clouds (or representation file) and diagrams."""
        P, rep, seed = self.plan.paths, wildcards.representation, wildcards.seed
        layers = self.plan.layers
        if rep == "topl2":
            return {
                "clouds": P.expand("pointcloud", seed=seed, layer=layers),
                "diagrams": P.expand("diagram", seed=seed, layer=layers),
            }
        key = "representation_diagram" if "representation_diagram" in LAYOUT else "diagram"
        return {
            "rep": P("similarity_rep", representation=rep, seed=seed),
            "diagrams": P.expand(key, representation=rep, seed=seed, layer=layers),
        }

    @property
    def page_inputs(self) -> list[str]:
        """Every cycle file (the page's data), representation-major, then seed and layer."""
        return [
            f
            for rep in self.representations
            for s in self.plan.seeds
            for f in self.json_files(rep, s)
        ]

    @property
    def labels(self) -> list[list]:
        """``[representation, seed, layer]`` of every file of :attr:`page_inputs`."""
        return [
            [rep, int(s), layer]
            for rep in self.representations
            for s in self.plan.seeds
            for layer in self.plan.layers
        ]

    @property
    def representation_pattern(self) -> str:
        """The ``{representation}`` wildcard's values for these rules."""
        return "|".join(self.representations) or "topl2"

    @property
    def explorer_links(self) -> list[list[str]]:
        """Header links of the Mapper explorer pages (``mapper/explorer/<cloud>.html``) to
        the cycles page, when it is built."""
        if not self.outputs:
            return []
        return [["representative cycles", "../../cycles/index.html"]]

    @property
    def outputs(self) -> list[str]:
        """The default target's share: ring figures of the plotted models and the page."""
        if not self.enabled or not self.representations:
            return []
        out = [
            f
            for rep in self.representations
            for s in self.plan.fig_seeds
            for f in self.figure_files(rep, s)
        ]
        return [*out, self.path("cycles_page")]
