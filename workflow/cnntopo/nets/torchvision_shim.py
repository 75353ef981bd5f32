"""Import torchvision on any torch build.

PyPI's torchvision wheels are CUDA builds. On a CPU-only torch (for example
``torch==2.13.0+cpu``) its compiled extension ``_C.so`` cannot be loaded, and
``import torchvision`` then fails with ``RuntimeError: operator torchvision::nms
does not exist`` while registering fake kernels for the missing ops. When (and only
when) the extension cannot be loaded, we declare the two op schemas that the
registration needs; everything but ``torchvision.ops`` then works (models,
datasets, transforms, feature extraction). With a matching torchvision build this
is a no-op.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import sys

__all__ = ["import_torchvision"]

_LIB = None


def import_torchvision():
    """Return the ``torchvision`` module, importing it through the CPU shim if needed."""
    global _LIB
    if "torchvision" in sys.modules:
        return sys.modules["torchvision"]
    import torch

    spec = importlib.util.find_spec("torchvision")
    if spec is None:
        raise ImportError(
            "torchvision is not installed; run ./setup.sh or "
            "`pip install -r requirements.txt` (it pins torchvision==0.28.0)"
        )
    pkg_dir = list(spec.submodule_search_locations)[0]
    libs = sorted(glob.glob(os.path.join(pkg_dir, "_C*.so")))
    loaded = False
    if libs:
        try:
            torch.ops.load_library(libs[0])
            loaded = True
        except OSError:
            loaded = False
    if not loaded and _LIB is None:
        _LIB = torch.library.Library("torchvision", "DEF")
        _LIB.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _LIB.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    import torchvision

    return torchvision
