"""Prediction, evaluation, extraction and the demo, through the `fcn` command on small data."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from conftest import bright_quad_model, bright_quad_photo
from fcnlib import cli, data
from fcnlib.predict import Predictor, expand_inputs

CORNERS = [[150.0, 120.0], [470.0, 160.0], [430.0, 700.0], [110.0, 650.0]]


def test_predict_writes_the_four_pictures_at_photo_size(tiny_run, tiny_synth, tmp_path):
    photos = [p for p, _ in data.read_pairs(tiny_synth / "test.txt")]
    # a photo of another size and orientation than the training ones
    odd = tmp_path / "odd size.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (53, 91, 3), dtype=np.uint8)).save(odd)
    assert cli.main(["predict", str(tiny_run / "best.keras"), *map(str, photos), str(odd),
                     "-o", str(tmp_path / "out"), "--batch-size", "3"]) == 0
    for p in [*photos, odd]:
        h, w = data.read_image(p).shape[:2]
        prob = np.asarray(Image.open(tmp_path / "out" / f"{p.stem}_prob.png"))
        mask = np.asarray(Image.open(tmp_path / "out" / f"{p.stem}_mask.png"))
        color = np.asarray(Image.open(tmp_path / "out" / f"{p.stem}_color.png"))
        overlay = np.asarray(Image.open(tmp_path / "out" / f"{p.stem}_overlay.png"))
        assert prob.shape == mask.shape == (h, w) and prob.dtype == np.uint8
        assert color.shape == overlay.shape == (h, w, 3)
        assert set(np.unique(mask)) <= {0, 1}


def test_expand_inputs_folders_globs_and_missing(tiny_synth):
    folder = tiny_synth / "original"
    assert expand_inputs([str(folder)]) == sorted(folder.glob("*.jpg"))
    assert expand_inputs([str(folder / "*_0000[0-2].jpg")]) == sorted(folder.glob("*_0000[0-2].jpg"))
    with pytest.raises(FileNotFoundError, match="nope.jpg: photo not found"):
        expand_inputs([str(folder / "nope.jpg")])


def test_evaluate_writes_per_photo_and_summary(tiny_run, tiny_synth, tmp_path):
    assert cli.main(["evaluate", str(tiny_run / "best.keras"), str(tiny_synth / "test.txt"),
                     "-o", str(tmp_path / "eval")]) == 0
    rows = list(csv.DictReader(open(tmp_path / "eval" / "per_photo.csv")))
    assert len(rows) == len(data.read_pairs(tiny_synth / "test.txt"))
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert set(summary["per_class"]) == {"background", "receipt"}
    assert 0 <= summary["miou"] <= 1 and (tmp_path / "eval" / "worst.png").is_file()


def test_extract_finds_known_corners_and_reports_no_receipt(tmp_path):
    model = bright_quad_model(tmp_path / "bright.keras")
    photo = bright_quad_photo(tmp_path / "clean.jpg", CORNERS)
    empty = bright_quad_photo(tmp_path / "empty.jpg", [[0, 0], [0, 0], [0, 0], [0, 0]])
    assert cli.main(["extract", str(photo), str(empty), "--model", str(model), "-o", str(tmp_path / "x")]) == 0
    found = json.loads((tmp_path / "x" / "clean.json").read_text())
    assert np.abs(np.array(found["corners"]) - CORNERS).max() <= 4.0
    receipt = np.asarray(Image.open(tmp_path / "x" / "clean_receipt.png"))
    assert receipt.shape[0] > receipt.shape[1]  # tall receipt stays tall
    assert receipt[10:-10, 10:-10].mean() > 200  # the bright paper, flattened
    none = json.loads((tmp_path / "x" / "empty.json").read_text())
    assert none["corners"] is None and not (tmp_path / "x" / "empty_receipt.png").exists()


def test_predictor_maps_back_to_the_photo(tmp_path):
    predictor = Predictor.load(bright_quad_model(tmp_path / "b.keras"))
    photo = data.read_image(bright_quad_photo(tmp_path / "p.png", CORNERS))
    prob = predictor.predict([photo])[0]
    assert prob.shape == (800, 600, 1)
    inside, outside = prob[400, 300, 0], prob[20, 20, 0]
    assert inside > 0.99 and outside < 0.01


def test_cli_errors_name_the_file(tmp_path, capsys):
    assert cli.main(["predict", str(tmp_path / "none.keras"), "x.jpg", "-o", str(tmp_path)]) == 2
    assert "none.keras: model file not found" in capsys.readouterr().err


def test_demo_quick_runs_end_to_end(tmp_path, monkeypatch, capsys):
    from conftest import REPO
    from fcnlib import demo

    monkeypatch.chdir(REPO)
    run = demo.run(tmp_path / "synth", quick=True, runs_dir=tmp_path / "runs")
    out = capsys.readouterr().out
    assert "fcnlib demo" in out and str(run) in out
    assert (run / "eval" / "summary.json").is_file() and (run / "demo.json").is_file()
