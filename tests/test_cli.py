"""The `fcn` command in-process: the dataset commands end to end, the files of predict and extract,
errors before work, calibration, and one spelling per flag."""
from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fcnlib import cli, data


def _root(tmp_path, n=6, mask_scale=1):
    root = tmp_path / "my data"  # spaces in paths, as in the research's own example
    (root / "original").mkdir(parents=True)
    (root / "mask").mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (20, 16, 3), dtype=np.uint8)).save(root / "original" / f"p {i}.jpg")
        m = np.zeros((20, 16), np.uint8)
        m[5:15, 4:12] = mask_scale
        Image.fromarray(m).save(root / "mask" / f"p {i}.png")
    return root


def test_pairs_split_verify(tmp_path, capsys):
    root = _root(tmp_path)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(root / "mask" / "orphan.png")
    assert cli.main(["pairs", str(root), "-o", str(root / "pairs.txt")]) == 0
    captured = capsys.readouterr()
    assert "6 pairs" in captured.out and "orphan.png: mask without a photo" in captured.err
    assert "\t" in (root / "pairs.txt").read_text()
    assert cli.main(["split", str(root / "pairs.txt"), "--val", "0.2", "--test", "0.2", "--seed", "0"]) == 0
    splits = [data.read_pairs(root / f"{s}.txt") for s in ("train", "val", "test")]
    photos = [p for split in splits for p, _ in split]
    assert len(photos) == len(set(photos)) == 6
    assert cli.main(["verify", str(root / "pairs.txt"), "--num-classes", "2"]) == 0


def test_verify_fails_on_255_masks_and_names_the_file(tmp_path, capsys):
    root = _root(tmp_path, mask_scale=255)
    cli.main(["pairs", str(root)])
    capsys.readouterr()
    assert cli.main(["verify", str(root / "pairs.txt"), "--num-classes", "2"]) == 1
    out = capsys.readouterr().out
    assert "p 0.png" in out and "mask_values" in out
    assert cli.main(["verify", str(root / "pairs.txt"), "--num-classes", "2", "--mask-values", "0,255"]) == 0


def test_import_quads_and_synth(tmp_path, capsys):
    images, corners, neg = tmp_path / "img", tmp_path / "cor", tmp_path / "neg"
    for d in (images, corners, neg):
        d.mkdir()
    Image.fromarray(np.zeros((40, 30, 3), np.uint8)).save(images / "r1.jpg")
    Image.fromarray(np.zeros((40, 30, 3), np.uint8)).save(neg / "n1.jpg")
    (corners / "r1.txt").write_text("5,5,25,5,5,35,25,35\n")  # TL, TR, BL, BR
    assert cli.main(["import-quads", str(images), str(corners), "-o", str(tmp_path / "ds"),
                     "--negatives", str(neg)]) == 0
    pairs = data.read_pairs(tmp_path / "ds" / "pairs.txt")
    masks = {p.stem: data.read_mask(m) for p, m in pairs}
    assert masks["r1"].sum() == 20 * 30 and masks["n1"].sum() == 0
    kept = {s: json.loads((tmp_path / "ds" / "corners" / f"{s}.json").read_text())["corners"] for s in ("r1", "n1")}
    assert kept == {"r1": [[5, 5], [25, 5], [25, 35], [5, 35]], "n1": None}  # clockwise from top-left
    assert cli.main(["synth", str(tmp_path / "s"), "--n", "3", "--height", "80", "--width", "60"]) == 0
    assert len(data.read_pairs(tmp_path / "s" / "pairs.txt")) == 3


def test_missing_pairs_file_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["split", str(tmp_path / "nope.txt")]) == 2
    assert "nope.txt" in capsys.readouterr().err


# ---------------------------------------------------------------- predict / extract outputs (issue 14)

CORNERS = [[150.0, 120.0], [470.0, 160.0], [430.0, 700.0], [110.0, 650.0]]
SPECK = [[300, 300], [420, 330], [310, 345], [330, 460]]  # bright, not a quadrilateral: a low score


@pytest.fixture(scope="module")
def bright_model(tmp_path_factory):
    from helpers import bright_quad_model

    return bright_quad_model(tmp_path_factory.mktemp("model") / "bright.keras")


