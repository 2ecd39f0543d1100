"""U-Net (Ronneberger, Fischer and Brox 2015) with options for a light model.

Encoder levels of two convolutions, each followed by 2x2 max pooling; a bottleneck; a decoder that
upsamples (transposed convolution, or bilinear upsampling + convolution), concatenates the mirrored
encoder map and applies two convolutions. Widths double per level from ``base_filters``. The input is
padded inside the model to a multiple of 2**depth and the output cropped back, so any H x W works
and the output always has the input's size. ``separable=True`` uses depthwise-separable convolutions
(all but the first), for a model several times cheaper.

``encoder="resnet50"`` (or any of :func:`fcnlib.models.encoders.available_encoders`) replaces the
encoder by a ``keras.applications`` backbone, optionally pretrained (``encoder_weights``): its
features at strides 2, 4, ..., 2**depth are the skips and the bottleneck, and the decoder is the
same as above (segmentation_models' U-Net: no skip at full resolution, decoder widths
16 * 2**level by default).
"""
from __future__ import annotations

import keras

from fcnlib.models.encoders import build_encoder, check_encoder_args
from fcnlib.models.layers import (AnySizeUpSampling2D, PadToMultiple, check_common, classifier_head, conv_block,
                                  freeze_layers)

UPSAMPLINGS = ("transpose", "bilinear")


@keras.saving.register_keras_serializable(package="fcnlib")
class UNet(keras.Model):
    """U-Net as a functional ``keras.Model``.

    Args:
        input_shape: (H, W, C); H and W may be None.
        num_classes: 1 = binary with a sigmoid head, >= 2 = softmax over classes.
        depth: number of poolings (levels below the full-resolution one); default 4, or 5 with an
            encoder (1 to 5 with an encoder: its features down to stride 2**depth are used).
        base_filters: width at full resolution; level i has base_filters * 2**i. Default 64, or 16
            with an encoder (decoder widths 256, 128, 64, 32, 16 as in segmentation_models).
        kernel_size: convolution kernel size.
        normalization: "batch", "none" or "lrn".
        dropout: dropout rate after the deepest encoder level and the bottleneck (as in the paper).
        upsampling: "transpose" (2x2 stride-2 transposed convolution) or "bilinear" (+ convolution).
        separable: depthwise-separable convolutions everywhere but the first convolution.
        encoder: None (the U-Net encoder above) or a ``keras.applications`` backbone name
            ("vgg16", "resnet50", "mobilenetv2", "mobilenetv3small", "mobilenetv3large",
            "efficientnetb0"); needs 3-channel input. Its input preprocessing is inside the model.
        encoder_weights: None (random), "imagenet" (Keras downloads the ImageNet weights on first
            use: needs the network on the user's machine) or the path of a weights file of the
            application built with ``include_top=False``. Not kept in ``get_config()`` (reported as
            None): the weights are part of the model's own weights once built.
        encoder_trainable: False freezes the encoder (its BatchNormalization in inference mode);
            without ``encoder``, the built-in encoder's convolutions and normalizations.

    Example:
    ```python
    model = UNet((None, None, 3), num_classes=3, encoder="mobilenetv2", encoder_weights="imagenet")
    probabilities = model(np.zeros((1, 67, 93, 3), "float32"))  # (1, 67, 93, 3)
    ```
    """

    def __init__(
        self,
        input_shape=(None, None, 3),
        num_classes=2,
        depth=None,
        base_filters=None,
        kernel_size=3,
        normalization="batch",
        dropout=0.0,
        upsampling="transpose",
        separable=False,
        encoder=None,
        encoder_weights=None,
        encoder_trainable=True,
        **kwargs,
    ):
        input_shape = check_common(input_shape, num_classes, normalization, dropout)
        check_encoder_args(encoder, encoder_weights, input_shape[2])
        depth = int(depth) if depth is not None else (4 if encoder is None else 5)
        base_filters = int(base_filters) if base_filters is not None else (64 if encoder is None else 16)
        if depth < 1 or (encoder is not None and depth > 5):
            raise ValueError(f"depth must be >= 1 (at most 5 with an encoder), got {depth}")
        if upsampling not in UPSAMPLINGS:
            raise ValueError(f"upsampling must be one of {UPSAMPLINGS}, got {upsampling!r}")

        def double_conv(x, width, name, first_separable=separable):
            x = conv_block(x, width, kernel_size, normalization, f"{name}_1", separable=first_separable)
            return conv_block(x, width, kernel_size, normalization, f"{name}_2", separable=separable)

        inputs = keras.Input(shape=input_shape, name="image")
        x = PadToMultiple(2**depth, name="pad_to_multiple")(inputs)
        skips = []
        if encoder is None:
            for i in range(depth):
                x = double_conv(x, base_filters * 2**i, f"enc{i + 1}", separable and i > 0)
                if dropout and i == depth - 1:
                    x = keras.layers.Dropout(dropout, name=f"enc{i + 1}_dropout")(x)
                skips.append(x)
                x = keras.layers.MaxPooling2D(2, name=f"enc{i + 1}_pool")(x)
            x = double_conv(x, base_filters * 2**depth, "bottleneck")
        else:
            backbone, preprocessing = build_encoder(
                encoder, encoder_weights, encoder_trainable, x.shape[1:], depth
            )
            features = backbone(preprocessing(x))
            features = features if isinstance(features, (list, tuple)) else [features]
            skips = [None] + list(features[: depth - 1])  # no encoder feature at full resolution
            x = features[depth - 1]
        if dropout:
            x = keras.layers.Dropout(dropout, name="bottleneck_dropout")(x)
        for i in reversed(range(depth)):
            width = base_filters * 2**i
            if upsampling == "transpose":
                x = keras.layers.Conv2DTranspose(width, 2, strides=2, name=f"dec{i + 1}_upconv")(x)
            else:
                x = AnySizeUpSampling2D(2, interpolation="bilinear", name=f"dec{i + 1}_upsample")(x)
                x = conv_block(x, width, kernel_size, normalization, f"dec{i + 1}_up", separable=separable)
            if skips[i] is not None:
                x = keras.layers.Concatenate(name=f"dec{i + 1}_concat")([skips[i], x])
            x = double_conv(x, width, f"dec{i + 1}")
        logits = keras.layers.Conv2D(num_classes, 1, name="classifier")(x)
        outputs = classifier_head(logits, inputs, num_classes)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        if encoder is None and not encoder_trainable:
            freeze_layers(self, ("enc", "bottleneck"))

        # input_shape is available as Functional's own ``self.input_shape`` (with the batch axis).
        self.num_classes = int(num_classes)
        self.depth = depth
        self.base_filters = base_filters
        self.kernel_size = int(kernel_size)
        self.normalization = normalization
        self.dropout = float(dropout)
        self.upsampling = upsampling
        self.separable = bool(separable)
        self.encoder = encoder
        self.encoder_trainable = bool(encoder_trainable)

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
            "encoder": self.encoder,
            "encoder_weights": None,  # loaded into the model's weights; see fcnlib.models.encoders
            "encoder_trainable": self.encoder_trainable,
        }


def unet(input_shape=(None, None, 3), num_classes=2, **options) -> UNet:
    """U-Net with the paper's defaults (depth 4, 64 base filters); pass base_filters=16 for a light one,
    or ``encoder="resnet50", encoder_weights="imagenet"`` for a pretrained backbone (see :class:`UNet`).

    Example:
    ```python
    model = unet(num_classes=1, base_filters=16)
    ```
    """
    options.setdefault("name", "unet")
    return UNet(input_shape, num_classes, **options)
