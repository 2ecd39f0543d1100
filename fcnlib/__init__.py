"""fcnlib: fully convolutional networks for semantic segmentation (receipts first), Keras 3 + tf.data."""
from __future__ import annotations

__version__ = "0.1.0"


def load_pretrained():
    """The shipped receipt model as a `fcnlib.predict.Predictor` (trained on synthetic receipts only)."""
    from fcnlib.predict import load_pretrained as _load

    return _load()
