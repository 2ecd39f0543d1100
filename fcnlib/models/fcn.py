"""Fully convolutional networks FCN-32s, FCN-16s and FCN-8s (Long, Shelhamer and Darrell 2015).

A VGG-like backbone (stages of convolutions + 2x2 max pooling; VGG16 widths by default, any width
for tiny test models), the classifier turned convolutional (fc6: 7x7, fc7: 1x1, with dropout), a 1x1
score layer, then upsampling by transposed convolutions initialised to bilinear interpolation. FCN-16s
adds a score map of pool4 (zero-initialised, as in the paper) to the 2x-upsampled coarse scores;
FCN-8s also adds pool3's. The input is padded to a multiple of the total stride inside the model and
the output cropped back, instead of the paper's pad-by-100 and offset crops.

``encoder="vgg16"`` (or any of :func:`fcnlib.models.encoders.available_encoders`) replaces the
backbone by a ``keras.applications`` one, optionally pretrained: its stride-32 features feed fc6,
its stride-16 and stride-8 features play pool4 and pool3. fc6/fc7 start random (the applications
are built without their classifier).
"""
from __future__ import annotations

import keras

from fcnlib.models.encoders import build_encoder, check_encoder_args
from fcnlib.models.layers import (
    BilinearUpsampling,
    PadToMultiple,
    SubPixelConv2DTranspose,
    check_common,
    classifier_head,
    freeze_layers,
    conv_block,
)

STRIDES = (32, 16, 8)


