"""SegNet (Badrinarayanan, Kendall and Cipolla 2017): encoder-decoder with true max-unpooling.

The encoder is stages of (convolution + normalization + ReLU) x k followed by a 2x2 max pooling that
records where each maximum came from. The decoder mirrors it: every upsampling layer takes two
inputs, the map from the stage below and the pooling record of the mirrored encoder stage, and puts
each value back where its maximum was (``unpooling="indices"``); ``unpooling="upsample"`` replaces it
with plain nearest upsampling for ablation. Decoder convolutions keep their stage's width except the
last one of each stage, which narrows to the next stage's width; a 1x1 classifier gives the classes.
Any input size works without padding: pooling pads odd sizes with -inf and unpooling crops back.
"""
from __future__ import annotations

import math

import keras

from fcnlib.models.layers import (
    Crop,
    MaxPoolingWithArgmax,
    MaxUnpooling,
    check_common,
    classifier_head,
    conv_block,
)

UNPOOLINGS = ("indices", "upsample")


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
        **kwargs,
    ):
        input_shape = check_common(input_shape, num_classes, normalization, dropout)
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

        stages = len(filters)
        dropout_from = stages - math.ceil(stages / 2)  # deepest ceil(n/2) stages get dropout
        inputs = keras.Input(shape=input_shape, name="image")
        x = inputs
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

        # input_shape is available as Functional's own ``self.input_shape`` (with the batch axis).
        self.num_classes = int(num_classes)
        self.filters = filters
        self.convs_per_stage = convs_per_stage
        self.kernel_size = int(kernel_size)
        self.normalization = normalization
        self.dropout = float(dropout)
        self.unpooling = unpooling

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
        }


def segnet(input_shape=(None, None, 3), num_classes=2, base_filters=64, **options) -> SegNet:
    """VGG16-shaped SegNet: 5 stages (2, 2, 3, 3, 3 convolutions = 13), widths b, 2b, 4b, 8b, 8b."""
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
