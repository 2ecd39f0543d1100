"""`Segmenter`: a network and everything needed to use it, saved as one `.keras` file.

A segmentation network alone does not say how photos must be prepared for it, what its classes are
called, or when a binary model should answer "no object". A `Segmenter` (in the manner of keras-hub's
`ImageSegmenter` tasks) wraps the network and keeps all of that in its config: a
`fcnlib.spec.Preprocessor` (input size, resize policy, normalisation), class names, palette, ignore
index and `min_score`. Saved with `model.save("x.keras")`, it loads in safe mode with
`keras.saving.load_model("x.keras")` once this module is imported (`import fcnlib.segmenter`, or
`fcnlib.models.load_model`); the same description is readable without Keras (`fcnlib.spec.read_spec`).

Calling a Segmenter is calling its network: it takes network-ready batches (what its preprocessor
makes of photos) and returns the network's probabilities, so training, evaluation and TFLite export
see the same model. `fcnlib.predict.Predictor` applies the preprocessor to photos.

Example:

>>> from fcnlib import models
>>> net = models.build("unet", num_classes=1, base_filters=4, depth=2)
>>> seg = Segmenter(net, Preprocessor((96, 64)), class_names=["background", "receipt"])
>>> seg.save("receipt.keras")  # doctest: +SKIP
>>> keras.saving.load_model("receipt.keras").preprocessor.image_size  # doctest: +SKIP
(96, 64)
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import keras

from fcnlib import models
from fcnlib.labels import num_labels
from fcnlib.spec import Preprocessor, SegmenterSpec

__all__ = ["Segmenter", "load_segmenter", "with_min_score"]


@keras.saving.register_keras_serializable(package="fcnlib")
class Segmenter(keras.Model):
    """A segmentation network with its preprocessor and the meaning of its outputs.

    Args:
        network: a `keras.Model` from images (B, H, W, 3) to probabilities (B, H, W, num_classes).
        preprocessor: a `fcnlib.spec.Preprocessor` (or its config dict); default: the network's fixed
            input size if it has one, else 256 x 256, stretched, pixels scaled to [0, 1].
        class_names: one name per label (`fcnlib.labels.num_labels`); default "background", "object"
            for a binary network, "class i" otherwise.
        palette: one (R, G, B) colour per label for pictures, or None (fcnlib's default palette).
        ignore_index: the void label of the training masks, or None.
        min_score: for a binary network, the extraction score under which it answers "no object"
            (calibrated on validation photos); None when not calibrated.
        score_method: how that extraction score is computed (`fcnlib.spec.SCORE_METHODS`), the one `min_score`
            was calibrated for; "fit" by default and in files that name none.

    Example:

    >>> net = models.build("unet", num_classes=1, base_filters=4, depth=2)
    >>> Segmenter(net, min_score=0.5).spec.min_score
    0.5
    """

    def __init__(self, network, preprocessor=None, class_names=None, palette=None, ignore_index=None,
                 min_score=None, score_method="fit", **kwargs):
        if isinstance(preprocessor, dict):
            preprocessor = Preprocessor.from_config(preprocessor)
        if preprocessor is None:
            fixed = network.input_shape[1:3]
            preprocessor = Preprocessor(tuple(fixed) if None not in fixed else (256, 256))
        fixed = tuple(network.input_shape[1:3])
        if None not in fixed and fixed != tuple(preprocessor.image_size):
            raise ValueError(f"the network takes {fixed} inputs, the preprocessor makes {preprocessor.image_size}")
        # checked before the graph is built: a wrong class count or palette fails here, not at use
        spec = SegmenterSpec(preprocessor, int(network.output_shape[-1]), class_names, palette,
                             ignore_index, min_score, score_method)
        inputs = keras.Input(shape=network.input_shape[1:], name="image")
        outputs = network(inputs)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.network = network
        self.spec = spec

    @property
    def preprocessor(self) -> Preprocessor:
        return self.spec.preprocessor

    @property
    def min_score(self) -> float | None:
        return self.spec.min_score

    @property
    def num_classes(self) -> int:
        """Output channels (`fcnlib.labels`: 1 = binary sigmoid, K >= 2 = K-class softmax)."""
        return self.spec.num_classes

    def with_spec(self, **changes) -> "Segmenter":
        """A Segmenter sharing this one's network (same weights) with some description fields changed,
        e.g. `seg.with_spec(min_score=0.7)`."""
        config = {**self._spec_config(), **changes}
        return Segmenter(self.network, name=self.name, **config)

    def _spec_config(self) -> dict:
        c = self.spec.get_config()
        c.pop("num_classes")  # the network's output says it
        return c

    def get_config(self):
        # like keras-hub's Task: not the functional graph, but what rebuilds it
        return {"name": self.name, "trainable": self.trainable,
                "network": keras.saving.serialize_keras_object(self.network),
                **self.spec.get_config()}  # num_classes too, for readers without Keras

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("num_classes", None)
        config["network"] = keras.saving.deserialize_keras_object(config["network"])
        return cls(**config)

    @classmethod
    def from_preset(cls, name: str) -> "Segmenter":
        """The shipped model named `name` (see `fcnlib.presets.list_presets()`).

        Example:

        >>> seg = Segmenter.from_preset("receipt")
        >>> seg.preprocessor.image_size
        (192, 144)
        """
        from fcnlib import presets

        return load_segmenter(presets.get(name).path)


def load_segmenter(path: str | Path, compile: bool = False) -> Segmenter:
    """A `Segmenter` from a `.keras` file; a bare network saved by an older fcnlib is wrapped with the
    description of its `<model>.json` sidecar (image size, resize, class names, min_score) when present.

    Example:

    >>> seg = load_segmenter("runs/receipt-20260101-120000/best.keras")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: model file not found")
    model = models.load_model(path, compile=compile)
    if isinstance(model, Segmenter):
        return model
    if not isinstance(model, keras.Model) or len(model.outputs) != 1 or len(model.output_shape) != 4:
        raise ValueError(f"{path}: not a segmentation model (expected one (B, H, W, K) output, got "
                         f"{getattr(model, 'output_shape', type(model).__name__)})")
    return Segmenter(model, **sidecar_description(path, model))


def sidecar_description(path: Path, network) -> dict:
    """Segmenter arguments from the `<model>.json` sidecar that older fcnlib runs wrote beside a
    `.keras` file; defaults from the network when there is none."""
    sidecar = Path(path).with_suffix(".json")
    meta = {}
    if sidecar.is_file():
        try:
            meta = json.loads(sidecar.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{sidecar}: not valid JSON ({e})") from None
    fixed = network.input_shape[1:3]
    size = meta.get("image_size") or [d or 256 for d in fixed]
    out = {"preprocessor": Preprocessor(tuple(size), meta.get("resize", "stretch")),
           "class_names": meta.get("class_names"), "ignore_index": meta.get("ignore_index"),
           "min_score": meta.get("min_score"),
           "score_method": meta.get("score_method", "fit")}
    if out["class_names"] is not None and len(out["class_names"]) < num_labels(network.output_shape[-1]):
        warnings.warn(f"{sidecar}: {len(out['class_names'])} class names for a "
                      f"{network.output_shape[-1]}-channel output; using default names")
        out["class_names"] = None
    return out


def with_min_score(path: str | Path, min_score: float, score_method: str | None = None) -> Segmenter:
    """Set the "no object" threshold inside a Segmenter `.keras` file, rewritten atomically (what
    `fcn calibrate` calls), and with `score_method` the score method it was calibrated for (else the file's
    own is kept). A bare network with a sidecar becomes a Segmenter file at the same path.

    Example:

    >>> with_min_score("runs/receipt/best.keras", 0.71).min_score  # doctest: +SKIP
    0.71
    """
    from fcnlib.fileio import atomic_save_model

    changes = {"min_score": min_score}
    if score_method is not None:
        changes["score_method"] = score_method
    segmenter = load_segmenter(path).with_spec(**changes)
    atomic_save_model(segmenter, path)
    return segmenter
