"""Representative cycles drawn as rings of the images they pass through.

:func:`ring_figure` draws one model: a row per layer, a panel per cycle: the loop's
images as thumbnails on a circle, in loop order (the birth edge from 12 o'clock
clockwise, in red), joined by the loop's edges, each labelled with its class; the
panel's title gives the bar and the loop's class composition.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["ring_positions", "shown_positions", "class_composition", "ring_figure", "MAX_SHOWN"]

#: Thumbnails drawn per ring (longer loops: evenly spaced ones, marked in the title).
MAX_SHOWN = 24


def ring_positions(n: int) -> np.ndarray:
    """``(n, 2)`` points on the unit circle, from the top, clockwise."""
    t = np.pi / 2 - 2 * np.pi * np.arange(n) / max(n, 1)
    return np.c_[np.cos(t), np.sin(t)]


def shown_positions(n: int, max_shown: int = MAX_SHOWN) -> np.ndarray:
    """Positions along a loop of ``n`` vertices whose images are drawn (all if ``n <= max_shown``)."""
    if n <= max_shown:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n, max_shown, endpoint=False)).astype(int))


def class_composition(labels: Sequence[int], class_names: Sequence[str]) -> list[tuple[str, int]]:
    """``[(class, count), ...]`` of a loop's images, most frequent first (ties by class order)."""
    counts = Counter(int(x) for x in labels)
    return [(class_names[c], k) for c, k in sorted(counts.items(), key=lambda t: (-t[1], t[0]))]


#: Half the side of a ring panel, in axis units (the ring has radius 1).
LIM = 1.45

#: Pixels per side of a ring panel's image layer.
CANVAS = 300


def _rgb(image: np.ndarray) -> np.ndarray:
    """uint8 ``(h, w)``, ``(h, w, 1)`` or ``(h, w, 3)`` -> float ``(h, w, 3)`` in [0, 1]."""
    arr = np.asarray(image, dtype=np.float64) / 255.0
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return np.repeat(arr, 3, axis=2) if arr.shape[2] == 1 else arr[:, :, :3]


def _canvas(thumbs: Sequence[np.ndarray | None], centres: np.ndarray, half: float) -> np.ndarray:
    """One transparent RGBA ``(CANVAS, CANVAS, 4)`` layer with every thumbnail pasted in.

    One image per panel instead of one per thumbnail keeps the figure cheap to draw
    and small as a PDF. Thumbnails are resized by nearest neighbour and framed in grey.
    """
    out = np.zeros((CANVAS, CANVAS, 4))
    side = max(4, int(round(2 * half / (2 * LIM) * CANVAS)))
    for img, (x, y) in zip(thumbs, centres, strict=True):
        if img is None:
            continue
        rgb = _rgb(img)
        rows = np.arange(side) * rgb.shape[0] // side
        cols = np.arange(side) * rgb.shape[1] // side
        tile = np.ones((side, side, 4))
        tile[:, :, :3] = rgb[rows][:, cols]
        tile[[0, -1], :, :3] = 0.55
        tile[:, [0, -1], :3] = 0.55
        r0 = int(round((LIM - y) / (2 * LIM) * CANVAS)) - side // 2
        c0 = int(round((x + LIM) / (2 * LIM) * CANVAS)) - side // 2
        r0, c0 = min(max(r0, 0), CANVAS - side), min(max(c0, 0), CANVAS - side)
        out[r0 : r0 + side, c0 : c0 + side] = tile
    return out


def _draw_ring(ax, cyc, images, class_names, max_shown):
    """One cycle as a ring of thumbnails on ``ax`` (birth edge in red, from the top)."""
    idx, labels = list(cyc["images"]), list(cyc["labels"])
    keep = shown_positions(len(idx), max_shown)
    xy = ring_positions(len(idx))
    ring = np.r_[xy, xy[:1]]
    ax.plot(ring[:, 0], ring[:, 1], color="0.6", lw=1.0, zorder=1)
    ax.plot(ring[:2, 0], ring[:2, 1], color="crimson", lw=2.0, zorder=1)  # the birth edge
    half = min(0.2, 1.1 * np.pi / max(len(keep), 1))  # half a thumbnail's side, axis units
    canvas = _canvas([images.get(int(idx[k])) for k in keep], xy[keep], half)
    ax.imshow(canvas, extent=(-LIM, LIM, -LIM, LIM), interpolation="nearest", zorder=2)
    for k in keep:
        ax.text(*(xy[k] * (1.08 + 1.2 * half)), class_names[int(labels[k])], ha="center", va="center",
                fontsize=6, zorder=3)  # fmt: skip
    comp = ", ".join(f"{c}: {k}" for c, k in class_composition(labels, class_names)[:4])
    shown = "" if len(keep) == len(idx) else f" ({len(keep)} shown)"
    ax.set_title(
        f"cycle {cyc['rank']}: [{cyc['birth']:.3g}, {cyc['death']:.3g}), "
        f"{len(idx)} images{shown}\n{comp}",
        fontsize=7.5,
    )


def ring_figure(
    rows: Sequence[tuple[str, Sequence[Mapping[str, Any]]]],
    images: Mapping[int, np.ndarray],
    class_names: Sequence[str],
    *,
    title: str = "",
    top_k: int | None = None,
    max_shown: int = MAX_SHOWN,
):
    """A grid of rings: one row per layer, one column per cycle (longest bar first).

    Parameters
    ----------
    rows : sequence of (str, sequence of mapping)
        ``(layer, cycles)`` per row; the cycles as the ``cycles`` job writes them:
        ``rank``, ``birth``, ``death``, ``images`` (dataset index of each loop vertex,
        in loop order) and ``labels`` (class index of each).
    images : mapping of int to numpy.ndarray
        Dataset index -> the image (``(h, w)``, ``(h, w, 1)`` or ``(h, w, 3)`` uint8).
    class_names : sequence of str
    title : str, default ""
        The figure's title (the model).
    top_k : int, optional
        Columns; default the most cycles of any row.
    max_shown : int, default :data:`MAX_SHOWN`
        Thumbnails per ring at most.

    Returns
    -------
    matplotlib.figure.Figure
        ``len(rows)`` x ``top_k`` panels; the row's layer labels its first panel, and a
        layer without finite H1 bars says so.
    """
    from matplotlib.figure import Figure

    if not rows:
        raise ValueError("no layers to draw")
    ncol = max(1, top_k or max(len(c) for _, c in rows))
    height = 3.5 * len(rows) + 0.6
    fig = Figure(figsize=(3.3 * ncol, height))
    # margins in inches, not in fractions of the figure: a tall figure (17 layers) would
    # otherwise get several inches of blank space above the first row
    axes = fig.subplots(
        len(rows),
        ncol,
        squeeze=False,
        gridspec_kw={"top": 1 - 0.6 / height, "bottom": 0.1 / height, "hspace": 0.2},
    )
    for r, (layer, cycles) in enumerate(rows):
        for j, ax in enumerate(axes[r]):
            ax.set_xlim(-LIM, LIM)
            ax.set_ylim(-LIM, LIM)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_visible(False)
            if j < len(cycles):
                _draw_ring(ax, cycles[j], images, class_names, max_shown)
        axes[r][0].set_ylabel(layer, fontsize=9)
        if not cycles:
            axes[r][0].text(0, 0, "no finite H1 bar", ha="center", va="center", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11, y=1 - 0.15 / height)
    return fig
