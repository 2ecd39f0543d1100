"""The CamVid architecture study: each model of experiments/configs/camvid/ trained to its plateau with
several seeds, scored on the validation frames at 360x480 the way the literature scores CamVid.

Every (model, seed) run is one `fcn train` of its config with `seed=S` (early stopping on validation
mIoU ends it), then `fcn evaluate` of its best.keras on SegNet's val.txt. Each finished run is appended
to `OUT/runs.csv` at once, so the study can be stopped and continued (runs already in the file are skipped)
and split over sessions or machines; `--extend MIN` resumes the runs their time budget stopped, with a
larger budget, towards their plateau. `--table` only rebuilds OUT/table.md (mean ± std over seeds) and OUT/plot.png (error bars) from runs.csv.

Usage (from the repository root, with ../shared/data/camvid):
    python experiments/camvid/study.py --models segnet_basic segnet_basic_upsample unet fcn8s unet_vgg16 \
        --seeds 0 1 2 -o experiments/results/camvid
    python experiments/camvid/study.py -o experiments/results/camvid --table
Budget rows: epochs to the plateau, optimizer steps, training wall time, forward GFLOPs per 180x240 frame.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CONFIGS = Path("experiments/configs/camvid")
FIELDS = ["model", "seed", "epochs", "best_epoch", "stopped_by", "steps", "train_minutes", "gflops_per_frame",
          "params", "best_val_miou", "global_accuracy", "class_accuracy", "miou", "bf1", "overrides", "run"]
METRICS = [("global_accuracy", "global acc."), ("class_accuracy", "class avg. acc."), ("miou", "mIoU"),
           ("bf1", "BF1")]


def done_runs(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def run_one(model: str, seed: int, sets: list[str], runs_dir: Path) -> dict:
    from fcnlib import train

    config = train.load_config(CONFIGS / f"{model}.yaml",
                               [f"seed={seed}", f"output_dir={runs_dir}", f"name=camvid-{model}-s{seed}", *sets])
    run = train.train(config, verbose=2)
    return score_run(model, seed, run, " ".join(sets))


def score_run(model: str, seed: int, run: Path, overrides: str) -> dict:
    """The study row of a finished run folder: its budget, why it stopped, and `fcn evaluate` on val."""
    from fcnlib import evaluate, models, predict, train

    config = train.load_config(run / train.CONFIG_FILE)
    state = train.read_state(run)
    history = state["history"]
    predictor = predict.Predictor.load(run / "best.keras")
    net = predictor.model.network if hasattr(predictor.model, "network") else predictor.model
    h, w = config.data.image_size
    val = train.read_split(config, config.data.val)
    summary = evaluate.evaluate(predictor, val, run / "eval_val", dataset=config.data.dataset, worst=0)
    steps_per_epoch = -(-len(train.read_split(config, config.data.train)) // config.batch_size)
    return {"model": model, "seed": seed, "epochs": len(history), "best_epoch": state["best_epoch"] + 1,
            "stopped_by": train.stopped_by(config, state), "steps": len(history) * steps_per_epoch,
            "train_minutes": round(state.get("train_seconds", 0.0) / 60, 2),
            "gflops_per_frame": round(models.count_flops(net, h, w) / 1e9, 2), "params": net.count_params(),
            "best_val_miou": round(max(r[config.monitor] for r in history), 4),
            **{k: round(summary[k], 4) for k, _ in METRICS}, "overrides": overrides, "run": str(run)}


def extend_runs(csv_path: Path, minutes: float, models: list[str], seeds: list[int]) -> None:
    """Runs of runs.csv that their time budget stopped, resumed with `minutes` of budget in all (their
    early-stopping counters carry on), scored again and their rows replaced, one at a time."""
    from fcnlib import train

    for i, row in enumerate(done_runs(csv_path)):
        if row["stopped_by"] != "budget" or row["model"] not in models or int(row["seed"]) not in seeds:
            continue
        run = train.resume(row["run"], verbose=2, time_budget_minutes=minutes)
        rows = done_runs(csv_path)
        rows[i] = score_run(row["model"], int(row["seed"]), run, row["overrides"]
                            + f" (extended: time_budget_minutes={minutes:g})")
        write_rows(csv_path, rows)
        print(json.dumps(rows[i]))


def write_rows(csv_path: Path, rows: list[dict]) -> None:
    """runs.csv rewritten whole and atomically: a stopped study never leaves half a row."""
    from fcnlib.fileio import atomic_write_text

    text = io.StringIO()
    w = csv.DictWriter(text, fieldnames=FIELDS)
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(csv_path, text.getvalue())


def write_table(rows: list[dict], out: Path) -> None:
    import numpy as np

    by_model: dict[str, list[dict]] = {}
    for r in rows:
        by_model.setdefault(r["model"], []).append(r)
    lines = ["# CamVid (11 classes, void ignored): architectures trained towards their plateau, several seeds", "",
             f"Written by `python experiments/camvid/study.py` on {platform.machine()} with {os.cpu_count()} "
             "CPU cores. Validation frames (101) scored at 360x480; mean ± standard deviation over seeds.",
             "Config overrides: " + ("; ".join(sorted({f"{r['model']}: `{r['overrides']}`" for r in rows if r.get("overrides")}))
                                     or "none (each model's config as committed)") + ".", "",
             "A run ends on the plateau when val mIoU has not improved for the config's `early_stopping` epochs, "
             "else on its time budget (not converged: counted in the `plateau` column).", "",
             "| model | seeds | " + " | ".join(n for _, n in METRICS)
             + " | plateau | epochs | best epoch | steps | train min | s/epoch | GFLOPs/frame | params |",
             "| --- | --- | " + " | ".join("---" for _ in METRICS) + " | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for model, rs in by_model.items():
        def ms(key, digits=3):
            v = np.array([float(r[key]) for r in rs])
            return f"{v.mean():.{digits}f} ± {v.std(ddof=1) if len(v) > 1 else 0:.{digits}f}"
        plateau = sum(r.get("stopped_by") == "plateau" for r in rs)
        seconds = np.array([60 * float(r["train_minutes"]) / int(r["epochs"]) for r in rs])
        per_epoch = f"{seconds.mean():.0f} ± {seconds.std(ddof=1) if len(seconds) > 1 else 0:.0f}"
        lines.append(f"| {model} | {len(rs)} | " + " | ".join(ms(k) for k, _ in METRICS)
                     + f" | {plateau} of {len(rs)} | {ms('epochs', 1)} | {ms('best_epoch', 1)} | {ms('steps', 0)} | "
                     f"{ms('train_minutes', 1)} | {per_epoch} | "
                     f"{rs[0]['gflops_per_frame']} | {int(rs[0]['params']):,} |")
    (out / "table.md").write_text("\n".join(lines) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    names = list(by_model)
    for j, (key, label) in enumerate(METRICS):
        vals = [[float(r[key]) for r in by_model[m]] for m in names]
        ax.errorbar(np.arange(len(names)) + 0.15 * (j - 1.5), [np.mean(v) for v in vals],
                    yerr=[np.std(v, ddof=1) if len(v) > 1 else 0 for v in vals], fmt="o", capsize=3, label=label)
    ax.set_xticks(range(len(names)), names, rotation=20)
    ax.set_ylabel("score on val (360x480)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "plot.png", dpi=100)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", nargs="+", default=["segnet_basic", "segnet_basic_upsample", "unet", "fcn8s"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--set", action="append", default=[], help="a config override for every run, key=value")
    ap.add_argument("-o", "--output", default="experiments/results/camvid")
    ap.add_argument("--runs", default="data/camvid-study", help="where the run folders go (git-ignored)")
    ap.add_argument("--table", action="store_true", help="only rebuild the table and the plot from runs.csv")
    ap.add_argument("--extend", type=float, metavar="MIN",
                    help="resume the runs of runs.csv (of --models and --seeds) that their time budget stopped, "
                         "with MIN minutes of budget in all, towards their plateau")
    args = ap.parse_args()
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "runs.csv"
    if args.extend:
        extend_runs(csv_path, args.extend, args.models, args.seeds)
    elif not args.table:
        done = {(r["model"], int(r["seed"])) for r in done_runs(csv_path)}
        for model in args.models:
            for seed in args.seeds:
                if (model, seed) in done:
                    print(f"{model} seed {seed}: in {csv_path}, skipped")
                    continue
                row = run_one(model, seed, args.set, Path(args.runs))
                write_rows(csv_path, [*done_runs(csv_path), row])
                print(json.dumps(row))
    rows = done_runs(csv_path)
    if rows:
        write_table(rows, out)
        print((out / "table.md").read_text())


if __name__ == "__main__":
    main()
