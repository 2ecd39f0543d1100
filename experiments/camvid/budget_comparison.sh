#!/usr/bin/env bash
# Issue 11 §5: fcnlib's CamVid U-Net config against the plain keras-io-style U-Net, the same wall-time
# budget of training each (MINUTES, default 20), one after the other on this machine, one seed each.
# Both are scored on SegNet's 101 validation frames at 360x480, void ignored.
# Usage (repo root, ../shared/data/camvid present): bash experiments/camvid/budget_comparison.sh [MINUTES]
set -euo pipefail
cd "$(dirname "$0")/../.."
MIN=${1:-20}
OUT=experiments/results/camvid
RUNS=data/camvid-budget
mkdir -p "$OUT" "$RUNS"
.venv/bin/fcn train experiments/configs/camvid/unet.yaml --set time_budget_minutes="$MIN" \
    --set output_dir="$RUNS" --set name=camvid-unet-budget > "$RUNS/fcnlib_train.log" 2>&1
RUN=$(ls -td "$RUNS"/camvid-unet-budget-*/ | head -1)
.venv/bin/fcn evaluate "${RUN}best.keras" ../shared/data/camvid/val.txt --root ../shared/data/camvid \
    --dataset experiments/datasets/camvid.yaml -o "$RUNS/eval_fcnlib" > /dev/null
.venv/bin/python experiments/camvid/kerasio_unet_baseline.py --minutes "$MIN" --seed 0 \
    --json "$RUNS/kerasio.json" > "$RUNS/kerasio.log" 2>&1
.venv/bin/python - "$RUN" "$RUNS" "$OUT" "$MIN" <<'PY'
import json, sys
from pathlib import Path
run, runs, out, minutes = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
state = json.loads((run / "state.json").read_text())
ours = json.loads((runs / "eval_fcnlib" / "metrics.json").read_text())
base = json.loads((runs / "kerasio.json").read_text())
rows = [("fcnlib `camvid/unet.yaml` (U-Net depth 4, 32 filters, 180x240)", len(state["history"]),
         state.get("train_seconds", 0) / 60, ours["global_accuracy"], ours["class_accuracy"], ours["miou"]),
        ("keras-io-style U-Net (16 filters, depth 4, 176x240)", base["epochs"], base["train_minutes"],
         base["global_accuracy"], base["class_average_accuracy"], base["miou"])]
lines = [f"# CamVid: {minutes} minutes of training each, one seed, on this machine",
         "", "Written by `bash experiments/camvid/budget_comparison.sh`: the two runs one after the other, "
         "nothing else running; scored on the 101 validation frames at 360x480, void ignored.", "",
         "| model | epochs | training minutes | global acc. | class avg. acc. | mIoU |", "| --- | --- | --- | --- | --- | --- |"]
lines += [f"| {m} | {e} | {t:.1f} | {g:.3f} | {c:.3f} | {i:.3f} |" for m, e, t, g, c, i in rows]
(out / "budget_20min.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
