"""fcnlib: fully convolutional networks for semantic segmentation (paper documents first), Keras 3 + tf.data.

Importing fcnlib loads neither Keras nor TensorFlow: a command that runs a shipped model through its
TFLite copy starts in a fraction of the time. Saved models are `fcnlib.segmenter.Segmenter` files;
import `fcnlib.segmenter` (or use `fcnlib.models.load_model`) before `keras.saving.load_model`.

Example:

>>> import fcnlib
>>> fcnlib.load_pretrained().class_names
('background', 'document')
"""
from __future__ import annotations

__version__ = "0.1.0"


def load_pretrained():
    """The shipped document model (the "document" preset: receipts and other paper documents, one
    class) as a `fcnlib.predict.Predictor`, trained on synthetic photos only; it runs through LiteRT
    without importing TensorFlow.

    Example:

    >>> import fcnlib
    >>> fcnlib.load_pretrained().image_size
    (192, 144)
    """
    from fcnlib.predict import load_pretrained as _load

    return _load()
