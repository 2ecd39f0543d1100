"""Prediction at the photo's own size: probabilities, masks, "no object" answers, receipts.

A `Predictor` runs a segmentation model on photos with the preparation it was trained with (the
`fcnlib.spec.SegmenterSpec` a `fcnlib.segmenter.Segmenter` carries: input size, resize policy,
normalisation, class names, `min_score`). It reads photos upright, predicts in batches at model size
and maps outputs back onto each photo, so every output has the size of the photo the user gave.

Models are named three ways (`load`): a predictor registered by name (`"classical"`, see
`register_predictor`), a preset (`"receipt"`, see `fcnlib.presets`), or a `.keras` file. A preset
with a TFLite copy runs through LiteRT and this module imports neither Keras nor TensorFlow until a
Keras model is needed.

Example:

>>> predictor = Predictor.load("receipt")
>>> result = predictor.segment([photo])[0]  # doctest: +SKIP
>>> result.found, result.score, result.mask.shape  # doctest: +SKIP
(True, 0.93, (800, 600))
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from fcnlib import data, postprocess, presets, viz
from fcnlib.labels import num_labels
from fcnlib.spec import Preprocessor, SegmenterSpec, read_spec

# the default preset's `.keras` file and its TFLite copy (named even where the install lacks them: importing
# this module must not fail, and callers such as notebook 04 check `.exists()`)
DEFAULT_MODEL = presets.get(presets.DEFAULT_PRESET, must_exist=False).path
DEFAULT_TFLITE = presets.get(presets.DEFAULT_PRESET, must_exist=False).tflite


def load_pretrained() -> "Predictor":
    """The document model shipped inside the package (the "document" preset: receipts, letters, forms,
    pages, one class; trained on synthetic photos only). Predictions run through its TFLite copy; its
    Keras model is `.model` (loaded on first use). `Predictor.from_preset("receipt")` gives the older
    receipts-only model.

    Example:

    >>> load_pretrained().image_size
    (192, 144)
    """
    return Predictor.from_preset(presets.DEFAULT_PRESET)


@dataclass
class Prediction:
    """What a model says about one photo, at the photo's size.

    `prob`: the model's probabilities (H, W, K), K == 1 for a sigmoid head. `mask`: class ids (H, W)
    uint8. For a binary model with a calibrated `min_score`, `found` says whether the object is there,
    the answer `Predictor.extract` gives: when it is False the mask is all background. `score` and
    `corners` are the extraction's (`fcnlib.postprocess.Extraction`, corners in photo pixels or None).
    For other models `found`, `score` and `corners` are None and the mask is the model's class map.
    """

    prob: np.ndarray
    mask: np.ndarray
    found: bool | None = None
    score: float | None = None
    corners: np.ndarray | None = None


class Predictor:
    """A model plus how photos are prepared for it.

    Args:
        model: a `keras.Model` (a `Segmenter` or a bare network), or None with `loader` or `runner`.
        image_size, resize, class_names, min_score: the description of a bare network (ignored when
            `spec` is given).
        runner: a faster callable for the model at its input size (a `fcnlib.litert.TFLiteRunner`).
        turned_runner: the same for the input size turned, (W, H), which photos framed the other way get
            when the preprocessor has `match_orientation` (else the Keras model runs them).
        spec: the full description (`fcnlib.spec.SegmenterSpec`).
        loader: a function returning the Keras model, called on first use of `.model`.
        refine: refine extracted corners on the photo itself (`postprocess.refine_in_photo`); the
            presets turn it on (chosen on synthetic photos: `experiments/results/refine_tuning.md`).
    """

    def __init__(self, model=None, image_size=(256, 256), resize: str = "stretch", class_names=None,
                 min_score: float | None = None, runner=None, *, spec: SegmenterSpec | None = None,
                 loader: Callable | None = None, refine: bool = False, turned_runner=None):
        if spec is None:
            channels = int(model.output_shape[-1]) if model is not None else 1
            spec = SegmenterSpec(Preprocessor(tuple(image_size), resize), channels,
                                 None if class_names is None else tuple(class_names), None, None, min_score)
        self.spec = spec
        self._model = model
        self._loader = loader
        self.runner = runner
        self.turned_runner = turned_runner
        self.min_score = spec.min_score
        self.refine = refine  # refine extracted corners on the photo (`postprocess.refine_in_photo`)

    # --------------------------------------------------------------------- construction

    @classmethod
    def load(cls, model: str | Path) -> "Predictor":
        """A predictor by name or file: a registered predictor (`predictors()`, e.g. "classical"), a
        preset (`fcnlib.presets.list_presets()`, e.g. "receipt"), else a `.keras` file (a Segmenter, or
        a bare network with the `.json` sidecar older runs wrote).

        Example:

        >>> Predictor.load("receipt").class_names
        ('background', 'receipt')
        """
        return load(model)

    @classmethod
    def from_segmenter(cls, segmenter) -> "Predictor":
        """The predictor of a `fcnlib.segmenter.Segmenter` held in memory."""
        return cls(segmenter, spec=segmenter.spec)

    @classmethod
    def from_preset(cls, name: str) -> "Predictor":
        """The predictor of a shipped model, through its TFLite copy (LiteRT) when it has one: the
        description is read from the `.keras` file without Keras, which loads only if `.model` is used.

        Example:

        >>> Predictor.from_preset("receipt").runner.runtime in ("litert", "tensorflow")
        True
        """
        preset = presets.get(name)
        spec = read_spec(preset.path)
        if spec is None:
            raise ValueError(f"{preset.path}: the {name!r} preset is not a Segmenter file")

        def loader():
            from fcnlib.segmenter import load_segmenter

            return load_segmenter(preset.path)

        if preset.tflite is None or not preset.tflite.is_file():
            predictor = cls.from_segmenter(loader())
            predictor.refine = True  # presets refine corners on the photo (chosen on synthetic photos)
            return predictor
        from fcnlib.litert import TFLiteRunner

        # two interpreter threads: the shipped model is small, more threads cost more than they give
        # (experiments/results/bench_extract.json measures the model stage)
        threads = min(2, os.cpu_count() or 1)
        runner = TFLiteRunner(preset.tflite, num_threads=threads)
        turned = None
        if spec.preprocessor.match_orientation and preset.tflite_turned is not None and preset.tflite_turned.is_file():
            turned = TFLiteRunner(preset.tflite_turned, num_threads=threads)
        height, width = spec.preprocessor.image_size
        for r, size in ((runner, (height, width)), (turned, (width, height))):
            if r is not None and r.input_size != size:
                raise ValueError(f"{r.path}: input {r.input_size} differs from the model's {size}")
        # presets refine corners on the photo (chosen on synthetic photos: refine_tuning.md)
        return cls(spec=spec, runner=runner, loader=loader, refine=True, turned_runner=turned)

    @classmethod
    def from_file(cls, path: str | Path) -> "Predictor":
        """The predictor of a `.keras` file (see `load`)."""
        from fcnlib.segmenter import load_segmenter

        return cls.from_segmenter(load_segmenter(path))

    # --------------------------------------------------------------------- description

    @property
    def model(self):
        """The Keras model (loaded on first use for a preset that runs through TFLite)."""
        if self._model is None and self._loader is not None:
            self._model = self._loader()
        return self._model

    @model.setter
    def model(self, value):
        self._model = value

    @property
    def preprocessor(self) -> Preprocessor:
        return self.spec.preprocessor

    @property
    def image_size(self) -> tuple[int, int]:
        return self.spec.preprocessor.image_size

    @property
    def resize(self) -> str:
        return self.spec.preprocessor.resize

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.spec.class_names

    @property
    def palette(self) -> np.ndarray:
        """(R, G, B) per label: the model's own colours, else fcnlib's default palette."""
        if self.spec.palette is not None:
            return np.asarray(self.spec.palette, np.uint8)
        return viz.palette(self.num_classes)

    @property
    def num_classes(self) -> int:
        """Labels in the output mask: a sigmoid head is a two-class problem (`fcnlib.labels.num_labels`)."""
        return num_labels(self.spec.num_classes)

    num_labels = num_classes

    @property
    def binary(self) -> bool:
        return self.num_classes == 2

    # --------------------------------------------------------------------- inference

    def _run(self, batch: np.ndarray) -> np.ndarray:
        """The network on a prepared batch: the runner made for its input size (a TFLite copy), else the
        Keras model. A runner that names no `input_size` takes any."""
        size = tuple(batch.shape[1:3])
        for runner in (self.runner, self.turned_runner):
            if runner is not None and tuple(getattr(runner, "input_size", size)) == size:
                return np.asarray(runner(batch), dtype=np.float32)
        return np.asarray(self.model.predict_on_batch(batch), dtype=np.float32)

    def model_outputs(self, photos: list[np.ndarray], batch_size: int = 8) -> list[tuple[np.ndarray, data.Placement]]:
        """Probability maps at model size, each with the `Placement` of its photo in the input, in the
        photos' order. Photos whose input size differs (`Preprocessor.match_orientation`) run in batches
        of their own size."""
        out: list = [None] * len(photos)
        groups: dict[tuple[int, int], list[int]] = {}
        for i, photo in enumerate(photos):
            groups.setdefault(self.preprocessor.input_size(np.shape(photo)), []).append(i)
        for indices in groups.values():
            for start in range(0, len(indices), batch_size):
                chunk = indices[start:start + batch_size]
                batch, placements = self.preprocessor([photos[i] for i in chunk])
                for i, prob, placement in zip(chunk, self._run(batch), placements):
                    out[i] = (prob, placement)
        return out

    def predict(self, photos: list[np.ndarray], batch_size: int = 8) -> list[np.ndarray]:
        """Probability maps (H, W, K) at each photo's own size; K == 1 for a sigmoid head."""
        return [Preprocessor.to_original(p, placement) for p, placement in self.model_outputs(photos, batch_size)]

    def segment(self, photos: list[np.ndarray], threshold: float = 0.5, batch_size: int = 8,
                min_score: float | None = None) -> list[Prediction]:
        """Each photo's `Prediction`: probabilities, class mask and, for a binary model with a
        `min_score` (its own, or this argument), whether the object is there. Where `extract` finds no
        object (score under `min_score`, or no quadrilateral), the mask is all background, so
        `fcn predict` and `fcn extract` give one answer.

        Example:

        >>> p = load_pretrained().segment([photo])[0]  # doctest: +SKIP
        >>> p.found, int(p.mask.max())  # doctest: +SKIP
        (False, 0)
        """
        limit = self.min_score if min_score is None else min_score
        out = []
        for small, placement in self.model_outputs(photos, batch_size):
            prob = Preprocessor.to_original(small, placement)
            mask = class_map(prob, threshold)
            if not self.binary or limit is None:
                out.append(Prediction(prob, mask))
                continue
            found = self.extract_from(small, placement, threshold, limit)
            if found.corners is None:
                mask = np.zeros_like(mask)
            out.append(Prediction(prob, mask, found.corners is not None, found.score, found.corners))
        return out

    def extract_from(self, prob: np.ndarray, placement: data.Placement, threshold: float = 0.5,
                     min_score: float | None = None, photo=None,
                     score_method: str | None = None) -> postprocess.Extraction:
        """The receipt of one model-size map, corners and mask in its photo's pixels.

        The quad is fitted on the model-size probability (sub-pixel), then scaled to the photo:
        much cheaper than fitting on the map upsampled to the photo, for the same outline.
        `min_score` defaults to the model's calibrated `self.min_score` (0 when it has none), `score_method`
        (the score method, `fcnlib.spec.SCORE_METHODS`) to the one it was calibrated for. With
        `photo` (the photo as an array, or a `data.ReducedPhoto`) and `self.refine`, the corners are
        refined on it."""
        from PIL import Image

        crop = prob[placement.top:placement.top + placement.height, placement.left:placement.left + placement.width]
        limit = self.min_score if min_score is None else min_score
        found = postprocess.extract(crop, threshold=threshold, min_score=limit or 0.0,
                                    score_method=self.spec.score_method if score_method is None else score_method)
        h, w = placement.original
        scale = np.array([w / placement.width, h / placement.height])
        corners = None if found.corners is None else (found.corners + 0.5) * scale - 0.5  # pixel centres
        if corners is not None and photo is not None and self.refine:
            corners = postprocess.refine_in_photo(photo, corners, cell=float(scale.max()))
        # the mask at the photo's size is made only when read (a 48 MP one costs tens of ms)
        small_mask = found.mask
        return postprocess.Extraction(corners, found.score, lambda: np.asarray(
            Image.fromarray(small_mask).resize((w, h), Image.Resampling.NEAREST)))

    def extract(self, photos: list[np.ndarray], threshold: float = 0.5, batch_size: int = 8,
                min_score: float | None = None) -> list[postprocess.Extraction]:
        """Each photo's receipt (corners in photo pixels, score, mask), or corners None when absent."""
        return [self.extract_from(p, placement, threshold, min_score, photo=photo)
                for photo, (p, placement) in zip(photos, self.model_outputs(photos, batch_size))]


