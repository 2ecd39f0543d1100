"""Tests of fcnlib.losses: hand-computed values on tiny masks, both heads, weights, composition,
agreement with Keras built-ins, serialization in a saved model, finite gradients."""
from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from fcnlib import losses as L

# One image 2 x 2: true classes [[1, 0], [1, 1]], P(class 1) [[.8, .3], [.6, .9]].
Y = np.array([[1, 0], [1, 1]], np.int32).reshape(1, 2, 2, 1)
P1 = np.array([0.8, 0.3, 0.6, 0.9], np.float32).reshape(1, 2, 2, 1)
P2 = np.concatenate([1 - P1, P1], axis=-1)  # the same prediction from a 2-class softmax
# Probability given to the true class per pixel, and soft counts of class 1.
PT = np.array([0.8, 0.7, 0.6, 0.9])
TP, FP, FN = 2.3, 0.3, 0.7
# Soft counts of class 0 (background): t0 = [0, 1, 0, 0], p0 = [.2, .7, .4, .1].
TP0, FP0, FN0 = 0.7, 0.7, 0.3

S = 1e-5  # default smooth


def value(loss, y=Y, p=P1, w=None):
    return float(keras.ops.convert_to_numpy(loss(y, p, sample_weight=w)))


HAND = {
    "bce": np.mean(-np.log(PT)),
    "cce": np.mean(-np.log(PT)),
    "focal": np.mean(-((1 - PT) ** 2) * np.log(PT)),
    "dice": 1 - (2 * TP + S) / (2 * TP + FP + FN + S),
    "jaccard": 1 - (TP + S) / (TP + FP + FN + S),
    "tversky": 1 - (TP + S) / (TP + 0.3 * FP + 0.7 * FN + S),
}


@pytest.mark.parametrize("name", sorted(HAND))
def test_hand_values_sigmoid_head(name):
    assert value(L.get(name)) == pytest.approx(HAND[name], rel=1e-5)


@pytest.mark.parametrize("name", ["bce", "cce", "focal"])
def test_pixel_losses_same_for_sigmoid_and_two_class_softmax(name):
    assert value(L.get(name), p=P2) == pytest.approx(value(L.get(name)), rel=1e-5)


def test_region_losses_two_class_softmax_average_both_classes():
    dice0 = (2 * TP0 + S) / (2 * TP0 + FP0 + FN0 + S)
    dice1 = (2 * TP + S) / (2 * TP + FP + FN + S)
    assert value(L.DiceLoss(), p=P2) == pytest.approx(1 - (dice0 + dice1) / 2, rel=1e-5)
    # class_ids selects; K == 1 with both classes equals the softmax default
    assert value(L.DiceLoss(class_ids=[1]), p=P2) == pytest.approx(HAND["dice"], rel=1e-5)
    assert value(L.DiceLoss(class_ids=[0, 1])) == pytest.approx(value(L.DiceLoss(), p=P2), rel=1e-5)
    # class weights weight the per-class scores
    weighted = value(L.DiceLoss(class_weights=[1, 3]), p=P2)
    assert weighted == pytest.approx(1 - (dice0 + 3 * dice1) / 4, rel=1e-5)


def test_three_classes_hand_values():
    y = np.array([0, 1, 2], np.int32).reshape(1, 1, 3, 1)
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6]], np.float32).reshape(1, 1, 3, 3)
    pt = np.array([0.7, 0.6, 0.6])
    assert value(L.CategoricalCELoss(), y, p) == pytest.approx(np.mean(-np.log(pt)), rel=1e-5)
    assert value(L.FocalLoss(gamma=2), y, p) == pytest.approx(np.mean(-((1 - pt) ** 2) * np.log(pt)), rel=1e-5)
    onehot = np.eye(3)[[0, 1, 2]]
    bce = -(onehot * np.log(p[0, 0]) + (1 - onehot) * np.log(1 - p[0, 0])).mean()
    assert value(L.BinaryCELoss(), y, p) == pytest.approx(bce, rel=1e-5)
    tp = np.array([0.7, 0.6, 0.6])
    fp = p[0, 0].sum(axis=0) - tp
    fn = 1 - tp
    jac = (tp + S) / (tp + fp + fn + S)
    assert value(L.JaccardLoss(), y, p) == pytest.approx(1 - jac.mean(), rel=1e-5)


