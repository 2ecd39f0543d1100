"""Segmentation metrics: streaming Keras metrics exact over an epoch, and numpy twins for saved masks.

Keras metrics (``keras.metrics.Metric``, ``keras.ops`` only, registered for ``.keras`` files) take
the batches of the fcnlib contract: ``y_true`` int class ids (B, H, W, 1), ``y_pred`` probabilities
(B, H, W, K); K == 1 is a sigmoid head, thresholded at ``threshold`` (P > 0.5 -> class 1) into two
classes; K >= 2 takes the argmax. They accumulate a confusion matrix (rows: true class, columns:
predicted class) over every batch and score it in ``result()``, so an epoch's value is exactly the
value over all its pixels, never an average of per-batch scores. Counts are float64 (exact to 2**53
pixels per cell; under JAX enable ``jax_enable_x64`` for the same, else float32: exact to 2**24).

``num_classes`` follows :func:`fcnlib.labels.num_labels`: it is the number of output channels of the
model, 1 for a binary sigmoid head (two labels, 0 and 1), K >= 2 for a K-class softmax. A binary metric
(``num_classes`` 1, or 2 as older code and saved models say) scores a one-channel sigmoid or a
two-channel softmax prediction alike.

Void pixels: ``ignore_index`` (a mask value that is no class id, e.g. CamVid's 11, Pascal VOC's 255)
leaves those pixels out entirely, in every metric and numpy function: not in the confusion matrix,
whatever was predicted there, and in boundary F1 neither boundary nor match. A score on a batch with
void pixels equals the score on the same batch with those pixels cut out. Without ``ignore_index`` the
streaming metrics still skip true labels outside the class ids (they have no row in the matrix), and
the numpy functions refuse them.

Names (also the default metric names): ``iou`` = IoU of one class, the foreground class 1 by default
(the headline of a binary problem); ``miou`` = mean IoU over all classes (the headline with three or
more classes); ``dice``, ``precision``, ``recall`` of class 1 by default (``class_id=None``: mean over
classes); ``pixel_accuracy`` (the "global accuracy" of the CamVid literature); ``class_accuracy`` =
mean over classes of the recall (the literature's "class average accuracy"); ``bf1`` = boundary F1.

All ratios are Tversky indices of the per-class counts, :func:`tversky_index` (IoU: alpha = beta = 1;
Dice: 1/2, 1/2; precision: 1, 0; recall: 0, 1): the one scoring function of the region losses of
:mod:`fcnlib.losses` too, which apply it to soft counts.

Empty classes: a ratio whose denominator is zero is 1 when the class is absent from both truth and
prediction (nothing to find, nothing wrongly found) and 0 otherwise. So a class absent in both has
IoU, Dice, precision, recall and BF 1; a class predicted but absent in truth has IoU 0.

Boundary F1 (BF score, Csurka et al. 2013): the boundary of a class is the set of its pixels with an
8-neighbour of another class (pixels outside the image and void pixels are not another class, so the
image border and the edge of a void region are no boundary; void pixels themselves are in no class). A boundary pixel is matched when a boundary pixel of the other mask
lies within ``tolerance`` pixels in the Chebyshev sense (a (2t+1) x (2t+1) square). Precision = share
of predicted boundary pixels matched, recall = share of true boundary pixels matched, BF = their F1,
per image and class (both boundaries empty: 1; one empty: 0), averaged over images. The Keras metric
uses max pooling, the numpy function scipy.ndimage max filters with the same square footprints.

numpy functions: :func:`confusion_matrix`, :func:`scores`, :func:`mask_iou`, :func:`boundary_f1`,
:func:`boundary_f1_per_class`, :func:`quad_iou`, :func:`corner_error`.

Example:

>>> import numpy as np
>>> true = np.array([[0, 1, 11], [1, 1, 11]])   # 11: void
>>> pred = np.array([[0, 1, 0], [0, 1, 1]])
>>> s = scores(confusion_matrix(true, pred, num_classes=1, ignore_index=11))
>>> round(s["iou"][1], 3), s["pixel_accuracy"]
(0.667, 0.75)
"""
from __future__ import annotations

