"""Prediction, evaluation, extraction and the demo, through the `fcn` command on small data."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from PIL import Image

from helpers import bright_quad_model, bright_quad_photo
from fcnlib import cli, data
from fcnlib.outputs import expand_inputs
from fcnlib.predict import Predictor

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


def test_extraction_on_the_model_size_map_matches_the_photo_size_map(tmp_path):
    # the fast path (quad fitted on the model's 256x256 output, scaled) against fitting on the output
    # upsampled to the 600x800 photo: same corners within a photo pixel
    from fcnlib import postprocess

    predictor = Predictor.load(bright_quad_model(tmp_path / "b.keras"))
    photo = data.read_image(bright_quad_photo(tmp_path / "p.png", CORNERS))
    (small, placement), = predictor.model_outputs([photo])
    fast = predictor.extract_from(small, placement)
    slow = postprocess.extract(placement.to_original(small))
    assert fast.mask.shape == photo.shape[:2]
    assert np.abs(fast.mask.astype(int) - slow.mask).mean() < 0.01  # the model's mask, scaled up
    assert np.abs(fast.corners - slow.corners).max() < 1.0
    assert np.abs(fast.corners - CORNERS).max() < 3.0


def _labelled_set(tmp_path, n_with: int, n_without: int) -> list:
    """Bright-quad photos with their masks, some with a receipt and some with a small bright speck only."""
    pairs = []
    (tmp_path / "mask").mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n_with + n_without):
        if i < n_with:
            c = np.array(CORNERS) + rng.normal(0, 15, (4, 2))
            photo = bright_quad_photo(tmp_path / f"p{i}.png", c)
            mask = data.polygon_mask(c, 800, 600)
        else:  # a bright irregular speck: found as a region, but not quadrilateral, so a low score
            photo = bright_quad_photo(tmp_path / f"p{i}.png", [[300, 300], [420, 330], [310, 345], [330, 460]])
            mask = np.zeros((800, 600), np.uint8)
        Image.fromarray(mask).save(tmp_path / "mask" / f"p{i}.png")
        pairs.append((photo, tmp_path / "mask" / f"p{i}.png"))
    return pairs


def test_calibration_separates_receipts_from_empty_photos_and_the_model_uses_it(tmp_path):
    from fcnlib.evaluate import calibrate_min_score

    model = bright_quad_model(tmp_path / "b.keras")
    pairs = _labelled_set(tmp_path, 3, 2)
    predictor = Predictor.load(model)
    scores = [e.score for e in predictor.extract([data.read_image(p) for p, _ in pairs])]
    result = calibrate_min_score(predictor, pairs)
    assert result["objects"] == 3 and result["empty"] == 2
    assert result["balanced_accuracy"] == 1.0 and result["missed"] == 0 and result["false"] == 0
    assert max(scores[3:]) < result["min_score"] < min(scores[:3])
    # the CLI writes it into the model's sidecar; the loaded predictor then rejects the speck
    data.write_pairs(pairs, tmp_path / "val.txt")
    assert cli.main(["calibrate", str(model), str(tmp_path / "val.txt")]) == 0
    assert json.loads(model.with_suffix(".json").read_text())["min_score"] == result["min_score"]
    found = Predictor.load(model).extract([data.read_image(p) for p, _ in pairs])
    assert [f.corners is not None for f in found] == [True, True, True, False, False]
    assert found[4].score == scores[4]  # rejected, but its score is still reported


def test_calibration_without_empty_photos_chooses_no_threshold(tmp_path):
    from fcnlib.evaluate import calibrate_min_score

    result = calibrate_min_score(Predictor.load(bright_quad_model(tmp_path / "b.keras")), _labelled_set(tmp_path, 2, 0))
    assert result["min_score"] is None and result["balanced_accuracy"] is None


def test_compare_on_empty_photos_counts_false_receipts_and_marks_the_rest_na(tmp_path):
    # photos labelled "no receipt" (as for measuring false receipts): one shows a bright quad the model
    # answers on, one is blank; the IoU columns have nothing to measure
    model = bright_quad_model(tmp_path / "b.keras")
    photos = [bright_quad_photo(tmp_path / "quad.png", CORNERS),
              bright_quad_photo(tmp_path / "blank.png", [[0, 0], [0, 0], [0, 0], [0, 0]])]
    Image.fromarray(np.zeros((800, 600), np.uint8)).save(tmp_path / "empty_mask.png")
    data.write_pairs([(p, tmp_path / "empty_mask.png") for p in photos], tmp_path / "empty.txt")
    assert cli.main(["compare", f"bright={model}", str(tmp_path / "empty.txt"), "-o", str(tmp_path / "cmp")]) == 0
    row = (tmp_path / "cmp" / "compare.md").read_text().splitlines()[2].strip("| ").split(" | ")
    assert row[0] == "bright" and row[1:7] == ["n/a"] * 6 and row[7] == "1 of 2"


def test_cli_errors_name_the_file(tmp_path, capsys):
    photo = bright_quad_photo(tmp_path / "x.jpg", CORNERS)
    assert cli.main(["predict", str(tmp_path / "none.keras"), str(photo), "-o", str(tmp_path)]) == 2
    assert "none.keras: model file not found" in capsys.readouterr().err


def test_demo_quick_runs_end_to_end(tmp_path, monkeypatch, capsys):
    from helpers import REPO
    from fcnlib import demo

    monkeypatch.chdir(REPO)
    run = demo.run(tmp_path / "synth", quick=True, runs_dir=tmp_path / "runs")
    out = capsys.readouterr().out
    assert "fcnlib demo" in out and str(run) in out
    assert (run / "eval" / "summary.json").is_file() and (run / "demo.json").is_file()


# ----------------------------------------------------------------------------- the Segmenter file

def _bright_segmenter(path, **spec):
    """The bright-quad network as a Segmenter file (input 96 x 72, stretched), described by `spec`."""
    from fcnlib.models import load_model
    from fcnlib.segmenter import Segmenter
    from fcnlib.spec import Preprocessor

    network = load_model(bright_quad_model(path.with_name("bare_" + path.name)), compile=False)
    Segmenter(network, Preprocessor((96, 72)), **spec).save(path)
    return path


def test_segmenter_loads_in_safe_mode_with_its_whole_description(tmp_path):
    import keras

    from fcnlib import models
    from fcnlib.segmenter import Segmenter
    from fcnlib.spec import Preprocessor, read_spec

    net = models.build("unet", num_classes=3, base_filters=4, depth=2)
    seg = Segmenter(net, Preprocessor((40, 56), "pad"), class_names=["sky", "road", "car"],
                    palette=[[0, 0, 255], [128, 64, 128], [255, 0, 0]], ignore_index=255, name="camvid")
    seg.save(tmp_path / "s.keras")
    back = keras.saving.load_model(tmp_path / "s.keras", safe_mode=True)  # nothing but fcnlib imported
    assert isinstance(back, Segmenter) and back.spec == seg.spec and back.name == "camvid"
    assert back.preprocessor == Preprocessor((40, 56), "pad") and back.num_classes == 3
    x = np.random.default_rng(0).random((2, 40, 56, 3)).astype("float32")
    np.testing.assert_allclose(back.predict(x, verbose=0), seg.predict(x, verbose=0), atol=1e-6)
    # the same description read without Keras, from the zip's config.json
    assert read_spec(tmp_path / "s.keras") == seg.spec
    predictor = Predictor.load(tmp_path / "s.keras")
    assert predictor.class_names == ("sky", "road", "car") and predictor.resize == "pad"
    assert predictor.palette.tolist() == [[0, 0, 255], [128, 64, 128], [255, 0, 0]]


def test_segmenter_rejects_a_description_that_does_not_fit_its_network():
    from fcnlib import models
    from fcnlib.segmenter import Segmenter

    net = models.build("unet", num_classes=3, base_filters=4, depth=2)
    with pytest.raises(ValueError, match="2 class names"):
        Segmenter(net, class_names=["a", "b"])
    with pytest.raises(ValueError, match="palette"):
        Segmenter(net, palette=[[0, 0, 0]])
    with pytest.raises(ValueError, match="min_score"):
        Segmenter(net, min_score=1.5)
    with pytest.raises(ValueError, match="resize policy"):
        Segmenter(net, preprocessor={"image_size": [8, 8], "resize": "crop"})
    fixed = models.build("unet", input_shape=(32, 32, 3), num_classes=1, base_filters=4, depth=2)
    assert Segmenter(fixed).preprocessor.image_size == (32, 32)
    with pytest.raises(ValueError, match=r"takes \(32, 32\) inputs"):
        Segmenter(fixed, preprocessor={"image_size": [64, 64]})


def test_training_saves_best_keras_as_a_segmenter_with_its_calibrated_min_score(tiny_run):
    from fcnlib.spec import read_spec

    spec = read_spec(tiny_run / "best.keras")
    assert spec is not None and not (tiny_run / "best.json").exists()
    assert spec.preprocessor.image_size == (48, 48) and spec.class_names == ("background", "receipt")
    calibrated = json.loads((tiny_run / "metrics.json").read_text())["calibration"]["min_score"]
    assert spec.min_score == calibrated
    assert Predictor.load(tiny_run / "best.keras").min_score == calibrated


def test_old_run_folder_with_a_sidecar_still_loads(tmp_path):
    model = bright_quad_model(tmp_path / "best.keras")
    model.with_suffix(".json").write_text(json.dumps(
        {"image_size": [64, 48], "resize": "pad", "num_classes": 1, "class_names": ["background", "paper"],
         "min_score": 0.42}))
    predictor = Predictor.load(model)
    assert predictor.image_size == (64, 48) and predictor.resize == "pad"
    assert predictor.class_names == ("background", "paper") and predictor.min_score == 0.42
    model.with_suffix(".json").write_text("{broken")
    with pytest.raises(ValueError, match="best.json: not valid JSON"):
        Predictor.load(model)


def test_calibrate_writes_min_score_inside_a_segmenter_file(tmp_path):
    from fcnlib.spec import read_spec

    model = _bright_segmenter(tmp_path / "seg.keras", class_names=["background", "receipt"])
    assert read_spec(model).min_score is None
    pairs = _labelled_set(tmp_path, 3, 2)
    data.write_pairs(pairs, tmp_path / "val.txt")
    assert cli.main(["calibrate", str(model), str(tmp_path / "val.txt")]) == 0
    spec = read_spec(model)
    assert 0 < spec.min_score < 1 and not model.with_suffix(".json").exists()
    assert spec.preprocessor.image_size == (96, 72)  # the rest of the description kept
    found = Predictor.load(model).extract([data.read_image(p) for p, _ in pairs])
    assert [f.corners is not None for f in found] == [True, True, True, False, False]


def test_calibrate_score_method_is_recorded_with_the_threshold_and_used(tmp_path):
    from fcnlib.spec import SegmenterSpec, read_spec

    assert SegmenterSpec.from_config({"min_score": 0.5}).score_method == "fit"  # files written before the field
    with pytest.raises(ValueError, match="score method 'area'"):
        SegmenterSpec(score_method="area")
    pairs = _labelled_set(tmp_path, 3, 2)
    photos = [data.read_image(p) for p, _ in pairs]
    data.write_pairs(pairs, tmp_path / "val.txt")
    model = _bright_segmenter(tmp_path / "seg.keras", class_names=["background", "receipt"])
    assert cli.main(["calibrate", str(model), str(tmp_path / "val.txt"), "--score-method", "confident"]) == 0
    spec = read_spec(model)
    assert spec.score_method == "confident" and 0 < spec.min_score < 1
    predictor = Predictor.load(model)
    found = predictor.extract(photos)
    assert [f.corners is not None for f in found] == [True, True, True, False, False]
    outputs = predictor.model_outputs(photos)
    for f, (small, placement) in zip(found, outputs):  # the file's method, not the default one
        assert f.score == predictor.extract_from(small, placement, min_score=0.0, score_method="confident").score
    fit = [predictor.extract_from(small, placement, min_score=0.0, score_method="fit").score for small, placement in outputs]
    assert [f.score for f in found] != fit
    # a bare network of an older run keeps both in its sidecar
    bare = bright_quad_model(tmp_path / "bare.keras")
    assert cli.main(["calibrate", str(bare), str(tmp_path / "val.txt"), "--score-method", "confident"]) == 0
    assert json.loads(bare.with_suffix(".json").read_text())["score_method"] == "confident"
    assert Predictor.load(bare).spec.score_method == "confident"


@pytest.mark.filterwarnings("ignore:model name 'default' is deprecated:DeprecationWarning")  # the old name, on purpose
def test_calibrate_refuses_a_preset_and_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    data.write_pairs(_labelled_set(tmp_path, 1, 1), tmp_path / "val.txt")
    for name in ("receipt", "default", "classical"):
        assert cli.main(["calibrate", name, str(tmp_path / "val.txt")]) == 2
        assert "cannot be calibrated" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.json"))


# ----------------------------------------------------------------------------- predictors by name

def test_predictors_by_name_presets_and_files(tmp_path):
    from fcnlib import presets
    from fcnlib.classical import ClassicalPredictor
    from fcnlib.predict import load, predictors, register_predictor

    assert isinstance(Predictor.load("classical"), ClassicalPredictor) and "classical" in predictors()
    assert presets.list_presets() == ["document", "receipt"]
    receipt = Predictor.load("receipt")
    assert receipt.image_size == (192, 144) and receipt.min_score > 0
    with pytest.warns(DeprecationWarning, match="'default' is deprecated"):
        assert Predictor.load("default").min_score == receipt.min_score
    with pytest.raises(FileNotFoundError, match="nope.keras: model file not found .*classical, document, receipt"):
        load(tmp_path / "nope.keras")
    with pytest.raises(ValueError, match="already exists"):
        register_predictor("receipt", ClassicalPredictor)
    register_predictor("test-classical", ClassicalPredictor)
    assert isinstance(Predictor.load("test-classical"), ClassicalPredictor)


def test_preprocessor_resizes_as_the_training_pipeline(tmp_path):
    # the TensorFlow-free resize of inference against `data.resize_image` (TensorFlow's antialiased
    # bilinear resize, what training sees) and `Placement.to_original`
    from fcnlib.spec import Preprocessor

    photo = np.random.default_rng(1).integers(0, 256, (301, 217, 3), dtype=np.uint8)
    for size, policy in (((96, 72), "stretch"), ((64, 64), "pad"), ((400, 300), "stretch")):
        want, want_place = data.resize_image(photo, size, policy)
        got, got_place = Preprocessor(size, policy).prepare(photo)
        assert got_place == want_place and got.dtype == np.float32
        assert np.abs(got - want).max() < 1e-4, (size, policy)
        prob = np.random.default_rng(2).random((*size, 2)).astype(np.float32)
        back = Preprocessor.to_original(prob, got_place)
        assert back.shape == (301, 217, 2)
        assert np.abs(back - want_place.to_original(prob)).max() < 1e-4


def reference_prepare(pre, photo):
    """`Preprocessor.prepare` as first written (the photo made float32 whole, each plane copied into a
    float PIL image): the reference for the faster one."""
    from PIL import Image

    arr = np.asarray(photo)
    x = arr.astype(np.float32)
    x = x[..., None] if x.ndim == 2 else x
    height, width = pre.image_size
    h, w = x.shape[:2]
    if pre.resize == "stretch":
        top, left, nh, nw = 0, 0, height, width
    else:
        s = min(height / h, width / w)
        nh, nw = int(np.clip(np.round(h * s), 1, height)), int(np.clip(np.round(w * s), 1, width))
        top, left = (height - nh) // 2, (width - nw) // 2
    resized = np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(x[..., c], dtype=np.float32), "F")
                                   .resize((nw, nh), Image.Resampling.BILINEAR)) for c in range(x.shape[-1])], -1)
    if arr.dtype == np.uint8:
        resized = np.clip(resized, 0, 255) * np.float32(pre.scale) + np.float32(pre.offset)
    out = np.zeros((height, width, x.shape[-1]), np.float32)
    out[top:top + nh, left:left + nw] = resized
    return out[..., 0] if arr.ndim == 2 else out


def test_preprocessor_gives_the_network_the_input_of_the_reference_resize():
    # the faster prepare (uint8 planes widened by PIL, no float copy of the photo) feeds the network the
    # very same numbers, for colour, grey and float photos and both resize policies
    from fcnlib.spec import Preprocessor

    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (301, 217, 3), dtype=np.uint8)
    photos = [rgb, rgb[::-1, ::2], rgb[..., 1], rgb.astype(np.float32) / 255, rgb.astype(np.float64) * 1.5,
              rng.integers(0, 256, (40, 30, 4), dtype=np.uint8)]
    for photo in photos:
        for pre in (Preprocessor((96, 72)), Preprocessor((64, 64), "pad"), Preprocessor((400, 300), offset=-0.5)):
            got, _ = pre.prepare(photo)
            want = reference_prepare(pre, photo)
            assert got.dtype == want.dtype == np.float32 and np.array_equal(got, want), (photo.shape, pre)


# ----------------------------------------------------------------------------- one answer for "no receipt"

def test_predict_and_extract_agree_when_the_score_is_under_min_score(tmp_path):
    # the speck is segmented (the raw class map has pixels) but scores under min_score: extract says
    # "no receipt", and so must segment's mask
    from fcnlib.evaluate import calibrate_min_score

    pairs = _labelled_set(tmp_path, 3, 2)
    photos = [data.read_image(p) for p, _ in pairs]
    min_score = calibrate_min_score(Predictor.load(bright_quad_model(tmp_path / "b.keras")), pairs)["min_score"]
    predictor = Predictor.load(_bright_segmenter(tmp_path / "s.keras", min_score=min_score))
    extracted = predictor.extract(photos)
    segmented = predictor.segment(photos)
    assert [e.corners is not None for e in extracted] == [s.found for s in segmented] == [True] * 3 + [False] * 2
    for e, s in zip(extracted, segmented):
        assert s.score == e.score and s.mask.shape == photos[0].shape[:2]
        if s.found:
            assert s.mask.sum() > 0.1 * s.mask.size and np.allclose(s.corners, e.corners)
        else:
            assert (s.prob[..., 0] > 0.5).sum() > 500  # the model did segment something
            assert s.mask.max() == 0 and s.corners is None
    # without a min_score (an uncalibrated or non-binary model) the mask is the model's class map
    raw = Predictor.load(bright_quad_model(tmp_path / "b.keras")).segment(photos[3:])
    assert raw[0].found is None and raw[0].mask.sum() > 500


# ----------------------------------------------------------------------------- photos framed both ways

def test_preprocessor_turns_the_input_size_for_photos_framed_the_other_way():
    from fcnlib.spec import Preprocessor

    pre = Preprocessor((96, 72), match_orientation=True)
    assert pre.input_size((800, 600)) == (96, 72) and pre.input_size((600, 800)) == (72, 96)
    assert pre.input_size((500, 500)) == (96, 72)  # a square photo goes in as trained
    assert Preprocessor((64, 64), match_orientation=True).input_size((600, 800)) == (64, 64)
    assert Preprocessor((96, 72)).input_size((600, 800)) == (96, 72)  # off unless asked for
    photo = np.random.default_rng(0).integers(0, 256, (600, 800, 3), dtype=np.uint8)
    x, place = pre.prepare(photo)
    assert x.shape == (72, 96, 3) and place.original == (600, 800) and (place.height, place.width) == (72, 96)
    # the turned input is the photo resized to (72, 96), as the training pipeline makes it
    want, _ = data.resize_image(photo, (72, 96))
    assert np.abs(x - want).max() < 1e-4
    assert Preprocessor.from_config(pre.get_config()) == pre
    before = {k: v for k, v in Preprocessor((96, 72)).get_config().items() if k != "match_orientation"}
    assert Preprocessor.from_config(before).match_orientation is False  # files written before keep their way
    with pytest.raises(ValueError, match="framed both ways"):
        pre([photo, photo.transpose(1, 0, 2)])
    with pytest.raises(ValueError, match="match_orientation"):
        Preprocessor((96, 72), match_orientation="yes")


class _SizedRunner:
    """A stand-in for a TFLite copy of one input size: the red channel as the probability."""

    def __init__(self, size):
        self.input_size, self.batches = size, []

    def __call__(self, batch):
        assert tuple(batch.shape[1:3]) == self.input_size
        self.batches.append(len(batch))
        return batch[..., :1]


def test_predictor_runs_each_framing_at_its_input_size_and_keeps_the_photos_order():
    from fcnlib import models
    from fcnlib.spec import Preprocessor, SegmenterSpec

    spec = SegmenterSpec(Preprocessor((96, 72), match_orientation=True), 1)
    portrait, turned = _SizedRunner((96, 72)), _SizedRunner((72, 96))
    predictor = Predictor(spec=spec, runner=portrait, turned_runner=turned)
    rng = np.random.default_rng(0)
    shapes = [(800, 600, 3), (600, 800, 3), (640, 480, 3), (480, 640, 3), (600, 800, 3)]
    photos = [rng.integers(0, 256, s, dtype=np.uint8) for s in shapes]
    outputs = predictor.model_outputs(photos, batch_size=2)
    for photo, (prob, placement) in zip(photos, outputs):
        want, _ = spec.preprocessor.prepare(photo)
        np.testing.assert_array_equal(prob, want[..., :1])
        assert placement.original == photo.shape[:2]
    assert portrait.batches == [2] and turned.batches == [2, 1]
    # without a runner for the turned size, the Keras model answers those photos
    net = models.build("unet", num_classes=1, base_filters=4, depth=2)
    keras_only = Predictor(net, spec=spec, runner=_SizedRunner((96, 72)))
    (prob, _), = keras_only.model_outputs([photos[1]])
    want, _ = spec.preprocessor.prepare(photos[1])
    np.testing.assert_allclose(prob, np.asarray(net(want[None]))[0], atol=1e-6)


def test_preset_runs_photos_framed_the_other_way_through_its_turned_tflite_copy(tmp_path, monkeypatch):
    from fcnlib import models, presets
    from fcnlib.models.export import to_tflite
    from fcnlib.segmenter import Segmenter
    from fcnlib.spec import Preprocessor

    net = models.build("unet", num_classes=1, base_filters=4, depth=2, upsampling="bilinear")
    seg = Segmenter(net, Preprocessor((48, 32), match_orientation=True))
    seg.save(tmp_path / "m.keras")
    to_tflite(seg, tmp_path / "m.tflite", input_size=(48, 32))
    to_tflite(seg, tmp_path / "m_turned.tflite", input_size=(32, 48))
    monkeypatch.setitem(presets._PRESETS, "tiny", presets.Preset(
        "tiny", tmp_path / "m.keras", tmp_path / "m.tflite", "test", tmp_path / "m_turned.tflite"))
    predictor = Predictor.from_preset("tiny")
    assert predictor.turned_runner is not None and predictor.turned_runner.input_size == (32, 48)
    photo = np.random.default_rng(0).integers(0, 256, (300, 450, 3), dtype=np.uint8)
    (prob, _), = predictor.model_outputs([photo])
    want, _ = seg.preprocessor.prepare(photo)
    assert prob.shape == (32, 48, 1) and np.abs(prob - np.asarray(seg(want[None]))[0]).max() < 1e-5
    assert predictor._model is None  # answered by the TFLite copy, Keras never loaded
    # a turned copy of the wrong size is refused by name
    monkeypatch.setitem(presets._PRESETS, "tiny", presets.Preset(
        "tiny", tmp_path / "m.keras", tmp_path / "m.tflite", "test", tmp_path / "m.tflite"))
    with pytest.raises(ValueError, match=r"m.tflite: input \(48, 32\) differs from the model's \(32, 48\)"):
        Predictor.from_preset("tiny")
