"""Representative cycles of the longest H1 bars, and how they are shown.

- :mod:`cnntopo.cycles.loops`: :func:`representative_cycles`, one loop of points per
  bar (docs/methods.md, "Representative cycles");
- :mod:`cnntopo.cycles.figure`: each loop drawn as a ring of its images;
- :mod:`cnntopo.cycles.page`: the self-contained cycles page (``page.js``, ``page.css``).

>>> from cnntopo.cycles import representative_cycles   # doctest: +SKIP
"""

from cnntopo.cycles.loops import (
    Cycle,
    loop_pairing,
    representative_cycles,
    top_bars,
    winding_number,
)

__all__ = ["Cycle", "representative_cycles", "loop_pairing", "top_bars", "winding_number"]