import itertools
from typing import NamedTuple

import keras
import numpy as np
from keras import ops

from fcnlib.labels import check_ignore_index, num_labels

__all__ = [
    "split_void",
    "tversky_index",
    "ConfusionMatrixMetric",
    "IoU",
    "MeanIoU",
    "Dice",
    "PixelAccuracy",
    "ClassAccuracy",
    "Precision",
    "Recall",
    "BoundaryF1",
    "default_metrics",
    "headline_metric",
    "confusion_matrix",
    "scores",
    "mask_iou",
    "boundary_f1",
    "boundary_f1_per_class",
    "quad_iou",
    "corner_error",
    "CornerError",
]


# ------------------------------------------------------------------------------------------------
# Shared pieces (keras.ops: run on numpy arrays and on tensors of any backend)


def split_void(labels, ignore_index=None):
    """``(labels, kept)``: class ids with void pixels set to 0, and a float32 0/1 map of the kept pixels.

    ``labels``: integer class ids of any shape; ``ignore_index``: the void value, or None (every pixel
    kept). The losses of :mod:`fcnlib.losses` and the metrics here find void pixels with this one
    function; the zeros put in their place only keep one-hot encodings and built-in losses finite,
    the 0 weight of ``kept`` removes them. Written in ``keras.ops`` (numpy arrays or tensors).

    Example:

    >>> labels, kept = split_void(np.array([[0, 2, 255]]), ignore_index=255)
    >>> np.asarray(labels).tolist(), np.asarray(kept).tolist()
    ([[0, 2, 0]], [[1.0, 1.0, 0.0]])
    """
    labels = ops.cast(ops.convert_to_tensor(labels), "int32")
    if ignore_index is None:
        return labels, ops.ones(ops.shape(labels), dtype="float32")
    void = labels == int(ignore_index)
    return ops.where(void, 0, labels), ops.cast(ops.logical_not(void), "float32")


def _xp(*values):
    """numpy for numpy inputs (the numpy functions stay in numpy), else ``keras.ops``."""
    return np if all(isinstance(v, (np.ndarray, np.generic, int, float)) for v in values) else ops


def _ratio(num, den, absent):
    """num / den; where den == 0: 1 if ``absent`` (class in neither truth nor prediction) else 0."""
    xp = _xp(num, den, absent)
    safe = xp.where(den > 0, den, xp.ones_like(den))
    return xp.where(den > 0, num / safe, xp.where(absent, 1.0, 0.0))


def tversky_index(tp, fp, fn, alpha=1.0, beta=1.0, smooth=0.0):
    """``(tp + smooth) / (tp + alpha fp + beta fn + smooth)`` per class, from (soft) counts.

    The one scoring function of the metrics (hard counts of a confusion matrix) and the region losses
    (soft counts): IoU/Jaccard is alpha = beta = 1, Dice/F1 alpha = beta = 1/2, precision (1, 0),
    recall (0, 1), Tversky (Salehi et al. 2017) alpha weighting false positives and beta false
    negatives. A zero denominator gives 1 when the class is absent from truth and prediction
    (tp = fp = fn = 0: nothing to find, nothing wrongly found) and 0 otherwise. ``keras.ops`` for
    tensors, numpy for numpy arrays.

    Example:

    >>> round(float(tversky_index(1.0, 1.0, 1.0)), 4)            # IoU 1 / 3
    0.3333
    >>> round(float(tversky_index(1.0, 1.0, 1.0, 0.5, 0.5)), 4)  # Dice 2 / 4
    0.5
    """
    if _xp(tp, fp, fn) is np:
        tp, fp, fn = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn))
    else:
        tp, fp, fn = (ops.convert_to_tensor(x) for x in (tp, fp, fn))
    absent = (tp + fp + fn) == 0
    return _ratio(tp + smooth, tp + alpha * fp + beta * fn + smooth, absent)


