"""U-Net (Ronneberger, Fischer and Brox 2015) with options for a light model.

Encoder levels of two convolutions, each followed by 2x2 max pooling; a bottleneck; a decoder that
upsamples (transposed convolution, or bilinear upsampling + convolution), concatenates the mirrored
encoder map and applies two convolutions. Widths double per level from ``base_filters``. The input is
padded inside the model to a multiple of 2**depth and the output cropped back, so any H x W works
and the output always has the input's size. ``separable=True`` uses depthwise-separable convolutions
(all but the first), for a model several times cheaper.
"""
from __future__ import annotations

import keras

from fcnlib.models.layers import PadToMultiple, check_common, classifier_head, conv_block

UPSAMPLINGS = ("transpose", "bilinear")


@keras.saving.register_keras_serializable(package="fcnlib")
class UNet(keras.Model):
    """U-Net as a functional ``keras.Model``.

    Args:
        input_shape: (H, W, C); H and W may be None.
        num_classes: 1 = binary with a sigmoid head, >= 2 = softmax over classes.
        depth: number of poolings (levels below the full-resolution one).
        base_filters: width at full resolution; level i has base_filters * 2**i.
        kernel_size: convolution kernel size.
        normalization: "batch", "none" or "lrn".
        dropout: dropout rate after the deepest encoder level and the bottleneck (as in the paper).
        upsampling: "transpose" (2x2 stride-2 transposed convolution) or "bilinear" (+ convolution).
        separable: depthwise-separable convolutions everywhere but the first convolution.
    """

    def __init__(
        self,
        input_shape=(None, None, 3),
        num_classes=2,
        depth=4,
        base_filters=64,
        kernel_size=3,
        normalization="batch",
        dropout=0.0,
        upsampling="transpose",
        separable=False,
        **kwargs,
    ):
        input_shape = check_common(input_shape, num_classes, normalization, dropout)
        if int(depth) < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        if upsampling not in UPSAMPLINGS:
            raise ValueError(f"upsampling must be one of {UPSAMPLINGS}, got {upsampling!r}")
        depth, base_filters = int(depth), int(base_filters)

        def double_conv(x, width, name, first_separable=separable):
            x = conv_block(x, width, kernel_size, normalization, f"{name}_1", separable=first_separable)
            return conv_block(x, width, kernel_size, normalization, f"{name}_2", separable=separable)

        inputs = keras.Input(shape=input_shape, name="image")
        x = PadToMultiple(2**depth, name="pad_to_multiple")(inputs)
        skips = []
        for i in range(depth):
            x = double_conv(x, base_filters * 2**i, f"enc{i + 1}", separable and i > 0)
            if dropout and i == depth - 1:
                x = keras.layers.Dropout(dropout, name=f"enc{i + 1}_dropout")(x)
            skips.append(x)
            x = keras.layers.MaxPooling2D(2, name=f"enc{i + 1}_pool")(x)
        x = double_conv(x, base_filters * 2**depth, "bottleneck")
        if dropout:
            x = keras.layers.Dropout(dropout, name="bottleneck_dropout")(x)
        for i in reversed(range(depth)):
            width = base_filters * 2**i
            if upsampling == "transpose":
                x = keras.layers.Conv2DTranspose(width, 2, strides=2, name=f"dec{i + 1}_upconv")(x)
            else:
                x = keras.layers.UpSampling2D(2, interpolation="bilinear", name=f"dec{i + 1}_upsample")(x)
                x = conv_block(x, width, kernel_size, normalization, f"dec{i + 1}_up", separable=separable)
            x = keras.layers.Concatenate(name=f"dec{i + 1}_concat")([skips[i], x])
            x = double_conv(x, width, f"dec{i + 1}")
        logits = keras.layers.Conv2D(num_classes, 1, name="classifier")(x)
        outputs = classifier_head(logits, inputs, num_classes)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # input_shape is available as Functional's own ``self.input_shape`` (with the batch axis).
        self.num_classes = int(num_classes)
        self.depth = depth
        self.base_filters = base_filters
        self.kernel_size = int(kernel_size)
        self.normalization = normalization
        self.dropout = float(dropout)
        self.upsampling = upsampling
        self.separable = bool(separable)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "input_shape": list(self.input_shape[1:]),
            "num_classes": self.num_classes,
            "depth": self.depth,
            "base_filters": self.base_filters,
            "kernel_size": self.kernel_size,
            "normalization": self.normalization,
            "dropout": self.dropout,
            "upsampling": self.upsampling,
            "separable": self.separable,
        }


def unet(input_shape=(None, None, 3), num_classes=2, **options) -> UNet:
    """U-Net with the paper's defaults (depth 4, 64 base filters); pass base_filters=16 for a light one."""
    options.setdefault("name", "unet")
    return UNet(input_shape, num_classes, **options)
