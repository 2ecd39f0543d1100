"""SegNet (Badrinarayanan, Kendall and Cipolla 2017): encoder-decoder with true max-unpooling.

The encoder is stages of (convolution + normalization + ReLU) x k followed by a 2x2 max pooling that
records where each maximum came from. The decoder mirrors it: every upsampling layer takes two
inputs, the map from the stage below and the pooling record of the mirrored encoder stage, and puts
each value back where its maximum was (``unpooling="indices"``); ``unpooling="upsample"`` replaces it
with plain nearest upsampling for ablation. Decoder convolutions keep their stage's width except the
last one of each stage, which narrows to the next stage's width; a 1x1 classifier gives the classes.
Any input size works without padding: pooling pads odd sizes with -inf and unpooling crops back.

SegNet's 13 encoder convolutions are VGG16's: ``encoder="vgg16"`` adds VGG16's input preprocessing
(caffe-style BGR mean subtraction) inside the model, and ``encoder_weights`` ("imagenet" or a weights
file of ``keras.applications.VGG16(include_top=False)``) copies VGG16's convolution kernels onto
enc1_1 ... enc5_3 by order (and their biases where the convolutions have one, i.e. without batch
normalization, whose shift makes a bias redundant), as the paper initialises SegNet.
"""
from __future__ import annotations

import math

import keras

from fcnlib.models.encoders import check_encoder_args, vgg16_conv_weights
from fcnlib.models.layers import (
    Crop,
    ImagePreprocessing,
    MaxPoolingWithArgmax,
    MaxUnpooling,
    check_common,
    classifier_head,
    freeze_layers,
    conv_block,
)

UNPOOLINGS = ("indices", "upsample")
VGG16_SHAPE = ((64, 128, 256, 512, 512), (2, 2, 3, 3, 3), 3)


