"""Make the ``cnntopo`` package importable from workflow scripts.

Inside the project's virtualenv it is installed (``pip install -e .``); inside the
per-rule conda environments it is not, so the package folder (``workflow/``) is put
on ``sys.path``. Snakemake adds this scripts folder to ``sys.path`` itself.
"""

import sys
from pathlib import Path

_workflow_dir = str(Path(__file__).resolve().parents[1])
if _workflow_dir not in sys.path:
    sys.path.insert(0, _workflow_dir)
