"""Architecture ablations: every variant trains with the same data, budget and seed.

`ablate(base, grid, out_dir)` trains one run per variant (a name and its config overrides),
evaluates each on held-out photos at their original resolution and writes `ablation.csv`,
`ablation.md` and `ablation.png` (IoU against GFLOPs) to `out_dir`. `GRID` is the study of
notebook 03: SegNet with true unpooling vs plain upsampling vs U-Net vs FCN-8s, then depth,
width, normalization, dropout and loss within the U-Net family. The same grid runs from the
command line: `python -m fcnlib.study CONFIG OUT_DIR [--quick]`.
"""
from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

from fcnlib import models, train

GRID: dict[str, dict] = {
    "segnet (unpooling)": {"model": "segnet_basic", "model_options": {"base_filters": 16, "kernel_size": 3}},
    "segnet (upsampling)": {"model": "segnet_basic",
                            "model_options": {"base_filters": 16, "kernel_size": 3, "unpooling": "upsample"}},
    "unet": {"model": "unet", "model_options": {"depth": 4, "base_filters": 8}},
    "fcn8s": {"model": "fcn8s", "model_options": {"base_filters": 8, "fc_filters": 64}},
    "unet depth 3": {"model": "unet", "model_options": {"depth": 3, "base_filters": 8}},
    "unet width 16": {"model": "unet", "model_options": {"depth": 4, "base_filters": 16}},
    "unet no norm": {"model": "unet", "model_options": {"depth": 4, "base_filters": 8, "normalization": "none"}},
    "unet LRN": {"model": "unet", "model_options": {"depth": 4, "base_filters": 8, "normalization": "lrn"}},
    "unet dropout 0.2": {"model": "unet", "model_options": {"depth": 4, "base_filters": 8, "dropout": 0.2}},
    "unet loss bce": {"model": "unet", "model_options": {"depth": 4, "base_filters": 8}, "loss": "bce"},
    "unet loss dice": {"model": "unet", "model_options": {"depth": 4, "base_filters": 8}, "loss": "dice"},
    "unet loss focal": {"model": "unet", "model_options": {"depth": 4, "base_filters": 8}, "loss": "focal"},
}
COLUMNS = ["variant", "model", "params", "gflops", "train_s", "epochs", "iou", "bf1", "share_iou_ge_0_9"]


def _variant(base: train.TrainConfig, name: str, overrides: dict) -> train.TrainConfig:
    d = base.to_dict()
    for key, value in overrides.items():
        d[key] = value
    d["name"] = "ablation-" + "".join(c if c.isalnum() else "-" for c in name).strip("-")
    return train.TrainConfig.from_dict(d)


def ablate(base: train.TrainConfig, grid: dict[str, dict], out_dir: str | Path,
           eval_pairs: str | Path | None = None) -> list[dict]:
    """Train and evaluate every variant of `grid` on top of `base`; write the table and the plot.

    Run folders go where `base.output_dir` says (experiments/runs, git-ignored); `out_dir` gets only
    `ablation.csv`, `ablation.md` and `ablation.png`."""
    import keras

    from fcnlib.evaluate import evaluate
    from fcnlib.predict import Predictor

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    eval_pairs = eval_pairs or base.data.test
    h, w = base.data.image_size
    rows = []
    for name, overrides in grid.items():
        cfg = _variant(base, name, overrides)  # runs go to base.output_dir; tables to out_dir
        t = time.perf_counter()
        run = train.train(cfg, verbose=0)
        seconds = time.perf_counter() - t
        model = models.load_model(run / "best.keras")
        model = getattr(model, "network", model)  # a Segmenter: count the network inside
        summary = evaluate(Predictor.load(run / "best.keras"), eval_pairs, run / "eval", worst=0)
        rows.append({"variant": name, "model": cfg.model, "params": model.count_params(),
                     "gflops": round(models.count_flops(model, h, w) / 1e9, 3), "train_s": round(seconds, 1),
                     "epochs": cfg.epochs, "iou": round(summary.get("mean_iou", float("nan")), 4),
                     "bf1": round(summary.get("mean_bf1", float("nan")), 4),
                     "share_iou_ge_0_9": round(summary.get("share_iou_ge_0_9", float("nan")), 3)})
        keras.backend.clear_session()
        print(rows[-1], flush=True)
    write_table(rows, out)
    return rows


# The head of ablation.md: what the table is, and is not.
SMOKE_TEST_NOTE = ("**A smoke test, not a study:** each variant trains for a few epochs with one seed, so no row "
                   "has converged and the ranking below is not a result. Architectures trained towards their "
                   "plateau with several seeds: `experiments/results/camvid.md`.")


def write_table(rows: list[dict], out: Path) -> None:
    """`ablation.csv`, `ablation.md` and `ablation.png` (IoU vs GFLOPs per variant)."""
    from matplotlib.figure import Figure

    with open(out / "ablation.csv", "w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=COLUMNS)
        wr.writeheader()
        wr.writerows(rows)
    lines = [SMOKE_TEST_NOTE, "", "| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(r[c]) for c in COLUMNS) + " |" for r in rows]
    (out / "ablation.md").write_text("\n".join(lines) + "\n")
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for r in rows:
        ax.scatter(r["gflops"], r["iou"])
        ax.annotate(r["variant"], (r["gflops"], r["iou"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel("GFLOPs per image (forward)")
    ax.set_ylabel("mean IoU on held-out photos")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "ablation.png", dpi=100)


QUICK = ["epochs=1", "data.image_size=[64,48]", "data.cache=false", "gallery=0", "early_stopping=0"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m fcnlib.study", description=__doc__.splitlines()[0])
    p.add_argument("config", help="base TrainConfig (YAML/JSON)")
    p.add_argument("out_dir")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--quick", action="store_true", help="one epoch at 64x48: checks the grid runs")
    args = p.parse_args(argv)
    base = train.load_config(args.config, (QUICK if args.quick else []) + args.set)
    ablate(base, GRID, args.out_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
