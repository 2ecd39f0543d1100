"""Where the project's shared real data sets are, when this checkout has them.

The project's machines keep real data read-only in `../shared/data/` beside the checkout (a user's clone
does not have it). Tests, notebooks and benchmarks ask here and skip, with the reason, when it is absent.
`FCNLIB_SHARED` overrides the location.

Example:

>>> from fcnlib import shared_data
>>> path = shared_data.camvid()          # None on a machine without the shared data
>>> path is None or (path / "train.txt").is_file()
True
"""
from __future__ import annotations

import os
from pathlib import Path

CAMVID_ATTRIBUTION = "CamVid (Brostow et al., 2008), as distributed with the SegNet tutorial, CC BY-NC"


def repo_root() -> Path:
    """The fcnlib checkout: the folder holding `fcnlib/` and `experiments/` (or the working directory)."""
    here = Path(__file__).resolve().parents[1]
    if (here / "experiments").is_dir():
        return here
    cwd = Path.cwd()
    return cwd.parent if cwd.name == "notebooks" else cwd


def shared_root() -> Path:
    """`$FCNLIB_SHARED`, else `../shared` beside the checkout (it may not exist)."""
    env = os.environ.get("FCNLIB_SHARED")
    return Path(env) if env else repo_root().parent / "shared"


def real_receipts() -> Path | None:
    """The real receipt photos (`images/`, `corners/`, `negatives/`), or None when absent."""
    path = shared_root() / "data" / "receipts"
    return path if (path / "images").is_dir() else None


def camvid() -> Path | None:
    """CamVid as the SegNet tutorial ships it (`train.txt`, `val.txt`, frames, labels), or None."""
    path = shared_root() / "data" / "camvid"
    return path if (path / "train.txt").is_file() else None


def missing_reason(name: str) -> str:
    """Why a test or notebook skips when a shared data set is absent."""
    return (f"{name} not present under {shared_root() / 'data'} (the project's machines keep it there, "
            "read-only; set FCNLIB_SHARED to point elsewhere)")