# ----------------------------------------------------------------------------- predictors by name

_PREDICTORS: dict[str, Callable[[], Predictor]] = {}


def register_predictor(name: str, factory: Callable[[], Predictor]) -> None:
    """Make `load(name)` (and so `fcn evaluate NAME`, `fcn compare`, ...) build `factory()`.

    Example:

    >>> register_predictor("classical", lambda: ClassicalPredictor())  # doctest: +SKIP
    """
    if name in _PREDICTORS or presets.is_preset(name):
        raise ValueError(f"a predictor or preset named {name!r} already exists")
    _PREDICTORS[name] = factory


def predictors() -> list[str]:
    """Names accepted by `load` besides presets and files."""
    return list(_PREDICTORS)


def load(model: str | Path) -> Predictor:
    """A predictor by registered name, preset name or `.keras` path (see `Predictor.load`)."""
    name = str(model)
    if name in _PREDICTORS:
        return _PREDICTORS[name]()
    if presets.is_preset(name):
        return Predictor.from_preset(name)
    path = Path(model)
    if not path.exists():
        known = ", ".join(predictors() + presets.list_presets())
        raise FileNotFoundError(f"{path}: model file not found (names: {known})")
    return Predictor.from_file(path)


def _classical() -> Predictor:
    from fcnlib.classical import ClassicalPredictor

    return ClassicalPredictor()


register_predictor("classical", _classical)


def __getattr__(name):  # `from fcnlib.predict import ClassicalPredictor` keeps working
    if name == "ClassicalPredictor":
        from fcnlib.classical import ClassicalPredictor

        return ClassicalPredictor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def class_map(prob: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Class ids (H, W) uint8 from probabilities (H, W, K): P > threshold for a sigmoid, argmax a softmax
    (the rule of `fcnlib.metrics` and `fcnlib.postprocess`)."""
    if prob.shape[-1] == 1:
        return (prob[..., 0] > threshold).astype(np.uint8)
    return prob.argmax(-1).astype(np.uint8)
