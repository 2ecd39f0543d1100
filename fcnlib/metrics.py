"""Segmentation metrics: streaming Keras metrics exact over an epoch, and numpy twins for saved masks.

Keras metrics (``keras.metrics.Metric``, ``keras.ops`` only, registered for ``.keras`` files) take
the batches of the fcnlib contract: ``y_true`` int class ids (B, H, W, 1), ``y_pred`` probabilities
(B, H, W, K); K == 1 is a sigmoid head, thresholded at ``threshold`` (P > 0.5 -> class 1) into two
classes; K >= 2 takes the argmax. They accumulate a confusion matrix (rows: true class, columns:
predicted class) over every batch and score it in ``result()``, so an epoch's value is exactly the
value over all its pixels, never an average of per-batch scores. Counts are float64 (exact to 2**53
pixels per cell; under JAX enable ``jax_enable_x64`` for the same, else float32: exact to 2**24).
True labels outside 0..num_classes-1 (a void label such as 255) are not counted.

Names (also the default metric names): ``iou`` = IoU of one class, the foreground class 1 by default
(the headline of a binary problem); ``miou`` = mean IoU over all classes (the headline with three or
more classes); ``dice``, ``precision``, ``recall`` of class 1 by default (``class_id=None``: mean over
classes); ``pixel_accuracy``; ``bf1`` = boundary F1. ``num_classes`` counts classes, so a sigmoid
head is ``num_classes=2`` (``1`` is accepted and means the same).

Empty classes: a ratio whose denominator is zero is 1 when the class is absent from both truth and
prediction (nothing to find, nothing wrongly found) and 0 otherwise. So a class absent in both has
IoU, Dice, precision, recall and BF 1; a class predicted but absent in truth has IoU 0.

Boundary F1 (BF score, Csurka et al. 2013): the boundary of a class is the set of its pixels with an
8-neighbour of another class (3 x 3 erosion; pixels outside the image are not another class, so the
image border is no boundary). A boundary pixel is matched when a boundary pixel of the other mask
lies within ``tolerance`` pixels in the Chebyshev sense (a (2t+1) x (2t+1) square). Precision = share
of predicted boundary pixels matched, recall = share of true boundary pixels matched, BF = their F1,
per image and class (both boundaries empty: 1; one empty: 0), averaged over images. The Keras metric
uses max pooling, the numpy function scipy.ndimage morphology with the same square footprints.

numpy functions: :func:`confusion_matrix`, :func:`scores`, :func:`mask_iou`, :func:`boundary_f1`,
:func:`quad_iou`, :func:`corner_error`.
"""
from __future__ import annotations

import itertools
from typing import NamedTuple

import keras
import numpy as np
from keras import ops

__all__ = [
    "ConfusionMatrixMetric",
    "IoU",
    "MeanIoU",
    "Dice",
    "PixelAccuracy",
    "Precision",
    "Recall",
    "BoundaryF1",
    "default_metrics",
    "headline_metric",
    "confusion_matrix",
    "scores",
    "mask_iou",
    "boundary_f1",
    "quad_iou",
    "corner_error",
    "CornerError",
]


# ------------------------------------------------------------------------------------------------
# Shared pieces (keras.ops: run on numpy arrays and on tensors of any backend)


def _ratio(num, den, absent):
    """num / den; where den == 0: 1 if ``absent`` (class in neither truth nor prediction) else 0."""
    safe = ops.where(den > 0, den, ops.ones_like(den))
    return ops.where(den > 0, num / safe, ops.where(absent, 1.0, 0.0))


def _class_scores(cm):
    """Per-class IoU, Dice, precision, recall from a confusion matrix (rows true, columns predicted)."""
    cm = ops.convert_to_tensor(cm)
    tp = ops.diagonal(cm)
    fp = ops.sum(cm, axis=0) - tp
    fn = ops.sum(cm, axis=1) - tp
    absent = (tp + fp + fn) == 0
    return {
        "iou": _ratio(tp, tp + fp + fn, absent),
        "dice": _ratio(2.0 * tp, 2.0 * tp + fp + fn, absent),
        "precision": _ratio(tp, tp + fp, absent),
        "recall": _ratio(tp, tp + fn, absent),
    }