def test_agrees_with_keras_builtins():
    yf = Y.astype(np.float32)
    w = np.array([1, 3, 1, 0.5], np.float32).reshape(1, 2, 2, 1)
    assert value(L.BinaryCELoss(), w=w) == pytest.approx(
        float(keras.losses.BinaryCrossentropy()(yf, P1, sample_weight=w)), rel=1e-6
    )
    assert value(L.DiceLoss(smooth=0)) == pytest.approx(float(keras.losses.Dice()(yf, P1)), rel=1e-5)
    # Keras' Tversky multiplies false negatives by alpha: ours(alpha=a, beta=b) == keras(b, a)
    assert value(L.TverskyLoss(0.2, 0.8, smooth=0)) == pytest.approx(
        float(keras.losses.Tversky(alpha=0.8, beta=0.2)(yf, P1)), rel=1e-5
    )
    # Focal class balancing with alpha == class_weights (1 - alpha, alpha)
    keras_focal = keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.25, gamma=2.0)
    assert value(L.FocalLoss(class_weights=[0.75, 0.25])) == pytest.approx(float(keras_focal(yf, P1)), rel=1e-5)


def test_tversky_half_half_is_dice():
    assert value(L.TverskyLoss(0.5, 0.5, smooth=0)) == pytest.approx(value(L.DiceLoss(smooth=0)), rel=1e-6)


def test_per_pixel_sample_weight():
    w = np.array([1, 3, 1, 1], np.float32).reshape(1, 2, 2, 1)  # weigh the background pixel x3
    ce = -np.log(PT)
    assert value(L.get("bce"), w=w) == pytest.approx((ce * [1, 3, 1, 1]).sum() / 4, rel=1e-5)
    mean_w = L.BinaryCELoss(reduction="mean_with_sample_weight")
    assert value(mean_w, w=w) == pytest.approx((ce * [1, 3, 1, 1]).sum() / 6, rel=1e-5)
    # region losses weight the soft counts: fp of the background pixel counts 3 times
    assert value(L.DiceLoss(), w=w) == pytest.approx(1 - (2 * TP + S) / (2 * TP + 3 * FP + FN + S), rel=1e-5)
    # weights of shape (B, H, W) and (B,) are accepted too
    assert value(L.DiceLoss(), w=w[..., 0]) == pytest.approx(value(L.DiceLoss(), w=w), rel=1e-6)
    assert value(L.get("focal"), w=np.array([2.0], np.float32)) == pytest.approx(2 * HAND["focal"], rel=1e-5)


def test_class_weights_equal_pixel_weights():
    cw = [0.4, 2.5]
    pw = L.pixel_weights(Y, cw)
    assert keras.ops.convert_to_numpy(pw).reshape(-1).tolist() == pytest.approx([2.5, 0.4, 2.5, 2.5])
    for name in ["bce", "cce", "focal"]:
        assert value(L.get(name, class_weights=cw)) == pytest.approx(value(L.get(name), w=pw), rel=1e-6)
        assert value(L.get(name, class_weights=cw), p=P2) == pytest.approx(value(L.get(name), w=pw), rel=1e-5)


def test_pixel_weights_void_label_gets_zero():
    mask = np.array([[0, 1, 255]], np.int32)
    assert keras.ops.convert_to_numpy(L.pixel_weights(mask, [1.0, 4.0])).tolist() == [[1.0, 4.0, 0.0]]


def test_per_image_region_loss():
    y = np.concatenate([Y, np.zeros_like(Y)])  # second image: no foreground at all
    p = np.concatenate([P1, np.full_like(P1, 0.1)])
    fp2 = 0.4
    batch = 1 - (2 * TP + S) / (2 * TP + FP + fp2 + FN + S)
    per_image = 1 - ((2 * TP + S) / (2 * TP + FP + FN + S) + S / (fp2 + S)) / 2
    assert value(L.DiceLoss(), y, p) == pytest.approx(batch, rel=1e-5)
    assert value(L.DiceLoss(per_image=True), y, p) == pytest.approx(per_image, rel=1e-5)


def test_empty_class_in_truth_and_prediction_costs_nothing():
    y = np.zeros((1, 3, 3, 1), np.int32)
    p = np.zeros((1, 3, 3, 1), np.float32)
    for loss in (L.DiceLoss(), L.JaccardLoss(), L.TverskyLoss()):
        assert value(loss, y, p) == pytest.approx(0.0, abs=1e-6)


