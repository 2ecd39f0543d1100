#!/usr/bin/env bash
# Issue 11 §5: an fcnlib CamVid config (default: camvid/unet_small.yaml) against the plain keras-io-style
# U-Net (kerasio_unet_baseline.py), trained side by side: both at the same time on this machine, one seed
# each, each with MINUTES of wall time (default 40) and so about half of the machine. Run at once, a change
# in the host's speed over the day falls on both alike (one after the other it would not); the CPU time each
# one got is recorded beside its wall time. Both scored on SegNet's 101 validation frames at 360x480, void
# ignored. Writes experiments/results/camvid/budget_<MINUTES>min_side_by_side.md.
# Usage (repo root, ../shared/data/camvid present): bash experiments/camvid/budget_comparison.sh [MINUTES] [CONFIG]
set -euo pipefail
cd "$(dirname "$0")/../.."
MIN=${1:-40}
CONFIG=${2:-experiments/configs/camvid/unet_small.yaml}
OUT=experiments/results/camvid
RUNS=data/camvid-budget/$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT" "$RUNS"
.venv/bin/fcn train "$CONFIG" --set time_budget_minutes="$MIN" --set output_dir="$RUNS" \
    > "$RUNS/fcnlib_train.log" 2>&1 &
FCNLIB=$!
.venv/bin/python experiments/camvid/kerasio_unet_baseline.py --minutes "$MIN" --seed 0 \
    --json "$RUNS/kerasio.json" > "$RUNS/kerasio.log" 2>&1 &
KERASIO=$!
wait "$FCNLIB"
wait "$KERASIO"
RUN=$(ls -d "$RUNS"/*/ | head -1)
.venv/bin/fcn evaluate "${RUN}best.keras" ../shared/data/camvid/val.txt --root ../shared/data/camvid \
    --dataset experiments/datasets/camvid.yaml -o "$RUNS/eval_fcnlib" > /dev/null
.venv/bin/python - "$RUN" "$RUNS" "$OUT" "$MIN" "$CONFIG" <<'PY'
import json, sys
from pathlib import Path
from fcnlib import train
from fcnlib.fileio import atomic_write_text
run, runs, out, minutes, config_path = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], sys.argv[5]
state, config = train.read_state(run), train.load_config(run / "config.yaml")
ours = json.loads((runs / "eval_fcnlib" / "metrics.json").read_text())
base = json.loads((runs / "kerasio.json").read_text())
options = ", ".join(f"{k} {v}" for k, v in config.model_options.items())
rows = [(f"fcnlib `{config_path}` ({config.model}: {options}; {'x'.join(map(str, config.data.image_size))}; "
         f"stopped by {train.stopped_by(config, state)}, best epoch {state['best_epoch'] + 1})",
         len(state["history"]), state["train_seconds"] / 60, state["train_cpu_seconds"] / 60,
         ours["global_accuracy"], ours["class_accuracy"], ours["miou"]),
        ("keras-io-style U-Net (16 filters, depth 4, 176x240; last epoch's weights)", base["epochs"],
         base["train_minutes"], base["train_cpu_minutes"],
         base["global_accuracy"], base["class_average_accuracy"], base["miou"])]
lines = [f"# CamVid: two U-Nets trained side by side, {minutes} minutes of wall time each, one seed",
         "", "Written by `bash experiments/camvid/budget_comparison.sh " + f"{minutes} {config_path}`: both runs "
         "at the same time on this machine (each got about half of it: the CPU minutes column), nothing else "
         f"running; run folders in `{runs}` (git-ignored). Training minutes include fcnlib's validation pass "
         "after each epoch. Scored on the 101 validation frames at 360x480, void ignored.", "",
         "| model | epochs | training minutes (wall) | CPU minutes | global acc. | class avg. acc. | mIoU |",
         "| --- | --- | --- | --- | --- | --- | --- |"]
lines += [f"| {m} | {e} | {t:.1f} | {c:.1f} | {g:.3f} | {a:.3f} | {i:.3f} |" for m, e, t, c, g, a, i in rows]
atomic_write_text(out / f"budget_{minutes}min_side_by_side.md", "\n".join(lines) + "\n")
print("\n".join(lines))
PY