def _f1(matched_pred, n_pred, matched_true, n_true):
    """Boundary F1 from matched/total boundary pixel counts (arrays of equal shape)."""
    absent = ops.logical_and(n_pred == 0, n_true == 0)
    precision = _ratio(matched_pred, n_pred, absent)
    recall = _ratio(matched_true, n_true, absent)
    return _ratio(2.0 * precision * recall, precision + recall, absent)


def _classes(num_classes: int) -> int:
    if int(num_classes) < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    return max(int(num_classes), 2)


# ------------------------------------------------------------------------------------------------
# Keras metrics


def _true_and_pred_labels(y_true, y_pred, n, threshold):
    """Flat-shaped (B, H, W) int32 true and predicted class ids from masks and probabilities."""
    y_pred = ops.convert_to_tensor(y_pred)
    k = y_pred.shape[-1]
    if k is None:
        raise ValueError("fcnlib metrics need a static number of classes (last axis of y_pred)")
    if (k == 1 and n != 2) or (k >= 2 and k != n):
        raise ValueError(f"prediction has {k} channel(s) but the metric counts {n} classes")
    y_true = ops.convert_to_tensor(y_true)
    if len(y_true.shape) == len(y_pred.shape):
        y_true = ops.squeeze(y_true, axis=-1)
    labels = ops.cast(y_true, "int32")
    if k == 1:
        pred = ops.cast(y_pred[..., 0] > threshold, "int32")
    else:
        pred = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
    return labels, pred


