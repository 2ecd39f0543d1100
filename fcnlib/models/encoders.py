"""Pretrained encoders from ``keras.applications`` for U-Net and FCN, and VGG16 weights for SegNet.

Why: on small datasets (CamVid has 367 training frames) a backbone pretrained on ImageNet is what
SegNet, segmentation_models and keras-hub users start from. Each encoder is the application built
with ``include_top=False``, cut to five feature maps at strides 2, 4, 8, 16 and 32 of the input
(:data:`ENCODERS` names the layer of each), and wrapped as one nested ``keras.Model`` called
``"encoder"``. Its input preprocessing (see :class:`~fcnlib.models.layers.ImagePreprocessing`) is
a layer of the segmentation model, so models keep taking float images in [0, 1].

Weights (``encoder_weights``):
    * ``None``: random initialisation (the application built with ``weights=None``).
    * ``"imagenet"``: Keras's own download of the application's ImageNet weights (``include_top=False``
      files, cached in ``~/.keras/models``); needs the network the first time, on the user's machine.
    * a path: a weights file of the same application built with ``include_top=False``, e.g. written
      by ``keras.applications.ResNet50(include_top=False, weights=None).save_weights("r.weights.h5")``,
      or Keras's cached ``*_notop.h5`` file. The file is checked before anything is built.

Weights are an initialiser, not architecture: a model's ``get_config()`` reports
``encoder_weights=None``, because the loaded values are part of the model's own weights. So a saved
``.keras`` file loads without the weights file or the network, and ``from_config`` gives the same
architecture, randomly initialised, as for any Keras layer.

``encoder_trainable=False`` freezes the encoder; its BatchNormalization layers then run in
inference mode (Keras 3 does so for non-trainable BatchNormalization), keeping ImageNet statistics.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import keras

from fcnlib.models.layers import ImagePreprocessing

__all__ = ["ENCODERS", "EncoderSpec", "available_encoders", "build_encoder", "check_encoder_args", "vgg16_conv_weights"]


@dataclass(frozen=True)
class EncoderSpec:
    """One ``keras.applications`` backbone: its constructor, its preprocessing mode and the layers
    whose outputs are the features at strides 2, 4, 8, 16, 32. A name starting with ``<`` means the
    input of that layer (MobileNetV3 leaves its activations unnamed, so the feature is taken as the
    input of the next named layer)."""

    application: str
    preprocessing: str
    features: tuple[str, str, str, str, str]


ENCODERS: dict[str, EncoderSpec] = {
    "vgg16": EncoderSpec(
        "VGG16", "caffe", ("block2_conv2", "block3_conv3", "block4_conv3", "block5_conv3", "block5_pool")
    ),
    "resnet50": EncoderSpec(
        "ResNet50", "caffe",
        ("conv1_relu", "conv2_block3_out", "conv3_block4_out", "conv4_block6_out", "conv5_block3_out"),
    ),
    "mobilenetv2": EncoderSpec(
        "MobileNetV2", "tf",
        ("block_1_expand_relu", "block_3_expand_relu", "block_6_expand_relu", "block_13_expand_relu", "out_relu"),
    ),
    "mobilenetv3small": EncoderSpec(
        "MobileNetV3Small", "raw",
        ("<expanded_conv_depthwise_pad", "<expanded_conv_1_depthwise_pad", "<expanded_conv_3_depthwise_pad",
         "<expanded_conv_8_depthwise_pad", "<output"),
    ),
    "mobilenetv3large": EncoderSpec(
        "MobileNetV3Large", "raw",
        ("<expanded_conv_1_depthwise_pad", "<expanded_conv_3_depthwise_pad", "<expanded_conv_6_depthwise_pad",
         "<expanded_conv_12_depthwise_pad", "<output"),
    ),
    "efficientnetb0": EncoderSpec(
        "EfficientNetB0", "raw",
        ("block2a_expand_activation", "block3a_expand_activation", "block4a_expand_activation",
         "block6a_expand_activation", "top_activation"),
    ),
}

STRIDES = (2, 4, 8, 16, 32)


def available_encoders() -> list[str]:
    """Names accepted as ``encoder=`` by U-Net and FCN (SegNet takes ``"vgg16"`` only)."""
    return list(ENCODERS)


def check_encoder_args(encoder, encoder_weights, channels, allowed=None) -> None:
    """Validates ``encoder`` / ``encoder_weights`` before anything is built; a weights path must exist.

    Example:
    ```python
    check_encoder_args("resnet50", None, 3)  # fine
    ```
    """
    allowed = list(ENCODERS) if allowed is None else list(allowed)
    if encoder is None:
        if encoder_weights is not None:
            raise ValueError(f"encoder_weights={encoder_weights!r} needs an encoder (one of {allowed})")
        return
    if encoder not in allowed:
        raise ValueError(f"unknown encoder {encoder!r}; available: {', '.join(allowed)}")
    if channels != 3:
        raise ValueError(f"encoder {encoder!r} needs 3-channel (RGB) input, got {channels} channels")
    if encoder_weights not in (None, "imagenet"):
        path = os.fspath(encoder_weights)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"encoder weights file not found: {path} (encoder_weights takes None, 'imagenet' or the path of "
                f"a weights file of keras.applications.{ENCODERS[encoder].application}(include_top=False))"
            )


def _application(name, weights, input_shape):
    spec = ENCODERS[name]
    constructor = getattr(keras.applications, spec.application)
    app = constructor(include_top=False, weights=None if weights != "imagenet" else "imagenet",
                      input_shape=tuple(input_shape))
    if weights not in (None, "imagenet"):
        path = os.fspath(weights)
        try:
            app.load_weights(path)
        except Exception as error:  # Keras raises several types for a file of another model
            raise ValueError(
                f"{path}: not a weights file of keras.applications.{spec.application}(include_top=False): {error}"
            ) from error
    return app


def build_encoder(name: str, weights=None, trainable: bool = True, input_shape=(None, None, 3), depth: int = 5):
    """The encoder ``name`` as a nested model ``"encoder"`` with ``depth`` outputs (strides 2 to
    2**depth; the layers below the deepest one are left out) and the preprocessing layer that
    must come before it.

    Args:
        name: one of :func:`available_encoders`.
        weights: None, ``"imagenet"`` (Keras downloads them on first use) or a weights file path.
        trainable: False freezes the encoder (BatchNormalization then in inference mode).
        input_shape: the encoder's input (H, W, 3); H and W may be None.
        depth: number of feature maps, 1 to 5.

    Returns:
        ``(encoder, preprocessing)``: a ``keras.Model`` and an ``ImagePreprocessing`` layer.

    Example:
    ```python
    encoder, preprocessing = build_encoder("mobilenetv2")
    features = encoder(preprocessing(np.zeros((1, 64, 64, 3), "float32")))
    [f.shape[1] for f in features]  # [32, 16, 8, 4, 2]
    ```
    """
    check_encoder_args(name, weights, input_shape[-1])
    spec = ENCODERS[name]
    app = _application(name, weights, input_shape)
    outputs = []
    if not 1 <= int(depth) <= len(spec.features):
        raise ValueError(f"encoder depth must be 1 to {len(spec.features)}, got {depth}")
    for feature in spec.features[: int(depth)]:
        if feature == "<output":
            outputs.append(app.output)
        elif feature.startswith("<"):
            outputs.append(app.get_layer(feature[1:]).input)
        else:
            outputs.append(app.get_layer(feature).output)
    encoder = keras.Model(app.input, outputs, name="encoder")
    encoder.trainable = bool(trainable)
    return encoder, ImagePreprocessing(spec.preprocessing, name="encoder_preprocessing")


def vgg16_conv_weights(weights) -> list[list]:
    """``[kernel, bias]`` of VGG16's 13 convolutions in order (block1_conv1 ... block5_conv3), from
    ``keras.applications.VGG16(include_top=False)`` with ``weights`` ("imagenet" or a file path).

    Example:
    ```python
    kernels = [k for k, _ in vgg16_conv_weights("vgg16_notop.weights.h5")]
    ```
    """
    check_encoder_args("vgg16", weights, 3)
    if weights is None:
        raise ValueError("vgg16_conv_weights needs weights: 'imagenet' or a weights file")
    app = _application("vgg16", weights, (None, None, 3))
    convs = [layer for layer in app.layers if isinstance(layer, keras.layers.Conv2D)]
    values = [[keras.ops.convert_to_numpy(v) for v in layer.weights] for layer in convs]
    del app
    return values