def _class_scores(cm):
    """Per-class IoU, Dice, precision, recall from a confusion matrix (rows true, columns predicted)."""
    xp = _xp(cm)
    cm = cm if xp is np else ops.convert_to_tensor(cm)
    tp = xp.diagonal(cm)
    fp = xp.sum(cm, axis=0) - tp
    fn = xp.sum(cm, axis=1) - tp
    return {
        "iou": tversky_index(tp, fp, fn, 1.0, 1.0),
        "dice": tversky_index(tp, fp, fn, 0.5, 0.5),
        "precision": tversky_index(tp, fp, fn, 1.0, 0.0),
        "recall": tversky_index(tp, fp, fn, 0.0, 1.0),
    }


def _f1(matched_pred, n_pred, matched_true, n_true):
    """Boundary F1 from matched/total boundary pixel counts (arrays of equal shape)."""
    absent = _xp(n_pred, n_true).logical_and(n_pred == 0, n_true == 0)
    precision = _ratio(matched_pred, n_pred, absent)
    recall = _ratio(matched_true, n_true, absent)
    return _ratio(2.0 * precision * recall, precision + recall, absent)


_classes = num_labels  # label values a metric counts: 2 for a binary (1-channel) model


def _check_ignore(ignore_index, num_classes: int, name: str):
    """``ignore_index`` as an int or None, checked by :func:`fcnlib.labels.check_ignore_index` (0..255,
    not one of the class ids); errors name the metric or function."""
    if isinstance(ignore_index, np.integer):
        ignore_index = int(ignore_index)
    try:
        return check_ignore_index(ignore_index, num_classes)
    except ValueError as e:
        raise ValueError(f"{name}: {e}") from None


# ------------------------------------------------------------------------------------------------
# Keras metrics


def _true_and_pred_labels(y_true, y_pred, n, threshold, ignore_index=None):
    """(B, H, W) int32 true and predicted class ids, and the float32 map of kept (non-void) pixels.

    A binary metric (n == 2) takes a one-channel sigmoid or a two-channel softmax prediction."""
    y_pred = ops.convert_to_tensor(y_pred)
    k = y_pred.shape[-1]
    if k is None:
        raise ValueError("fcnlib metrics need a static number of classes (last axis of y_pred)")
    if (k == 1 and n != 2) or (k >= 2 and k != n):
        raise ValueError(f"prediction has {k} channel(s) but the metric counts {n} classes "
                         f"(num_classes={1 if n == 2 else n})")
    y_true = ops.convert_to_tensor(y_true)
    if len(y_true.shape) == len(y_pred.shape):
        y_true = ops.squeeze(y_true, axis=-1)
    labels, kept = split_void(y_true, ignore_index)
    if k == 1:
        pred = ops.cast(y_pred[..., 0] > threshold, "int32")
    else:
        pred = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
    return labels, pred, kept


class ConfusionMatrixMetric(keras.metrics.Metric):
    """Base of the streaming metrics: accumulates an (n, n) confusion matrix over every batch.

    ``num_classes``: output channels of the model (1: binary sigmoid, two classes; 2 is accepted for
    a binary task too). ``class_id``: the class scored (``None``: mean over all classes).
    ``threshold``: for K == 1, P(class 1) > threshold is class 1. ``ignore_index``: void mask value,
    left out. ``sample_weight`` (B, H, W, 1), (B, H, W) or (B,) weights each pixel's count.
    """

    def __init__(self, num_classes=1, class_id=1, threshold=0.5, name=None, dtype=None, ignore_index=None):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = int(num_classes)
        self.class_id = None if class_id is None else int(class_id)
        self.threshold = float(threshold)
        n = _classes(num_classes)
        self.ignore_index = _check_ignore(ignore_index, n, self.name)
        if self.class_id is not None and not 0 <= self.class_id < n:
            raise ValueError(f"{self.name}: class_id {self.class_id} outside 0..{n - 1}")
        self.confusion = self.add_variable(
            shape=(n, n), initializer="zeros", dtype="float64", aggregation="sum", name="confusion"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        n = _classes(self.num_classes)
        labels, pred, kept = _true_and_pred_labels(y_true, y_pred, n, self.threshold, self.ignore_index)
        onehot_true = ops.reshape(ops.one_hot(labels, n, dtype="float32") * kept[..., None], (-1, n))
        onehot_pred = ops.reshape(ops.one_hot(pred, n, dtype="float32"), (-1, n))
        if sample_weight is not None:
            w = ops.cast(ops.convert_to_tensor(sample_weight), "float32")
            if len(w.shape) == 1:
                w = ops.reshape(w, (-1, 1, 1))
            elif len(w.shape) == 4:
                w = ops.squeeze(w, axis=-1)
            w = ops.reshape(ops.broadcast_to(w, ops.shape(labels)), (-1, 1))
            onehot_true = onehot_true * w
        # Per batch in float32 (exact below 2**24 pixels per cell and batch), accumulated in float64.
        batch_cm = ops.matmul(ops.transpose(onehot_true), onehot_pred)
        self.confusion.assign_add(ops.cast(batch_cm, "float64"))

    def _pick(self, per_class):
        if self.class_id is None:
            return ops.mean(per_class)
        return per_class[self.class_id]

    def result(self):
        return ops.cast(self._score(self.confusion), self.dtype)

    score_key = None  # the entry of the per-class scores this metric reports

    def _score(self, cm):
        return self._pick(_class_scores(cm)[self.score_key])

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "class_id": self.class_id,
            "threshold": self.threshold,
            "ignore_index": self.ignore_index,
        }