class ConfusionMatrixMetric(keras.metrics.Metric):
    """Base of the streaming metrics: accumulates an (n, n) confusion matrix over every batch.

    ``num_classes``: number of classes (a sigmoid head is 2; 1 is read as 2). ``class_id``: the class
    scored (``None``: mean over all classes). ``threshold``: for K == 1, P(class 1) > threshold is
    class 1. ``sample_weight`` (B, H, W, 1), (B, H, W) or (B,) weights each pixel's count.
    """

    def __init__(self, num_classes=2, class_id=1, threshold=0.5, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = int(num_classes)
        self.class_id = None if class_id is None else int(class_id)
        self.threshold = float(threshold)
        n = _classes(num_classes)
        if self.class_id is not None and not 0 <= self.class_id < n:
            raise ValueError(f"{self.name}: class_id {self.class_id} outside 0..{n - 1}")
        self.confusion = self.add_variable(
            shape=(n, n), initializer="zeros", dtype="float64", aggregation="sum", name="confusion"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        n = _classes(self.num_classes)
        labels, pred = _true_and_pred_labels(y_true, y_pred, n, self.threshold)
        onehot_true = ops.reshape(ops.one_hot(labels, n, dtype="float32"), (-1, n))
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
        }


@keras.saving.register_keras_serializable(package="fcnlib")
class IoU(ConfusionMatrixMetric):
    """Intersection over union tp / (tp + fp + fn) of ``class_id`` (default 1, the foreground)."""

    score_key = "iou"

    def __init__(self, num_classes=2, class_id=1, threshold=0.5, name="iou", dtype=None):
        super().__init__(num_classes, class_id, threshold, name=name, dtype=dtype)


@keras.saving.register_keras_serializable(package="fcnlib")
class MeanIoU(IoU):
    """Mean IoU over all classes (``class_id=None``); background included."""

    def __init__(self, num_classes=2, class_id=None, threshold=0.5, name="miou", dtype=None):
        super().__init__(num_classes, class_id, threshold, name=name, dtype=dtype)


@keras.saving.register_keras_serializable(package="fcnlib")
class Dice(ConfusionMatrixMetric):
    """Dice / F1 2 tp / (2 tp + fp + fn) of ``class_id`` (equals 2 IoU / (1 + IoU))."""

    score_key = "dice"

    def __init__(self, num_classes=2, class_id=1, threshold=0.5, name="dice", dtype=None):
        super().__init__(num_classes, class_id, threshold, name=name, dtype=dtype)


@keras.saving.register_keras_serializable(package="fcnlib")
class Precision(ConfusionMatrixMetric):
    """Precision tp / (tp + fp) of ``class_id``: share of pixels predicted as the class that are."""

    score_key = "precision"

    def __init__(self, num_classes=2, class_id=1, threshold=0.5, name="precision", dtype=None):
        super().__init__(num_classes, class_id, threshold, name=name, dtype=dtype)


@keras.saving.register_keras_serializable(package="fcnlib")
class Recall(ConfusionMatrixMetric):
    """Recall tp / (tp + fn) of ``class_id``: share of the class's pixels that were found."""

    score_key = "recall"

    def __init__(self, num_classes=2, class_id=1, threshold=0.5, name="recall", dtype=None):
        super().__init__(num_classes, class_id, threshold, name=name, dtype=dtype)


@keras.saving.register_keras_serializable(package="fcnlib")
class PixelAccuracy(ConfusionMatrixMetric):
    """Share of pixels with the right class (0 before any pixel is seen). Flatters small objects."""

    def __init__(self, num_classes=2, threshold=0.5, name="pixel_accuracy", dtype=None):
        super().__init__(num_classes, None, threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["class_id"]
        return config

    def _score(self, cm):
        total = ops.sum(cm)
        return ops.where(total > 0, ops.trace(cm) / ops.maximum(total, 1.0), 0.0)


def _boundaries(onehot):
    """Boundary pixels of each class map (B, H, W, n) of 0/1: in the class, with an 8-neighbour not.

    Max pooling of 0/1 maps pads with values that never win, so outside the image counts as
    neither, on every backend.
    """
    outside = ops.max_pool(1.0 - onehot, pool_size=3, strides=1, padding="same")
    return onehot * outside


def _dilate(mask, tolerance: int):
    if tolerance == 0:
        return mask
    return ops.max_pool(mask, pool_size=2 * tolerance + 1, strides=1, padding="same")


@keras.saving.register_keras_serializable(package="fcnlib")
class BoundaryF1(keras.metrics.Metric):
    """Boundary F1 (BF score) with a tolerance in pixels, per image and class, averaged over images.

    Streaming: sums each image's per-class BF and counts the images; ``result()`` divides.
    ``class_id`` (default 1; ``None``: mean over classes), ``num_classes``, ``threshold`` as for
    the other metrics; definitions in the module docstring. Takes no ``sample_weight`` (list it in
    ``metrics=``, not ``weighted_metrics=``).
    """

    def __init__(self, num_classes=2, class_id=1, tolerance=2, threshold=0.5, name="bf1", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = int(num_classes)
        self.class_id = None if class_id is None else int(class_id)
        self.tolerance = int(tolerance)
        self.threshold = float(threshold)
        n = _classes(num_classes)
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
        labels, pred = _true_and_pred_labels(y_true, y_pred, n, self.threshold)
        true_b = _boundaries(ops.one_hot(labels, n, dtype="float32"))
        pred_b = _boundaries(ops.one_hot(pred, n, dtype="float32"))
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
        }


def headline_metric(num_classes: int) -> str:
    """Name of the metric to monitor: ``"iou"`` (foreground IoU) for binary, else ``"miou"``."""
    return "iou" if _classes(num_classes) == 2 else "miou"


def default_metrics(num_classes: int = 2, tolerance: int = 2) -> list[keras.metrics.Metric]:
    """The metrics training reports (names in the module docstring).

    Binary (``num_classes`` 1 or 2): iou, precision, recall (all of class 1), bf1.
    Three or more classes: miou, iou_0 .. iou_{n-1}, pixel_accuracy, bf1 (mean over classes).
    """
    n = _classes(num_classes)
    if n == 2:
        return [
            IoU(num_classes),
            Precision(num_classes),
            Recall(num_classes),
            BoundaryF1(num_classes, class_id=1, tolerance=tolerance),
        ]
    return [
        MeanIoU(num_classes),
        *(IoU(num_classes, class_id=c, name=f"iou_{c}") for c in range(n)),
        PixelAccuracy(num_classes),
        BoundaryF1(num_classes, class_id=None, tolerance=tolerance),
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
        hint = " (a 0/255 mask? read it with mask_values=(0, 255))" if 255 in bad else ""
        raise ValueError(f"{name}: class ids {bad} outside 0..{n - 1}{hint}")


def confusion_matrix(true, pred, num_classes: int = 2) -> np.ndarray:
    """(n, n) int64 counts, rows = true class, columns = predicted class, over all given pixels.

    ``true``/``pred``: class-id masks of equal shape (H, W), (N, H, W) or (N, H, W, 1). Ids outside
    0..n-1 raise ValueError (n = ``num_classes``, 1 meaning a binary problem).
    """
    n = _classes(num_classes)
    t, p = _label_array(true, "true"), _label_array(pred, "pred")
    if t.shape != p.shape:
        raise ValueError(f"true masks of shape {t.shape} but predictions of shape {p.shape}")
    _check_range(t, n, "true")
    _check_range(p, n, "pred")
    return np.bincount((t * n + p).ravel(), minlength=n * n).reshape(n, n)


def scores(cm) -> dict:
    """Scores of a confusion matrix (JSON-ready floats and lists, one entry per class id).

    Returns ``iou``, ``dice``, ``precision``, ``recall`` (per-class lists), ``miou`` and ``mdice``
    (means over classes), ``pixel_accuracy``. Empty classes follow the module's rule.
    """
    cm = np.asarray(cm, dtype=np.float64)
    per_class = {k: ops.convert_to_numpy(v).astype(float).tolist() for k, v in _class_scores(cm).items()}
    total = cm.sum()
    return {
        **per_class,
        "miou": float(np.mean(per_class["iou"])),
        "mdice": float(np.mean(per_class["dice"])),
        "pixel_accuracy": float(np.trace(cm) / total) if total else 0.0,
    }


def mask_iou(a, b) -> float:
    """IoU of two binary masks (nonzero = object); 1.0 when both are empty."""
    a, b = np.asarray(a) != 0, np.asarray(b) != 0
    if a.shape != b.shape:
        raise ValueError(f"masks of shapes {a.shape} and {b.shape}")
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def _np_boundaries(mask: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    eroded = ndimage.binary_erosion(mask, structure=np.ones((3, 3), bool), border_value=1)
    return mask & ~eroded


def _np_bf(true_mask: np.ndarray, pred_mask: np.ndarray, tolerance: int) -> float:
    from scipy import ndimage

    tb, pb = _np_boundaries(true_mask), _np_boundaries(pred_mask)
    if tolerance:
        square = np.ones((2 * tolerance + 1, 2 * tolerance + 1), bool)
        td, pd = ndimage.binary_dilation(tb, square), ndimage.binary_dilation(pb, square)
    else:
        td, pd = tb, pb
    return float(
        ops.convert_to_numpy(
            _f1(
                np.float64((pb & td).sum()), np.float64(pb.sum()),
                np.float64((tb & pd).sum()), np.float64(tb.sum()),
            )
        )
    )


def boundary_f1(true, pred, tolerance: int = 2, num_classes: int = 2, class_id: int | None = 1) -> float:
    """Boundary F1 of class-id masks (H, W) or (N, H, W[, 1]), per image, averaged over images.

    ``class_id`` (default 1) or ``None`` for the mean over classes; same definition as
    :class:`BoundaryF1` (scipy.ndimage, square footprints).
    """
    n = _classes(num_classes)
    t, p = _label_array(true, "true"), _label_array(pred, "pred")
    if t.shape != p.shape:
        raise ValueError(f"true masks of shape {t.shape} but predictions of shape {p.shape}")
    _check_range(t, n, "true")
    _check_range(p, n, "pred")
    if t.ndim == 2:
        t, p = t[None], p[None]
    classes = range(n) if class_id is None else [int(class_id)]
    per_image = [np.mean([_np_bf(ti == c, pi == c, int(tolerance)) for c in classes]) for ti, pi in zip(t, p)]
    return float(np.mean(per_image))


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
