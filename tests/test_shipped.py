"""The receipt model shipped inside the package: present, small, loadable as `default`, its TFLite copy
in step with it, and it finds receipts (synthetic here; real photos where ../shared is present)."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

import fcnlib
from fcnlib import cli, data, metrics, synth
from fcnlib.predict import DEFAULT_MODEL, DEFAULT_TFLITE, Predictor


def test_shipped_files_are_small_and_describe_the_model():
    assert DEFAULT_MODEL.is_file() and DEFAULT_TFLITE.is_file()
    assert DEFAULT_MODEL.stat().st_size + DEFAULT_TFLITE.stat().st_size <= 8 * 1024 * 1024
    meta = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    assert meta["image_size"] == [192, 144] and meta["class_names"] == ["background", "receipt"]
    assert 0.0 < meta["min_score"] < 1.0


def test_default_means_the_shipped_model_and_its_tflite_copy_agrees():
    predictor = fcnlib.load_pretrained()
    assert Predictor.load("default").min_score == predictor.min_score > 0
    assert predictor.runner is not None and predictor.runner.input_size == tuple(predictor.image_size)
    photos = [synth.render(synth.photo_rng(123, i))[0] for i in range(4)]
    x = np.stack([data.resize_image(p, predictor.image_size)[0] for p in photos])
    keras_out = np.asarray(predictor.model.predict(x, verbose=0))
    assert np.abs(predictor.runner(x) - keras_out).max() < 1e-4


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
