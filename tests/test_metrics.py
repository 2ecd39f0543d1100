"""Tests of fcnlib.metrics: hand-computed values on tiny masks, streaming == numpy over the whole
set (exactness), Keras vs numpy boundary F1, empty masks, serialization, quad IoU, corner error."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from fcnlib import metrics as M

# Tiny binary case, 2 x 3: truth [[1, 1, 0], [0, 0, 0]], prediction [[1, 0, 0], [1, 0, 0]]
T = np.array([[1, 1, 0], [0, 0, 0]], np.uint8)
P = np.array([[1, 0, 0], [1, 0, 0]], np.uint8)
# class 1: tp 1, fp 1, fn 1; class 0: tp 3, fp 1, fn 1


def probs(pred_labels, k):
    """Probabilities (N, H, W, K) whose decision is ``pred_labels``."""
    pred_labels = np.asarray(pred_labels)
    if k == 1:
        return np.where(pred_labels == 1, 0.9, 0.2).astype(np.float32)[..., None]
    onehot = np.eye(k, dtype=np.float32)[pred_labels]
    return (0.1 / k + 0.8 * onehot).astype(np.float32)


def batch(labels):
    return np.asarray(labels, np.int32)[..., None] if np.ndim(labels) == 3 else np.asarray(labels, np.int32)[None, ..., None]


def result(metric, y_true, y_pred):
    metric.update_state(y_true, y_pred)
    return float(keras.ops.convert_to_numpy(metric.result()))


def test_confusion_matrix_and_scores_by_hand():
    cm = M.confusion_matrix(T, P)
    assert cm.tolist() == [[3, 1], [1, 1]]
    s = M.scores(cm)
    assert s["iou"] == pytest.approx([3 / 5, 1 / 3])
    assert s["miou"] == pytest.approx((3 / 5 + 1 / 3) / 2)
    assert s["dice"] == pytest.approx([6 / 8, 2 / 4])
    assert s["precision"] == pytest.approx([3 / 4, 1 / 2])
    assert s["recall"] == pytest.approx([3 / 4, 1 / 2])
    assert s["pixel_accuracy"] == pytest.approx(4 / 6)
    assert M.mask_iou(T, P) == pytest.approx(1 / 3)


@pytest.mark.parametrize("k", [1, 2])
def test_keras_metrics_by_hand_for_both_heads(k):
    y, p = batch(T), probs(P[None], k)
    assert result(M.IoU(), y, p) == pytest.approx(1 / 3)
    assert result(M.IoU(class_id=0), y, p) == pytest.approx(3 / 5)
    assert result(M.MeanIoU(), y, p) == pytest.approx((3 / 5 + 1 / 3) / 2)
    assert result(M.Dice(), y, p) == pytest.approx(1 / 2)
    assert result(M.Precision(), y, p) == pytest.approx(1 / 2)
    assert result(M.Recall(), y, p) == pytest.approx(1 / 2)
    assert result(M.PixelAccuracy(num_classes=k), y, p) == pytest.approx(4 / 6)


def test_sigmoid_threshold():
    y = batch(np.array([[1, 0]]))
    p = np.array([0.5, 0.49], np.float32).reshape(1, 1, 2, 1)  # 0.5 is not > 0.5: both background
    assert result(M.Recall(), y, p) == 0.0
    assert result(M.Recall(threshold=0.4), y, p) == 1.0


def test_precision_recall_differ_by_hand():
    t = np.array([[1, 1, 1, 0]])
    p = np.array([[1, 0, 0, 0]])
    assert result(M.Precision(), batch(t), probs(p[None], 1)) == 1.0
    assert result(M.Recall(), batch(t), probs(p[None], 1)) == pytest.approx(1 / 3)


def test_empty_masks_are_defined():
    empty = np.zeros((3, 4), np.uint8)
    # both empty: every score of class 1 is 1
    s = M.scores(M.confusion_matrix(empty, empty))
    assert s["iou"][1] == s["dice"][1] == s["precision"][1] == s["recall"][1] == 1.0
    assert M.mask_iou(empty, empty) == 1.0
    assert M.boundary_f1(empty, empty) == 1.0
    for metric in (M.IoU(), M.Dice(), M.Precision(), M.Recall(), M.BoundaryF1()):
        assert result(metric, batch(empty), probs(empty[None], 1)) == 1.0, metric.name
    # absent in truth but predicted: 0; present in truth but not predicted: 0
    some = empty.copy()
    some[1, 1:3] = 1
    for t, p in ((empty, some), (some, empty)):
        s = M.scores(M.confusion_matrix(t, p))
        assert s["iou"][1] == s["dice"][1] == s["precision"][1] == s["recall"][1] == 0.0
        assert M.boundary_f1(t, p) == 0.0
        for metric in (M.IoU(), M.Precision(), M.Recall(), M.BoundaryF1()):
            assert result(metric, batch(t), probs(p[None], 2)) == 0.0, metric.name


def test_streaming_over_batches_equals_numpy_over_all():
    rng = np.random.default_rng(0)
    n = 3
    trues = rng.integers(0, n, (7, 9, 11))
    preds = np.where(rng.random(trues.shape) < 0.7, trues, rng.integers(0, n, trues.shape))
    metrics = [M.MeanIoU(n), M.IoU(n, class_id=2), M.Dice(n, class_id=None), M.PixelAccuracy(n),
               M.Precision(n, class_id=0), M.Recall(n, class_id=1)]
    per_batch = []
    for start, stop in ((0, 2), (2, 3), (3, 7)):  # uneven batches: averaging them would differ
        y, p = batch(trues[start:stop]), probs(preds[start:stop], n)
        for m in metrics:
            m.update_state(y, p)
        per_batch.append(M.scores(M.confusion_matrix(trues[start:stop], preds[start:stop], n))["miou"])
    got = [float(m.result()) for m in metrics]
    s = M.scores(M.confusion_matrix(trues, preds, n))
    want = [s["miou"], s["iou"][2], s["mdice"], s["pixel_accuracy"], s["precision"][0], s["recall"][1]]
    assert got == pytest.approx(want, rel=1e-6)
    assert abs(np.mean(per_batch) - s["miou"]) > 1e-4  # the exactness above is not a coincidence
    cm = keras.ops.convert_to_numpy(metrics[0].confusion)
    assert cm.tolist() == M.confusion_matrix(trues, preds, n).tolist()
    metrics[0].reset_state()
    assert float(keras.ops.sum(metrics[0].confusion)) == 0.0


def test_sample_weight_and_void_labels():
    y = batch(np.array([[1, 1, 0, 255]]))  # 255: void, not counted
    p = probs(np.array([[[1, 0, 0, 1]]]), 1)
    assert result(M.Recall(), y, p) == pytest.approx(1 / 2)
    w = np.array([1, 3, 1, 1], np.float32).reshape(1, 1, 4, 1)
    metric = M.Recall()
    metric.update_state(y, p, sample_weight=w)
    assert float(metric.result()) == pytest.approx(1 / 4)


def test_boundary_f1_by_hand():
    true = np.zeros((6, 6), np.uint8)
    true[1:5, 1:5] = 1  # 4 x 4 square: boundary = its 12 outer-ring pixels
    pred = np.zeros((6, 6), np.uint8)
    pred[1:5, 2:6] = 1  # shifted right by 1 and touching the image border
    # pred boundary: 10 pixels (its right column lies on the image edge: no boundary there);
    # shared with the true boundary: rows 1 and 4 at columns 2..4 = 6 pixels
    tb = M._np_boundaries(true.astype(bool))
    pb = M._np_boundaries(pred.astype(bool))
    assert tb.sum() == 12 and pb.sum() == 10 and (tb & pb).sum() == 6
    p0, r0 = 6 / 10, 6 / 12
    assert M.boundary_f1(true, pred, tolerance=0) == pytest.approx(2 * p0 * r0 / (p0 + r0))
    assert M.boundary_f1(true, pred, tolerance=1) == 1.0  # every boundary pixel within 1 pixel
    for tol in (0, 1):
        metric = M.BoundaryF1(tolerance=tol)
        assert result(metric, batch(true), probs(pred[None], 1)) == pytest.approx(
            M.boundary_f1(true, pred, tolerance=tol), rel=1e-6
        )


@pytest.mark.parametrize("k,tol", [(1, 0), (1, 2), (3, 1), (3, 3)])
def test_keras_boundary_f1_matches_numpy_on_random_masks(k, tol):
    rng = np.random.default_rng(k * 10 + tol)
    n = max(k, 2)
    # blobby random masks: upsampled noise so boundaries have length
    coarse = rng.integers(0, n, (5, 4, 5))
    trues = np.kron(coarse, np.ones((4, 4), int))[:, :15, :19]
    noise = rng.integers(0, n, (5, 8, 10))
    preds = np.where(rng.random(trues.shape) < 0.8, trues, np.kron(noise, np.ones((2, 2), int))[:, :15, :19])
    for class_id in (1, None):
        metric = M.BoundaryF1(n, class_id=class_id, tolerance=tol)
        metric.update_state(batch(trues[:2]), probs(preds[:2], k))
        metric.update_state(batch(trues[2:]), probs(preds[2:], k))
        want = M.boundary_f1(trues, preds, tolerance=tol, num_classes=n, class_id=class_id)
        assert float(metric.result()) == pytest.approx(want, rel=1e-6)
        assert 0.0 < want < 1.0


def test_boundary_f1_is_a_mean_over_images():
    good = np.zeros((2, 8, 8), np.uint8)
    good[:, 2:6, 2:6] = 1
    pred = good.copy()
    pred[1] = 0  # second image: receipt missed entirely
    assert M.boundary_f1(good, pred) == pytest.approx(0.5)


def test_numpy_functions_reject_bad_input():
    with pytest.raises(ValueError, match=r"255.*mask_values"):
        M.confusion_matrix(np.array([[0, 255]]), np.array([[0, 1]]))
    with pytest.raises(ValueError, match="shape"):
        M.confusion_matrix(np.zeros((2, 2), int), np.zeros((2, 3), int))
    with pytest.raises(ValueError, match="channel"):
        M.IoU().update_state(batch(T), probs(P[None], 3))


def test_default_metrics_and_headline():
    names = [m.name for m in M.default_metrics(1)]
    assert names == ["iou", "precision", "recall", "bf1"] and M.headline_metric(1) == "iou"
    names3 = [m.name for m in M.default_metrics(3)]
    assert names3 == ["miou", "iou_0", "iou_1", "iou_2", "pixel_accuracy", "class_accuracy", "bf1"]
    assert M.headline_metric(3) == "miou" and M.headline_metric(2) == "iou"


@pytest.mark.parametrize("k", [1, 3])
def test_compiled_model_with_default_metrics_saves_and_reloads(tmp_path, k):
    n = max(k, 2)
    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.Conv2D(k, 1, activation="sigmoid" if k == 1 else "softmax")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="binary_crossentropy" if k == 1 else "sparse_categorical_crossentropy",
                  metrics=M.default_metrics(k))
    rng = np.random.default_rng(0)
    x = rng.random((4, 8, 8, 3)).astype(np.float32)
    y = rng.integers(0, n, (4, 8, 8, 1)).astype(np.int32)
    got = model.evaluate(x, y, batch_size=3, return_dict=True, verbose=0)  # 2 uneven batches
    preds = model.predict(x, verbose=0)
    pred_labels = (preds[..., 0] > 0.5).astype(int) if k == 1 else preds.argmax(-1)
    s = M.scores(M.confusion_matrix(y, pred_labels, n))
    assert got[M.headline_metric(k)] == pytest.approx(s["iou"][1] if k == 1 else s["miou"], rel=1e-5)
    assert got["bf1"] == pytest.approx(
        M.boundary_f1(y, pred_labels, num_classes=n, class_id=1 if k == 1 else None), rel=1e-5
    )
    path = tmp_path / "m.keras"
    model.optimizer.build(model.trainable_variables)  # saved built: no "skipping optimizer" warning
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.evaluate(x, y, batch_size=3, return_dict=True, verbose=0) == pytest.approx(got, rel=1e-6)


@pytest.mark.parametrize(
    "metric",
    [M.IoU(3, class_id=2, threshold=0.3, name="x"), M.MeanIoU(), M.PixelAccuracy(4), M.BoundaryF1(3, None, 4),
     M.ClassAccuracy(11, ignore_index=11), M.BoundaryF1(ignore_index=255)],
)
def test_metric_config_round_trip(metric):
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
    assert type(clone) is type(metric) and clone.get_config() == metric.get_config()


def test_quad_iou():
    a = [[0, 0], [100, 0], [100, 100], [0, 100]]
    b = [[50, 0], [150, 0], [150, 100], [50, 100]]
    assert M.quad_iou(a, b) == pytest.approx(1 / 3, abs=0.01)
    assert M.quad_iou(a, a) == 1.0
    assert M.quad_iou(a, [[200, 200], [300, 200], [300, 300], [200, 300]]) == 0.0
    # on an image: the parts outside are cut off (b's right half is outside a 100-wide photo)
    assert M.quad_iou(a, b, shape=(100, 100)) == pytest.approx(0.5, abs=0.01)
    # a tilted square against its bounding square: area ratio 1/2
    diamond = [[50, 0], [100, 50], [50, 100], [0, 50]]
    assert M.quad_iou(diamond, a) == pytest.approx(0.5, abs=0.02)
    assert M.quad_iou(None, None) == 1.0 and M.quad_iou(None, a) == 0.0


def test_corner_error():
    true = np.array([[10, 10], [110, 10], [110, 210], [10, 210]], float)
    pred = true + [[3, 4], [0, 0], [0, 0], [0, 0]]  # one corner off by 5 pixels
    err = M.corner_error(pred, true, diagonal=500)
    assert err.max == pytest.approx(0.01) and err.mean == pytest.approx(0.0025)
    # order does not matter (e.g. TL, TR, BL, BR against clockwise)
    assert M.corner_error(pred[[0, 1, 3, 2]], true, 500) == pytest.approx(err)
    # diagonal from an image shape (H, W)
    assert M.corner_error(pred, true, (300, 400)).max == pytest.approx(0.01)


# ------------------------------------------------------------------------------------------------
# Void pixels (ignore_index) and the class-count rule


def _void_batch(k, seed=0, void=255):
    """Random blobby masks (3, 8, 10) with a void band in the last 3 columns, the predictions there
    all class 1, and the same batch cropped to the first 7 columns."""
    rng = np.random.default_rng(seed)
    n = max(k, 2)
    trues = np.kron(rng.integers(0, n, (3, 4, 5)), np.ones((2, 2), int))
    preds = np.where(rng.random(trues.shape) < 0.75, trues, rng.integers(0, n, trues.shape))
    preds[:, :, 7:] = 1
    t_void = trues.copy()
    t_void[:, :, 7:] = void
    return t_void, preds, trues[:, :, :7], preds[:, :, :7]


def _streaming(k):
    return [M.IoU(k), M.IoU(k, class_id=0), M.MeanIoU(k), M.Dice(k, class_id=None), M.Precision(k),
            M.Recall(k), M.PixelAccuracy(k), M.ClassAccuracy(k), M.BoundaryF1(k, class_id=1, tolerance=0),
            M.BoundaryF1(k, class_id=None, tolerance=1)]


@pytest.mark.parametrize("k", [1, 3])
def test_streaming_metrics_with_void_equal_the_cropped_batch(k):
    t_void, preds, t_crop, p_crop = _void_batch(k, seed=k)
    for cropped in _streaming(k):
        config = cropped.get_config()
        with_void = type(cropped).from_config({**config, "ignore_index": 255})
        with_void.update_state(batch(t_void[:2]), probs(preds[:2], k))  # two batches: streaming too
        with_void.update_state(batch(t_void[2:]), probs(preds[2:], k))
        want = result(cropped, batch(t_crop), probs(p_crop, k))
        assert float(with_void.result()) == pytest.approx(want, rel=1e-6), cropped.name
        assert 0.0 < want < 1.0, cropped.name


@pytest.mark.parametrize("k", [1, 3])
def test_numpy_metrics_with_void_equal_the_cropped_masks(k):
    t_void, preds, t_crop, p_crop = _void_batch(k, seed=10 + k)
    cm = M.confusion_matrix(t_void, preds, k, ignore_index=255)
    np.testing.assert_array_equal(cm, M.confusion_matrix(t_crop, p_crop, k))
    assert M.scores(cm) == M.scores(M.confusion_matrix(t_crop, p_crop, k))
    for class_id in (1, None):
        assert M.boundary_f1(t_void, preds, 1, k, class_id, ignore_index=255) == pytest.approx(
            M.boundary_f1(t_crop, p_crop, 1, k, class_id))
    np.testing.assert_allclose(M.boundary_f1_per_class(t_void, preds, 2, k, ignore_index=255),
                               M.boundary_f1_per_class(t_crop, p_crop, 2, k))
    # without ignore_index the void value is an error that says what to do
    with pytest.raises(ValueError, match="ignore_index"):
        M.confusion_matrix(t_void, preds, k)


def test_scattered_void_equals_the_kept_pixels():
    rng = np.random.default_rng(4)
    trues = rng.integers(0, 3, (2, 6, 7))
    preds = np.where(rng.random(trues.shape) < 0.6, trues, rng.integers(0, 3, trues.shape))
    void = rng.random(trues.shape) < 0.3
    t_void = np.where(void, 11, trues)  # CamVid's void value, right after... here any value >= 3
    kept_cm = M.confusion_matrix(trues[~void][None], preds[~void][None], 3)
    np.testing.assert_array_equal(M.confusion_matrix(t_void, preds, 3, ignore_index=11), kept_cm)
    for metric in (M.MeanIoU(3, ignore_index=11), M.ClassAccuracy(3, ignore_index=11),
                   M.PixelAccuracy(3, ignore_index=11)):
        key = {"miou": "miou", "class_accuracy": "class_accuracy", "pixel_accuracy": "pixel_accuracy"}[metric.name]
        assert result(metric, batch(t_void), probs(preds, 3)) == pytest.approx(M.scores(kept_cm)[key])
    # boundary F1 with void inside the images: the Keras metric and the numpy function agree
    for class_id in (0, None):
        metric = M.BoundaryF1(3, class_id=class_id, tolerance=1, ignore_index=11)
        assert result(metric, batch(t_void), probs(preds, 3)) == pytest.approx(
            M.boundary_f1(t_void, preds, 1, 3, class_id, ignore_index=11), rel=1e-6)


def test_void_is_neither_boundary_nor_match():
    # class 0 left, class 1 right, a void column between them in the truth: the truth has no boundary
    # (a void neighbour is no other class); the prediction puts its 0/1 edge inside the void column,
    # so it has none either once void pixels are left out: BF 1. Counting void, it would be 0.
    true = np.array([[0, 0, 0, 9, 1, 1]] * 5)
    pred = np.array([[0, 0, 0, 0, 1, 1]] * 5)
    assert M.boundary_f1(true, pred, tolerance=0, ignore_index=9) == 1.0
    assert result(M.BoundaryF1(tolerance=0, ignore_index=9), batch(true), probs(pred[None], 1)) == 1.0
    # the predicted edge one column right of the void column is a boundary the truth lacks: BF 0
    shifted = np.array([[0, 0, 0, 0, 0, 1]] * 5)
    assert M.boundary_f1(true, shifted, tolerance=0, ignore_index=9) == 0.0
    assert result(M.BoundaryF1(tolerance=0, ignore_index=9), batch(true), probs(shifted[None], 1)) == 0.0


def test_mask_iou_leaves_void_out():
    t = np.array([[1, 1, 255, 0]])
    p = np.array([[1, 0, 1, 1]])
    assert M.mask_iou(t, p, ignore_index=255) == pytest.approx(1 / 3)
    assert M.mask_iou(t[:, [0, 1, 3]], p[:, [0, 1, 3]]) == pytest.approx(1 / 3)
    assert M.mask_iou(t, p) == pytest.approx(2 / 4)  # counted, the void pixel (255) reads as object


def test_class_accuracy_by_hand():
    assert M.scores(M.confusion_matrix(T, P))["class_accuracy"] == pytest.approx((3 / 4 + 1 / 2) / 2)
    t = np.array([[0, 0, 0, 0, 1, 2]])
    p = np.array([[0, 0, 0, 0, 1, 0]])  # global accuracy 5/6, class-average (1 + 1 + 0) / 3
    assert result(M.ClassAccuracy(3), batch(t), probs(p[None], 3)) == pytest.approx(2 / 3)
    assert result(M.PixelAccuracy(3), batch(t), probs(p[None], 3)) == pytest.approx(5 / 6)


def test_num_classes_is_output_channels():
    y = batch(T)
    # binary: num_classes=1 (one sigmoid channel); a two-channel softmax and the old
    # num_classes=2 spelling are read as binary too
    for num_classes in (1, 2):
        for k in (1, 2):
            assert result(M.IoU(num_classes), y, probs(P[None], k)) == pytest.approx(1 / 3)
    assert M.confusion_matrix(T, P, num_classes=1).shape == (2, 2)
    with pytest.raises(ValueError, match="1 channel.*3 classes"):
        M.IoU(3).update_state(y, probs(P[None], 1))
    with pytest.raises(ValueError, match="miou: ignore_index 2 is one of the 3 class labels"):
        M.MeanIoU(3, ignore_index=2)
    with pytest.raises(ValueError, match="ignore_index 1 is one of the 2 class labels"):
        M.confusion_matrix(T, P, 1, ignore_index=1)


@pytest.mark.parametrize("k", [1, 3])
def test_default_metrics_and_loss_with_void_in_a_compiled_model(tmp_path, k):
    from fcnlib import losses

    n = max(k, 2)
    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.Conv2D(k, 1, activation="sigmoid" if k == 1 else "softmax")(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=losses.get("ce+dice", ignore_index=255),
                  metrics=M.default_metrics(k, ignore_index=255))
    assert all(m.ignore_index == 255 for m in M.default_metrics(k, ignore_index=255))
    rng = np.random.default_rng(1)
    x = rng.random((4, 8, 8, 3)).astype(np.float32)
    y = rng.integers(0, n, (4, 8, 8, 1)).astype(np.int32)
    y[:, 5:] = 255
    got = model.evaluate(x, y, batch_size=3, return_dict=True, verbose=0)
    preds = model.predict(x, verbose=0)
    pred_labels = (preds[..., 0] > 0.5).astype(int) if k == 1 else preds.argmax(-1)
    s = M.scores(M.confusion_matrix(y, pred_labels, k, ignore_index=255))
    assert got[M.headline_metric(k)] == pytest.approx(s["iou"][1] if k == 1 else s["miou"], rel=1e-5)
    if k == 3:
        assert got["class_accuracy"] == pytest.approx(s["class_accuracy"], rel=1e-5)
    assert got["bf1"] == pytest.approx(
        M.boundary_f1(y, pred_labels, num_classes=k, class_id=1 if k == 1 else None, ignore_index=255), rel=1e-5)
    cropped = keras.ops.convert_to_numpy(losses.get("ce+dice")(y[:, :5], preds[:, :5]))
    full = keras.ops.convert_to_numpy(model.loss(y, preds))
    assert float(full) == pytest.approx(float(cropped), rel=1e-5)
    model.optimizer.build(model.trainable_variables)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert loaded.evaluate(x, y, batch_size=3, return_dict=True, verbose=0) == pytest.approx(got, rel=1e-6)
