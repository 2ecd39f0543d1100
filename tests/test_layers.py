"""Tests of fcnlib.models.layers: max pooling with argmax and max-unpooling against a classic numpy
version (flat argmax indices), odd sizes, ties, None shapes, gradients; padding/cropping; LRN; the
sub-pixel transposed convolution against Keras's Conv2DTranspose; bilinear upsampling at sizes unknown when
traced against Keras's UpSampling2D; encoder input preprocessing."""
from __future__ import annotations

import numpy as np
import pytest
import keras
import tensorflow as tf

from fcnlib.models.layers import (
    AnySizeUpSampling2D,
    BilinearUpsampling,
    Crop,
    ImagePreprocessing,
    LocalResponseNormalization,
    MaxPoolingWithArgmax,
    MaxUnpooling,
    PadToMultiple,
    SubPixelConv2DTranspose,
)
from helpers import run_serialization_test


def numpy_pool_argmax(x):
    """Classic 2x2/2 max pooling with flat argmax indices (b, y, x, c) -> y * W + x per channel;
    odd sizes pooled over partial windows; first maximum in row-major order on ties."""
    b, h, w, c = x.shape
    ph, pw = -(-h // 2), -(-w // 2)
    pooled = np.zeros((b, ph, pw, c), x.dtype)
    index = np.zeros((b, ph, pw, c), np.int64)
    for n in range(b):
        for i in range(ph):
            for j in range(pw):
                for k in range(c):
                    window = x[n, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2, k]
                    flat = int(np.argmax(window))  # first maximum, row-major
                    wy, wx = divmod(flat, window.shape[1])
                    pooled[n, i, j, k] = window[wy, wx]
                    index[n, i, j, k] = (2 * i + wy) * w + (2 * j + wx)
    return pooled, index


def numpy_unpool(values, index, h, w):
    """Classic max-unpooling: scatter each value to its recorded flat index, zeros elsewhere."""
    b, _, _, c = values.shape
    out = np.zeros((b, h * w, c), values.dtype)
    for n in range(b):
        for k in range(c):
            out[n, index[n, :, :, k].ravel(), k] = values[n, :, :, k].ravel()
    return out.reshape(b, h, w, c)


def _pool_unpool_model(channels):
    """Functional model with None spatial dims: x -> (pooled, switches, unpool(pooled))."""
    inp = keras.Input((None, None, channels))
    pooled, switches = MaxPoolingWithArgmax()(inp)
    return keras.Model(inp, [pooled, switches, MaxUnpooling()([pooled, switches])])


@pytest.mark.parametrize(
    "shape, ties",
    [((2, 6, 8, 3), False), ((2, 7, 9, 2), False), ((1, 5, 4, 3), True), ((2, 1, 3, 2), True), ((1, 9, 7, 4), True)],
)
def test_pool_unpool_matches_numpy_reference(shape, ties):
    rng = np.random.default_rng(sum(shape))
    x = rng.integers(0, 3, shape).astype("float32") if ties else rng.normal(size=shape).astype("float32")
    pooled, switches, unpooled = (np.asarray(t) for t in _pool_unpool_model(shape[-1])(x))
    ref_pooled, ref_index = numpy_pool_argmax(x)
    np.testing.assert_array_equal(pooled, ref_pooled)
    np.testing.assert_array_equal(switches, numpy_unpool(np.ones_like(ref_pooled), ref_index, *shape[1:3]))
    np.testing.assert_array_equal(unpooled, numpy_unpool(ref_pooled, ref_index, *shape[1:3]))
    # exactly one switch per window and channel
    assert switches.sum() == ref_pooled.size


def test_unpooling_puts_other_values_at_recorded_positions():
    """Unpooling a map that is not the pooled one: values land where the maxima were."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 7, 5, 2)).astype("float32")
    values = rng.normal(size=(1, 4, 3, 2)).astype("float32")
    _, switches = MaxPoolingWithArgmax()(x)
    out = np.asarray(MaxUnpooling()([values, switches]))
    _, ref_index = numpy_pool_argmax(x)
    np.testing.assert_allclose(out, numpy_unpool(values, ref_index, 7, 5))


def test_all_equal_window_takes_first_position():
    x = np.ones((1, 2, 2, 1), "float32")
    _, switches = MaxPoolingWithArgmax()(x)
    np.testing.assert_array_equal(np.asarray(switches)[0, :, :, 0], [[1, 0], [0, 0]])


def test_gradient_flows_to_argmax_positions_only():
    rng = np.random.default_rng(2)
    x = tf.constant(rng.normal(size=(1, 5, 7, 2)).astype("float32"))
    weights = rng.normal(size=(1, 5, 7, 2)).astype("float32")
    with tf.GradientTape() as tape:
        tape.watch(x)
        pooled, switches = MaxPoolingWithArgmax()(x)
        y = tf.reduce_sum(MaxUnpooling()([pooled, switches]) * weights)
    grad = tape.gradient(y, x).numpy()
    np.testing.assert_allclose(grad, weights * np.asarray(switches), rtol=1e-6)
    assert np.count_nonzero(grad) == pooled.shape.num_elements()


def test_pool_output_shapes_known_and_unknown():
    layer = MaxPoolingWithArgmax()
    assert layer.compute_output_shape((None, 7, 10, 3)) == ((None, 4, 5, 3), (None, 7, 10, 3))
    assert layer.compute_output_shape((None, None, None, 3)) == ((None, None, None, 3), (None, None, None, 3))


def test_pad_to_multiple_and_crop_restore_any_size():
    inp = keras.Input((None, None, 3))
    padded = PadToMultiple(16)(inp)
    model = keras.Model(inp, [padded, Crop()([padded, inp])])
    x = np.random.default_rng(0).random((2, 13, 33, 3)).astype("float32")
    p, c = (np.asarray(t) for t in model(x))
    assert p.shape == (2, 16, 48, 3) and np.all(p[:, 13:] == 0) and np.all(p[:, :, 33:] == 0)
    np.testing.assert_array_equal(c, x)
    assert PadToMultiple(8).compute_output_shape((None, 17, 16, 3)) == (None, 24, 16, 3)


def test_lrn_matches_numpy():
    x = np.random.default_rng(3).normal(size=(2, 3, 4, 7)).astype("float32") * 10
    size, alpha, beta, k = 5, 1e-2, 0.75, 2.0
    out = np.asarray(LocalResponseNormalization(size, alpha, beta, k)(x))
    sq = np.pad(x**2, [(0, 0)] * 3 + [(2, 2)])
    total = sum(sq[..., i : i + 7] for i in range(size))
    np.testing.assert_allclose(out, x / (k + alpha / size * total) ** beta, rtol=1e-5)
    with pytest.raises(ValueError, match="odd"):
        LocalResponseNormalization(size=4)


def test_bilinear_initializer_interpolates():
    layer = keras.layers.Conv2DTranspose(2, 4, strides=2, padding="same", use_bias=False,
                                         kernel_initializer=BilinearUpsampling())
    out = np.asarray(layer(np.ones((1, 6, 6, 2), "float32")))
    assert out.shape == (1, 12, 12, 2)
    np.testing.assert_allclose(out[0, 2:-2, 2:-2], 1.0, rtol=1e-6)  # constant stays constant inside


def test_layer_configs_round_trip():
    for layer in [PadToMultiple(8, value=1.5), LocalResponseNormalization(3, 1e-3, 0.5, 1.0),
                  ImagePreprocessing("caffe"), SubPixelConv2DTranspose(3, 8, strides=4, padding="same"),
                  AnySizeUpSampling2D((3, 2), interpolation="bilinear")]:
        run_serialization_test(layer)


@pytest.mark.parametrize(
    "kernel, stride, padding, cin, cout, h, w",
    [(64, 32, "same", 1, 1, 3, 4), (4, 2, "same", 3, 2, 5, 7), (8, 4, "valid", 2, 3, 3, 5),
     (6, 2, "same", 2, 2, 4, 3), (6, 3, "same", 1, 2, 4, 5), (32, 16, "same", 3, 3, 2, 3), (2, 2, "valid", 2, 4, 1, 1)],
)
def test_subpixel_transposed_convolution_equals_conv2d_transpose(kernel, stride, padding, cin, cout, h, w):
    reference = keras.layers.Conv2DTranspose(cout, kernel, strides=stride, padding=padding,
                                             bias_initializer="random_normal")
    layer = SubPixelConv2DTranspose(cout, kernel, strides=stride, padding=padding)
    x = np.random.default_rng(kernel + cin).normal(size=(2, h, w, cin)).astype("float32")
    expected = np.asarray(reference(x))
    layer.build(x.shape)
    layer.set_weights(reference.get_weights())
    assert layer.kernel.shape == (kernel, kernel, cout, cin)  # Conv2DTranspose's layout
    got = np.asarray(layer(x))
    assert got.shape == expected.shape == tuple(layer.compute_output_shape(x.shape))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_subpixel_transposed_convolution_refuses_what_it_cannot_compute():
    with pytest.raises(ValueError, match="multiple"):
        SubPixelConv2DTranspose(2, 5, strides=2)
    with pytest.raises(ValueError, match="dilation"):
        SubPixelConv2DTranspose(2, 4, strides=2, output_padding=1)


def test_subpixel_layer_loads_weights_saved_from_keras_conv2d_transpose(tmp_path):
    """Keras names saved weights after the layer class: FCN files written with Keras's own
    Conv2DTranspose must load into the sub-pixel layer that replaced it."""
    def model_with(layer_class):
        inputs = keras.Input((None, None, 2))
        return keras.Model(inputs, layer_class(3, 8, strides=4, padding="same")(inputs))

    old = model_with(keras.layers.Conv2DTranspose)
    old.save_weights(tmp_path / "old.weights.h5")
    new = model_with(SubPixelConv2DTranspose)
    new.load_weights(tmp_path / "old.weights.h5")
    x = np.random.default_rng(5).normal(size=(1, 5, 6, 2)).astype("float32")
    np.testing.assert_allclose(np.asarray(new(x)), np.asarray(old(x)), atol=1e-5)


@pytest.mark.parametrize("size", [(2, 2), (3, 2), (1, 4)])
def test_bilinear_upsampling_at_sizes_unknown_when_traced_equals_keras(size):
    """`predict` traces the model again for each new input size, then with the height and width unknown:
    there Keras 3.15's own bilinear UpSampling2D raises, and this layer must give what Keras's layer gives
    on each size eagerly (edge rows, a single row and odd sizes included)."""
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, AnySizeUpSampling2D(size, interpolation="bilinear")(inputs))
    reference = keras.layers.UpSampling2D(size, interpolation="bilinear")
    rng = np.random.default_rng(0)
    for shape in [(2, 5, 7, 3), (1, 1, 4, 3), (3, 6, 6, 3), (1, 9, 2, 3)]:
        x = rng.normal(size=shape).astype("float32")
        out = model.predict(x, verbose=0)
        assert out.shape == (shape[0], shape[1] * size[0], shape[2] * size[1], 3)
        np.testing.assert_allclose(out, np.asarray(reference(x)), atol=2e-6, err_msg=str(shape))
