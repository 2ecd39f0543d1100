"""The `fcn` command: thin argument parsing over the fcnlib modules.

Each subcommand imports its module only when it runs, so `fcn --help` and the dataset tools
start without loading TensorFlow.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from fcnlib.presets import DEFAULT_PRESET

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _pairs(args) -> int:
    from fcnlib import data

    pairs, photos_only, masks_only = data.make_pairs(args.root)
    out = Path(args.output) if args.output else Path(args.root) / "pairs.txt"
    data.write_pairs(pairs, out, overwrite=args.force)
    print(f"{out}: {len(pairs)} pairs")
    for p in photos_only:
        print(f"{p}: photo without a mask", file=sys.stderr)
    for m in masks_only:
        print(f"{m}: mask without a photo", file=sys.stderr)
    return 0


def _split(args) -> int:
    from fcnlib import data

    files = data.split_pairs(args.pairs, val=args.val, test=args.test, seed=args.seed, force=args.force)
    for name, path in files.items():
        print(f"{name}: {path} ({len(data.read_pairs(path))} pairs)")
    for name in data.SPLITS:
        kept = Path(args.pairs).parent / f"{name}.txt"
        if name not in files and kept.exists():
            print(f"{name}: {kept} exists and is left as it is (this split writes no {name} split)")
    return 0


def _verify(args) -> int:
    from fcnlib.verify import verify

    report = verify(args.pairs, num_classes=args.num_classes, mask_values=args.mask_values,
                    ignore_index=args.ignore_index, root=args.root, dataset=args.dataset)
    print(report.format())
    return 0 if report.ok else 1


def _import_quads(args) -> int:
    from fcnlib import data

    pairs = data.import_quads(args.images, args.corners, args.output, negatives_dir=args.negatives,
                              force=args.force)
    print(f"{pairs}: {len(data.read_pairs(pairs))} pairs")
    return 0


def _synth(args) -> int:
    from fcnlib import synth
    from fcnlib.outputs import output_dir

    if args.output and args.out_positional and args.output != args.out_positional:
        raise ValueError(f"two output folders given ({args.out_positional}, -o {args.output}); give one")
    out = args.output or args.out_positional
    if not out:
        raise ValueError("give the output folder, -o DIR")
    if max(args.height, args.width) > SYNTH_MAX_ASPECT * min(args.height, args.width):
        raise ValueError(f"--height {args.height} --width {args.width}: the photo's long side may be at most "
                         f"{SYNTH_MAX_ASPECT} times its short side (a receipt cannot be placed in a narrower one)")
    with output_dir(out):
        pairs = synth.generate(out, n=args.n, seed=args.seed, height=args.height, width=args.width,
                               negatives=args.negatives, documents=args.documents, landscape=args.landscape)
    print(pairs)
    return 0


def _models(args) -> int:
    from fcnlib import models

    print(models.format_table(models.summary_table(size=args.size, num_classes=args.num_classes)))
    return 0


def _train(args) -> int:
    from fcnlib import train

    if args.time_budget_minutes is not None and not args.resume:
        raise SystemExit("fcn train: --time-budget-minutes goes with --resume RUN_DIR; for a new run, "
                         "--set time_budget_minutes=MIN")
    if args.resume:
        run = train.resume(args.resume, time_budget_minutes=args.time_budget_minutes)
    else:
        if not args.config:
            raise SystemExit("fcn train: give a CONFIG file or --resume RUN_DIR")
        run = train.train(train.load_config(args.config, args.set))
    if run is None:  # a multi-worker run's non-chief worker: the chief writes the run folder
        print("worker done: the chief writes the run folder")
        return 0
    print(f"run folder: {run}")
    print((Path(run) / "metrics.json").read_text())
    return 0


def _load_predictor(spec: str):
    """`Predictor.load` with the problems of a model file said plainly: a folder, a file that is not a
    `.keras` archive or is damaged, a model that needs code fcnlib does not have (custom layers), a
    model whose output is not a segmentation map (a classifier)."""
    import re
    import zipfile

    from fcnlib.data import DataError
    from fcnlib.predict import Predictor

    path = Path(spec)
    if path.exists() or path.suffix.lower() in (".keras", ".h5"):
        if not path.exists():
            raise DataError(path, "model file not found")
        if path.is_dir():
            raise DataError(path, "this is a folder; give a .keras model file (e.g. RUN/best.keras)")
        if path.suffix.lower() == ".keras":
            if not zipfile.is_zipfile(path):
                raise DataError(path, "not a Keras model: a .keras file is a zip archive, and this one is "
                                      "damaged (truncated copy?) or is another kind of file")
            try:
                with zipfile.ZipFile(path) as z:
                    bad, names = z.testzip(), set(z.namelist())
            except (zipfile.BadZipFile, OSError, EOFError) as e:
                raise DataError(path, f"damaged .keras archive ({e})") from None
            if bad is not None:
                raise DataError(path, f"damaged .keras archive: {bad} fails its checksum")
            if "config.json" not in names:
                raise DataError(path, "not a Keras model: the archive holds no config.json")
    try:
        predictor = Predictor.load(spec)
    except (DataError, FileNotFoundError):
        raise
    except Exception as e:  # Keras's own errors while rebuilding a model: say what it means
        missing = re.search(r"Could not locate (?:class|function) '([^']+)'", str(e))
        if missing:
            raise DataError(spec, f"cannot load the model: it uses {missing.group(1)!r}, a layer or function "
                                  "that is not part of Keras or fcnlib (custom objects must be registered "
                                  "with keras.saving.register_keras_serializable and imported first)") from None
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise DataError(spec, f"cannot load the model ({type(e).__name__}: {first[:300]})") from None
    # a model file is loaded whole by now (a packaged one may run without Keras: not touched here)
    shape = getattr(predictor.model, "output_shape", None) if path.is_file() else None
    if isinstance(shape, tuple) and (len(shape) != 4 or not shape[-1]):
        raise DataError(spec, f"the model's output has shape {shape}, not a segmentation map (batch, height, "
                              "width, classes): a classifier or another kind of model")
    return predictor


def _pairs_and_dataset(args):
    """The pairs to score (re-rooted with --root) and the dataset description: --dataset, else the
    dataset.yaml beside the pairs file."""
    if not args.root:
        return args.pairs, args.dataset
    from fcnlib import data
    from fcnlib.labels import DATASET_FILE

    beside = Path(args.pairs).parent / DATASET_FILE
    return data.read_pairs(args.pairs, root=args.root), args.dataset or (beside if beside.is_file() else None)


def _evaluate(args) -> int:
    from fcnlib import evaluate
    from fcnlib.outputs import output_dir

    pairs, dataset = _pairs_and_dataset(args)
    with output_dir(args.output):
        summary = evaluate.evaluate(_load_predictor(args.model), pairs, args.output,
                                    mask_values=args.mask_values, ignore_index=args.ignore_index,
                                    dataset=dataset)
    print(json.dumps({k: v for k, v in summary.items() if k != "confusion_matrix"}, indent=2))
    print(f"{args.output}: metrics.json, per_class.md, per_class.csv, confusion.png, per_photo.csv")
    return 1 if summary["skipped"] else 0


def _model_file(spec: str) -> Path | None:
    """The `.keras` file behind a model argument: the path itself, or the file of a preset ('document');
    None for a named predictor without one ('classical')."""
    from fcnlib import presets
    from fcnlib.predict import predictors

    if presets.is_preset(spec):
        return Path(presets.get(spec).path)
    return None if spec in predictors() else Path(spec)


def _store_min_score(model_file: Path, min_score: float, score_method: str | None = None) -> Path:
    """Record a calibrated `min_score` (and with `score_method`, the score method it holds for) for
    `model_file`: inside it for a Segmenter, else (a bare network saved by an older fcnlib) in its
    `.json` sidecar, as then; returns the file written."""
    from fcnlib.fileio import atomic_write_text
    from fcnlib.spec import read_spec

    if read_spec(model_file) is not None:
        from fcnlib.segmenter import with_min_score

        with_min_score(model_file, min_score, score_method)
        return model_file
    sidecar = model_file.with_suffix(".json")
    meta = json.loads(sidecar.read_text()) if sidecar.exists() else {}
    meta["min_score"] = min_score
    if score_method is not None:
        meta["score_method"] = score_method
    atomic_write_text(sidecar, json.dumps(meta, indent=2))
    return sidecar


def _calibrate(args) -> int:
    import shutil

    from fcnlib import evaluate
    from fcnlib.outputs import output_file

    source = _model_file(args.model)
    if source is None:
        raise ValueError(f"{args.model!r} has no model file: it cannot be calibrated")
    if source != Path(args.model) and not args.output:
        raise ValueError(f"{args.model!r} names a packaged model, which is read-only and cannot be calibrated "
                         "in place: give -o NEW.keras to write a calibrated copy")
    target = Path(args.output) if args.output else source
    if target.suffix.lower() != ".keras":
        raise ValueError(f"-o {target}: give a file name ending in .keras")
    with output_file(target):  # before the work: a read-only folder fails now, not after every photo
        result = evaluate.calibrate_min_score(_load_predictor(args.model), args.pairs, mask_values=args.mask_values,
                                              max_false_rate=args.max_false_rate, score_method=args.score_method)
    if result["min_score"] is None:
        print(f"fcn calibrate: error: {args.pairs}: {result['objects']} photos with the object and "
              f"{result['empty']} without; calibration needs both (no threshold can be chosen otherwise). "
              "Nothing written.", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    if result.get("cap_met") is False:
        print(f"fcn calibrate: warning: no threshold keeps the false answers within --max-false-rate "
              f"{args.max_false_rate} (empty photos score 1.0); the one with the fewest was chosen", file=sys.stderr)
    if target.resolve() != source.resolve():  # a calibrated copy, with its description
        shutil.copyfile(source, target)
        if source.with_suffix(".json").is_file():  # an older run's sidecar
            shutil.copyfile(source.with_suffix(".json"), target.with_suffix(".json"))
    written = _store_min_score(target, result["min_score"], args.score_method)
    print(f"{written}: min_score {result['min_score']}" + (f", score method {args.score_method}" if args.score_method else ""))
    return 0


def _compare(args) -> int:
    from fcnlib import evaluate
    from fcnlib.outputs import output_dir

    if not Path(args.pairs).is_file() and (Path(args.pairs).suffix.lower() == ".keras" or "=" in args.pairs):
        raise ValueError(f"{args.pairs!r} looks like a model; the order is MODEL [MODEL ...] PAIRS "
                         "(as for fcn evaluate)")
    models = dict(m.split("=", 1) if "=" in m else (m, m) for m in args.models)
    with output_dir(args.output):
        for path in models.values():  # every model loads before the first is scored
            _load_predictor(path)
        pairs, dataset = _pairs_and_dataset(args)
        print(evaluate.compare(models, pairs, args.output, mask_values=args.mask_values,
                               ignore_index=args.ignore_index, dataset=dataset))
    return 0


def _report_failures(command: str, records: list[dict]) -> int:
    failed = sum("error" in r for r in records)
    if failed:
        print(f"fcn {command}: {failed} of {len(records)} photos failed (see above)", file=sys.stderr)
    return 1 if failed else 0


def _print_error(record: dict) -> None:
    if "error" in record:
        print(f"error: {record['error']}", file=sys.stderr)


def _predict(args) -> int:
    from fcnlib.outputs import expand_inputs, output_dir, predict_files

    photos = expand_inputs(args.photos)
    with output_dir(args.output):
        records = predict_files(_load_predictor(args.model), photos, args.output, batch_size=args.batch_size,
                                on_record=_print_error)
    print(f"{args.output}: outputs for {sum('error' not in r for r in records)} photos")
    return _report_failures("predict", records)


def _extract(args) -> int:
    from fcnlib.outputs import expand_inputs, extract_files, output_dir

    def say(r):
        if "error" in r:
            _print_error(r)
        else:
            print(f"{r['photo']}: " + ("no document found" if r["corners"] is None else f"document, score {r['score']}")
                  + f" -> {r['name']}")

    photos = expand_inputs(args.photos)
    with output_dir(args.output):
        records = extract_files(_load_predictor(args.model), photos, args.output, threshold=args.threshold,
                                batch_size=args.batch_size, on_record=say)
    return _report_failures("extract", records)


def _bench(args) -> int:
    from fcnlib import bench
    from contextlib import nullcontext

    from fcnlib.outputs import output_file

    with output_file(args.output) if args.output else nullcontext():
        figures = bench.run(args.what, json_only=args.json)
    if args.json:
        print(json.dumps(figures))
    if args.output:
        from fcnlib.fileio import atomic_write_text

        atomic_write_text(args.output, json.dumps({"command": "fcn " + " ".join(sys.argv[1:]), **figures}, indent=2))
    return 0


def _demo(args) -> int:
    from fcnlib import demo

    demo.run(args.data, quick=args.quick)
    return 0


def _int_in(lo: int, hi: int | None = None):
    """An argparse type: an integer in lo..hi."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if v < lo or (hi is not None and v > hi):
            raise argparse.ArgumentTypeError(f"{v} is out of range: give {lo}..{hi}" if hi is not None
                                             else f"{v} is out of range: give at least {lo}")
        return v
    return parse


