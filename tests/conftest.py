"""Shared test fixtures: quiet TensorFlow, the shared real data when present, tiny datasets and runs.

Functions that tests import live in `helpers.py` (this file holds fixtures only)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import tiny_config

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@pytest.fixture(scope="session")
def receipts_dir() -> Path:
    """The real receipt photos of ../shared (read-only); skips where the folder is absent."""
    from fcnlib import shared_data

    path = shared_data.real_receipts()
    if path is None:
        pytest.skip(shared_data.missing_reason("the real receipt photos"))
    return path


@pytest.fixture(scope="session")
def camvid_dir() -> Path:
    """CamVid as the SegNet tutorial ships it, ../shared/data/camvid (read-only); skips where absent."""
    from fcnlib import shared_data

    path = shared_data.camvid()
    if path is None:
        pytest.skip(shared_data.missing_reason("CamVid"))
    return path


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory) -> Path:
    """A small synthetic receipt dataset (24 photos of 96x72, split 16/4/4) shared by the slow tests."""
    from fcnlib import data, synth

    root = tmp_path_factory.mktemp("synth")
    synth.generate(root, n=24, seed=0, height=96, width=72, progress=False)
    data.split_pairs(root / "pairs.txt", val=0.17, test=0.17, seed=0)
    return root


@pytest.fixture(scope="session")
def tiny_run(tiny_synth, tmp_path_factory) -> Path:
    """A run folder of the tiny U-Net trained for two epochs on `tiny_synth`."""
    from fcnlib import train

    return train.train(tiny_config(tiny_synth, tmp_path_factory.mktemp("runs")), verbose=0)

