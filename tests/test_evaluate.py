"""Tests of fcnlib.evaluate: the CamVid-style report (global and class-average accuracy, mIoU, BF1
per class and overall, void left out, class names from the dataset description, the confusion matrix
as a picture) on a model whose predictions are known exactly, and the receipt columns of a binary task."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from helpers import bright_quad_model, bright_quad_photo
from fcnlib import cli, data, metrics
from fcnlib.evaluate import evaluate
from fcnlib.labels import DATASET_FILE
from fcnlib.predict import Predictor

RGB = np.eye(3, dtype=np.uint8) * 255  # class c is drawn in pure colour c: red, green, blue
VOID = 11
YAML = """classes:
  - {name: sky, color: [128, 128, 128]}
  - {name: road, color: [128, 64, 128]}
  - {name: car, color: [64, 0, 128]}
ignore_index: 11
ignore_color: [255, 255, 0]
"""


def colour_model(path):
    """A .keras 3-class model that predicts the strongest colour channel of each pixel (1x1 conv,
    softmax), at the photos' size 32x32: its class maps are known exactly."""
    import keras

    inputs = keras.Input((32, 32, 3))
    conv = keras.layers.Conv2D(3, 1, activation="softmax")
    model = keras.Model(inputs, conv(inputs))
    conv.set_weights([np.eye(3, dtype=np.float32).reshape(1, 1, 3, 3) * 20, np.zeros(3, np.float32)])
    model.save(path)
    return path


def _dataset(root, n=3, seed=0):
    """Photos painted in class colours, masks that agree with them on most pixels; each mask has a
    void band (rows 24..31) where the photo says class 0, and some wrong labels elsewhere. The first
    photo has no class 2 at all."""
    rng = np.random.default_rng(seed)
    (root / "img").mkdir(parents=True)
    (root / "lbl").mkdir()
    pairs, truths, preds = [], [], []
    for i in range(n):
        k = 2 if i == 0 else 3  # no car in the first photo: its BF1 must not count as perfect for cars
        pred = np.kron(rng.integers(0, k, (4, 4)), np.ones((8, 8), int))
        truth = np.where(rng.random(pred.shape) < 0.85, pred, rng.integers(0, k, pred.shape))
        truth[24:] = VOID
        pred[24:] = 0
        Image.fromarray(RGB[pred]).save(root / "img" / f"f{i}.png")
        Image.fromarray(truth.astype(np.uint8)).save(root / "lbl" / f"f{i}.png")
        pairs.append((root / "img" / f"f{i}.png", root / "lbl" / f"f{i}.png"))
        truths.append(truth)
        preds.append(pred)
    data.write_pairs(pairs, root / "pairs.txt")
    (root / DATASET_FILE).write_text(YAML)
    return np.stack(truths), np.stack(preds)


def test_evaluate_reports_camvid_figures_per_class_with_void_left_out(tmp_path):
    truths, preds = _dataset(tmp_path / "d")
    model = colour_model(tmp_path / "m.keras")
    out = tmp_path / "eval"
    assert cli.main(["evaluate", str(model), str(tmp_path / "d" / "pairs.txt"), "-o", str(out)]) == 0
    summary = json.loads((out / "metrics.json").read_text())
    kept = truths != VOID
    want_cm = metrics.confusion_matrix(truths[kept][None], preds[kept][None], 3)
    assert summary["confusion_matrix"] == want_cm.tolist()
    assert summary["ignore_index"] == VOID and summary["void_pixels"] == int((~kept).sum())
    s = metrics.scores(want_cm)
    assert summary["global_accuracy"] == pytest.approx(s["pixel_accuracy"])
    assert summary["class_accuracy"] == pytest.approx(s["class_accuracy"])
    assert summary["miou"] == pytest.approx(s["miou"])
    assert summary["classes"] == ["sky", "road", "car"]
    bf = metrics.boundary_f1_per_class(truths, preds, 2, 3, ignore_index=VOID)
    assert np.isnan(bf[0, 2]) and np.isfinite(bf[1:]).all()
    assert summary["bf1"] == pytest.approx(np.nanmean(np.nanmean(bf, axis=1)))
    for i, name in enumerate(["sky", "road", "car"]):
        c = summary["per_class"][name]
        assert c["iou"] == pytest.approx(s["iou"][i]) and c["accuracy"] == pytest.approx(s["recall"][i])
        assert c["bf1"] == pytest.approx(np.nanmean(bf[:, i])) and c["pixels"] == int(want_cm[i].sum())
    # the void band is predicted as sky everywhere: counted, it would lower sky's precision
    assert summary["per_class"]["sky"]["precision"] == pytest.approx(s["precision"][0])
    rows = list(csv.DictReader(open(out / "per_class.csv")))
    assert [r["class"] for r in rows] == ["sky", "road", "car"]
    assert float(rows[2]["iou"]) == pytest.approx(s["iou"][2], abs=1e-6)
    md = (out / "per_class.md").read_text()
    assert "| 1 | road |" in md and "class-average accuracy" in md
    assert json.loads((out / "summary.json").read_text()) == summary
    for picture in ("confusion.png", "worst.png"):
        assert Image.open(out / picture).size[0] > 100
    assert len(list(csv.DictReader(open(out / "per_photo.csv")))) == 3


