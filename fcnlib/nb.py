"""What the notebooks share: quick mode, where to write, where the real photos are.

`FCNLIB_QUICK=1` (set by `make test`) shrinks data, sizes and epochs so every notebook runs in CI
in a few minutes; without it the notebooks run their full (CPU-sized) study. Paths work from a
checkout (notebooks/ beside fcnlib/) and from Colab (the cloned repo as working directory).
"""
from __future__ import annotations

import os
from pathlib import Path

# Import this module before TensorFlow: CPU-only machines otherwise fill notebook outputs with
# TensorFlow's start-up log (no CUDA driver found, and so on).
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def quick() -> bool:
    """True in quick mode (`FCNLIB_QUICK=1`)."""
    return os.environ.get("FCNLIB_QUICK", "") not in ("", "0", "false")


def pick(quick_value, full_value):
    """`quick_value` in quick mode, else `full_value`."""
    return quick_value if quick() else full_value


def repo_root() -> Path:
    """The fcnlib checkout: the folder holding `fcnlib/` and `experiments/`."""
    here = Path(__file__).resolve().parents[1]
    if (here / "experiments").is_dir():
        return here
    cwd = Path.cwd()
    return cwd.parent if cwd.name == "notebooks" else cwd


def work_dir(name: str) -> Path:
    """A folder for a notebook's outputs: `data/notebooks/<name>` (quick runs get their own)."""
    path = repo_root() / "data" / ("notebooks-quick" if quick() else "notebooks") / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def results_dir() -> Path:
    """`experiments/results`, where full runs keep their tables and figures (quick runs do not)."""
    path = repo_root() / "experiments" / "results" if not quick() else work_dir("results")
    path.mkdir(parents=True, exist_ok=True)
    return path


def real_receipts() -> Path | None:
    """`../shared/data/receipts` beside the checkout when present (the project's machines), else None."""
    path = repo_root().parent / "shared" / "data" / "receipts"
    return path if (path / "images").is_dir() else None
