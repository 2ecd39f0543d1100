"""Custom Keras layers shared by the fcnlib architectures, written with ``keras.ops`` only.

Why here: SegNet's max-unpooling, bilinear upsampling that runs at any input size, padding any input
size to a multiple of the network's stride, cropping back, local response normalization and the bilinear
kernel initializer of FCN are not in Keras. Every layer is backend-agnostic (TensorFlow, JAX, PyTorch), accepts ``None`` spatial sizes,
is registered as serializable under the ``fcnlib`` package and converts to TFLite (only slicing,
padding, comparisons, repeat and elementwise ops are used).

Max-unpooling design: :class:`MaxPoolingWithArgmax` returns the pooled map and a full-resolution
0/1 "switches" mask holding exactly one 1 per 2x2 window and channel, at the first maximum in
row-major window order (the pooling record). :class:`MaxUnpooling` takes two inputs, the map from
below and that record, repeats each value over its window and keeps it only where the maximum was:
the classic index unpooling of Badrinarayanan et al., with odd sizes handled by -inf padding.
"""
from __future__ import annotations

import numpy as np
import keras
from keras import ops

__all__ = [
    "MaxPoolingWithArgmax",
    "MaxUnpooling",
    "PadToMultiple",
    "Crop",
    "LocalResponseNormalization",
    "BilinearUpsampling",
    "SubPixelConv2DTranspose",
    "AnySizeUpSampling2D",
    "ImagePreprocessing",
    "NORMALIZATIONS",
    "check_common",
    "conv_block",
    "classifier_head",
    "freeze_layers",
]

NORMALIZATIONS = ("batch", "none", "lrn")


def _repeat2x2(x):
    """Nearest-neighbour 2x upsampling of an NHWC tensor (each value fills its 2x2 window)."""
    return ops.repeat(ops.repeat(x, 2, axis=1), 2, axis=2)


def _half(n):
    return None if n is None else (n + 1) // 2


@keras.saving.register_keras_serializable(package="fcnlib")
class MaxPoolingWithArgmax(keras.layers.Layer):
    """2x2 stride-2 max pooling that also returns where each maximum came from.

    Returns ``(pooled, switches)``: ``pooled`` is (B, ceil(H/2), ceil(W/2), C); ``switches`` is a
    (B, H, W, C) 0/1 mask, one 1 per window and channel at the first maximum (row-major) of the
    window. Odd sizes are padded with -inf on the bottom/right, so the last window holds only real
    values, and the mask is cropped back to H x W.
    """

    def call(self, x):
        h, w = ops.shape(x)[1], ops.shape(x)[2]
        neg_inf = ops.convert_to_tensor(-np.inf, dtype=x.dtype)
        xp = ops.pad(x, [[0, 0], [0, h % 2], [0, w % 2], [0, 0]], constant_values=neg_inf)
        a, b = xp[:, 0::2, 0::2], xp[:, 0::2, 1::2]
        c, d = xp[:, 1::2, 0::2], xp[:, 1::2, 1::2]
        pooled = ops.maximum(ops.maximum(a, b), ops.maximum(c, d))
        # First maximum in window order a, b, c, d (ties go to the earliest).
        ma = ops.equal(a, pooled)
        mb = ops.logical_and(ops.equal(b, pooled), ops.logical_not(ma))
        taken = ops.logical_or(ma, mb)
        mc = ops.logical_and(ops.equal(c, pooled), ops.logical_not(taken))
        md = ops.logical_not(ops.logical_or(taken, mc))
        # Scatter back to full resolution: repeat each window flag and keep its own corner.
        rows = ops.cast(ops.arange(ops.shape(xp)[1]) % 2, x.dtype)[None, :, None, None]
        cols = ops.cast(ops.arange(ops.shape(xp)[2]) % 2, x.dtype)[None, None, :, None]
        top, left = 1 - rows, 1 - cols
        switches = (
            _repeat2x2(ops.cast(ma, x.dtype)) * (top * left)
            + _repeat2x2(ops.cast(mb, x.dtype)) * (top * cols)
            + _repeat2x2(ops.cast(mc, x.dtype)) * (rows * left)
            + _repeat2x2(ops.cast(md, x.dtype)) * (rows * cols)
        )
        switches = ops.stop_gradient(switches[:, :h, :w, :])
        return pooled, switches

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        return (b, _half(h), _half(w), c), (b, h, w, c)


