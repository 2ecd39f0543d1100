"""Segmentation losses: cross-entropy, focal, Dice, Jaccard, Tversky, and sums of them.

Every loss takes the batches of the fcnlib contract: ``y_true`` int class ids (B, H, W, 1) and
``y_pred`` float probabilities (B, H, W, K). K == 1 is a sigmoid head giving P(class 1) of a binary
problem, K >= 2 a softmax over K classes; the same masks work with both heads.

Why this module exists: Keras' own losses want one-hot or float targets shaped like the prediction,
refuse ``class_weight`` for 3-D targets, and have no sparse categorical focal loss. Here:

- one signature (segmentation_models style): ``class_weights`` on every loss (a weight per class id;
  pixel losses weight each pixel by its true class, region losses weight the per-class scores),
  ``class_ids``/``per_image``/``smooth`` on the region losses (Dice, Jaccard, Tversky);
- per-pixel ``sample_weight`` (B, H, W, 1) accepted by every loss (``pixel_weights`` builds it from
  class weights, e.g. the median-frequency weights of ``fcn verify``);
- ``ignore_index`` on every loss: pixels whose mask holds that value (void: CamVid's 11, Pascal VOC's
  255) are left out entirely, as if cropped away: no loss, no false positive in a region loss, and
  the mean is over the kept pixels only;
- composition: ``bce + dice``, ``0.5 * focal + dice`` give a :class:`SumLoss`;
- :func:`get` turns ``"bce+dice"``, ``"0.5*focal+dice"``, a dict or a loss into a loss;
- everything in ``keras.ops`` (TensorFlow, JAX, PyTorch) and registered for ``.keras`` files.

Region losses score their soft counts with :func:`fcnlib.metrics.tversky_index`, the function the
metrics score hard counts with (as segmentation_models shares its ``functional`` scores), and every
loss finds void pixels with :func:`fcnlib.metrics.split_void`, as the metrics do.

Binary and categorical cross-entropy and the binary focal loss are Keras' built-in functions
(``keras.losses.binary_crossentropy`` etc.) fed with targets in the form they expect. Dice and
Tversky are computed here because the built-ins take no pixel weights and no class selection; the
tests check they agree with ``keras.losses.Dice``/``Tversky`` where both apply. Note that
``keras.losses.Tversky`` multiplies false *negatives* by ``alpha``; here, as in Salehi et al. 2017,
``alpha`` weights false positives and ``beta`` false negatives.
"""
from __future__ import annotations

import inspect
import re
import keras
from keras import ops

from fcnlib.labels import check_ignore_index, num_labels
from fcnlib.metrics import split_void, tversky_index

__all__ = [
    "SegmentationLoss",
    "BinaryCELoss",
    "CategoricalCELoss",
    "FocalLoss",
    "DiceLoss",
    "JaccardLoss",
    "TverskyLoss",
    "SumLoss",
    "pixel_weights",
    "get",
    "available",
]


def pixel_weights(mask, class_weights):
    """Per-pixel weights from class ids: ``class_weights[mask]`` as float32, same shape as ``mask``.

    ``mask`` holds integer class ids (any shape, e.g. (B, H, W, 1)); ``class_weights`` one weight per
    class id. Ids outside ``0..len(class_weights)-1`` (a void label such as 255) get weight 0.
    Written in ``keras.ops``: it runs on numpy arrays and tensors of the active backend.

    Example:

    >>> import numpy as np
    >>> np.asarray(pixel_weights(np.array([[0, 1, 255]]), [1.0, 4.0])).tolist()
    [[1.0, 4.0, 0.0]]
    """
    weights = ops.convert_to_tensor([float(w) for w in class_weights], dtype="float32")
    n = len(class_weights)
    ids = ops.cast(mask, "int32")
    inside = ops.logical_and(ids >= 0, ids < n)
    return ops.where(inside, ops.take(weights, ops.clip(ids, 0, n - 1)), 0.0)


def _labels(y_true, y_pred):
    """Class ids (B, H, W) int32 from masks (B, H, W, 1) or (B, H, W)."""
    if len(y_true.shape) == len(y_pred.shape):
        y_true = ops.squeeze(y_true, axis=-1)
    return ops.cast(y_true, "int32")