def test_ignore_index_and_dataset_flags(tmp_path):
    truths, preds = _dataset(tmp_path / "d", n=2, seed=1)
    (tmp_path / "d" / DATASET_FILE).rename(tmp_path / "camvid.yaml")  # not beside the pairs any more
    model = str(colour_model(tmp_path / "m.keras"))
    pairs = str(tmp_path / "d" / "pairs.txt")
    # no description, no flag: void 11 is no class of a 3-class model -> those masks cannot be scored
    assert cli.main(["evaluate", model, pairs, "-o", str(tmp_path / "a")]) == 2
    assert cli.main(["evaluate", model, pairs, "-o", str(tmp_path / "b"), "--ignore-index", "11"]) == 0
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert b["classes"] == ["class 0", "class 1", "class 2"] and b["ignore_index"] == 11
    assert cli.main(["evaluate", model, pairs, "-o", str(tmp_path / "c"), "--dataset", str(tmp_path / "camvid.yaml")]) == 0
    c = json.loads((tmp_path / "c" / "metrics.json").read_text())
    assert c["classes"] == ["sky", "road", "car"] and c["confusion_matrix"] == b["confusion_matrix"]
    assert cli.main(["compare", f"colours={model}", pairs, "-o", str(tmp_path / "cmp"),
                     "--dataset", str(tmp_path / "camvid.yaml")]) == 0
    table = (tmp_path / "cmp" / "compare.md").read_text().splitlines()
    assert "class-average accuracy" in table[0]
    assert table[2].split(" | ")[3] == f"{c['miou']:.3f}"


def test_a_bad_mask_is_skipped_and_named_the_rest_scored(tmp_path, capsys):
    _dataset(tmp_path / "d", n=3, seed=2)
    bad = tmp_path / "d" / "lbl" / "f1.png"
    Image.fromarray(np.full((32, 32), 7, np.uint8)).save(bad)  # 7: neither a class nor void
    out = tmp_path / "eval"
    assert cli.main(["evaluate", str(colour_model(tmp_path / "m.keras")), str(tmp_path / "d" / "pairs.txt"),
                     "-o", str(out)]) == 1
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["photos"] == 2 and len(summary["skipped"]) == 1
    assert str(bad) in summary["skipped"][0]["problem"] and "[7]" in summary["skipped"][0]["problem"]
    assert str(bad) in capsys.readouterr().err


def test_dataset_with_another_class_count_and_output_file_are_refused(tmp_path):
    _dataset(tmp_path / "d", n=1)
    (tmp_path / "d" / DATASET_FILE).write_text("classes: [a, b, c, d]\n")
    predictor = Predictor.load(colour_model(tmp_path / "m.keras"))
    with pytest.raises(ValueError, match="4 classes but the model predicts 3"):
        evaluate(predictor, tmp_path / "d" / "pairs.txt", tmp_path / "out")
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match="must be a folder"):
        evaluate(predictor, tmp_path / "d" / "pairs.txt", tmp_path / "file")


