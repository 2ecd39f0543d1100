#!/usr/bin/env bash
# The documents candidate of issue 12, second attempt, as one command: the whole protocol of
# experiments/results/shipped_model.md, "Documents candidate", with the changes its result asked for
# (paper-like look-alikes in the generator, the full 18-epoch schedule from the shipped weights, and a
# min_score that caps false documents instead of maximising balanced accuracy).
#
#   1. training data: the current generator (documents 0.3, negatives 0.15, look-alikes), 3000 photos,
#      seed 1, split 2400 / 300 / 300 with seed 0 (data/synth_docs, rebuilt every run);
#   2. train experiments/configs/receipt_documents_warm.yaml: init from the shipped weights, 18 epochs of
#      150 batches, Adam 1e-3 on a cosine schedule (about 30 minutes on 2 CPU cores);
#   3. recalibrate min_score with `fcn calibrate --max-false-rate 0.01` on the split's validation photos
#      plus 400 more empty scenes (seed 104; no training or rule set uses it), written into the run's
#      best.keras: the validation split alone holds too few empty photos for a 1% cap to mean anything;
#   4. the rule's sets, seeds no training used: pages (seed 102, documents 1.0), receipts (seed 101,
#      documents 0), empty scenes (seed 103, negatives 1.0), and receipts from the generator the shipped
#      model was trained on (main's f5fc7a8: `git archive` of its fcnlib, run from its own folder);
#   5. `fcn compare shipped=receipt warm=RUN/best.keras SET/pairs.txt -o data/documents-rule/SET` per set;
#   6. experiments/documents/ship_rule.py prints the three checks with PASS/FAIL (exit status 1 on FAIL).
#
# "shipped" in this script is the `receipt` preset, the shipped model when it ran (2026-12-02); its
# result shipped as the `document` preset (experiments/documents/package.py).
# The real photos of ../shared are not scored here: only after the decision, once, to report.
# Usage (from anywhere; needs the repo's .venv and git history): bash experiments/documents/candidate.sh
# Work files go to data/ (git-ignored); record the figures in experiments/results/shipped_model.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
FCN=$ROOT/.venv/bin/fcn
PY=$ROOT/.venv/bin/python
D=data/synth_docs
RUNS=data/runs-docs
RULE=data/documents-rule
OLD=f5fc7a8  # the generator the shipped model was trained on
CAP=0.01

echo "== 1. training data"
rm -rf "$D"
$FCN synth "$D" --n 3000 --seed 1
$FCN split "$D/pairs.txt" --val 0.1 --test 0.1 --seed 0

echo "== 2. train (warm start, 18 x 150 batches)"
$FCN train experiments/configs/receipt_documents_warm.yaml
RUN=$(ls -td "$RUNS"/*/ | head -1)
MODEL=${RUN}best.keras
echo "run: $RUN"

echo "== 3. min_score: at most $CAP of the empty photos above it, on val plus 400 empty scenes (seed 104)"
rm -rf data/synth_docs_cal
$FCN synth data/synth_docs_cal --n 400 --seed 104 --negatives 1.0
$PY -c "import sys; from fcnlib import data
data.write_pairs(data.read_pairs(sys.argv[1]) + data.read_pairs(sys.argv[2]), sys.argv[3])" \
    "$D/val.txt" data/synth_docs_cal/pairs.txt data/synth_docs_cal/calibration.txt
$FCN calibrate "$MODEL" data/synth_docs_cal/calibration.txt --max-false-rate "$CAP"

echo "== 4. the rule's sets"
rm -rf "$RULE"
mkdir -p "$RULE/sets"
$FCN synth "$RULE/sets/pages" --n 300 --seed 102 --documents 1.0
$FCN synth "$RULE/sets/receipts" --n 300 --seed 101 --documents 0
$FCN synth "$RULE/sets/empty" --n 400 --seed 103 --negatives 1.0
mkdir -p "$RULE/generator-$OLD"
git archive "$OLD" fcnlib | tar -x -C "$RULE/generator-$OLD"
# from its own folder, `python -m` imports that commit's fcnlib, not this checkout's
(cd "$RULE/generator-$OLD" && $PY -m fcnlib.cli synth "$ROOT/$RULE/sets/receipts_old" --n 300 --seed 101)

echo "== 5. compare"
for SET in pages receipts receipts_old empty; do
    $FCN compare shipped=receipt "warm=$MODEL" "$RULE/sets/$SET/pairs.txt" -o "$RULE/$SET"
done

echo "== 6. the ship rule"
$PY experiments/documents/ship_rule.py "$RULE"