def _num_channels(y_pred) -> int:
    k = y_pred.shape[-1]
    if k is None:
        raise ValueError("fcnlib losses need a static number of classes (last axis of y_pred)")
    return int(k)


def _broadcast_weights(sample_weight, ref):
    """Sample weights of shape (B,), (B, H, W) or (B, H, W, 1) as (B, H, W, 1) floats like ``ref``."""
    w = ops.cast(ops.convert_to_tensor(sample_weight), ref.dtype)
    rank = len(w.shape)
    if rank == 0:
        w = ops.reshape(w, (1, 1, 1, 1))
    elif rank == 1:
        w = ops.reshape(w, (-1, 1, 1, 1))
    elif rank == 3:
        w = ops.expand_dims(w, -1)
    elif rank != 4:
        raise ValueError(f"sample_weight of rank {rank}; expected (B,), (B, H, W) or (B, H, W, 1)")
    return ops.broadcast_to(w, ops.shape(ref[..., :1]))


def _as_floats(values) -> list[float] | None:
    return None if values is None else [float(v) for v in values]


class SegmentationLoss(keras.losses.Loss):
    """Base of the fcnlib losses: mask/probability adaptation, weights, ``+`` and ``*``.

    ``class_weights``: optional weight per class id (length = number of classes, 2 for a sigmoid
    head). ``ignore_index``: the mask value of void pixels (an int 0..255 that is no class id), left
    out of the loss entirely; ``None``: every pixel counts. ``reduction`` as in Keras (default
    ``"sum_over_batch_size"``: the mean over the kept pixels of the weighted pixel losses, or over
    images/the batch for region losses).
    """

    def __init__(self, *, class_weights=None, ignore_index=None, name=None, reduction="sum_over_batch_size",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.class_weights = _as_floats(class_weights)
        self.ignore_index = self._checked_void(ignore_index, 1)  # 0 and 1 are class ids of every task

    def _checked_void(self, ignore_index, k: int):
        try:
            return check_ignore_index(ignore_index, k)
        except ValueError as e:
            raise ValueError(f"{self.name}: {e}") from None

    def _check_void(self, k: int) -> None:
        """The void value against the k channels of the prediction (it must be no class id)."""
        self._checked_void(self.ignore_index, k)

    def get_config(self):
        return {**super().get_config(), "class_weights": self.class_weights, "ignore_index": self.ignore_index}

    # Composition -----------------------------------------------------------------------------
    def __add__(self, other):
        if not isinstance(other, keras.losses.Loss):
            return NotImplemented
        return SumLoss(_terms(self) + _terms(other))

    def __radd__(self, other):
        if isinstance(other, (int, float)) and other == 0:  # sum([loss_a, loss_b])
            return self
        return NotImplemented

    def __mul__(self, factor):
        if not isinstance(factor, (int, float)):
            return NotImplemented
        return SumLoss([(float(factor) * w, loss) for w, loss in _terms(self)])

    __rmul__ = __mul__


def _terms(loss) -> list[tuple[float, keras.losses.Loss]]:
    if isinstance(loss, SumLoss):
        return list(zip(loss.weights, loss.losses))
    return [(1.0, loss)]


class _PixelLoss(SegmentationLoss):
    """A loss per pixel (B, H, W), weighted by ``sample_weight`` x ``class_weights[y_true]``.

    Void pixels (``ignore_index``) get weight 0, and with the mean reductions the kept pixels get
    ``total / kept`` on top (as Keras does for masked values), so the value is the mean over the kept
    pixels: the value of the batch with the void pixels cut out.
    """

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred, dtype=self.dtype)
        y_true = ops.convert_to_tensor(y_true)
        self._check_void(_num_channels(y_pred))
        weights = None
        if sample_weight is not None:
            weights = _broadcast_weights(sample_weight, y_pred)
        if self.class_weights is not None:
            labels = ops.expand_dims(_labels(y_true, y_pred), -1)
            cw = ops.cast(pixel_weights(labels, self.class_weights), y_pred.dtype)
            weights = cw if weights is None else weights * cw
        if self.ignore_index is not None:
            _, valid = split_void(_labels(y_true, y_pred), self.ignore_index)
            valid = ops.cast(ops.expand_dims(valid, -1), y_pred.dtype)
            if self.reduction in ("sum_over_batch_size", "mean"):
                total = ops.cast(ops.size(valid), y_pred.dtype)
                valid = valid * ops.divide_no_nan(total, ops.sum(valid))
            weights = valid if weights is None else weights * valid
        return super().__call__(y_true, y_pred, sample_weight=weights)

    def _void_free_labels(self, y_true, y_pred):
        """Class ids (B, H, W) with void pixels set to 0 (their weight is 0; any valid id keeps the
        built-in losses finite there)."""
        labels, _ = split_void(_labels(y_true, y_pred), self.ignore_index)
        return labels


