"""Tests of fcnlib.models.export: TFLite float parity (<= 1e-4) on a tiny U-Net and a tiny SegNet
(max-unpooling included), int8 conversion runs, and SavedModel export via ``model.export``."""
from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from fcnlib import models
from fcnlib.models.export import tflite_predict, to_tflite

TINY = {
    "unet": dict(base_filters=4, depth=2),
    "segnet": dict(base_filters=4, convs_per_stage=1),
}


def images(n=2, h=24, w=33):
    return np.random.default_rng(0).random((n, h, w, 3)).astype("float32")


@pytest.mark.parametrize("name, num_classes", [("unet", 1), ("segnet", 3)])
def test_tflite_float_parity(name, num_classes, tmp_path):
    model = models.build(name, num_classes=num_classes, **TINY[name])
    x = images()
    path = to_tflite(model, tmp_path / f"{name}.tflite", input_size=(24, 33))
    got = tflite_predict(path, x)
    assert got.shape == (2, 24, 33, num_classes)
    assert np.abs(got - np.asarray(model(x))).max() <= 1e-4


def test_tflite_int8_and_size_from_representative(tmp_path):
    model = models.build("unet", num_classes=1, **TINY["unet"])
    x = images(4)
    path = to_tflite(model, tmp_path / "q.tflite", quantize="int8", representative=x)
    got = tflite_predict(path, x)
    assert got.shape == (4, 24, 33, 1) and np.all((got >= 0) & (got <= 1))
    assert np.abs(got - np.asarray(model(x))).max() < 0.2
    with pytest.raises(ValueError, match="expects images"):
        tflite_predict(path, images(1, 20, 20))
    with pytest.raises(ValueError, match="representative"):
        to_tflite(model, tmp_path / "r.tflite", quantize="int8")
    with pytest.raises(ValueError, match="input_size"):
        to_tflite(model, tmp_path / "s.tflite")


def test_savedmodel_export(tmp_path):
    model = models.build("segnet", num_classes=3, **TINY["segnet"])
    model.export(str(tmp_path / "saved"), verbose=False)
    reloaded = tf.saved_model.load(str(tmp_path / "saved"))
    x = images(1)
    np.testing.assert_allclose(reloaded.serve(x).numpy(), np.asarray(model(x)), atol=1e-5)


def test_runner_uses_litert_and_falls_back_to_tf_lite(tmp_path, monkeypatch):
    import sys

    from fcnlib.litert import TFLiteRunner

    model = models.build("unet", num_classes=1, **TINY["unet"])
    path = to_tflite(model, tmp_path / "u.tflite", input_size=(24, 33))
    litert = TFLiteRunner(path)
    assert litert.runtime == "litert"
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)  # as if ai-edge-litert were not installed
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    fallback = TFLiteRunner(path)
    assert fallback.runtime == "tensorflow"
    x = images()
    assert np.abs(litert(x) - fallback(x)).max() <= 1e-5
    assert np.abs(fallback(x) - np.asarray(model(x))).max() <= 1e-4
    with pytest.raises(FileNotFoundError, match="none.tflite: TFLite model not found"):
        TFLiteRunner(tmp_path / "none.tflite")