@keras.saving.register_keras_serializable(package="fcnlib")
class IoU(ConfusionMatrixMetric):
    """Intersection over union tp / (tp + fp + fn) of ``class_id`` (default 1, the foreground)."""

    score_key = "iou"

    def __init__(self, num_classes=1, class_id=1, threshold=0.5, name="iou", dtype=None, ignore_index=None):
        super().__init__(num_classes, class_id, threshold, name=name, dtype=dtype, ignore_index=ignore_index)


@keras.saving.register_keras_serializable(package="fcnlib")
class MeanIoU(IoU):
    """Mean IoU over all classes (``class_id=None``); background included."""

    def __init__(self, num_classes=1, class_id=None, threshold=0.5, name="miou", dtype=None, ignore_index=None):
        super().__init__(num_classes, class_id, threshold, name=name, dtype=dtype, ignore_index=ignore_index)


@keras.saving.register_keras_serializable(package="fcnlib")
class Dice(ConfusionMatrixMetric):
    """Dice / F1 2 tp / (2 tp + fp + fn) of ``class_id`` (equals 2 IoU / (1 + IoU))."""

    score_key = "dice"

    def __init__(self, num_classes=1, class_id=1, threshold=0.5, name="dice", dtype=None, ignore_index=None):
        super().__init__(num_classes, class_id, threshold, name=name, dtype=dtype, ignore_index=ignore_index)


@keras.saving.register_keras_serializable(package="fcnlib")
class Precision(ConfusionMatrixMetric):
    """Precision tp / (tp + fp) of ``class_id``: share of pixels predicted as the class that are."""

    score_key = "precision"

    def __init__(self, num_classes=1, class_id=1, threshold=0.5, name="precision", dtype=None, ignore_index=None):
        super().__init__(num_classes, class_id, threshold, name=name, dtype=dtype, ignore_index=ignore_index)


@keras.saving.register_keras_serializable(package="fcnlib")
class Recall(ConfusionMatrixMetric):
    """Recall tp / (tp + fn) of ``class_id``: share of the class's pixels that were found."""

    score_key = "recall"

    def __init__(self, num_classes=1, class_id=1, threshold=0.5, name="recall", dtype=None, ignore_index=None):
        super().__init__(num_classes, class_id, threshold, name=name, dtype=dtype, ignore_index=ignore_index)


@keras.saving.register_keras_serializable(package="fcnlib")
class PixelAccuracy(ConfusionMatrixMetric):
    """Share of pixels with the right class (0 before any pixel is seen). Flatters small objects."""

    def __init__(self, num_classes=1, threshold=0.5, name="pixel_accuracy", dtype=None, ignore_index=None):
        super().__init__(num_classes, None, threshold, name=name, dtype=dtype, ignore_index=ignore_index)

    def get_config(self):
        config = super().get_config()
        del config["class_id"]
        return config

    def _score(self, cm):
        total = ops.sum(cm)
        return ops.where(total > 0, ops.trace(cm) / ops.maximum(total, 1.0), 0.0)