def _same_stem_photos(tmp_path):
    """a/IMG_0001.jpg, b/IMG_0001.jpg, c/IMG_0001.png: three receipts at three different places."""
    from helpers import bright_quad_photo

    photos = []
    for i, (folder, suffix) in enumerate([("a", ".jpg"), ("b", ".jpg"), ("c", ".png")]):
        (tmp_path / folder).mkdir()
        corners = np.array(CORNERS) + [40 * i - 40, 30 * i - 30]
        photos.append((bright_quad_photo(tmp_path / folder / f"IMG_0001{suffix}", corners), corners))
    return photos


def test_extract_keeps_every_photo_when_stems_repeat(bright_model, tmp_path):
    photos = _same_stem_photos(tmp_path)
    out = tmp_path / "out"
    assert cli.main(["extract", *[str(p) for p, _ in photos], "--model", str(bright_model), "-o", str(out)]) == 0
    records = [json.loads(f.read_text()) for f in out.glob("*.json")]
    assert sorted(r["photo"] for r in records) == sorted(str(p) for p, _ in photos)
    assert len(list(out.glob("*_receipt.png"))) == 3
    index = list(csv.DictReader(open(out / "extract_index.csv")))
    assert [r["photo"] for r in index] == [str(p) for p, _ in photos]
    assert len({r["json"] for r in index}) == len({r["receipt"] for r in index}) == 3
    for row, (photo, corners) in zip(index, photos):
        record = json.loads((out / row["json"]).read_text())
        assert record["photo"] == str(photo)
        assert np.abs(np.array(record["corners"]) - corners).max() <= 4.0  # this photo's receipt, not another's
        assert (out / row["receipt"]).is_file()


def test_predict_keeps_every_photo_when_stems_repeat(bright_model, tmp_path):
    photos = _same_stem_photos(tmp_path)
    out = tmp_path / "out"
    assert cli.main(["predict", str(bright_model), *[str(p) for p, _ in photos], "-o", str(out)]) == 0
    assert len(list(out.glob("*.png"))) == 12
    index = list(csv.DictReader(open(out / "predict_index.csv")))
    assert [r["photo"] for r in index] == [str(p) for p, _ in photos]
    for row, (_, corners) in zip(index, photos):
        mask = np.asarray(Image.open(out / row["mask"]))
        assert int(mask.sum()) == pytest.approx(int(data.polygon_mask(corners, 800, 600).sum()), rel=0.02)
        x, y = np.mean(corners, 0).astype(int)
        assert mask[y, x] == 1  # this photo's receipt


def test_output_names_are_unique_and_deterministic():
    from fcnlib.outputs import output_names

    assert output_names(["x/a.jpg", "y/b.jpg"]) == ["a", "b"]
    assert output_names(["a/IMG.jpg", "b/IMG.jpg", "c/IMG.png"]) == ["a_IMG", "b_IMG", "c_IMG"]
    assert output_names(["a/IMG.jpg", "a/IMG.png"]) == ["IMG_jpg", "IMG_png"]
    assert output_names(["p/a/IMG.jpg", "q/a/IMG.jpg"]) == ["p_a_IMG", "q_a_IMG"]
    # names equal but for case are one file on macOS and Windows
    names = output_names(["A/img.jpg", "a/IMG.jpg"])
    assert len({n.casefold() for n in names}) == 2
    # a disambiguated name that meets another photo's own stem still gets a name of its own
    names = output_names(["a/IMG.jpg", "b/IMG.jpg", "z/a_IMG.jpg"])
    assert len({n.casefold() for n in names}) == 3 and names == output_names(["a/IMG.jpg", "b/IMG.jpg", "z/a_IMG.jpg"])


def test_extract_leaves_no_stale_receipt_beside_a_json_that_says_none(bright_model, tmp_path):
    from helpers import bright_quad_photo

    photo, out = tmp_path / "IMG.jpg", tmp_path / "out"
    bright_quad_photo(photo, CORNERS)
    assert cli.main(["extract", str(photo), "--model", str(bright_model), "-o", str(out)]) == 0
    assert (out / "IMG_receipt.png").is_file()
    bright_quad_photo(photo, [[0, 0], [0, 0], [0, 0], [0, 0]])  # the same name, now with no receipt
    assert cli.main(["extract", str(photo), "--model", str(bright_model), "-o", str(out)]) == 0
    assert json.loads((out / "IMG.json").read_text())["corners"] is None
    assert not (out / "IMG_receipt.png").exists()