@keras.saving.register_keras_serializable(package="fcnlib")
class BinaryCELoss(_PixelLoss):
    """Binary cross-entropy (``"bce"``), built on ``keras.losses.binary_crossentropy``.

    K == 1: BCE of P(class 1) against ``y_true == 1``. K >= 2: BCE of each channel against the one-hot
    mask, averaged over channels (for a two-class softmax this equals the K == 1 value).
    """

    def __init__(self, *, class_weights=None, ignore_index=None, name="bce", reduction="sum_over_batch_size",
                 dtype=None):
        super().__init__(class_weights=class_weights, ignore_index=ignore_index, name=name, reduction=reduction,
                         dtype=dtype)

    def call(self, y_true, y_pred):
        k = _num_channels(y_pred)
        labels = self._void_free_labels(y_true, y_pred)
        if k == 1:
            target = ops.cast(ops.expand_dims(labels, -1), y_pred.dtype)
        else:
            target = ops.one_hot(labels, k, dtype=y_pred.dtype)
        return keras.losses.binary_crossentropy(target, y_pred)


@keras.saving.register_keras_serializable(package="fcnlib")
class CategoricalCELoss(_PixelLoss):
    """Categorical cross-entropy from sparse masks (``"cce"``, ``"ce"``).

    K >= 2: ``keras.losses.sparse_categorical_crossentropy``; K == 1: the two classes are
    (1 - p, p), which is binary cross-entropy, so ``"cce"`` works for both heads.
    """

    def __init__(self, *, class_weights=None, ignore_index=None, name="cce", reduction="sum_over_batch_size",
                 dtype=None):
        super().__init__(class_weights=class_weights, ignore_index=ignore_index, name=name, reduction=reduction,
                         dtype=dtype)

    def call(self, y_true, y_pred):
        labels = self._void_free_labels(y_true, y_pred)
        if _num_channels(y_pred) == 1:
            target = ops.cast(ops.expand_dims(labels, -1), y_pred.dtype)
            return keras.losses.binary_crossentropy(target, y_pred)
        return keras.losses.sparse_categorical_crossentropy(labels, y_pred)


@keras.saving.register_keras_serializable(package="fcnlib")
class FocalLoss(_PixelLoss):
    """Focal loss (Lin et al. 2017, ``"focal"``): ``-(1 - p_t)**gamma * log(p_t)`` per pixel.

    ``p_t`` is the probability given to the true class. K == 1 uses
    ``keras.losses.binary_focal_crossentropy``; K >= 2 is the sparse categorical form Keras lacks
    (same value for a two-class softmax). Class balancing (the paper's alpha) is ``class_weights``:
    ``class_weights=(1 - alpha, alpha)`` equals Keras' ``apply_class_balancing=True``.
    """

    def __init__(
        self, gamma=2.0, *, class_weights=None, ignore_index=None, name="focal", reduction="sum_over_batch_size",
        dtype=None
    ):
        super().__init__(class_weights=class_weights, ignore_index=ignore_index, name=name, reduction=reduction,
                         dtype=dtype)
        self.gamma = float(gamma)

    def call(self, y_true, y_pred):
        k = _num_channels(y_pred)
        labels = self._void_free_labels(y_true, y_pred)
        if k == 1:
            target = ops.cast(ops.expand_dims(labels, -1), y_pred.dtype)
            return keras.losses.binary_focal_crossentropy(target, y_pred, gamma=self.gamma)
        eps = keras.config.epsilon()
        probs = ops.clip(y_pred, eps, 1.0 - eps)
        p_t = ops.sum(ops.one_hot(labels, k, dtype=y_pred.dtype) * probs, axis=-1)
        p_t = ops.clip(p_t, eps, 1.0)  # labels outside 0..K-1 give p_t = 0: keep log finite
        return -ops.power(1.0 - p_t, self.gamma) * ops.log(p_t)

    def get_config(self):
        return {**super().get_config(), "gamma": self.gamma}