def test_composition_and_get():
    bce_dice = L.get("bce+dice")
    assert isinstance(bce_dice, L.SumLoss)
    assert value(bce_dice) == pytest.approx(HAND["bce"] + HAND["dice"], rel=1e-5)
    mix = L.get(" 0.5 * focal + dice ")
    assert value(mix) == pytest.approx(0.5 * HAND["focal"] + HAND["dice"], rel=1e-5)
    assert mix.name == "0.5*focal+dice"
    by_ops = 0.5 * L.FocalLoss() + L.DiceLoss()
    assert by_ops.weights == [0.5, 1.0] and value(by_ops) == pytest.approx(value(mix))
    nested = 2 * (L.BinaryCELoss() + L.DiceLoss()) + L.JaccardLoss()
    assert nested.weights == [2.0, 2.0, 1.0]
    assert sum([L.BinaryCELoss(), L.DiceLoss()]).weights == [1.0, 1.0]
    assert value(L.get("bce+dice"), w=np.full((1, 2, 2, 1), 2.0, np.float32)) == pytest.approx(
        2 * HAND["bce"] + HAND["dice"], rel=1e-5
    )
    assert isinstance(L.get("ce"), L.CategoricalCELoss) and isinstance(L.get("iou"), L.JaccardLoss)
    focal3 = L.get({"name": "focal", "gamma": 3})
    assert isinstance(focal3, L.FocalLoss) and focal3.gamma == 3.0
    mixed = L.get("focal+dice", gamma=1.0, class_weights=[1, 2])  # options go where they fit
    assert mixed.losses[0].gamma == 1.0 and mixed.losses[1].class_weights == [1.0, 2.0]
    same = L.DiceLoss()
    assert L.get(same) is same
    assert isinstance(L.get(keras.saving.serialize_keras_object(L.JaccardLoss())), L.JaccardLoss)


@pytest.mark.parametrize("bad", ["dise", "bce+", "2*", "bce-dice"])
def test_get_rejects_unknown(bad):
    with pytest.raises(ValueError, match="unknown loss"):
        L.get(bad)


def test_get_rejects_unknown_option():
    with pytest.raises(ValueError, match="gama"):
        L.get("focal", gama=3)


@pytest.mark.parametrize(
    "loss",
    [
        L.get("0.5*focal+dice"),
        L.TverskyLoss(0.2, 0.8, class_ids=[1], per_image=True, smooth=1.0, class_weights=[1, 2]),
        L.get("cce", class_weights=[0.5, 2.0]),
        L.get("bce+dice", ignore_index=11),
    ],
    ids=["sum", "tversky", "cce", "void"],
)
def test_config_round_trip(loss):
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert type(clone) is type(loss) and clone.get_config() == loss.get_config()
    assert value(clone) == pytest.approx(value(loss))


def test_saved_model_reloads_with_loss(tmp_path):
    inputs = keras.Input((4, 4, 3))
    outputs = keras.layers.Conv2D(2, 1, activation="softmax")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=L.get("0.5*focal+dice", class_weights=[1.0, 2.0]))
    x = np.random.default_rng(0).random((2, 4, 4, 3)).astype(np.float32)
    y = (x[..., :1] > 0.5).astype(np.int32)
    w = L.pixel_weights(y, [1.0, 3.0])  # per-pixel sample weights (B, H, W, 1) go through fit
    assert np.isfinite(model.fit(x, y, sample_weight=w, epochs=1, verbose=0).history["loss"][0])
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe mode, no custom_objects: registered classes
    assert loaded.loss.get_config() == model.loss.get_config()
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-6)


@pytest.mark.parametrize("name", sorted(HAND))
@pytest.mark.parametrize("k", [1, 3])
def test_gradients_finite_even_at_saturated_probabilities_and_zero_at_void(name, k):
    import tensorflow as tf  # gradient tape of the test's backend

    rng = np.random.default_rng(1)
    y = rng.integers(0, max(k, 2), (2, 5, 5, 1)).astype(np.int32)
    y[:, :2, :2] = 255  # void pixels: no gradient from them, and none that is not finite
    logits = tf.Variable(rng.normal(0, 30, (2, 5, 5, k)).astype(np.float32))  # saturates
    with tf.GradientTape() as tape:
        probs = tf.sigmoid(logits) if k == 1 else tf.nn.softmax(logits)
        loss = L.get(name, ignore_index=255)(y, probs)
    grad = tape.gradient(loss, logits).numpy()
    assert math.isfinite(float(loss)) and np.isfinite(grad).all()
    assert not grad[:, :2, :2].any()


# ------------------------------------------------------------------------------------------------
# Void pixels (ignore_index): a loss on a batch with void pixels equals the loss on the same batch
# with those pixels cut out.

VOID_SPECS = ["bce", "cce", "focal", "dice", "jaccard", "tversky", "bce+dice", "0.5*focal+jaccard"]


