"""Running a TFLite model: the LiteRT runtime (`ai-edge-litert`), else TensorFlow's `tf.lite`.

LiteRT is the TFLite interpreter packaged on its own; it starts in a fraction of a second where
importing TensorFlow takes seconds, which is what a one-photo `fcn extract` pays. When
`ai-edge-litert` is not installed, `tf.lite.Interpreter` (the same runtime inside TensorFlow) is used.

Example:

>>> runner = TFLiteRunner("model.tflite")  # doctest: +SKIP
>>> runner(np.zeros((1, *runner.input_size, 3), np.float32)).shape  # doctest: +SKIP
(1, 192, 144, 1)
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

__all__ = ["TFLiteRunner", "interpreter_class"]


def interpreter_class():
    """(Interpreter class, runtime name): LiteRT's when installed, else TensorFlow's."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "litert"
    except ImportError:
        import tensorflow as tf

        return tf.lite.Interpreter, "tensorflow"


class TFLiteRunner:
    """A TFLite model kept loaded for repeated calls: ``runner(images)`` on float32 (B, H, W, C) or
    (H, W, C) returns probabilities (B, H, W, K) float32, one image per invoke (the model is traced at
    batch 1). `runtime` says which interpreter runs it ("litert" or "tensorflow")."""

    def __init__(self, path, num_threads: int | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: TFLite model not found")
        interpreter, self.runtime = interpreter_class()
        with warnings.catch_warnings():  # TF 2.20+ points tf.lite users to LiteRT, the same runtime
            warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
            self.interpreter = interpreter(model_path=str(self.path), num_threads=num_threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]

    @property
    def input_size(self) -> tuple[int, int]:
        return tuple(int(d) for d in self.input["shape"][1:3])

    def __call__(self, images) -> np.ndarray:
        images = np.asarray(images, dtype="float32")
        if images.ndim == 3:
            images = images[None]
        expected = tuple(int(d) for d in self.input["shape"][1:])
        if images.shape[1:] != expected:
            raise ValueError(f"{self.path}: model expects images of shape {expected}, got {images.shape[1:]}")
        results = []
        for image in images:
            self.interpreter.set_tensor(self.input["index"], image[None])
            self.interpreter.invoke()
            results.append(self.interpreter.get_tensor(self.output["index"])[0].copy())
        return np.stack(results).astype("float32")