class _RegionLoss(SegmentationLoss):
    """Base of the losses on soft true/false positive counts per class (Dice, Jaccard, Tversky).

    Soft counts per class c (weights w = sample_weight): tp = sum(w t p), fp = sum(w (1 - t) p),
    fn = sum(w t (1 - p)), with t the one-hot mask and p the probability; summed over the whole batch
    (``per_image=False``) or per image (``per_image=True``, then averaged over images).
    ``class_ids``: classes whose scores are averaged (weighted by ``class_weights``); default: class 1
    for a sigmoid head (K == 1), every class for a softmax head. With K == 1 the classes are
    (1 - p, p), so ``class_ids=(0, 1)`` there equals a two-class softmax with the default.
    ``smooth`` is added to numerator and denominator of the Tversky index
    (:func:`fcnlib.metrics.tversky_index`, shared with the metrics): a class absent from truth and
    prediction scores 1 (loss 0), as in :mod:`fcnlib.metrics`. Void pixels (``ignore_index``) get
    weight 0: they are in no class's counts, so predicting anything there costs nothing.
    """

    def __init__(
        self,
        *,
        class_ids=None,
        per_image=False,
        smooth=1e-5,
        class_weights=None,
        ignore_index=None,
        name=None,
        reduction="sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(class_weights=class_weights, ignore_index=ignore_index, name=name, reduction=reduction,
                         dtype=dtype)
        self.class_ids = None if class_ids is None else [int(c) for c in class_ids]
        self.per_image = bool(per_image)
        self.smooth = float(smooth)

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred, dtype=self.dtype)
        self._check_void(_num_channels(y_pred))
        if sample_weight is None:
            weights = ops.ones_like(y_pred[..., :1])
        else:
            weights = _broadcast_weights(sample_weight, y_pred)
        if self.ignore_index is not None:
            _, valid = split_void(_labels(ops.convert_to_tensor(y_true), y_pred), self.ignore_index)
            weights = weights * ops.cast(ops.expand_dims(valid, -1), weights.dtype)
        # The pixel weights travel with the mask so that Keras' own reduction (and its scaling
        # under tf.distribute) applies to the per-image/per-batch values returned by call().
        return super().__call__((y_true, weights), y_pred)

    def call(self, y_true, y_pred):
        y_true, weights = y_true
        k = _num_channels(y_pred)
        labels, _ = split_void(_labels(y_true, y_pred), self.ignore_index)  # void: weight 0 already
        n = num_labels(k)
        probs = ops.concatenate([1.0 - y_pred, y_pred], axis=-1) if k == 1 else y_pred
        target = ops.one_hot(labels, n, dtype=y_pred.dtype)
        tp = ops.sum(weights * target * probs, axis=(1, 2))
        fp = ops.sum(weights * (1.0 - target) * probs, axis=(1, 2))
        fn = ops.sum(weights * target * (1.0 - probs), axis=(1, 2))
        if not self.per_image:  # one score over the whole batch: shape (1, n)
            tp, fp, fn = (ops.sum(x, axis=0, keepdims=True) for x in (tp, fp, fn))
        score = self.score(tp, fp, fn)
        ids = self.class_ids if self.class_ids is not None else ([1] if k == 1 else list(range(n)))
        if max(ids) >= n or min(ids) < 0:
            raise ValueError(f"{self.name}: class_ids {ids} outside 0..{n - 1}")
        score = ops.take(score, ids, axis=-1)
        if self.class_weights is None:
            score = ops.mean(score, axis=-1)
        else:
            if len(self.class_weights) != n:
                raise ValueError(f"{self.name}: {len(self.class_weights)} class_weights for {n} classes")
            cw = ops.convert_to_tensor([self.class_weights[i] for i in ids], dtype=y_pred.dtype)
            score = ops.sum(score * cw, axis=-1) / ops.sum(cw)
        return 1.0 - score

    def score(self, tp, fp, fn):
        """Per-class score in [0, 1] from soft counts: the Tversky index with this loss's alpha, beta."""
        return tversky_index(tp, fp, fn, *self.alpha_beta, smooth=self.smooth)

    alpha_beta = (1.0, 1.0)

    def get_config(self):
        return {
            **super().get_config(),
            "class_ids": self.class_ids,
            "per_image": self.per_image,
            "smooth": self.smooth,
        }