@keras.saving.register_keras_serializable(package="fcnlib")
class ClassAccuracy(ConfusionMatrixMetric):
    """Class-average accuracy: the mean over classes of the recall tp / (tp + fn).

    What the CamVid literature (SegNet, Badrinarayanan et al. 2017) reports beside the global
    (pixel) accuracy; unlike it, small classes weigh as much as large ones.
    """

    score_key = "recall"

    def __init__(self, num_classes=1, threshold=0.5, name="class_accuracy", dtype=None, ignore_index=None):
        super().__init__(num_classes, None, threshold, name=name, dtype=dtype, ignore_index=ignore_index)

    def get_config(self):
        config = super().get_config()
        del config["class_id"]
        return config


def _boundaries(onehot, kept):
    """Boundary pixels of each class map (B, H, W, n) of 0/1: in the class, with a kept 8-neighbour
    of another class. ``onehot`` is 0 at void pixels, ``kept`` (B, H, W, 1) 0 there.

    Max pooling of 0/1 maps pads with values that never win, so outside the image counts as
    neither, on every backend; void pixels are neither too.
    """
    other = ops.max_pool(kept * (1.0 - onehot), pool_size=3, strides=1, padding="same")
    return onehot * other


def _dilate(mask, tolerance: int):
    if tolerance == 0:
        return mask
    return ops.max_pool(mask, pool_size=2 * tolerance + 1, strides=1, padding="same")


