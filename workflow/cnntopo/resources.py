"""Resources of the workflow's jobs (memory, run time, GPUs) as pure functions (torch-free).

The rule files call these with config values; SLURM turns them into ``--mem``, ``-t``
and ``--gpus``. Memory grows with each retry (``attempt``).
"""

from __future__ import annotations

__all__ = ["DATASET_SIZES", "gpus"]

#: Images per split of the offline/real datasets (for sizing only; imagefolder: a guess).
DATASET_SIZES: dict[str, dict[str, int]] = {
    "cifar10": {"train": 50000, "test": 10000},
    "fashion-mnist": {"train": 60000, "test": 10000},
    "digits": {"train": 1347, "test": 450},
    "imagefolder": {"train": 50000, "test": 10000},
}


def gpus(device: str) -> int:
    """GPUs a torch job asks the scheduler for: none when the config pins it to the CPU.

    >>> gpus("cpu"), gpus("auto"), gpus("cuda")
    (0, 1, 1)
    """
    return 0 if device == "cpu" else 1
