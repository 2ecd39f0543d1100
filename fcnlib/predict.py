"""Prediction at the photo's own size: probabilities, masks, the research's pictures, receipts.

A `Predictor` wraps a trained model with the preprocessing it was trained with (the
`<model>.json` sidecar written by training: input size and resize policy). It reads photos
upright, predicts in batches at model size and maps probabilities back onto the original
photo, so every output has the size of the photo the user gave.
"""
from __future__ import annotations

import glob
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fcnlib import data, postprocess, viz

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
DEFAULT_MODEL = Path(__file__).parent / "weights" / "receipt_unet.keras"
DEFAULT_TFLITE = DEFAULT_MODEL.with_suffix(".tflite")  # `fcnlib.models.export.to_tflite` of DEFAULT_MODEL


def load_pretrained() -> "Predictor":
    """The receipt model shipped inside the package (trained on synthetic receipts only).

    Its Keras model is `.model`; predictions run through the TFLite copy shipped beside it
    (`receipt_unet.tflite`, same outputs within 1e-4, several times faster on a CPU) when present."""
    if not DEFAULT_MODEL.exists():
        raise FileNotFoundError(f"{DEFAULT_MODEL}: the shipped model is missing from this install")
    predictor = Predictor.load(DEFAULT_MODEL)
    if DEFAULT_TFLITE.exists():
        from fcnlib.models.export import TFLiteRunner

        predictor.runner = TFLiteRunner(DEFAULT_TFLITE)
    predictor.refine = True  # corners refined on the photo (chosen on synthetic photos: refine_tuning.md)
    return predictor


@dataclass
class Predictor:
    """A model plus how photos are prepared for it."""

    model: object
    image_size: tuple[int, int] = (256, 256)
    resize: str = "stretch"
    class_names: tuple[str, ...] = ("background", "receipt")
    min_score: float = 0.0  # extraction scores below this mean "no receipt" (calibrated by training)
    runner: object = None  # optional faster callable for `model` at `image_size` (a TFLiteRunner)
    refine: bool = False  # refine extracted corners on the photo (postprocess.refine_in_photo)

    @classmethod
    def load(cls, path: str | Path) -> "Predictor":
        """Load a `.keras` model (or `default`) and its sidecar `<model>.json` when present."""
        from fcnlib.models import load_model

        if str(path) == "default":
            return load_pretrained()
        if str(path) == "classical":
            return ClassicalPredictor()
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"{path}: model file not found")
        model = load_model(path, compile=False)
        meta = {}
        if path.with_suffix(".json").exists():
            meta = json.loads(path.with_suffix(".json").read_text())
        size = meta.get("image_size") or [d or 256 for d in model.input_shape[1:3]]
        names = meta.get("class_names") or [f"class {i}" for i in range(max(2, model.output_shape[-1]))]
        return cls(model, tuple(size), meta.get("resize", "stretch"), tuple(names), float(meta.get("min_score", 0.0)))

    @property
    def num_classes(self) -> int:
        """Classes in the output (a sigmoid head is a two-class problem)."""
        return max(2, self.model.output_shape[-1])

    def model_outputs(self, photos: list[np.ndarray], batch_size: int = 8) -> list[tuple[np.ndarray, data.Placement]]:
        """Probability maps at model size, each with the `Placement` of its photo in the input."""
        out = []
        for start in range(0, len(photos), batch_size):
            chunk = photos[start:start + batch_size]
            resized = [data.resize_image(p, self.image_size, self.resize) for p in chunk]
            batch = np.stack([r[0] for r in resized])  # float32 in [0, 1], as in training
            run = self.runner if self.runner is not None else self.model.predict_on_batch
            prob = np.asarray(run(batch), dtype=np.float32)
            out += [(p, placement) for (_, placement), p in zip(resized, prob)]
        return out

    def predict(self, photos: list[np.ndarray], batch_size: int = 8) -> list[np.ndarray]:
        """Probability maps (H, W, K) at each photo's own size; K == 1 for a sigmoid head."""
        return [placement.to_original(p) for p, placement in self.model_outputs(photos, batch_size)]

    def extract_from(self, prob: np.ndarray, placement: data.Placement, threshold: float = 0.5,
                     min_score: float | None = None, photo=None) -> postprocess.Extraction:
        """The receipt of one model-size map, corners and mask in its photo's pixels.

        The quad is fitted on the model-size probability (sub-pixel), then scaled to the photo: about
        five times cheaper than fitting on the map upsampled to the photo, for the same outline.
        `min_score` defaults to the model's calibrated `self.min_score`. With `photo` (the photo as an
        array, or a `data.ReducedPhoto`) and `self.refine`, the corners are refined on it."""
        from PIL import Image

        crop = prob[placement.top:placement.top + placement.height, placement.left:placement.left + placement.width]
        found = postprocess.extract(crop, threshold=threshold,
                                    min_score=self.min_score if min_score is None else min_score)
        h, w = placement.original
        scale = np.array([w / placement.width, h / placement.height])
        corners = None if found.corners is None else (found.corners + 0.5) * scale - 0.5  # pixel centres
        if corners is not None and photo is not None and self.refine:
            corners = postprocess.refine_in_photo(photo, corners, cell=float(scale.max()))
        mask = np.asarray(Image.fromarray(found.mask).resize((w, h), Image.Resampling.NEAREST))
        return postprocess.Extraction(corners=corners, score=found.score, mask=mask)

    def extract(self, photos: list[np.ndarray], threshold: float = 0.5, batch_size: int = 8,
                min_score: float | None = None) -> list[postprocess.Extraction]:
        """Each photo's receipt (corners in photo pixels, score, mask), or corners None when absent."""
        return [self.extract_from(p, placement, threshold, min_score, photo=photo)
                for photo, (p, placement) in zip(photos, self.model_outputs(photos, batch_size))]