@keras.saving.register_keras_serializable(package="fcnlib")
class DiceLoss(_RegionLoss):
    """Soft Dice loss (``"dice"``): 1 - (2 tp + s) / (2 tp + fp + fn + s), the Tversky index with
    alpha = beta = 1/2 (and smooth s/2, which keeps the usual form of s)."""

    alpha_beta = (0.5, 0.5)

    def __init__(self, *, name="dice", **kwargs):
        super().__init__(name=name, **kwargs)

    def score(self, tp, fp, fn):
        return tversky_index(tp, fp, fn, 0.5, 0.5, smooth=self.smooth / 2)


@keras.saving.register_keras_serializable(package="fcnlib")
class JaccardLoss(_RegionLoss):
    """Soft Jaccard (IoU) loss (``"jaccard"``, ``"iou"``): 1 - (tp + s) / (tp + fp + fn + s)."""

    def __init__(self, *, name="jaccard", **kwargs):
        super().__init__(name=name, **kwargs)


@keras.saving.register_keras_serializable(package="fcnlib")
class TverskyLoss(_RegionLoss):
    """Tversky loss (Salehi et al. 2017, ``"tversky"``): 1 - (tp + s) / (tp + a fp + b fn + s).

    ``alpha`` weights false positives, ``beta`` false negatives (the paper's convention; Keras'
    ``Tversky`` swaps them). alpha = beta = 0.5 is Dice; the default 0.3/0.7 favours recall.
    """

    def __init__(self, alpha=0.3, beta=0.7, *, name="tversky", **kwargs):
        super().__init__(name=name, **kwargs)
        self.alpha = float(alpha)
        self.beta = float(beta)

    @property
    def alpha_beta(self):
        return (self.alpha, self.beta)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "beta": self.beta}


@keras.saving.register_keras_serializable(package="fcnlib")
class SumLoss(keras.losses.Loss):
    """Weighted sum of losses: ``sum(w_i * loss_i(y_true, y_pred, sample_weight))``.

    Made by ``loss_a + loss_b`` and ``0.5 * loss``, or ``get("0.5*focal+dice")``; each term gets the
    same ``sample_weight`` and applies its own reduction.
    """

    def __init__(self, terms=None, *, losses=None, weights=None, name=None, reduction="sum_over_batch_size", dtype=None):
        if terms is not None:
            weights, losses = [w for w, _ in terms], [loss for _, loss in terms]
        if not losses:
            raise ValueError("SumLoss needs at least one loss")
        self.losses = [
            loss if isinstance(loss, keras.losses.Loss) else keras.saving.deserialize_keras_object(loss)
            for loss in losses
        ]
        self.weights = [1.0] * len(self.losses) if weights is None else [float(w) for w in weights]
        if len(self.weights) != len(self.losses):
            raise ValueError(f"SumLoss: {len(self.weights)} weights for {len(self.losses)} losses")
        if name is None:
            name = "+".join(
                loss.name if w == 1.0 else f"{w:g}*{loss.name}" for w, loss in zip(self.weights, self.losses)
            )
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def __call__(self, y_true, y_pred, sample_weight=None):
        total = 0.0
        for w, loss in zip(self.weights, self.losses):
            total = total + w * loss(y_true, y_pred, sample_weight=sample_weight)
        return total

    def get_config(self):
        return {
            "name": self.name,
            "losses": [keras.saving.serialize_keras_object(loss) for loss in self.losses],
            "weights": self.weights,
        }

    __add__ = SegmentationLoss.__add__
    __radd__ = SegmentationLoss.__radd__
    __mul__ = SegmentationLoss.__mul__
    __rmul__ = SegmentationLoss.__mul__


