#!/usr/bin/env bash
# Set up cnntopo on a fresh Linux machine: Python virtualenv in .venv/ with the pinned
# stack (no conda needed), the package itself (editable), and the offline Fashion-MNIST
# data of the default run (Debian package dataset-fashion-mnist, when run as root).
#
#   ./setup.sh          runtime stack (then: .venv/bin/snakemake --cores 2)
#   ./setup.sh --dev    runtime + test/lint tools (then: .venv/bin/python -m pytest)
#
# Re-running is cheap: installation is skipped while the requirement files are unchanged.
set -euo pipefail
cd "$(dirname "$0")"

dev=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg' (use --dev or --help)" >&2; exit 2 ;;
  esac
done

say() { printf '[setup] %s\n' "$*" >&2; }

# --- Python 3.11 --------------------------------------------------------------------
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
  echo "setup.sh: Python 3.11 is required (found: $("$PY" --version 2>&1 || echo none))." >&2
  echo "          Install it, or point PYTHON=/path/to/python3.11 at one." >&2
  exit 1
fi

# --- offline data for the default run (Fashion-MNIST, Debian package) ----------------
FMNIST=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
if [ ! -e "$FMNIST" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian package dataset-fashion-mnist (real Fashion-MNIST, offline)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
  else
    say "Fashion-MNIST not found at $FMNIST; the default run needs it:"
    say "  sudo apt-get install dataset-fashion-mnist   (or set dataset.root / dataset.download)"
  fi
fi

# --- test tools outside Python (--dev): headless Chromium for the explorer's browser test
if [ "$dev" = 1 ] && ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian package chromium (headless browser test of the Mapper explorer)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    say "chromium not found; the explorer's browser tests will be skipped (apt-get install chromium)"
  fi
fi

# --- virtualenv with the pinned stack -------------------------------------------------
reqs=requirements.txt mode=runtime
[ "$dev" = 1 ] && reqs=requirements-dev.txt mode=dev
stamp=.venv/.cnntopo-setup
hash=$(cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -c1-16)
installed=$(cat "$stamp" 2>/dev/null || true)
if [ "$installed" = "$hash dev" ] || [ "$installed" = "$hash $mode" ]; then
  say "virtualenv .venv is up to date"
else
  [ -x .venv/bin/python ] || { say "creating .venv"; "$PY" -m venv .venv; }
  say "installing pinned packages from $reqs (torch==2.13.0: the CPU wheel where one is offered locally)"
  .venv/bin/python -m pip install -q uv==0.13.9
  findlinks=()
  [ -n "${PIP_FIND_LINKS:-}" ] && findlinks=(--find-links "$PIP_FIND_LINKS")
  # --compile-bytecode: uv, unlike pip, writes no .pyc files by default (see below)
  if ! .venv/bin/uv pip install -q --compile-bytecode --python .venv/bin/python "${findlinks[@]}" -r "$reqs" -e . ; then
    say "uv failed; falling back to pip"
    .venv/bin/python -m pip install -q -r "$reqs" -e .
  fi
  echo "$hash $mode" > "$stamp"
fi

# --- bytecode -------------------------------------------------------------------------
# Every job is a fresh Python process. Without .pyc files next to the installed packages
# it compiles numpy, torch, snakemake, ... from source each time, which costs seconds per
# job and per dry run wherever Python may not write them itself (PYTHONDONTWRITEBYTECODE,
# common in containers and CI, or a read-only .venv). Compile them once, here; also for a
# .venv made before setup.sh did (benchmarks/bench_startup.py measures the difference).
if [ ! -e .venv/.cnntopo-bytecode ]; then
  say "compiling the packages' bytecode once (.pyc)"
  site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  .venv/bin/python -m compileall -q -j 0 "$site" workflow/cnntopo >/dev/null || true
  touch .venv/.cnntopo-bytecode
fi

.venv/bin/python - <<'PY'
from cnntopo.nets.torchvision_shim import import_torchvision
import torch
tv = import_torchvision()
print(f"[setup] ready: torch {torch.__version__} (CUDA {'yes' if torch.cuda.is_available() else 'no'}), "
      f"torchvision {tv.__version__}")
PY