def _folder_with_bad_files(tmp_path):
    from helpers import bright_quad_photo

    folder = tmp_path / "photos"
    folder.mkdir()
    bright_quad_photo(folder / "good.jpg", CORNERS)
    (folder / "._good.jpg").write_bytes(b"\x00\x05\x16\x07" + bytes(200))  # a macOS AppleDouble file
    (folder / "x.jpg").mkdir()  # a folder named like a photo
    full = (folder / "good.jpg").read_bytes()
    (folder / "truncated.jpg").write_bytes(full[:len(full) // 3])
    return folder


@pytest.mark.parametrize("command", ["extract", "predict"])
def test_one_unreadable_photo_does_not_stop_the_run(bright_model, tmp_path, capsys, command):
    folder = _folder_with_bad_files(tmp_path)
    out = tmp_path / "out"
    args = (["extract", str(folder), "--model", str(bright_model)] if command == "extract"
            else ["predict", str(bright_model), str(folder)])
    assert cli.main([*args, "-o", str(out)]) == 1
    err = capsys.readouterr().err
    for name in ("._good.jpg", "x.jpg", "truncated.jpg"):
        assert str(folder / name) in err
    assert "3 of 4 photos failed" in err
    assert (out / ("good.json" if command == "extract" else "good_mask.png")).is_file()
    index = list(csv.DictReader(open(out / f"{command}_index.csv")))
    assert [bool(r["error"]) for r in index] == [True, False, True, True]  # sorted: ._good, good, truncated, x


def test_predict_mask_says_no_object_when_extract_does(bright_model, tmp_path):
    # issue 12 §3: a calibrated model that answers "no receipt" on a photo gets an empty mask from predict too
    import shutil

    from helpers import bright_quad_photo
    from fcnlib.predict import Predictor

    model = tmp_path / "m.keras"
    shutil.copyfile(bright_model, model)
    receipt, speck = bright_quad_photo(tmp_path / "receipt.png", CORNERS), bright_quad_photo(tmp_path / "speck.png", SPECK)
    scores = [f.score for f in Predictor.load(model).extract([data.read_image(receipt), data.read_image(speck)])]
    assert scores[1] < scores[0]
    model.with_suffix(".json").write_text(json.dumps({"min_score": (scores[0] + scores[1]) / 2}))
    assert cli.main(["extract", str(receipt), str(speck), "--model", str(model), "-o", str(tmp_path / "x")]) == 0
    assert json.loads((tmp_path / "x" / "speck.json").read_text())["corners"] is None
    assert cli.main(["predict", str(model), str(receipt), str(speck), "-o", str(tmp_path / "p")]) == 0
    assert np.asarray(Image.open(tmp_path / "p" / "speck_mask.png")).max() == 0
    assert np.asarray(Image.open(tmp_path / "p" / "receipt_mask.png")).max() == 1
    index = {r["photo"]: r["found"] for r in csv.DictReader(open(tmp_path / "p" / "predict_index.csv"))}
    assert index == {str(receipt): "True", str(speck): "False"}


def test_expand_inputs_lists_each_photo_once_by_the_photo_rule(tmp_path):
    from fcnlib.outputs import expand_inputs

    for name in ("b.JPG", "a.png", "notes.txt", "c.jpeg"):
        (tmp_path / name).touch()
    listed = expand_inputs([str(tmp_path), str(tmp_path / "*.png")])
    assert [p.name for p in listed] == ["a.png", "b.JPG", "c.jpeg"]
    assert all(data.is_photo(p) for p in listed)
    with pytest.raises(FileNotFoundError, match="no photo matches"):
        expand_inputs([str(tmp_path / "*.txt")])


# ---------------------------------------------------------------- errors before work (issue 14 §15)

def test_output_that_is_a_file_fails_before_any_work(bright_model, tmp_path, capsys, monkeypatch):
    from fcnlib.predict import Predictor

    def no_load(*a, **k):
        raise AssertionError("the model was loaded before the output was checked")

    monkeypatch.setattr(Predictor, "load", staticmethod(no_load))
    taken = tmp_path / "taken"
    taken.write_text("the user's file")
    photo = tmp_path / "p.jpg"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(photo)
    pairs = tmp_path / "pairs.txt"
    pairs.write_text(f"{photo}\t{photo}\n")
    for argv in (["predict", str(bright_model), str(photo), "-o", str(taken)],
                 ["extract", str(photo), "--model", str(bright_model), "-o", str(taken)],
                 ["evaluate", str(bright_model), str(pairs), "-o", str(taken)],
                 ["evaluate", str(bright_model), str(pairs), "-o", str(taken / "sub")],
                 ["compare", str(bright_model), str(pairs), "-o", str(taken)],
                 ["synth", "-o", str(taken), "--n", "1"],
                 ["bench", "extract", "-o", str(taken / "bench.json")]):
        assert cli.main(argv) == 2, argv
        assert str(taken) in capsys.readouterr().err
    assert taken.read_text() == "the user's file"


def _read_only_folder(tmp_path):
    """A folder nobody may write in: chmod 500 for a normal user; for root (who writes through
    permissions), sysfs's /sys/kernel where Linux has one."""
    if os.name == "posix" and os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        return locked
    if os.path.isdir("/sys/kernel"):
        try:
            open("/sys/kernel/.fcn-probe", "w").close()
        except OSError:
            return Path("/sys/kernel")
    pytest.skip("no read-only folder to test with on this machine")


@pytest.mark.parametrize("command", ["extract", "evaluate"])
def test_read_only_output_fails_before_any_work(bright_model, tmp_path, capsys, monkeypatch, command):
    from fcnlib.predict import Predictor

    def no_load(*a, **k):
        raise AssertionError("the model was loaded before the output was checked")

    monkeypatch.setattr(Predictor, "load", staticmethod(no_load))
    locked = _read_only_folder(tmp_path)
    photo = tmp_path / "p.jpg"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(photo)
    pairs = data.write_pairs([(photo, photo)], tmp_path / "pairs.txt")
    argv = (["extract", str(photo), "--model", str(bright_model)] if command == "extract"
            else ["evaluate", str(bright_model), str(pairs)])
    try:
        assert cli.main([*argv, "-o", str(locked)]) == 2
        assert f"{locked}: cannot write in the output folder" in capsys.readouterr().err
    finally:
        if locked.is_relative_to(tmp_path):
            locked.chmod(0o700)


def test_model_file_problems_are_named(tmp_path, capsys):
    import keras

    photo = tmp_path / "p.jpg"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(photo)
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"not a model" * 50)
    inputs = keras.Input((8, 8, 3))
    keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs))).save(tmp_path / "classifier.keras")
    whole = (tmp_path / "classifier.keras").read_bytes()
    (tmp_path / "truncated.keras").write_bytes(whole[:len(whole) // 2])

    @keras.saving.register_keras_serializable(package="fcnlib_test")
    class Mystery(keras.layers.Layer):
        def call(self, x):
            return x

    inputs = keras.Input((None, None, 3))
    keras.Model(inputs, keras.layers.Conv2D(1, 1)(Mystery()(inputs))).save(tmp_path / "custom.keras")
    keras.saving.get_custom_objects().pop("fcnlib_test>Mystery")  # as in a new process without the code

    expected = {"junk.keras": "damaged", "truncated.keras": "damaged", "classifier.keras": "classifier",
                "custom.keras": "'Mystery'", "nope.keras": "model file not found", ".": "folder"}
    for name, words in expected.items():
        model = str(tmp_path / name) if name != "." else str(tmp_path)
        assert cli.main(["extract", str(photo), "--model", model, "-o", str(tmp_path / "out")]) == 2, name
        err = capsys.readouterr().err
        assert model in err and words in err, (name, err)
        assert "File not found" not in err and "Traceback" not in err


@pytest.mark.parametrize("argv, words", [
    (["predict", "m.keras", "p.jpg", "-o", "out", "--batch-size", "0"], "--batch-size: 0 is out of range"),
    (["extract", "p.jpg", "-o", "out", "--threshold", "1.5"], "--threshold: 1.5 is out of range"),
    (["extract", "p.jpg", "-o", "out", "--threshold", "nan"], "--threshold: nan is out of range"),
    (["synth", "-o", "s", "--height", "1101"], "--height: 1101 is out of range: give 32..1100"),
    (["synth", "-o", "s", "--width", "0"], "--width: 0 is out of range"),
    (["synth", "-o", "s", "--negatives", "2"], "--negatives: 2 is out of range"),
    (["models", "--num-classes", "0"], "--num-classes: 0 is out of range"),
])
def test_out_of_range_flags_are_refused_by_name(argv, words, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2 and words in capsys.readouterr().err


def test_synth_size_range_is_what_the_generator_renders(tmp_path):
    from fcnlib import synth

    lo, hi, k = *cli.SYNTH_SIZE, cli.SYNTH_MAX_ASPECT
    for i, (h, w) in enumerate([(lo, lo), (hi, hi), (hi, hi // k), (lo, lo * k), (lo * k, lo)] * 4):
        photo, mask, _ = synth.render(synth.photo_rng(0, i), h, w, True)
        assert photo.shape[:2] == mask.shape == (h, w)
    with pytest.raises(ValueError):
        synth.render(synth.photo_rng(0, 0), hi + 1, hi, True)  # the bound is the generator's, not a guess
    assert cli.main(["synth", "-o", str(tmp_path / "s"), "--height", str(hi), "--width", str(hi // k - 1)]) == 2
    assert not (tmp_path / "s").exists()


# ---------------------------------------------------------------- calibrate (issue 14 §5)

def _calibration_set(tmp_path, with_empty: bool):
    from helpers import bright_quad_photo

    (tmp_path / "masks").mkdir()
    pairs = []
    for i, corners in enumerate([CORNERS, np.array(CORNERS) + 20] + ([SPECK] if with_empty else [])):
        photo = bright_quad_photo(tmp_path / f"c{i}.png", corners)
        mask = data.polygon_mask(np.asarray(corners, float), 800, 600) if corners is not SPECK else np.zeros((800, 600), np.uint8)
        Image.fromarray(mask).save(tmp_path / "masks" / f"c{i}.png")
        pairs.append((photo, tmp_path / "masks" / f"c{i}.png"))
    return data.write_pairs(pairs, tmp_path / "val.txt")


def test_calibrate_without_empty_photos_keeps_the_threshold(bright_model, tmp_path, capsys):
    import shutil

    model = tmp_path / "m.keras"
    shutil.copyfile(bright_model, model)
    model.with_suffix(".json").write_text(json.dumps({"min_score": 0.7}))
    assert cli.main(["calibrate", str(model), str(_calibration_set(tmp_path, with_empty=False))]) == 2
    assert "calibration needs both" in capsys.readouterr().err
    assert json.loads(model.with_suffix(".json").read_text()) == {"min_score": 0.7}


@pytest.mark.filterwarnings("ignore:model name 'default' is deprecated:DeprecationWarning")  # the old name, on purpose
def test_calibrate_a_packaged_model_refuses_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pairs = _calibration_set(tmp_path, with_empty=True)
    before = sorted(tmp_path.rglob("*"))
    assert cli.main(["calibrate", "default", str(pairs)]) == 2
    err = capsys.readouterr().err
    assert "read-only" in err and "-o NEW.keras" in err
    assert sorted(tmp_path.rglob("*")) == before  # no stray ./default.json


def test_calibrate_to_a_copy_leaves_the_source_alone(bright_model, tmp_path):
    import shutil

    model = tmp_path / "m.keras"
    shutil.copyfile(bright_model, model)
    pairs = _calibration_set(tmp_path, with_empty=True)
    assert cli.main(["calibrate", str(model), str(pairs), "-o", str(tmp_path / "calibrated.keras")]) == 0
    assert not model.with_suffix(".json").exists()
    assert json.loads((tmp_path / "calibrated.json").read_text())["min_score"] > 0
    assert (tmp_path / "calibrated.keras").read_bytes() == model.read_bytes()


def test_calibrate_max_false_rate_caps_the_false_answers(bright_model, tmp_path, capsys):
    pairs = _calibration_set(tmp_path, with_empty=True)
    out = tmp_path / "capped.keras"
    assert cli.main(["calibrate", str(bright_model), str(pairs), "-o", str(out), "--max-false-rate", "0"]) == 0
    result = json.loads(capsys.readouterr().out.split("\n}")[0] + "}")
    assert result["max_false_rate"] == 0.0 and result["cap_met"] is True and result["false"] == 0
    assert json.loads(out.with_suffix(".json").read_text())["min_score"] == result["min_score"]
    with pytest.raises(SystemExit) as e:  # argparse: before any work
        cli.main(["calibrate", str(bright_model), str(pairs), "-o", str(tmp_path / "x.keras"),
                  "--max-false-rate", "1.5"])
    assert e.value.code == 2
    assert "out of range" in capsys.readouterr().err and not (tmp_path / "x.keras").exists()


# ---------------------------------------------------------------- one spelling per flag (issue 13 §4)

def _subcommands() -> dict:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def test_output_flag_is_spelled_the_same_everywhere():
    for name, sub in _subcommands().items():
        flags = {o for a in sub._actions if a.help != argparse.SUPPRESS for o in a.option_strings}
        assert "--out" not in flags and "--classes" not in flags, name
        if any(a.dest == "output" for a in sub._actions if a.option_strings):
            assert {"-o", "--output"} <= flags, name


def test_old_flag_spellings_still_work_hidden():
    parser = cli.build_parser()
    assert parser.parse_args(["models", "--classes", "3"]).num_classes == 3
    assert parser.parse_args(["models"]).num_classes == 2
    assert parser.parse_args(["bench", "data", "--out", "b.json"]).output == "b.json"
    args = parser.parse_args(["synth", "old/dir"])
    assert args.out_positional == "old/dir" and args.output is None


def test_evaluate_and_compare_take_models_then_pairs(capsys):
    parser = cli.build_parser()
    assert parser.parse_args(["evaluate", "m.keras", "p.txt"]).pairs == "p.txt"
    args = parser.parse_args(["compare", "a=a.keras", "b.keras", "p.txt"])
    assert args.models == ["a=a.keras", "b.keras"] and args.pairs == "p.txt"
    assert cli.main(["compare", "p.txt", "a=a.keras"]) == 2  # the old order is named, not misread
    assert "the order is MODEL [MODEL ...] PAIRS" in capsys.readouterr().err


def test_bench_help_lists_every_benchmark_with_a_line():
    import inspect

    from fcnlib import bench

    sub = _subcommands()["bench"]
    what = next(a for a in sub._actions if a.dest == "what")
    assert list(what.choices) == list(cli.BENCHMARKS)
    source = inspect.getsource(bench.run)
    for name in cli.BENCHMARKS:
        if name != "all":
            assert f'"{name}"' in source, f"fcn bench {name} is listed but bench.run does not run it"
    lines = sub.format_help().splitlines()
    for name in cli.BENCHMARKS:
        assert any(line.split()[:1] == [name] and len(line.split()) > 3 for line in lines), name


@pytest.mark.filterwarnings("ignore:model name 'default' is deprecated:DeprecationWarning")  # the old name, on purpose
def test_calibrate_a_packaged_model_to_a_copy(tmp_path):
    from fcnlib.predict import Predictor

    pairs = _calibration_set(tmp_path, with_empty=True)
    assert cli.main(["calibrate", "default", str(pairs), "-o", str(tmp_path / "mine.keras")]) == 0
    mine = Predictor.load(tmp_path / "mine.keras")
    default = Predictor.load("default")
    assert mine.image_size == default.image_size and mine.class_names == default.class_names
    assert mine.min_score > 0


def test_a_failed_command_leaves_no_empty_output_folder(tmp_path, capsys):
    photo = tmp_path / "p.jpg"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(photo)
    out = tmp_path / "new" / "out"
    assert cli.main(["extract", str(photo), "--model", str(tmp_path / "none.keras"), "-o", str(out)]) == 2
    assert "none.keras: model file not found" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    (tmp_path / "empty").mkdir()
    assert cli.main(["extract", str(tmp_path / "empty"), "-o", str(out)]) == 2
    assert "empty: no photo in this folder" in capsys.readouterr().err


def test_calibrate_a_predictor_without_a_model_file_refuses(tmp_path, capsys):
    assert cli.main(["calibrate", "classical", str(_calibration_set(tmp_path, with_empty=True)),
                     "-o", str(tmp_path / "c.keras")]) == 2
    assert "'classical' has no model file: it cannot be calibrated" in capsys.readouterr().err
    assert not (tmp_path / "c.keras").exists() and not (tmp_path / "c.json").exists()


def test_a_photo_that_became_unreadable_keeps_no_old_answer(bright_model, tmp_path, capsys):
    from helpers import bright_quad_photo

    photo, out = bright_quad_photo(tmp_path / "IMG.jpg", CORNERS), tmp_path / "out"
    assert cli.main(["extract", str(photo), "--model", str(bright_model), "-o", str(out)]) == 0
    assert cli.main(["predict", str(bright_model), str(photo), "-o", str(out)]) == 0
    assert (out / "IMG.json").is_file() and (out / "IMG_receipt.png").is_file() and (out / "IMG_mask.png").is_file()
    photo.write_bytes(photo.read_bytes()[:500])  # truncated since
    assert cli.main(["extract", str(photo), "--model", str(bright_model), "-o", str(out)]) == 1
    assert cli.main(["predict", str(bright_model), str(photo), "-o", str(out)]) == 1
    assert "1 of 1 photos failed" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["extract_index.csv", "predict_index.csv"]
