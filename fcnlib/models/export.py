"""Export of trained models: TFLite conversion (float or int8) and TFLite inference for parity checks.

SavedModel export needs no wrapper: ``model.export(path)`` (Keras 3) works on every fcnlib model.
TFLite needs a fixed input size, so :func:`to_tflite` traces a concrete function at one H x W
(batch 1, float32 in, probabilities out) through a temporary SavedModel and converts it; the custom layers use only builtin
TFLite ops. ``quantize="int8"`` quantizes weights and activations with a representative set of
images, falling back to float kernels for the few ops without int8 versions; inputs and outputs stay
float32 so the same :func:`tflite_predict` serves both. The models run through LiteRT
(``ai-edge-litert``) when installed, else ``tf.lite`` (see :mod:`fcnlib.litert`).
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterable

import numpy as np
import tensorflow as tf
import keras

from fcnlib.litert import TFLiteRunner  # the runner lives apart so that inference needs no TensorFlow

__all__ = ["to_tflite", "tflite_predict", "TFLiteRunner"]


def to_tflite(
    model: keras.Model,
    path,
    quantize: str | None = None,
    representative: Iterable | None = None,
    input_size: tuple[int, int] | None = None,
) -> Path:
    """Converts ``model`` to a TFLite flatbuffer at ``path`` and returns the path.

    ``input_size`` (H, W) fixes the spatial size; by default the model's own when known, else the
    size of the first representative image. ``quantize="int8"`` needs ``representative``: an iterable
    of float32 images (H, W, C) or batches (B, H, W, C) in [0, 1] (a few dozen are enough).
    """
    if quantize not in (None, "int8"):
        raise ValueError(f"quantize must be None or 'int8', got {quantize!r}")
    if quantize == "int8" and representative is None:
        raise ValueError("quantize='int8' needs representative images to calibrate activations")
    samples = None if representative is None else [np.asarray(s, dtype="float32") for s in representative]
    if samples is not None:
        samples = [s[None] if s.ndim == 3 else s for s in samples]
    height, width, channels = model.input_shape[1:]
    if input_size is not None:
        height, width = input_size
    elif height is None or width is None:
        if not samples:
            raise ValueError(
                f"model input is {model.input_shape}: give input_size=(H, W) or representative images"
            )
        height, width = samples[0].shape[1:3]

    spec = tf.TensorSpec([1, int(height), int(width), channels], tf.float32, name="image")
    with tempfile.TemporaryDirectory() as saved:  # a SavedModel freezes the variables cleanly
        model.export(saved, format="tf_saved_model", input_signature=[spec], verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        flatbuffer = _convert(converter, quantize, samples)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(flatbuffer)
    return path


def _convert(converter, quantize, samples) -> bytes:
    """Runs the converter, with int8 calibration on ``samples`` when asked."""
    if quantize == "int8":
        def calibration():
            for batch in samples:
                for image in batch:
                    yield [image[None]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = calibration
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
            tf.lite.OpsSet.TFLITE_BUILTINS,
        ]
    return converter.convert()


def tflite_predict(path, images) -> np.ndarray:
    """Runs the TFLite model at ``path`` once on float32 images (B, H, W, C) or (H, W, C); returns the
    probabilities (B, H, W, K) float32."""
    return TFLiteRunner(path)(images)
