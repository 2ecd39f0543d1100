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


@pytest.fixture(scope="session")
def camvid_dir() -> Path:
    """CamVid as the SegNet tutorial ships it, ../shared/data/camvid (read-only); skips where absent."""
    for shared in (REPO.parent / "shared", REPO.parent.parent / "shared"):  # a checkout, or a git worktree
        if (shared / "data" / "camvid" / "train.txt").is_file():
            return shared / "data" / "camvid"
    pytest.skip(f"CamVid not present at {REPO.parent / 'shared' / 'data' / 'camvid'} (only on the project's machines)")


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory) -> Path:
    """A small synthetic receipt dataset (24 photos of 96x72, split 16/4/4) shared by the slow tests."""
    from fcnlib import data, synth

    root = tmp_path_factory.mktemp("synth")
    synth.generate(root, n=24, seed=0, height=96, width=72, progress=False)
    data.split_pairs(root / "pairs.txt", val=0.17, test=0.17, seed=0)
    return root


def tiny_config(root: Path, out: Path, **overrides):
    """A TrainConfig that trains a 2-level U-Net of 4 filters on `root` in seconds."""
    from fcnlib.train import DataConfig, TrainConfig

    cfg = TrainConfig(name="tiny", model="unet", model_options={"depth": 2, "base_filters": 4},
                      data=DataConfig(train=str(root / "train.txt"), val=str(root / "val.txt"),
                                      test=str(root / "test.txt"), image_size=[48, 48], augment=False,
                                      cache=False),
                      batch_size=4, epochs=2, output_dir=str(out), gallery=2, checkpoint_every=2)
    for k, v in overrides.items():
        setattr(cfg, k, v)
    return cfg


@pytest.fixture(scope="session")
def tiny_run(tiny_synth, tmp_path_factory) -> Path:
    """A run folder of the tiny U-Net trained for two epochs on `tiny_synth`."""
    from fcnlib import train

    return train.train(tiny_config(tiny_synth, tmp_path_factory.mktemp("runs")), verbose=0)


def bright_quad_model(path: Path) -> Path:
    """A real .keras model that segments bright paper on a dark background (1x1 conv + sigmoid).

    It lets the prediction and extraction tests check corners against a photo whose corners are
    known exactly, without a long training.
    """
    import keras
    import numpy as np

    inputs = keras.Input((None, None, 3))
    conv = keras.layers.Conv2D(1, 1, activation="sigmoid")
    model = keras.Model(inputs, conv(inputs))
    conv.set_weights([np.full((1, 1, 3, 1), 40 / 3, np.float32), np.array([-20.0], np.float32)])
    model.save(path)
    return path


def bright_quad_photo(path: Path, corners, size=(800, 600)) -> Path:
    """A dark photo with one bright quadrilateral at `corners` (TL, TR, BR, BL, x/y pixels)."""
    import numpy as np
    from PIL import Image
    from skimage.draw import polygon

    img = np.full((*size, 3), 40, np.uint8)
    c = np.asarray(corners, float)
    rr, cc = polygon(c[:, 1], c[:, 0], size)
    img[rr, cc] = 230
    Image.fromarray(img).save(path, quality=95)
    return path