def _float_in(lo: float, hi: float, open_lo: bool = False, open_hi: bool = False):
    """An argparse type: a number in [lo, hi] (or open at either end)."""
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (v > lo if open_lo else v >= lo) or not (v < hi if open_hi else v <= hi) or v != v:
            left, right = "(" if open_lo else "[", ")" if open_hi else "]"
            raise argparse.ArgumentTypeError(f"{text} is out of range: give a number in {left}{lo}, {hi}{right}")
        return v
    return parse


# Sizes `fcn synth` can render: its sensor-noise tiles are 1100x1100 (`synth._noise_bank`), and in a photo
# much narrower than long a receipt cannot always be placed.
SYNTH_SIZE = (32, 1100)
SYNTH_MAX_ASPECT = 8

# `fcn bench` benchmarks, one line each (what `fcnlib.bench.run` runs for each name).
BENCHMARKS = {
    "data": "photos/s of the input pipeline, and training fed by tf.data vs in-memory arrays",
    "compute": "achieved GFLOP/s of a training step of each model vs this machine's matmul rate",
    "extract": "latency from a JPEG path to the flattened document with the shipped model",
    "tflite": "the shipped model as TFLite: float parity with Keras and the IoU change of int8",
    "coldstart": "wall time of `fcn extract` on one photo in a fresh process (LiteRT, no TensorFlow)",
    "all": "every benchmark above",
}


