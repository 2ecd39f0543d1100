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

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _pairs(args) -> int:
    from fcnlib import data

    pairs, photos_only, masks_only = data.make_pairs(args.root)
    out = Path(args.output) if args.output else Path(args.root) / "pairs.txt"
    data.write_pairs(pairs, out)
    print(f"{out}: {len(pairs)} pairs")
    for p in photos_only:
        print(f"{p}: photo without a mask", file=sys.stderr)
    for m in masks_only:
        print(f"{m}: mask without a photo", file=sys.stderr)
    return 0


def _split(args) -> int:
    from fcnlib import data

    files = data.split_pairs(args.pairs, val=args.val, test=args.test, seed=args.seed)
    for name, path in files.items():
        print(f"{name}: {path} ({len(data.read_pairs(path))} pairs)")
    return 0


def _verify(args) -> int:
    from fcnlib.verify import verify

    report = verify(args.pairs, num_classes=args.num_classes, mask_values=args.mask_values)
    print(report.format())
    return 0 if report.ok else 1


def _import_quads(args) -> int:
    from fcnlib import data

    pairs = data.import_quads(args.images, args.corners, args.output, negatives_dir=args.negatives)
    print(f"{pairs}: {len(data.read_pairs(pairs))} pairs")
    return 0


def _synth(args) -> int:
    from fcnlib import synth

    pairs = synth.generate(args.out, n=args.n, seed=args.seed, height=args.height, width=args.width,
                           negatives=args.negatives)
    print(pairs)
    return 0


def _models(args) -> int:
    from fcnlib import models

    print(models.format_table(models.summary_table(size=args.size, num_classes=args.classes)))
    return 0


def _train(args) -> int:
    from fcnlib import train

    if args.resume:
        run = train.resume(args.resume)
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


def _evaluate(args) -> int:
    from fcnlib import evaluate
    from fcnlib.predict import Predictor

    summary = evaluate.evaluate(Predictor.load(args.model), args.pairs, args.output,
                                mask_values=args.mask_values)
    print(json.dumps(summary, indent=2))
    return 0


def _calibrate(args) -> int:
    from fcnlib import evaluate
    from fcnlib.predict import Predictor
    from fcnlib.fileio import atomic_write_text

    path = Path(args.model)
    result = evaluate.calibrate_min_score(Predictor.load(path), args.pairs, mask_values=args.mask_values)
    sidecar = path.with_suffix(".json")
    meta = json.loads(sidecar.read_text()) if sidecar.exists() else {}
    meta["min_score"] = result["min_score"]
    atomic_write_text(sidecar, json.dumps(meta, indent=2))
    print(json.dumps(result, indent=2))
    print(f"{sidecar}: min_score {result['min_score']}")
    return 0


def _compare(args) -> int:
    from fcnlib import evaluate

    models = dict(m.split("=", 1) if "=" in m else (m, m) for m in args.models)
    print(evaluate.compare(models, args.pairs, args.output, mask_values=args.mask_values))
    return 0


def _predict(args) -> int:
    from fcnlib.predict import Predictor, expand_inputs, predict_files

    written = predict_files(Predictor.load(args.model), expand_inputs(args.photos), args.output,
                            batch_size=args.batch_size)
    print(f"{args.output}: outputs for {len(written)} photos")
    return 0


def _extract(args) -> int:
    from fcnlib.predict import Predictor, expand_inputs, extract_files

    results = extract_files(Predictor.load(args.model), expand_inputs(args.photos), args.output,
                            threshold=args.threshold)
    for r in results:
        print(f"{r['photo']}: " + ("no receipt found" if r["corners"] is None else f"receipt, score {r['score']}"))
    return 0


def _bench(args) -> int:
    from fcnlib import bench

    figures = bench.run(args.what, json_only=args.json)
    if args.json:
        print(json.dumps(figures))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"command": "fcn " + " ".join(sys.argv[1:]), **figures}, indent=2))
    return 0


def _demo(args) -> int:
    from fcnlib import demo

    demo.run(args.data, quick=args.quick)
    return 0