@keras.saving.register_keras_serializable(package="fcnlib")
class FCN(keras.Model):
    """FCN-32s/16s/8s as a functional ``keras.Model``.

    Args:
        input_shape: (H, W, C); H and W may be None.
        num_classes: 1 = binary with a sigmoid head, >= 2 = softmax over classes.
        stride: output stride before the last upsampling: 32, 16 or 8 (FCN-32s, -16s, -8s).
        filters: backbone width per stage (5 stages, one pooling each, as VGG16).
        convs_per_stage: backbone convolutions per stage (int or one per stage).
        fc_filters: width of the convolutional fc6 and fc7.
        fc_kernel_size: kernel of fc6 (7 in the paper).
        normalization: "batch", "none" (the paper's VGG) or "lrn".
        dropout: dropout after fc6 and fc7 (0.5 in the paper).
        encoder: None (the VGG-like backbone above, with ``filters`` and ``convs_per_stage``) or a
            ``keras.applications`` backbone name ("vgg16", "resnet50", "mobilenetv2",
            "mobilenetv3small", "mobilenetv3large", "efficientnetb0"; ``filters`` and
            ``convs_per_stage`` are then unused); needs 3-channel input, preprocessing inside the model.
        encoder_weights: None (random), "imagenet" (Keras downloads the ImageNet weights on first
            use: needs the network on the user's machine) or the path of a weights file of the
            application built with ``include_top=False``. Reported as None by ``get_config()``:
            the weights are part of the model's own weights once built.
        encoder_trainable: False freezes the encoder (its BatchNormalization in inference mode);
            without ``encoder``, the built-in encoder's convolutions and normalizations.

    Example:
    ```python
    model = FCN((None, None, 3), num_classes=12, stride=8, encoder="vgg16", encoder_weights="imagenet")
    ```
    """

    def __init__(
        self,
        input_shape=(None, None, 3),
        num_classes=2,
        stride=8,
        filters=(64, 128, 256, 512, 512),
        convs_per_stage=(2, 2, 3, 3, 3),
        fc_filters=4096,
        fc_kernel_size=7,
        normalization="batch",
        dropout=0.5,
        encoder=None,
        encoder_weights=None,
        encoder_trainable=True,
        **kwargs,
    ):
        input_shape = check_common(input_shape, num_classes, normalization, dropout)
        check_encoder_args(encoder, encoder_weights, input_shape[2])
        filters = tuple(int(f) for f in filters)
        if isinstance(convs_per_stage, int):
            convs_per_stage = (convs_per_stage,) * len(filters)
        convs_per_stage = tuple(int(n) for n in convs_per_stage)
        if len(filters) != 5 or len(convs_per_stage) != 5 or min(convs_per_stage) < 1:
            raise ValueError(
                f"FCN needs 5 backbone stages: filters={filters}, convs_per_stage={convs_per_stage}"
            )
        if int(stride) not in STRIDES:
            raise ValueError(f"stride must be one of {STRIDES}, got {stride}")
        stride = int(stride)

        inputs = keras.Input(shape=input_shape, name="image")
        x = PadToMultiple(32, name="pad_to_multiple")(inputs)
        if encoder is None:
            pools = []
            for i, (width, convs) in enumerate(zip(filters, convs_per_stage)):
                for j in range(convs):
                    x = conv_block(x, width, 3, normalization, name=f"conv{i + 1}_{j + 1}")
                x = keras.layers.MaxPooling2D(2, name=f"pool{i + 1}")(x)
                pools.append(x)
        else:  # features at strides 2..32 stand for pool1..pool5
            backbone, preprocessing = build_encoder(encoder, encoder_weights, encoder_trainable, x.shape[1:])
            pools = list(backbone(preprocessing(x)))
            x = pools[4]
        x = conv_block(x, fc_filters, fc_kernel_size, normalization, name="fc6")
        if dropout:
            x = keras.layers.Dropout(dropout, name="fc6_dropout")(x)
        x = conv_block(x, fc_filters, 1, normalization, name="fc7")
        if dropout:
            x = keras.layers.Dropout(dropout, name="fc7_dropout")(x)
        x = keras.layers.Conv2D(num_classes, 1, name="score_fr")(x)

        def upsample(x, factor, name):
            # Conv2DTranspose's math without the convolution that aborts oneDNN (see the layer)
            return SubPixelConv2DTranspose(
                num_classes, 2 * factor, strides=factor, padding="same", use_bias=False,
                kernel_initializer=BilinearUpsampling(), name=name,
            )(x)

        current = 32
        for pool_index in (4, 3):  # fuse pool4 (stride 16), then pool3 (stride 8)
            if current == stride:
                break
            x = upsample(x, 2, f"upscore_pool{pool_index}")
            skip = keras.layers.Conv2D(
                num_classes, 1, kernel_initializer="zeros", name=f"score_pool{pool_index}"
            )(pools[pool_index - 1])
            x = keras.layers.Add(name=f"fuse_pool{pool_index}")([x, skip])
            current //= 2
        logits = upsample(x, stride, "upscore")
        outputs = classifier_head(logits, inputs, num_classes)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        if encoder is None and not encoder_trainable:
            freeze_layers(self, ("conv",))

        # input_shape is available as Functional's own ``self.input_shape`` (with the batch axis).
        self.num_classes = int(num_classes)
        self.stride = stride
        self.filters = filters
        self.convs_per_stage = convs_per_stage
        self.fc_filters = int(fc_filters)
        self.fc_kernel_size = int(fc_kernel_size)
        self.normalization = normalization
        self.dropout = float(dropout)
        self.encoder = encoder
        self.encoder_trainable = bool(encoder_trainable)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "input_shape": list(self.input_shape[1:]),
            "num_classes": self.num_classes,
            "stride": self.stride,
            "filters": list(self.filters),
            "convs_per_stage": list(self.convs_per_stage),
            "fc_filters": self.fc_filters,
            "fc_kernel_size": self.fc_kernel_size,
            "normalization": self.normalization,
            "dropout": self.dropout,
            "encoder": self.encoder,
            "encoder_weights": None,  # loaded into the model's weights; see fcnlib.models.encoders
            "encoder_trainable": self.encoder_trainable,
        }


def _fcn(stride):
    def factory(input_shape=(None, None, 3), num_classes=2, base_filters=64, **options) -> FCN:
        b = int(base_filters)
        options.setdefault("name", f"fcn{stride}s")
        return FCN(input_shape, num_classes, stride=stride, filters=(b, 2 * b, 4 * b, 8 * b, 8 * b), **options)

    factory.__name__ = f"fcn{stride}s"
    factory.__doc__ = (
        f"FCN-{stride}s with a VGG16-shaped backbone of widths b, 2b, 4b, 8b, 8b (b = base_filters), or a\n"
        f"    ``keras.applications`` one with ``encoder=`` (see :class:`FCN`; ``encoder_weights=\"imagenet\"``\n"
        f"    downloads through Keras on first use).\n\n"
        f"    Example:\n    ```python\n    model = fcn{stride}s(num_classes=12, encoder=\"vgg16\")\n    ```\n"
    )
    return factory


fcn32s, fcn16s, fcn8s = _fcn(32), _fcn(16), _fcn(8)