@keras.saving.register_keras_serializable(package="fcnlib")
class BoundaryF1(keras.metrics.Metric):
    """Boundary F1 (BF score) with a tolerance in pixels, per image and class, averaged over images.

    Streaming: sums each image's per-class BF and counts the images; ``result()`` divides.
    ``class_id`` (default 1; ``None``: mean over classes), ``num_classes``, ``threshold``,
    ``ignore_index`` as for the other metrics; definitions in the module docstring. Takes no
    ``sample_weight`` (list it in ``metrics=``, not ``weighted_metrics=``).
    """

    def __init__(self, num_classes=1, class_id=1, tolerance=2, threshold=0.5, name="bf1", dtype=None,
                 ignore_index=None):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = int(num_classes)
        self.class_id = None if class_id is None else int(class_id)
        self.tolerance = int(tolerance)
        self.threshold = float(threshold)
        n = _classes(num_classes)
        self.ignore_index = _check_ignore(ignore_index, n, self.name)
        if self.class_id is not None and not 0 <= self.class_id < n:
            raise ValueError(f"{self.name}: class_id {self.class_id} outside 0..{n - 1}")
        if self.tolerance < 0:
            raise ValueError(f"{self.name}: tolerance must be >= 0, got {tolerance}")
        self.bf_sum = self.add_variable(
            shape=(n,), initializer="zeros", dtype="float64", aggregation="sum", name="bf_sum"
        )
        self.images = self.add_variable(
            shape=(), initializer="zeros", dtype="float64", aggregation="sum", name="images"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise ValueError("BoundaryF1 takes no sample_weight; list it in metrics=, not weighted_metrics=")
        n = _classes(self.num_classes)
        labels, pred, kept = _true_and_pred_labels(y_true, y_pred, n, self.threshold, self.ignore_index)
        kept = kept[..., None]
        true_b = _boundaries(ops.one_hot(labels, n, dtype="float32") * kept, kept)
        pred_b = _boundaries(ops.one_hot(pred, n, dtype="float32") * kept, kept)
        n_true = ops.sum(true_b, axis=(1, 2))
        n_pred = ops.sum(pred_b, axis=(1, 2))
        matched_pred = ops.sum(pred_b * _dilate(true_b, self.tolerance), axis=(1, 2))
        matched_true = ops.sum(true_b * _dilate(pred_b, self.tolerance), axis=(1, 2))
        bf = _f1(matched_pred, n_pred, matched_true, n_true)  # (B, n)
        self.bf_sum.assign_add(ops.cast(ops.sum(bf, axis=0), "float64"))
        self.images.assign_add(ops.cast(ops.shape(bf)[0], "float64"))

    def result(self):
        per_class = self.bf_sum / ops.maximum(self.images, 1.0)
        value = ops.mean(per_class) if self.class_id is None else per_class[self.class_id]
        return ops.cast(value, self.dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "class_id": self.class_id,
            "tolerance": self.tolerance,
            "threshold": self.threshold,
            "ignore_index": self.ignore_index,
        }


def headline_metric(num_classes: int) -> str:
    """Name of the metric to monitor: ``"iou"`` (foreground IoU) for binary, else ``"miou"``."""
    return "iou" if _classes(num_classes) == 2 else "miou"


def default_metrics(num_classes: int = 1, ignore_index: int | None = None, *,
                    tolerance: int = 2) -> list[keras.metrics.Metric]:
    """The metrics training reports (names in the module docstring), void pixels left out.

    ``num_classes``: output channels of the model. Binary (1; 2 also read as binary): iou, precision,
    recall (all of class 1), bf1. Three or more classes: miou, iou_0 .. iou_{n-1}, pixel_accuracy,
    class_accuracy, bf1 (mean over classes). ``ignore_index``: the void mask value, or None.

    Example:

    >>> [m.name for m in default_metrics(3, ignore_index=255)]
    ['miou', 'iou_0', 'iou_1', 'iou_2', 'pixel_accuracy', 'class_accuracy', 'bf1']
    """
    n = _classes(num_classes)
    void = {"ignore_index": ignore_index}
    if n == 2:
        return [
            IoU(num_classes, **void),
            Precision(num_classes, **void),
            Recall(num_classes, **void),
            BoundaryF1(num_classes, class_id=1, tolerance=tolerance, **void),
        ]
    return [
        MeanIoU(num_classes, **void),
        *(IoU(num_classes, class_id=c, name=f"iou_{c}", **void) for c in range(n)),
        PixelAccuracy(num_classes, **void),
        ClassAccuracy(num_classes, **void),
        BoundaryF1(num_classes, class_id=None, tolerance=tolerance, **void),
    ]


# ------------------------------------------------------------------------------------------------
# numpy functions for saved masks


def _label_array(masks, name: str) -> np.ndarray:
    arr = np.asarray(masks)
    if arr.ndim >= 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (2, 3):
        raise ValueError(f"{name}: expected masks (H, W), (N, H, W) or (N, H, W, 1); got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer) and not np.issubdtype(arr.dtype, np.bool_):
        raise ValueError(f"{name}: expected integer class ids, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _check_range(arr: np.ndarray, n: int, name: str) -> None:
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        bad = np.unique(arr[(arr < 0) | (arr >= n)])[:5].tolist()
        hint = (" (a 0/255 mask? read it with mask_values=(0, 255); void pixels? give ignore_index)"
                if 255 in bad else " (void pixels? give ignore_index)" if max(bad) >= n else "")
        raise ValueError(f"{name}: class ids {bad} outside 0..{n - 1}{hint}")


def _pair(true, pred, n: int, ignore_index):
    """Checked (true, pred, kept) arrays; void pixels of ``true`` are not range-checked and not kept."""
    t, p = _label_array(true, "true"), _label_array(pred, "pred")
    if t.shape != p.shape:
        raise ValueError(f"true masks of shape {t.shape} but predictions of shape {p.shape}")
    ignore_index = _check_ignore(ignore_index, n, "ignore_index")
    kept = np.ones(t.shape, bool) if ignore_index is None else t != ignore_index
    _check_range(t[kept], n, "true")
    _check_range(p[kept], n, "pred")
    return np.where(kept, t, 0), np.where(kept, p, 0), kept


def confusion_matrix(true, pred, num_classes: int = 1, ignore_index: int | None = None) -> np.ndarray:
    """(n, n) int64 counts, rows = true class, columns = predicted class, over all kept pixels.

    ``true``/``pred``: class-id masks of equal shape (H, W), (N, H, W) or (N, H, W, 1).
    ``num_classes``: output channels of the model (1 = binary: n = 2 labels; 2 reads as binary too).
    ``ignore_index``: pixels whose true id is this value are left out, whatever was predicted there.
    Other ids outside 0..n-1 raise ValueError.

    Example:

    >>> confusion_matrix(np.array([[0, 1, 1, 255]]), np.array([[0, 1, 0, 1]]), ignore_index=255).tolist()
    [[1, 0], [1, 1]]
    """
    n = _classes(num_classes)
    t, p, kept = _pair(true, pred, n, ignore_index)
    return np.bincount((t * n + p)[kept].ravel(), minlength=n * n).reshape(n, n)


def scores(cm) -> dict:
    """Scores of a confusion matrix (JSON-ready floats and lists, one entry per class id).

    Returns ``iou``, ``dice``, ``precision``, ``recall`` (per-class lists), ``miou`` and ``mdice``
    (means over classes), ``pixel_accuracy`` (global accuracy: share of pixels right) and
    ``class_accuracy`` (mean over classes of the recall). Empty classes follow the module's rule.

    Example:

    >>> s = scores(np.array([[3, 1], [1, 1]]))
    >>> round(s["miou"], 4), round(s["pixel_accuracy"], 4), round(s["class_accuracy"], 4)
    (0.4667, 0.6667, 0.625)
    """
    cm = np.asarray(cm, dtype=np.float64)
    per_class = {k: np.asarray(v, dtype=float).tolist() for k, v in _class_scores(cm).items()}
    total = cm.sum()
    return {
        **per_class,
        "miou": float(np.mean(per_class["iou"])),
        "mdice": float(np.mean(per_class["dice"])),
        "pixel_accuracy": float(np.trace(cm) / total) if total else 0.0,
        "class_accuracy": float(np.mean(per_class["recall"])),
    }


def mask_iou(a, b, ignore_index: int | None = None) -> float:
    """IoU of two binary masks (nonzero = object); 1.0 when both are empty. ``ignore_index``: pixels
    where ``a`` (the truth) holds this value are left out of both masks."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"masks of shapes {a.shape} and {b.shape}")
    kept = np.ones(a.shape, bool) if ignore_index is None else a != ignore_index
    a, b = (a != 0) & kept, (b != 0) & kept
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def _np_dilate(mask: np.ndarray, size: int) -> np.ndarray:
    """Binary dilation by a size x size square (outside the image: nothing), a separable max filter."""
    from scipy import ndimage

    return ndimage.maximum_filter(np.asarray(mask, bool).view(np.uint8), size=size, mode="constant", cval=0) > 0


def _np_boundaries(mask: np.ndarray, kept: np.ndarray | None = None) -> np.ndarray:
    """Pixels of ``mask`` with a kept 8-neighbour outside it (outside the image and void: neither)."""
    other = ~mask if kept is None else kept & ~mask
    return mask & _np_dilate(other, 3)


def _np_bf_counts(true_mask, pred_mask, tolerance: int, kept=None):
    """(matched predicted, predicted, matched true, true) boundary pixel counts of one class map."""
    tb, pb = _np_boundaries(true_mask, kept), _np_boundaries(pred_mask, kept)
    if tolerance:
        td, pd = _np_dilate(tb, 2 * tolerance + 1), _np_dilate(pb, 2 * tolerance + 1)
    else:
        td, pd = tb, pb
    return (pb & td).sum(), pb.sum(), (tb & pd).sum(), tb.sum()


def _np_bf(true_mask: np.ndarray, pred_mask: np.ndarray, tolerance: int, kept=None) -> float:
    counts = _np_bf_counts(true_mask, pred_mask, tolerance, kept)
    return float(_f1(*(np.float64(c) for c in counts)))


def _images(true, pred, num_classes, ignore_index):
    n = _classes(num_classes)
    t, p, kept = _pair(true, pred, n, ignore_index)
    if t.ndim == 2:
        t, p, kept = t[None], p[None], kept[None]
    return n, t, p, kept


def boundary_f1(true, pred, tolerance: int = 2, num_classes: int = 1, class_id: int | None = 1,
                ignore_index: int | None = None) -> float:
    """Boundary F1 of class-id masks (H, W) or (N, H, W[, 1]), per image, averaged over images.

    ``class_id`` (default 1) or ``None`` for the mean over classes; same definition as
    :class:`BoundaryF1` (scipy.ndimage max filters, square footprints), void pixels
    (``ignore_index``) neither boundary nor match.
    """
    n, t, p, kept = _images(true, pred, num_classes, ignore_index)
    classes = range(n) if class_id is None else [int(class_id)]
    per_image = [np.mean([_np_bf((ti == c) & ki, (pi == c) & ki, int(tolerance), ki) for c in classes])
                 for ti, pi, ki in zip(t, p, kept)]
    return float(np.mean(per_image))


def boundary_f1_per_class(true, pred, tolerance: int = 2, num_classes: int = 1,
                          ignore_index: int | None = None) -> np.ndarray:
    """(N, n) boundary F1 of each image and class, NaN where the class is in neither truth nor
    prediction of that image (its kept pixels).

    For dataset reports: the mean of a column over the images that are not NaN is the class's BF
    (MATLAB's ``evaluateSemanticSegmentation`` convention), so images without a class do not count
    as perfect for it; the mean of a row without NaN is the image's BF over its classes.

    Example:

    >>> t = np.zeros((6, 6), int); t[1:5, 1:5] = 1
    >>> boundary_f1_per_class(t, t, num_classes=3).round(3).tolist()
    [[1.0, 1.0, nan]]
    """
    n, t, p, kept = _images(true, pred, num_classes, ignore_index)
    out = np.full((len(t), n), np.nan)
    for i, (ti, pi, ki) in enumerate(zip(t, p, kept)):
        for c in range(n):
            tm, pm = (ti == c) & ki, (pi == c) & ki
            if tm.any() or pm.any():
                out[i, c] = _np_bf(tm, pm, int(tolerance), ki)
    return out


def quad_iou(quad_a, quad_b, shape=None) -> float:
    """IoU of two quadrilaterals (4, 2) of (x, y) points, rasterized with skimage.draw.polygon.

    ``shape`` (H, W): rasterize on that image (parts outside are cut off); ``None``: on a canvas
    covering both. Accurate to the pixel grid (about perimeter / area). ``None`` for a quad means
    "no object": both None -> 1.0, one None -> 0.0.
    """
    from skimage.draw import polygon

    if quad_a is None or quad_b is None:
        return 1.0 if quad_a is None and quad_b is None else 0.0
    a, b = np.asarray(quad_a, float).reshape(-1, 2), np.asarray(quad_b, float).reshape(-1, 2)
    if shape is None:
        both = np.vstack([a, b])
        origin = np.floor(both.min(axis=0)) - 1
        a, b = a - origin, b - origin
        size = np.ceil(np.vstack([a, b]).max(axis=0)) + 2
        shape = (int(size[1]), int(size[0]))
    masks = []
    for quad in (a, b):
        mask = np.zeros(shape[:2], bool)
        rows, cols = polygon(quad[:, 1], quad[:, 0], shape=shape[:2])
        mask[rows, cols] = True
        masks.append(mask)
    return mask_iou(*masks)


class CornerError(NamedTuple):
    """Corner distances as a share of the diagonal, after matching the corner order."""

    max: float
    mean: float


def corner_error(pred_corners, true_corners, diagonal) -> CornerError:
    """Max and mean distance between matched corners, as a share of ``diagonal``.

    Corners: (4, 2) (x, y) arrays; the predicted corners are matched to the true ones by the order
    (of all 24) with the smallest total distance, so corner order conventions do not matter.
    ``diagonal``: a length in pixels, or an image shape (H, W[, C]) whose diagonal is used.
    """
    pred = np.asarray(pred_corners, float).reshape(4, 2)
    true = np.asarray(true_corners, float).reshape(4, 2)
    if np.ndim(diagonal) == 0:
        diag = float(diagonal)
    else:
        h, w = diagonal[:2]
        diag = float(np.hypot(h, w))
    if diag <= 0:
        raise ValueError(f"diagonal must be positive, got {diagonal}")
    best = min(
        (np.linalg.norm(pred[list(order)] - true, axis=1) for order in itertools.permutations(range(4))),
        key=lambda d: d.sum(),
    )
    return CornerError(max=float(best.max() / diag), mean=float(best.mean() / diag))