class ClassicalPredictor(Predictor):
    """The classical pipeline (edges, contours, 4-point polygon) dressed as a predictor.

    Its "probability" is 1 inside the quadrilateral `postprocess.classical_quad` finds, 0 elsewhere,
    so `fcn evaluate classical PAIRS` scores the baseline exactly like a network.
    """

    def __init__(self):
        super().__init__(model=None)

    @property
    def num_classes(self) -> int:
        return 2

    def model_outputs(self, photos: list[np.ndarray], batch_size: int = 8) -> list[tuple[np.ndarray, data.Placement]]:
        out = []
        for photo in photos:
            prob = np.zeros((*photo.shape[:2], 1), np.float32)
            quad = postprocess.classical_quad(photo)
            if quad is not None:
                prob[..., 0] = data.polygon_mask(quad, *photo.shape[:2])
            h, w = photo.shape[:2]
            out.append((prob, data.Placement((h, w), (h, w), 0, 0, h, w)))
        return out


def class_map(prob: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Class ids (H, W) uint8 from probabilities (H, W, K): P > threshold for a sigmoid, argmax a softmax
    (the rule of `fcnlib.metrics` and `fcnlib.postprocess`)."""
    if prob.shape[-1] == 1:
        return (prob[..., 0] > threshold).astype(np.uint8)
    return prob.argmax(-1).astype(np.uint8)


def expand_inputs(items: list[str]) -> list[Path]:
    """Photos named directly, folders (their photos, sorted) and glob patterns."""
    paths: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            paths += sorted(q for q in p.iterdir() if q.suffix.lower() in PHOTO_SUFFIXES)
        elif any(c in item for c in "*?["):
            matches = sorted(Path(m) for m in glob.glob(item, recursive=True))
            if not matches:
                raise FileNotFoundError(f"{item}: no photo matches this pattern")
            paths += matches
        elif p.exists():
            paths.append(p)
        else:
            raise FileNotFoundError(f"{item}: photo not found")
    return paths


def _save_png(path: Path, image: np.ndarray) -> None:
    from PIL import Image

    Image.fromarray(image).save(path)


def predict_files(predictor: Predictor, photos: list[str | Path], out_dir: str | Path,
                  batch_size: int = 8) -> list[Path]:
    """Write `<stem>_prob.png`, `_mask.png`, `_color.png`, `_overlay.png` for each photo."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [Path(p) for p in photos]
    palette = viz.palette(predictor.num_classes)
    written = []
    for start in range(0, len(paths), batch_size):
        chunk = paths[start:start + batch_size]
        images = [data.read_image(p) for p in chunk]
        for path, image, prob in zip(chunk, images, predictor.predict(images, batch_size)):
            mask = class_map(prob)
            _save_png(out / f"{path.stem}_prob.png", viz.prob_to_gray(prob))
            _save_png(out / f"{path.stem}_mask.png", mask)
            _save_png(out / f"{path.stem}_color.png", viz.colorize(mask, palette))
            _save_png(out / f"{path.stem}_overlay.png", viz.overlay(image, mask, palette=palette))
            written.append(out / f"{path.stem}_mask.png")
    return written


def extract_files(predictor: Predictor, photos: list[str | Path], out_dir: str | Path,
                  threshold: float = 0.5, batch_size: int = 8) -> list[dict]:
    """Write `<stem>_receipt.png` (when found) and `<stem>.json` with corners and score.

    Photos stream one at a time through `postprocess.extract_file` (reduced decode for the network and
    the corner refinement, the flattened receipt warped from the photo): memory does not grow with the
    number of photos. `batch_size` is kept for compatibility."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for path in (Path(p) for p in photos):
        found, flat = postprocess.extract_file(predictor, path, threshold=threshold)
        record = {"photo": str(path),
                  "corners": None if found.corners is None else np.round(found.corners, 1).tolist(),
                  "score": round(float(found.score), 4)}
        if flat is not None:
            _save_png(out / f"{path.stem}_receipt.png", flat)
        (out / f"{path.stem}.json").write_text(json.dumps(record, indent=2))
        results.append(record)
    return results
