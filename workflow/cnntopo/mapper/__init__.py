"""The Mapper branch.

- :mod:`~cnntopo.mapper.clouds` (with :mod:`~cnntopo.mapper.grabcut` and
  :mod:`~cnntopo.mapper.receptive_field`): the point clouds of the network's BN outputs.
- :mod:`~cnntopo.mapper.graph`: lens, cover, nerve, the knee rule; Mapper Interactive JSON;
  :mod:`~cnntopo.mapper.dbscan`: the exact DBSCAN run in each interval. :func:`mapper_graph` and :func:`knee_eps` are importable from here.
- :mod:`~cnntopo.mapper.purity`: node-wise and class-wise purity.
- :mod:`~cnntopo.mapper.draw`, :mod:`~cnntopo.mapper.explorer`: static figures and the
  self-contained HTML explorer.

Examples
--------
>>> import numpy as np
>>> from cnntopo.mapper import mapper_graph
>>> X = np.random.default_rng(0).normal(size=(200, 8))
>>> g = mapper_graph(X, np.zeros(200, dtype=int), n_intervals=5, overlap=0.3, eps=2.0)
>>> {"nodes", "edges", "meta"} <= set(g)  # Mapper Interactive JSON
True
"""

from __future__ import annotations

__all__ = ["mapper_graph", "knee_eps"]


def __getattr__(name: str):
    # Lazy: importing cnntopo.mapper (e.g. for a submodule) stays cheap.
    if name in __all__:
        from cnntopo.mapper import graph

        return getattr(graph, name)
    raise AttributeError(f"module 'cnntopo.mapper' has no attribute {name!r}")
