"""The models shipped inside the package: each preset one small self-describing Segmenter file, its
TFLite copy in step with it and run without TensorFlow; the default ("document") finds receipts and
pages (synthetic here; real receipts where ../shared is present)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import fcnlib
from fcnlib import cli, data, metrics, presets, synth
from fcnlib.predict import Predictor
from fcnlib.spec import read_spec

CLASS_NAMES = {"document": ("background", "document"), "receipt": ("background", "receipt")}
# the score method each min_score was calibrated for (experiments/results/shipped_model.md): the receipt
# model is kept as it shipped, before score methods had a name
SCORE_METHODS = {"document": "confident", "receipt": "fit"}


def test_the_default_is_the_document_model():
    assert presets.list_presets() == sorted(CLASS_NAMES) and presets.DEFAULT_PRESET == "document"
    assert fcnlib.load_pretrained().class_names == CLASS_NAMES["document"]


@pytest.mark.parametrize("name", sorted(CLASS_NAMES))
def test_each_shipped_model_is_one_small_file_that_describes_itself(name):
    import keras

    preset = presets.get(name)
    assert preset.path.is_file() and preset.tflite.is_file()
    assert preset.path.stat().st_size <= 5 * 1024 * 1024 and preset.tflite.stat().st_size <= 5 * 1024 * 1024
    assert not list(preset.path.parent.glob("*.json"))  # no sidecar
    spec = read_spec(preset.path)
    assert spec.preprocessor.image_size == (192, 144) and spec.preprocessor.resize == "stretch"
    assert spec.class_names == CLASS_NAMES[name] and spec.num_classes == 1
    assert 0.0 < spec.min_score < 1.0 and spec.score_method == SCORE_METHODS[name]
    import fcnlib.segmenter  # noqa: F401  (registers the classes; nothing else is needed)

    model = keras.saving.load_model(preset.path, safe_mode=True)
    assert isinstance(model, fcnlib.segmenter.Segmenter) and model.spec == spec
    assert not model.network.compiled and getattr(model.network, "optimizer", None) is None  # no training state


@pytest.mark.parametrize("name", sorted(CLASS_NAMES))
def test_each_preset_runs_through_litert_and_its_tflite_copy_agrees(name):
    predictor = Predictor.load(name)
    assert predictor.min_score == read_spec(presets.get(name).path).min_score > 0
    assert predictor.runner is not None and predictor.runner.input_size == tuple(predictor.image_size)
    assert predictor.runner.runtime == "litert"  # ai-edge-litert is a dependency
    photos = [synth.render(synth.photo_rng(123, i))[0] for i in range(4)]
    x, _ = predictor.preprocessor(photos)
    keras_out = np.asarray(predictor.model.predict(x, verbose=0))
    assert np.abs(predictor.runner(x) - keras_out).max() < 1e-4
    assert fcnlib.segmenter.Segmenter.from_preset(name).spec == predictor.spec


@pytest.mark.parametrize("name", sorted(CLASS_NAMES))
def test_a_preset_has_a_turned_tflite_copy_exactly_when_it_matches_the_photos_orientation(name):
    """A model whose preprocessor turns the input size for landscape photos ships a TFLite copy at that
    size, in step with the Keras model, and runs landscape photos through it; another ships none."""
    preset, spec = presets.get(name), read_spec(presets.get(name).path)
    turned = preset.tflite_turned
    if not spec.preprocessor.match_orientation:
        assert turned is None or not turned.exists()
        return
    assert turned is not None and turned.is_file() and turned.stat().st_size <= 5 * 1024 * 1024
    predictor = Predictor.load(name)
    assert predictor.turned_runner is not None and predictor.turned_runner.input_size == (144, 192)
    photos = [synth.render(synth.photo_rng(124, i), height=600, width=800)[0] for i in range(3)]
    x, _ = predictor.preprocessor(photos)
    assert x.shape[1:3] == (144, 192)
    keras_out = np.asarray(predictor.model.predict(x, verbose=0))
    assert np.abs(predictor.turned_runner(x) - keras_out).max() < 1e-4


def test_predict_and_extract_agree_on_synthetic_photos_without_a_receipt():
    # empty synthetic scenes; the test needs some on which the network marks pixels as paper while the
    # extraction score says "nothing there" (the case where the raw mask and extract would disagree)
    predictor = fcnlib.load_pretrained()
    photos = [synth.render(synth.photo_rng(7, i), receipt=False)[0] for i in range(16)]
    segmented, extracted = predictor.segment(photos), predictor.extract(photos)
    assert [s.found for s in segmented] == [e.corners is not None for e in extracted]
    assert sum((s.prob[..., 0] > 0.5).sum() > 0 for s in segmented if not s.found) >= 2
    for s in segmented:
        assert (s.mask.max() > 0) == s.found


@pytest.mark.slow
def test_fcn_extract_with_the_default_preset_imports_neither_tensorflow_nor_keras(tmp_path):
    photo = tmp_path / "p.jpg"
    Image.fromarray(synth.render(synth.photo_rng(321, 0), occluders=False)[0]).save(photo, quality=92)
    script = ("import sys; from fcnlib import cli; rc = cli.main(sys.argv[1:]); "
              "print([m for m in ('tensorflow', 'keras') if m in sys.modules]); sys.exit(rc)")
    res = subprocess.run([sys.executable, "-c", script, "extract", str(photo),
                          "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "[]", res.stdout
    assert json.loads((tmp_path / "out" / "p.json").read_text())["corners"] is not None


def test_fcn_extract_without_a_model_finds_synthetic_receipts(tmp_path):
    # photos the model never saw (another seed than its training data)
    paths, truths = [], []
    for i in range(4):
        photo, _, corners = synth.render(synth.photo_rng(321, i), occluders=False)
        paths.append(tmp_path / f"p{i}.jpg")
        Image.fromarray(photo).save(paths[-1], quality=92)
        truths.append(corners)
    assert cli.main(["extract", *map(str, paths), "-o", str(tmp_path / "out")]) == 0
    ious = []
    for p, truth in zip(paths, truths):
        found = json.loads((tmp_path / "out" / f"{p.stem}.json").read_text())
        ious.append(0.0 if found["corners"] is None else metrics.quad_iou(np.array(found["corners"]), truth, (800, 600)))
    assert np.mean(ious) > 0.85, ious


def test_shipped_model_on_real_receipts(receipts_dir):
    # a sample of the real photos (never trained on): receipts found with a good quad, the score
    # threshold keeps them
    predictor = fcnlib.load_pretrained()
    names = sorted((receipts_dir / "images").glob("*.jpg"))[::25]
    photos = [data.read_image(p) for p in names]
    found = predictor.extract(photos)
    ious = []
    for p, photo, f in zip(names, photos, found):
        truth = data.read_corners(receipts_dir / "corners" / f"{p.stem}.txt")
        ious.append(0.0 if f.corners is None else metrics.quad_iou(f.corners, truth, photo.shape[:2]))
    assert np.mean(ious) > 0.9, ious


def test_a_missing_preset_file_is_named_but_its_paths_stay_readable(monkeypatch, tmp_path):
    # importing fcnlib.predict reads the default preset's paths: that must not need the file itself
    missing = presets.Preset("document", tmp_path / "gone.keras", None, "missing on purpose")
    monkeypatch.setitem(presets._PRESETS, "document", missing)
    with pytest.raises(FileNotFoundError, match="gone.keras: the 'document' preset's model is missing"):
        presets.get("document")
    assert presets.get("document", must_exist=False).path == tmp_path / "gone.keras"
