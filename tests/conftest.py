"""Shared test fixtures: quiet TensorFlow, the real receipts folder when it exists."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

REPO = Path(__file__).resolve().parents[1]
RECEIPTS = REPO.parent / "shared" / "data" / "receipts"


@pytest.fixture(scope="session")
def receipts_dir() -> Path:
    """The real receipt photos of ../shared (read-only); skips where the folder is absent."""
    if not (RECEIPTS / "images").is_dir():
        pytest.skip(f"real receipt photos not present at {RECEIPTS} (only on the project's machines)")
    return RECEIPTS