def test_binary_task_keeps_the_receipt_columns_and_leaves_void_out(tmp_path):
    model = bright_quad_model(tmp_path / "b.keras")
    corners = [[30, 20], [130, 25], [125, 100], [35, 95]]
    photo = bright_quad_photo(tmp_path / "p.png", corners, size=(120, 160))
    truth = (np.asarray(Image.open(photo).convert("L")) > 128).astype(np.uint8)
    truth[:10] = 255  # a void strip along the top
    Image.fromarray(truth).save(tmp_path / "m.png")
    data.write_pairs([(photo, tmp_path / "m.png")], tmp_path / "pairs.txt")
    summary = evaluate(Predictor.load(model), tmp_path / "pairs.txt", tmp_path / "out", ignore_index=255)
    assert list(summary["per_class"]) == ["background", "object"]  # a bare binary model: the default names
    assert summary["mean_quad_iou"] > 0.9 and summary["missed"] == 0
    assert summary["void_pixels"] == 10 * 160 and summary["pixels"] == 110 * 160
    assert summary["per_class"]["object"]["iou"] > 0.95


def test_evaluate_and_compare_take_segnet_lists_with_root(tmp_path):
    # SegNet's own format: "photo label" per line, absolute paths of another machine; --root re-roots them
    # and the dataset.yaml beside the list still names the classes
    _dataset(tmp_path / "d")
    lines = [f"/SegNet/Data/img/f{i}.png /SegNet/Data/lbl/f{i}.png" for i in range(3)]
    (tmp_path / "d" / "val.txt").write_text("\n".join(lines) + "\n")
    model = str(colour_model(tmp_path / "m.keras"))
    val = str(tmp_path / "d" / "val.txt")
    assert cli.main(["evaluate", model, val, "-o", str(tmp_path / "plain")]) != 0  # the listed files do not exist
    assert cli.main(["evaluate", model, val, "-o", str(tmp_path / "a"), "--root", str(tmp_path / "d")]) == 0
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert a["photos"] == 3 and a["classes"] == ["sky", "road", "car"] and a["ignore_index"] == VOID
    assert cli.main(["compare", f"c={model}", val, "-o", str(tmp_path / "cmp"), "--root", str(tmp_path / "d")]) == 0
    assert "| c | " in (tmp_path / "cmp" / "compare.md").read_text()


# ---------------------------------------------------------------- min_score calibration (issue 12)

# extraction scores chosen by hand: five photos with the object, five empty ones, one of which (0.7)
# scores above two of the objects
OBJECTS = [0.95, 0.9, 0.8, 0.6, 0.55]
EMPTY = [0.1, 0.2, 0.3, 0.5, 0.7]


def _choose(max_false_rate=None):
    from fcnlib.evaluate import choose_min_score

    return choose_min_score(OBJECTS + EMPTY, [True] * 5 + [False] * 5, max_false_rate)


def test_calibration_without_a_cap_maximises_balanced_accuracy():
    # cut 0.525 (between 0.5 and 0.55): all 5 objects kept, 4 of 5 empty rejected, balanced accuracy 0.9
    assert _choose() == {"objects": 5, "empty": 5, "min_score": 0.525, "balanced_accuracy": 0.9,
                         "missed": 0, "false": 1}


def test_calibration_with_a_false_rate_cap_keeps_the_most_objects_under_it():
    """The cap and balanced accuracy choose different cuts: with no false answer allowed the cut moves
    above the empty photo at 0.7 (0.75, two objects missed); a cap of one in five keeps balanced
    accuracy's cut; a looser cap of two in five allows 0.4 too, which keeps no more objects than 0.525
    but answers falsely twice, so 0.525 stays."""
    strict = _choose(0.0)
    assert strict == {"objects": 5, "empty": 5, "min_score": 0.75, "balanced_accuracy": 0.8,
                      "missed": 2, "false": 0, "max_false_rate": 0.0, "cap_met": True}
    for cap in (0.2, 0.4):
        r = _choose(cap)
        assert (r["min_score"], r["missed"], r["false"], r["cap_met"]) == (0.525, 0, 1, True), cap
        assert r["false"] / r["empty"] <= cap
    assert _choose(1.0)["min_score"] == 0.525  # every cut allowed: the most objects, then balanced accuracy


def test_calibration_cap_that_no_cut_meets_is_reported_and_bad_caps_refused():
    from fcnlib.evaluate import choose_min_score

    r = choose_min_score([0.9, 1.0, 0.2], [True, False, False], max_false_rate=0.0)
    assert r["cap_met"] is False and r["false"] == 1 and r["missed"] == 0
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="max_false_rate"):
            choose_min_score([0.9, 0.1], [True, False], bad)
    assert choose_min_score([0.9], [True], 0.0)["min_score"] is None  # no empty photo: nothing to choose