def _mask_values(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.replace(",", " ").split())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="fcn", description="Fully convolutional networks for segmentation.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("pairs", help="write the pairs file of a dataset root (original/ + mask/)")
    s.add_argument("root")
    s.add_argument("-o", "--output", help="pairs file (default ROOT/pairs.txt)")
    s.set_defaults(func=_pairs)

    s = sub.add_parser("split", help="split a pairs file into train/val/test files beside it")
    s.add_argument("pairs")
    s.add_argument("--val", type=float, default=0.15)
    s.add_argument("--test", type=float, default=0.15)
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=_split)

    s = sub.add_parser("verify", help="check every pair; report problems and class weights")
    s.add_argument("pairs")
    s.add_argument("--num-classes", type=int)
    s.add_argument("--mask-values", type=_mask_values, help="e.g. '0,255' for 0/255 binary masks")
    s.set_defaults(func=_verify)

    s = sub.add_parser("import-quads", help="photos + four-corner annotations -> dataset root")
    s.add_argument("images")
    s.add_argument("corners")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--negatives", help="folder of photos with no object (all-zero masks)")
    s.set_defaults(func=_import_quads)

    s = sub.add_parser("synth", help="generate synthetic receipt photos with masks")
    s.add_argument("out")
    s.add_argument("--n", type=int, default=500)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--height", type=int, default=800)
    s.add_argument("--width", type=int, default=600)
    s.add_argument("--negatives", type=float, default=0.15, help="share of photos with no receipt")
    s.set_defaults(func=_synth)

    s = sub.add_parser("models", help="table of the models: parameters, GFLOPs, output shape")
    s.add_argument("--size", type=int, default=256)
    s.add_argument("--classes", type=int, default=2)
    s.set_defaults(func=_models)

    s = sub.add_parser("train", help="train from a config, or resume a run folder")
    s.add_argument("config", nargs="?")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config entry, e.g. --set epochs=5 --set data.image_size=[128,128]")
    s.add_argument("--resume", metavar="RUN_DIR")
    s.set_defaults(func=_train)

    s = sub.add_parser("evaluate", help="metrics per class and per photo at original resolution")
    s.add_argument("model", help="a .keras file or 'default'")
    s.add_argument("pairs")
    s.add_argument("-o", "--output", default="experiments/eval")
    s.add_argument("--mask-values", type=_mask_values)
    s.set_defaults(func=_evaluate)

    s = sub.add_parser("calibrate", help="choose a binary model's 'no object' score threshold on labelled "
                                         "photos with and without the object (a validation split); "
                                         "written to the model's .json")
    s.add_argument("model", help="a .keras file")
    s.add_argument("pairs")
    s.add_argument("--mask-values", type=_mask_values)
    s.set_defaults(func=_calibrate)

    s = sub.add_parser("compare", help="several models side by side on the same pairs (Markdown table)")
    s.add_argument("pairs")
    s.add_argument("models", nargs="+", help="NAME=PATH, or a path, 'default' or 'classical'")
    s.add_argument("-o", "--output", default="experiments/compare")
    s.add_argument("--mask-values", type=_mask_values)
    s.set_defaults(func=_compare)

    s = sub.add_parser("predict", help="probability, mask, colour and overlay pictures per photo")
    s.add_argument("model", help="a .keras file or 'default'")
    s.add_argument("photos", nargs="+", help="photos, folders or glob patterns")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--batch-size", type=int, default=8)
    s.set_defaults(func=_predict)

    s = sub.add_parser("extract", help="find the receipt, write its corners and the flattened receipt")
    s.add_argument("photos", nargs="+", help="photos, folders or glob patterns")
    s.add_argument("--model", default="default")
    s.add_argument("-o", "--output", required=True)
    s.add_argument("--threshold", type=float, default=0.5)
    s.set_defaults(func=_extract)

    s = sub.add_parser("bench", help="benchmarks that print figures (data, compute, extract, all)")
    s.add_argument("what", nargs="?", default="all", choices=["data", "compute", "extract", "tflite", "all"])
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--out", help="also write the figures as JSON here (e.g. experiments/results/bench.json)")
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
    except (DataError, FileNotFoundError, ValueError) as e:
        print(f"fcn {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
