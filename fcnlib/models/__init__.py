"""Segmentation architectures and the registry that builds them by name.

``build("segnet", input_shape=(None, None, 3), num_classes=2, **options)`` returns a ``keras.Model``
subclass (SegNet, UNet or FCN) that saves and loads as ``.keras`` in safe mode. ``available()`` lists
the names. Options per name are the arguments of the factory and of its class (see each module),
including ``encoder``, ``encoder_weights`` and ``encoder_trainable`` for a pretrained
``keras.applications`` backbone (:mod:`fcnlib.models.encoders`; ``"imagenet"`` weights are downloaded
by Keras on first use, a weights file path needs no network).

Example:
```python
model = build("unet", num_classes=12, encoder="mobilenetv2", encoder_weights="imagenet")
```
"""
from __future__ import annotations

import inspect

import keras

from fcnlib.models.encoders import available_encoders
from fcnlib.models.fcn import FCN, fcn8s, fcn16s, fcn32s
from fcnlib.models.segnet import SegNet, segnet, segnet_basic
from fcnlib.models.unet import UNet, unet

__all__ = ["build", "available", "available_encoders", "options", "load_model", "SegNet", "UNet", "FCN", "count_flops", "summary_table", "format_table"]

_REGISTRY = {
    "segnet": (segnet, SegNet),
    "segnet_basic": (segnet_basic, SegNet),
    "unet": (unet, UNet),
    "fcn32s": (fcn32s, FCN),
    "fcn16s": (fcn16s, FCN),
    "fcn8s": (fcn8s, FCN),
}
# Set by the factory itself (e.g. segnet_basic fixes filters); not user options.
_FIXED = {"segnet": {"filters"}, "segnet_basic": {"filters"}, "fcn32s": {"filters", "stride"},
          "fcn16s": {"filters", "stride"}, "fcn8s": {"filters", "stride"}}


def available() -> list[str]:
    """Names accepted by :func:`build`."""
    return list(_REGISTRY)


def options(name: str) -> list[str]:
    """Option names accepted by ``build(name, ...)`` besides input_shape and num_classes."""
    factory, cls = _lookup(name)
    names = set(inspect.signature(factory).parameters) | set(inspect.signature(cls.__init__).parameters)
    names -= {"self", "kwargs", "options", "input_shape", "num_classes"} | _FIXED.get(name, set())
    return sorted(names | {"name", "dtype"})


def build(name: str, *, input_shape=(None, None, 3), num_classes: int = 2, **opts) -> keras.Model:
    """Builds architecture ``name`` (see :func:`available`) for ``input_shape`` (H, W, C; H and W may
    be None) and ``num_classes`` (1 = sigmoid, >= 2 = softmax)."""
    factory, _ = _lookup(name)
    unknown = sorted(set(opts) - set(options(name)))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for model {name!r}; accepted: {options(name)}")
    return factory(input_shape=input_shape, num_classes=num_classes, **opts)


def _lookup(name: str):
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(available())}")
    return _REGISTRY[name]


from fcnlib.models.flops import count_flops, format_table, summary_table  # noqa: E402  (needs build)


def load_model(path, **kwargs) -> keras.Model:
    """``keras.models.load_model`` with fcnlib's models, losses and metrics registered (safe mode)."""
    import fcnlib.losses  # noqa: F401  (registers the serializable losses)
    import fcnlib.metrics  # noqa: F401  (registers the serializable metrics)
    import fcnlib.segmenter  # noqa: F401  (registers the Segmenter that wraps saved networks)

    return keras.models.load_model(path, **kwargs)