@keras.saving.register_keras_serializable(package="fcnlib")
class SegNet(keras.Model):
    """SegNet as a functional ``keras.Model``.

    Args:
        input_shape: (H, W, C); H and W may be None (any size at run time).
        num_classes: 1 = binary with a sigmoid head, >= 2 = softmax over classes.
        filters: width of each encoder stage, shallow to deep (one pooling per stage).
        convs_per_stage: convolutions per stage, an int for all stages or one per stage.
        kernel_size: convolution kernel size (3 for VGG SegNet, 7 for SegNet-Basic).
        normalization: "batch", "none" or "lrn" (local response normalization).
        dropout: rate of the dropout after the deepest ceil(n/2) encoder and decoder stages
            (the "central" placement of Bayesian SegNet); 0 disables it.
        unpooling: "indices" (max-unpooling with the pooling record) or "upsample".
        encoder: None, or "vgg16" for an encoder shaped as VGG16's (filters 64, 128, 256, 512, 512,
            convolutions 2, 2, 3, 3, 3, kernel 3, RGB input) with VGG16's input preprocessing inside.
        encoder_weights: None, "imagenet" (Keras downloads VGG16's ImageNet weights on first use:
            needs the network on the user's machine) or the path of a weights file of
            ``keras.applications.VGG16(include_top=False)``; needs ``encoder="vgg16"``. Reported as
            None by ``get_config()``: the weights are part of the model's own weights once built.
        encoder_trainable: False freezes the encoder convolutions (and their BatchNormalization,
            then in inference mode).

    Example:
    ```python
    model = SegNet((None, None, 3), num_classes=12, encoder="vgg16", encoder_weights="imagenet")
    ```
    """

    def __init__(
        self,
        input_shape=(None, None, 3),
        num_classes=2,
        filters=(64, 128, 256, 512, 512),
        convs_per_stage=(2, 2, 3, 3, 3),
        kernel_size=3,
        normalization="batch",
        dropout=0.0,
        unpooling="indices",
        encoder=None,
        encoder_weights=None,
        encoder_trainable=True,
        **kwargs,
    ):
        input_shape = check_common(input_shape, num_classes, normalization, dropout)
        check_encoder_args(encoder, encoder_weights, input_shape[2], allowed=("vgg16",))
        filters = tuple(int(f) for f in filters)
        if isinstance(convs_per_stage, int):
            convs_per_stage = (convs_per_stage,) * len(filters)
        convs_per_stage = tuple(int(n) for n in convs_per_stage)
        if not filters or len(convs_per_stage) != len(filters) or min(convs_per_stage) < 1:
            raise ValueError(
                f"SegNet needs one convs_per_stage >= 1 per stage: filters={filters}, "
                f"convs_per_stage={convs_per_stage}"
            )
        if unpooling not in UNPOOLINGS:
            raise ValueError(f"unpooling must be one of {UNPOOLINGS}, got {unpooling!r}")
        if encoder == "vgg16" and (filters, convs_per_stage, int(kernel_size)) != VGG16_SHAPE:
            raise ValueError(
                f"encoder='vgg16' needs VGG16's encoder (filters, convs_per_stage, kernel_size) = {VGG16_SHAPE}, "
                f"got {(filters, convs_per_stage, int(kernel_size))} (use the 'segnet' builder with base_filters=64)"
            )
        vgg_weights = vgg16_conv_weights(encoder_weights) if encoder_weights is not None else None

        stages = len(filters)
        dropout_from = stages - math.ceil(stages / 2)  # deepest ceil(n/2) stages get dropout
        inputs = keras.Input(shape=input_shape, name="image")
        x = inputs if encoder is None else ImagePreprocessing("caffe", name="encoder_preprocessing")(inputs)
        records = []
        for i, (width, convs) in enumerate(zip(filters, convs_per_stage)):
            for j in range(convs):
                x = conv_block(x, width, kernel_size, normalization, name=f"enc{i + 1}_{j + 1}")
            if unpooling == "indices":
                x, switches = MaxPoolingWithArgmax(name=f"enc{i + 1}_pool")(x)
                records.append(switches)
            else:
                records.append(x)
                x = keras.layers.MaxPooling2D(2, padding="same", name=f"enc{i + 1}_pool")(x)
            if dropout and i >= dropout_from:
                x = keras.layers.Dropout(dropout, name=f"enc{i + 1}_dropout")(x)

        for i in reversed(range(stages)):
            if unpooling == "indices":
                x = MaxUnpooling(name=f"dec{i + 1}_unpool")([x, records[i]])
            else:
                x = keras.layers.UpSampling2D(2, name=f"dec{i + 1}_upsample")(x)
                x = Crop(name=f"dec{i + 1}_crop")([x, records[i]])
            for j in range(convs_per_stage[i]):
                last = j == convs_per_stage[i] - 1
                width = filters[max(i - 1, 0)] if last else filters[i]
                x = conv_block(x, width, kernel_size, normalization, name=f"dec{i + 1}_{j + 1}")
            if dropout and i >= dropout_from:
                x = keras.layers.Dropout(dropout, name=f"dec{i + 1}_dropout")(x)

        logits = keras.layers.Conv2D(num_classes, 1, name="classifier")(x)
        outputs = classifier_head(logits, inputs, num_classes)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        encoder_convs = [
            self.get_layer(f"enc{i + 1}_{j + 1}_conv") for i in range(stages) for j in range(convs_per_stage[i])
        ]
        if vgg_weights is not None:
            for conv, (kernel, bias) in zip(encoder_convs, vgg_weights, strict=True):
                conv.set_weights([kernel, bias] if conv.use_bias else [kernel])
        if not encoder_trainable:
            freeze_layers(self, ("enc",))

        # input_shape is available as Functional's own ``self.input_shape`` (with the batch axis).
        self.num_classes = int(num_classes)
        self.filters = filters
        self.convs_per_stage = convs_per_stage
        self.kernel_size = int(kernel_size)
        self.normalization = normalization
        self.dropout = float(dropout)
        self.unpooling = unpooling
        self.encoder = encoder
        self.encoder_trainable = bool(encoder_trainable)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "input_shape": list(self.input_shape[1:]),
            "num_classes": self.num_classes,
            "filters": list(self.filters),
            "convs_per_stage": list(self.convs_per_stage),
            "kernel_size": self.kernel_size,
            "normalization": self.normalization,
            "dropout": self.dropout,
            "unpooling": self.unpooling,
            "encoder": self.encoder,
            "encoder_weights": None,  # loaded into the model's weights; see fcnlib.models.encoders
            "encoder_trainable": self.encoder_trainable,
        }


def segnet(input_shape=(None, None, 3), num_classes=2, base_filters=64, **options) -> SegNet:
    """VGG16-shaped SegNet: 5 stages (2, 2, 3, 3, 3 convolutions = 13), widths b, 2b, 4b, 8b, 8b;
    ``encoder="vgg16", encoder_weights="imagenet"`` starts the encoder from VGG16 (see :class:`SegNet`).

    Example:
    ```python
    model = segnet(num_classes=12, encoder="vgg16", encoder_weights="imagenet")
    ```
    """
    b = int(base_filters)
    options.setdefault("name", "segnet")
    return SegNet(input_shape, num_classes, filters=(b, 2 * b, 4 * b, 8 * b, 8 * b), **options)


def segnet_basic(input_shape=(None, None, 3), num_classes=2, base_filters=64, **options) -> SegNet:
    """SegNet-Basic of the paper: 4 encoder + 4 decoder stages, one 7x7 convolution each, b filters."""
    b = int(base_filters)
    options.setdefault("name", "segnet_basic")
    options.setdefault("convs_per_stage", 1)
    options.setdefault("kernel_size", 7)
    return SegNet(input_shape, num_classes, filters=(b,) * 4, **options)