def _void_batch(k, seed=0, void=255):
    """A random batch (2, 4, 6) whose last two columns are void in the masks, and the same batch
    cropped to its first four columns. The predictions in the void band are confident and wrong
    for most labels, so counting them would change every loss."""
    rng = np.random.default_rng(seed)
    n = max(k, 2)
    y = rng.integers(0, n, (2, 4, 6, 1)).astype(np.int32)
    logits = rng.normal(0, 1.5, (2, 4, 6, k)).astype(np.float32)
    logits[:, :, 4:] = 6.0 * np.where(np.arange(k) == k - 1, 1.0, -1.0)  # band: confidently class n-1
    p = 1 / (1 + np.exp(-logits)) if k == 1 else np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    y_void = y.copy()
    y_void[:, :, 4:] = void
    return y_void, p.astype(np.float32), y[:, :, :4], p[:, :, :4].astype(np.float32)


@pytest.mark.parametrize("spec", VOID_SPECS)
@pytest.mark.parametrize("k", [1, 3])
def test_void_pixels_count_as_cut_out(spec, k):
    y_void, p, y_crop, p_crop = _void_batch(k, seed=k)
    n = max(k, 2)
    for options in ({}, {"class_weights": [0.5, 2.0, 1.5][:n] if n == 3 else [0.5, 2.0]}):
        with_void = value(L.get(spec, ignore_index=255, **options), y_void, p)
        cropped = value(L.get(spec, **options), y_crop, p_crop)
        assert with_void == pytest.approx(cropped, rel=1e-5), options
    # per-pixel sample weights: those of the kept pixels matter, those of void pixels do not
    w = np.random.default_rng(3).uniform(0.5, 2.0, y_void.shape).astype(np.float32)
    assert value(L.get(spec, ignore_index=255), y_void, p, w) == pytest.approx(
        value(L.get(spec), y_crop, p_crop, w[:, :, :4]), rel=1e-5)


@pytest.mark.parametrize("k", [1, 3])
def test_void_label_just_above_the_classes(k):
    # the void value may be the first value after the class ids (CamVid: 11 classes, void 11)
    void = max(k, 2)
    y_void, p, y_crop, p_crop = _void_batch(k, seed=5, void=void)
    for spec in ("cce", "dice"):
        assert value(L.get(spec, ignore_index=void), y_void, p) == pytest.approx(
            value(L.get(spec), y_crop, p_crop), rel=1e-5)


@pytest.mark.parametrize("spec", ["dice", "tversky", "bce"])
def test_per_image_and_scattered_void(spec):
    # per-image region losses: the band crop keeps per-image counts
    y_void, p, y_crop, p_crop = _void_batch(3, seed=7)
    if spec != "bce":
        assert value(L.get(spec, ignore_index=255, per_image=True), y_void, p) == pytest.approx(
            value(L.get(spec, per_image=True), y_crop, p_crop), rel=1e-5)
    # void scattered through the batch: equals the loss on the kept pixels laid out as one row
    rng = np.random.default_rng(8)
    y = rng.integers(0, 3, (2, 4, 6, 1)).astype(np.int32)
    void = rng.random(y.shape) < 0.3
    y[void] = 255
    kept = ~void[..., 0]
    assert value(L.get(spec, ignore_index=255), y, p) == pytest.approx(
        value(L.get(spec), y[kept].reshape(1, 1, -1, 1), p[kept].reshape(1, 1, -1, 3)), rel=1e-5)


def test_all_void_batch_costs_nothing_and_reductions():
    y = np.full((1, 2, 2, 1), 255, np.int32)
    for spec in VOID_SPECS:
        assert value(L.get(spec, ignore_index=255), y, P2) == pytest.approx(0.0, abs=1e-6), spec
    # "sum" adds the kept pixels' losses; "none" gives void pixels 0
    y_void = Y.copy()
    y_void[0, 0, 1] = 255  # the background pixel of Y
    total = L.BinaryCELoss(ignore_index=255, reduction="sum")(y_void, P1)
    assert float(total) == pytest.approx(-np.log(PT[[0, 2, 3]]).sum(), rel=1e-5)
    per_pixel = keras.ops.convert_to_numpy(L.BinaryCELoss(ignore_index=255, reduction="none")(y_void, P1))
    assert per_pixel.reshape(-1)[1] == 0.0 and per_pixel.reshape(-1)[0] == pytest.approx(-np.log(0.8), rel=1e-5)


def test_ignore_index_that_is_a_class_is_refused():
    with pytest.raises(ValueError, match="cce: ignore_index 2 is one of the 3 class labels"):
        L.get("cce", ignore_index=2)(np.zeros((1, 1, 2, 1), np.int32), np.full((1, 1, 2, 3), 1 / 3, np.float32))
    with pytest.raises(ValueError, match="0..255"):
        L.DiceLoss(ignore_index=300)