_BY_NAME = {
    "bce": BinaryCELoss,
    "binary_crossentropy": BinaryCELoss,
    "cce": CategoricalCELoss,
    "ce": CategoricalCELoss,
    "categorical_crossentropy": CategoricalCELoss,
    "focal": FocalLoss,
    "dice": DiceLoss,
    "jaccard": JaccardLoss,
    "iou": JaccardLoss,
    "tversky": TverskyLoss,
}

_TERM = re.compile(r"^\s*(?:(\d+(?:\.\d*)?|\.\d+)\s*\*\s*)?([a-z_]+)\s*$")


def available() -> list[str]:
    """Loss names understood by :func:`get`."""
    return sorted(_BY_NAME)


def get(spec, **kwargs) -> keras.losses.Loss:
    """A loss from a spec.

    - a string: one name (``"bce"``, ``"cce"``/``"ce"``, ``"focal"``, ``"dice"``, ``"jaccard"``/
      ``"iou"``, ``"tversky"``) or a sum of weighted names, ``"bce+dice"``, ``"0.5*focal+dice"``;
      ``kwargs`` (e.g. ``class_weights``, ``ignore_index``) go to every term that accepts them;
    - a dict: ``{"name": "focal", "gamma": 3}`` (the name may be a sum) or a Keras serialized
      object (``{"class_name": ..., "config": ...}``);
    - a ``keras.losses.Loss``: returned as is.

    Example:

    >>> import numpy as np
    >>> loss = get("ce+dice", ignore_index=11)          # CamVid: 11 classes, 11 = void
    >>> loss.name, loss.losses[1].ignore_index
    ('cce+dice', 11)
    >>> y = np.array([[[[0], [1], [11]]]])                # the last pixel is void
    >>> p = np.array([[[[0.9, 0.1], [0.2, 0.8], [0.99, 0.01]]]], np.float32)
    >>> bool(np.isclose(float(get("ce", ignore_index=11)(y, p)), float(get("ce")(y[:, :, :2], p[:, :, :2]))))
    True
    """
    if isinstance(spec, keras.losses.Loss):
        return spec
    if isinstance(spec, dict):
        if "class_name" in spec:
            return keras.saving.deserialize_keras_object(spec)
        options = dict(spec)
        if "name" not in options:
            raise ValueError(f"loss dict {spec!r} needs a 'name' (e.g. 'dice') or a 'class_name'")
        return get(options.pop("name"), **{**options, **kwargs})
    if not isinstance(spec, str):
        raise TypeError(f"loss spec must be a string, dict or keras Loss, not {type(spec).__name__}")
    terms = []
    for part in spec.lower().split("+"):
        match = _TERM.match(part)
        if match is None or match.group(2) not in _BY_NAME:
            raise ValueError(
                f"unknown loss {part.strip()!r} in {spec!r}; use names {available()} "
                "joined by '+', each optionally as 'weight*name'"
            )
        weight = float(match.group(1)) if match.group(1) else 1.0
        cls = _BY_NAME[match.group(2)]
        terms.append((weight, cls(**_accepted(cls, kwargs))))
    used = set().union(*(_accepted(type(loss), kwargs) for _, loss in terms))
    if set(kwargs) - used:
        raise ValueError(f"loss {spec!r} takes no option {sorted(set(kwargs) - used)}")
    if len(terms) == 1 and terms[0][0] == 1.0:
        return terms[0][1]
    return SumLoss(terms)


def _accepted(cls, kwargs: dict) -> dict:
    """The options of ``kwargs`` that ``cls`` (or a base class it forwards to) takes."""
    names = set()
    for klass in cls.__mro__:
        if "__init__" in vars(klass):
            names |= set(inspect.signature(klass.__init__).parameters)
    return {k: v for k, v in kwargs.items() if k in names}