@keras.saving.register_keras_serializable(package="fcnlib")
class MaxUnpooling(keras.layers.Layer):
    """Max-unpooling from two inputs ``[x, switches]``: each value of ``x`` goes back to the position
    its maximum came from in the mirrored pooling (zeros elsewhere); output is switches' size."""

    def call(self, inputs):
        x, switches = inputs
        h, w = ops.shape(switches)[1], ops.shape(switches)[2]
        up = _repeat2x2(x)[:, :h, :w, :]
        return up * ops.cast(switches, up.dtype)

    def compute_output_shape(self, input_shapes):
        x_shape, s_shape = input_shapes
        return (x_shape[0], s_shape[1], s_shape[2], x_shape[3])


@keras.saving.register_keras_serializable(package="fcnlib")
class PadToMultiple(keras.layers.Layer):
    """Pads H and W (bottom/right, with ``value``) up to the next multiple of ``multiple``, so a
    network with ``log2(multiple)`` poolings sees exact halvings; :class:`Crop` undoes it."""

    def __init__(self, multiple: int, value: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.multiple = int(multiple)
        self.value = float(value)

    def call(self, x):
        m = self.multiple
        h, w = ops.shape(x)[1], ops.shape(x)[2]
        pad = [[0, 0], [0, (m - h % m) % m], [0, (m - w % m) % m], [0, 0]]
        return ops.pad(x, pad, constant_values=ops.convert_to_tensor(self.value, x.dtype))

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        m = self.multiple
        return (b, None if h is None else -(-h // m) * m, None if w is None else -(-w // m) * m, c)

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple, "value": self.value}


@keras.saving.register_keras_serializable(package="fcnlib")
class Crop(keras.layers.Layer):
    """Crops ``x`` (top-left anchored) to the spatial size of ``reference``: inputs ``[x, reference]``."""

    def call(self, inputs):
        x, reference = inputs
        return x[:, : ops.shape(reference)[1], : ops.shape(reference)[2], :]

    def compute_output_shape(self, input_shapes):
        x_shape, r_shape = input_shapes
        return (x_shape[0], r_shape[1], r_shape[2], x_shape[3])


@keras.saving.register_keras_serializable(package="fcnlib")
class LocalResponseNormalization(keras.layers.Layer):
    """Across-channel local response normalization (Krizhevsky et al. 2012):
    ``x / (k + alpha / n * sum_{window of n channels} x**2) ** beta``, computed in float32."""

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0, **kwargs):
        super().__init__(**kwargs)
        if size < 1 or size % 2 == 0:
            raise ValueError(f"LocalResponseNormalization size must be odd and >= 1, got {size}")
        self.size, self.alpha, self.beta, self.k = int(size), float(alpha), float(beta), float(k)

    def call(self, x):
        r = self.size // 2
        xf = ops.cast(x, "float32")
        sq = ops.pad(ops.square(xf), [[0, 0], [0, 0], [0, 0], [r, r]])
        channels = ops.shape(x)[3]
        total = sq[..., 0:channels]
        for i in range(1, self.size):
            total = total + sq[..., i : i + channels]
        out = xf / ops.power(self.k + self.alpha / self.size * total, self.beta)
        return ops.cast(out, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "size": self.size, "alpha": self.alpha, "beta": self.beta, "k": self.k}


@keras.saving.register_keras_serializable(package="fcnlib")
class BilinearUpsampling(keras.initializers.Initializer):
    """Kernel initializer for ``Conv2DTranspose`` that starts as bilinear interpolation, channel i to
    channel i (Long et al. 2015 initialise their upsampling this way)."""

    def __call__(self, shape, dtype=None):
        kh, kw, out_ch, in_ch = shape
        def axis_weights(k):
            factor = (k + 1) // 2
            center = factor - 1 if k % 2 == 1 else factor - 0.5
            return 1 - np.abs(np.arange(k) - center) / factor
        kernel2d = np.outer(axis_weights(kh), axis_weights(kw))
        weights = np.zeros(shape, dtype="float32")
        for i in range(min(out_ch, in_ch)):
            weights[:, :, i, i] = kernel2d
        return ops.convert_to_tensor(weights, dtype=dtype or "float32")

    def get_config(self):
        return {}


@keras.saving.register_keras_serializable(package="fcnlib", name="SubPixelConv2DTranspose")
class Conv2DTranspose(keras.layers.Conv2DTranspose):
    """``Conv2DTranspose`` (same kernel, weights and output) computed as a stride-1 convolution over
    the input followed by a pixel shuffle (the sub-pixel convolution of Shi et al. 2016).

    Why: on CPU, TensorFlow's oneDNN convolution aborts the whole process
    (``Check failed: dtype() == expected_dtype (1 vs. 4) uint8 expected, got float``) on the
    convolution that back-propagates through a one-channel transposed convolution with a 64x64
    kernel and stride 32 (FCN-32s with ``num_classes=1``) on batches of 256x256 or larger maps.
    Written this way, no convolution with such a kernel is ever run; the kernel keeps
    ``Conv2DTranspose``'s shape (kh, kw, filters, in_channels), so the FLOP count, the bilinear
    initializer and saved weights are unchanged. The class keeps Keras's class name (exported as
    ``SubPixelConv2DTranspose``, serialized as ``fcnlib>SubPixelConv2DTranspose``) because Keras
    files name saved weights after the class: FCN files saved with Keras's own layer still load.

    A stride-s transposed convolution with a kernel of n*s taps gives output pixel ``q*s + r`` the
    sum over m < n of ``x[q - m] * K[r + m*s]``: an n-tap stride-1 convolution with s*s*filters
    output channels (one per phase r), shuffled into the s x s output pixels of each input pixel,
    then cropped as ``padding`` says. Needs ``kernel_size`` a multiple of ``strides``, no dilation,
    no ``output_padding`` and channels-last data.

    Example:
    ```python
    layer = SubPixelConv2DTranspose(3, 8, strides=4, padding="same")
    layer(np.zeros((1, 5, 7, 2), "float32")).shape  # (1, 20, 28, 3)
    ```
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, **kwargs)
        if any(k % s for k, s in zip(self.kernel_size, self.strides)):
            raise ValueError(f"kernel_size {self.kernel_size} must be a multiple of strides {self.strides}")
        if tuple(self.dilation_rate) != (1, 1) or self.output_padding is not None:
            raise ValueError("SubPixelConv2DTranspose supports neither dilation nor output_padding")
        if self.data_format != "channels_last":
            raise ValueError("SubPixelConv2DTranspose needs data_format='channels_last'")

    def call(self, inputs):
        (kh, kw), (sh, sw) = self.kernel_size, self.strides
        nh, nw = kh // sh, kw // sw
        filters = self.filters
        kernel = self.kernel  # (kh, kw, filters, in_channels)
        in_channels = ops.shape(kernel)[3]
        # taps[m, r1, n, r2] = kernel[m*sh + r1, n*sw + r2]; tap a of the convolution is m = n - 1 - a
        taps = ops.flip(ops.reshape(kernel, (nh, sh, nw, sw, filters, in_channels)), axis=(0, 2))
        weights = ops.reshape(ops.transpose(taps, (0, 2, 5, 1, 3, 4)), (nh, nw, in_channels, sh * sw * filters))
        x = ops.pad(inputs, [[0, 0], [nh - 1, nh - 1], [nw - 1, nw - 1], [0, 0]])
        y = ops.conv(x, weights, strides=1, padding="valid")  # (B, h + nh - 1, w + nw - 1, sh*sw*filters)
        b, hp, wp = ops.shape(y)[0], ops.shape(y)[1], ops.shape(y)[2]
        y = ops.reshape(y, (b * hp, wp, sh, sw * filters))
        y = ops.reshape(ops.transpose(y, (0, 2, 1, 3)), (b, hp * sh, wp * sw, filters))
        if self.padding == "same":  # crop as TensorFlow's conv2d_transpose does (Keras matches it)
            h, w = ops.shape(inputs)[1], ops.shape(inputs)[2]
            top, left = (kh - sh) // 2, (kw - sw) // 2
            y = y[:, top : top + h * sh, left : left + w * sw, :]
        if self.use_bias:
            y = y + self.bias
        return self.activation(y) if self.activation is not None else y


SubPixelConv2DTranspose = Conv2DTranspose


def _linear_upsample_rows(x, factor: int):
    """Linear interpolation of an NHWC tensor to `factor` times its height, with half-pixel centres and
    edge values repeated: what `ops.image.resize(..., "bilinear")` computes along that axis when enlarging.
    Output row `i * factor + r` samples input row `i + (r + 0.5) / factor - 0.5`. Works when the height is
    unknown until run time."""
    if factor == 1:
        return x
    above = ops.concatenate([x[:, :1], x[:, :-1]], axis=1)  # row i - 1, the first row repeated
    below = ops.concatenate([x[:, 1:], x[:, -1:]], axis=1)  # row i + 1, the last row repeated
    phases = []
    for r in range(factor):
        d = (r + 0.5) / factor - 0.5
        neighbour = above if d < 0 else below
        phases.append(x * (1.0 - abs(d)) + neighbour * abs(d))
    b, h, w, c = (ops.shape(x)[i] for i in range(4))
    return ops.reshape(ops.stack(phases, axis=2), (b, h * factor, w, c))


@keras.saving.register_keras_serializable(package="fcnlib")
class AnySizeUpSampling2D(keras.layers.UpSampling2D):
    """Keras's ``UpSampling2D`` (same arguments, same output) that also runs bilinear upsampling where
    the spatial size is unknown when the model is traced.

    Why: in Keras 3.15 (the release fcnlib is tested with) ``ops.image.resize`` checks ``size[0] <= 0`` in
    Python, so with the TensorFlow backend ``UpSampling2D(interpolation="bilinear")`` fails
    (``OperatorNotAllowedInGraphError``) once ``predict``, ``fit`` or ``evaluate`` retrace a model for a
    second input size: a U-Net built for any size answered only the first size it was given
    (keras-team/keras PR 22079 added the check).
    Where the height and width are known (eager calls, JAX, a TFLite export at a fixed size) this layer
    is Keras's own; where they are not, the same interpolation is written with slicing and
    elementwise ops, rows then columns (bilinear is separable).

    Example:
    ```python
    layer = AnySizeUpSampling2D(2, interpolation="bilinear")
    layer(np.zeros((1, 5, 7, 3), "float32")).shape  # (1, 10, 14, 3)
    ```
    """

    def call(self, inputs):
        spatial = (1, 2) if self.data_format == "channels_last" else (2, 3)
        if self.interpolation != "bilinear" or None not in [inputs.shape[a] for a in spatial]:
            return super().call(inputs)
        x = inputs if self.data_format == "channels_last" else ops.transpose(inputs, (0, 2, 3, 1))
        x = _linear_upsample_rows(x, self.size[0])
        x = ops.transpose(_linear_upsample_rows(ops.transpose(x, (0, 2, 1, 3)), self.size[1]), (0, 2, 1, 3))
        return x if self.data_format == "channels_last" else ops.transpose(x, (0, 3, 1, 2))


@keras.saving.register_keras_serializable(package="fcnlib")
class ImagePreprocessing(keras.layers.Layer):
    """Turns fcnlib's float images in [0, 1] into what a ``keras.applications`` encoder expects,
    inside the model (so a saved model needs no preprocessing outside it).

    Modes, as ``keras.applications.imagenet_utils.preprocess_input`` applied to ``255 * x``:
    ``"caffe"`` (VGG16, ResNet50): RGB to BGR, minus the ImageNet mean pixel, no scaling;
    ``"tf"`` (MobileNetV2): scaled to [-1, 1]; ``"torch"``: ImageNet mean/std normalisation;
    ``"raw"`` (MobileNetV3, EfficientNet, whose own first layers normalise): scaled to [0, 255].

    Example:
    ```python
    ImagePreprocessing("tf")(np.ones((1, 2, 2, 3), "float32"))  # all 1.0
    ```
    """

    MODES = ("caffe", "tf", "torch", "raw")

    def __init__(self, mode: str, **kwargs):
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(f"ImagePreprocessing mode must be one of {self.MODES}, got {mode!r}")
        self.mode = mode

    def call(self, x):
        if self.mode == "tf":
            return x * 2.0 - 1.0
        if self.mode == "raw":
            return x * 255.0
        if self.mode == "torch":
            mean = ops.convert_to_tensor([0.485, 0.456, 0.406], x.dtype)
            std = ops.convert_to_tensor([0.229, 0.224, 0.225], x.dtype)
            return (x - mean) / std
        bgr = ops.flip(x, axis=-1) * 255.0
        return bgr - ops.convert_to_tensor([103.939, 116.779, 123.68], x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


# --- building blocks shared by segnet.py, unet.py and fcn.py -------------------------------------


def check_common(input_shape, num_classes, normalization, dropout) -> tuple:
    """Validates the options every architecture shares; returns input_shape as a tuple (H, W, C)."""
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or input_shape[2] is None:
        raise ValueError(f"input_shape must be (height, width, channels) with known channels, got {input_shape}")
    if int(num_classes) < 1:
        raise ValueError(f"num_classes must be >= 1 (1 = binary with a sigmoid), got {num_classes}")
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}")
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    return input_shape


def conv_block(x, filters, kernel_size, normalization, name, separable=False):
    """Convolution ("same" padding) + optional normalization + ReLU."""
    conv = keras.layers.SeparableConv2D if separable else keras.layers.Conv2D
    x = conv(filters, kernel_size, padding="same", use_bias=normalization != "batch", name=f"{name}_conv")(x)
    if normalization == "batch":
        # momentum 0.9: running statistics settle within the few hundred steps of a CPU run
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    elif normalization == "lrn":
        x = LocalResponseNormalization(name=f"{name}_lrn")(x)
    return keras.layers.Activation("relu", name=f"{name}_relu")(x)


def classifier_head(logits, inputs, num_classes):
    """Crops ``logits`` to the input's size and applies sigmoid (1 class) or softmax, in float32
    whatever the mixed-precision policy (a float16 softmax is numerically unsafe)."""
    logits = Crop(name="crop_to_input")([logits, inputs])
    activation = "sigmoid" if num_classes == 1 else "softmax"
    return keras.layers.Activation(activation, dtype="float32", name="probabilities")(logits)


def freeze_layers(model, prefixes) -> None:
    """Makes the convolutions and normalizations whose names start with one of ``prefixes``
    non-trainable (``encoder_trainable=False``); frozen BatchNormalization runs in inference mode."""
    for layer in model.layers:
        if layer.name.startswith(tuple(prefixes)) and layer.name.endswith(("_conv", "_bn", "_lrn")):
            layer.trainable = False