def _mask_values(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.replace(",", " ").split())


def _void_arguments(s) -> None:
    """--ignore-index, --dataset and --root of evaluate and compare."""
    s.add_argument("--root", metavar="DIR or OLD=NEW",
                   help="re-root a pairs file that lists absolute paths of another machine (SegNet's "
                        "train.txt/val.txt), as `fcn verify --root`")
    s.add_argument("--ignore-index", type=int, metavar="VALUE",
                   help="mask value of void pixels, left out of every score (default: the dataset description's)")
    s.add_argument("--dataset", metavar="YAML",
                   help="dataset description (class names, colours, ignore index); default: the "
                        "dataset.yaml beside PAIRS, else the model's class names")


def build_parser() -> argparse.ArgumentParser:
    from fcnlib.spec import SCORE_METHODS

    p = argparse.ArgumentParser(prog="fcn", description="Fully convolutional networks for segmentation.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("pairs", help="write the pairs file of a dataset root (original/ + mask/)")
    s.add_argument("root")
    s.add_argument("-o", "--output", help="pairs file (default ROOT/pairs.txt)")
    s.add_argument("--force", action="store_true", help="overwrite an existing pairs file")
    s.set_defaults(func=_pairs)

    s = sub.add_parser("split", help="split a pairs file into train/val/test files beside it")
    s.add_argument("pairs")
    s.add_argument("--val", type=float, default=0.15)
    s.add_argument("--test", type=float, default=0.15)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--force", action="store_true",
                   help="overwrite existing train/val/test.txt (a split file this run does not write is "
                        "never deleted)")
    s.set_defaults(func=_split)

    s = sub.add_parser("verify", help="check every pair; report problems and class weights")
    s.add_argument("pairs")
    s.add_argument("--num-classes", type=int)
    s.add_argument("--mask-values", type=_mask_values, help="e.g. '0,255' for 0/255 binary masks")
    s.add_argument("--ignore-index", type=int, metavar="N",
                   help="void mask value left out of counts and weights (CamVid 11, Pascal VOC 255)")
    s.add_argument("--root", metavar="DIR or OLD=NEW",
                   help="re-root the listed paths (e.g. SegNet's absolute paths); see fcnlib.data.read_pairs")
    s.add_argument("--dataset", metavar="YAML",
                   help="dataset description (class names, void); default: dataset.yaml beside the pairs file")
    s.set_defaults(func=_verify)

    s = sub.add_parser("import-quads", help="photos + four-corner annotations -> dataset root")
    s.add_argument("images")
    s.add_argument("corners")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--negatives", help="folder of photos with no object (all-zero masks)")
    s.add_argument("--force", action="store_true", help="overwrite files of an earlier import in OUTPUT")
    s.set_defaults(func=_import_quads)

    s = sub.add_parser("synth", help="generate synthetic document photos (receipts, pages) with masks")
    s.add_argument("out_positional", nargs="?", metavar="OUTPUT", help=argparse.SUPPRESS)  # the old spelling
    s.add_argument("-o", "--output", help="output folder: original/, mask/, corners/, pairs.txt")
    s.add_argument("--n", type=_int_in(1), default=500, help="number of photos")
    s.add_argument("--seed", type=_int_in(0), default=0)
    lo, hi = SYNTH_SIZE
    s.add_argument("--height", type=_int_in(lo, hi), default=800, help=f"pixels, {lo}..{hi}")
    s.add_argument("--width", type=_int_in(lo, hi), default=600, help=f"pixels, {lo}..{hi}")
    s.add_argument("--negatives", type=_float_in(0.0, 1.0), default=0.15, help="share of photos with no paper")
    s.add_argument("--documents", type=_float_in(0.0, 1.0), default=0.3,
                   help="share of the photos with paper that show a page (letter, form, table...) not a receipt")
    s.add_argument("--landscape", type=_float_in(0.0, 1.0), default=0.0,
                   help="share of the photos framed width x height (half of them a photo turned a quarter)")
    s.set_defaults(func=_synth)

    s = sub.add_parser("models", help="table of the models: parameters, GFLOPs, output shape")
    s.add_argument("--size", type=_int_in(32), default=256, help="input height and width, pixels")
    s.add_argument("--num-classes", type=_int_in(1), default=2, help="output channels (1: a sigmoid)")
    s.add_argument("--classes", dest="num_classes", type=_int_in(1), help=argparse.SUPPRESS)  # the old spelling
    s.set_defaults(func=_models)

    s = sub.add_parser("train", help="train from a config, or resume a run folder")
    s.add_argument("config", nargs="?")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config entry, e.g. --set epochs=5 --set data.image_size=[128,128]")
    s.add_argument("--resume", metavar="RUN_DIR")
    s.add_argument("--time-budget-minutes", type=float, metavar="MIN",
                   help="with --resume: the run's new time budget (total training minutes); a run its budget "
                        "stopped goes on, e.g. to its plateau")
    s.set_defaults(func=_train)

    model_help = ("a .keras file, or a preset: 'document' (shipped default: receipts and other paper "
                  "documents) or 'receipt' (receipts only)")
    s = sub.add_parser("evaluate", help="metrics per class and per photo at original resolution")
    s.add_argument("model", help=model_help + " or 'classical'")
    s.add_argument("pairs")
    s.add_argument("-o", "--output", default="experiments/eval", help="output folder")
    s.add_argument("--mask-values", type=_mask_values)
    _void_arguments(s)
    s.set_defaults(func=_evaluate)

    s = sub.add_parser("calibrate", help="choose a binary model's 'no object' score threshold on labelled "
                                         "photos with and without the object (a validation split); "
                                         "written into the model's .keras")
    s.add_argument("model", help=model_help)
    s.add_argument("pairs")
    s.add_argument("-o", "--output", help="write a calibrated copy of the model here (required for a "
                                          "packaged model) instead of calibrating MODEL in place")
    s.add_argument("--max-false-rate", type=_float_in(0.0, 1.0), metavar="SHARE",
                   help="cap the share of empty photos scored at or above the threshold, then keep the most "
                        "objects (default: the best balanced accuracy)")
    s.add_argument("--score-method", choices=SCORE_METHODS,
                   help="how the extraction score is computed, recorded with the threshold: 'fit' (mean "
                        "probability inside the quad x quad-region IoU), 'confident' (share of the quad "
                        "with probability > 0.9); default: the model's own")
    s.add_argument("--mask-values", type=_mask_values)
    s.set_defaults(func=_calibrate)

    s = sub.add_parser("compare", help="several models side by side on the same pairs (Markdown table)")
    s.add_argument("models", nargs="+", metavar="MODEL", help="NAME=PATH, or a path, 'default' or 'classical'")
    s.add_argument("pairs")
    s.add_argument("-o", "--output", default="experiments/compare", help="output folder")
    s.add_argument("--mask-values", type=_mask_values)
    _void_arguments(s)
    s.set_defaults(func=_compare)

    s = sub.add_parser("predict", help="probability, mask, colour and overlay pictures per photo")
    s.add_argument("model", help=model_help)
    s.add_argument("photos", nargs="+", help="photos, folders or glob patterns")
    s.add_argument("-o", "--output", required=True, help="output folder")
    s.add_argument("--batch-size", type=_int_in(1), default=8)
    s.set_defaults(func=_predict)

    s = sub.add_parser("extract", help="find the document (a receipt, a page), write its corners and the flattened document")
    s.add_argument("photos", nargs="+", help="photos, folders or glob patterns")
    s.add_argument("--model", default=DEFAULT_PRESET, help=model_help)
    s.add_argument("-o", "--output", required=True, help="output folder")
    s.add_argument("--threshold", type=_float_in(0.0, 1.0, open_lo=True, open_hi=True), default=0.5,
                   help="probability above which a pixel is the document's, in (0, 1)")
    s.add_argument("--batch-size", type=_int_in(1), default=8)
    s.set_defaults(func=_extract)

    s = sub.add_parser("bench", help="benchmarks that print measured figures",
                       description="Benchmarks that print measured figures:\n" + "\n".join(
                           f"  {name:<8} {line}" for name, line in BENCHMARKS.items()),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("what", nargs="?", default="all", choices=list(BENCHMARKS))
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("-o", "--output", help="also write the figures as JSON here (e.g. experiments/results/bench.json)")
    s.add_argument("--out", dest="output", help=argparse.SUPPRESS)  # the old spelling
    s.set_defaults(func=_bench)

    s = sub.add_parser("demo", help="synthetic data, train the light receipt model, evaluate, extract")
    s.add_argument("--data", default="data/synth")
    s.add_argument("--quick", action="store_true", help="tiny run (seconds), for tests")
    s.set_defaults(func=_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from fcnlib.data import DataError

    try:
        return args.func(args)
    except (DataError, OSError, ValueError) as e:
        print(f"fcn {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
