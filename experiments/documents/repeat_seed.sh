#!/usr/bin/env bash
# The documents candidate's training again with another seed (shuffling and augmentation order; the same
# data, start weights and schedule), scored by the same ship rule: how much of the shipped candidate's
# margin is the luck of one run. Needs the data that candidate.sh made (data/synth_docs, the calibration
# scenes and the rule's sets); nothing here is chosen: the shipped model stays what the rule chose.
#
#   bash experiments/documents/repeat_seed.sh SEED
set -euo pipefail
cd "$(dirname "$0")/../.."
SEED=${1:?usage: repeat_seed.sh SEED}
FCN=.venv/bin/fcn
PY=.venv/bin/python
RULE=data/documents-rule
OUT=data/documents-rule-seed$SEED
for need in data/synth_docs/train.txt data/synth_docs_cal/calibration.txt "$RULE/sets/pages/pairs.txt"; do
    [ -e "$need" ] || { echo "$need: missing; run experiments/documents/candidate.sh first" >&2; exit 2; }
done
$FCN train experiments/configs/receipt_documents_warm.yaml --set seed=$SEED --set output_dir=data/runs-docs-seed$SEED
RUN=$(ls -td data/runs-docs-seed$SEED/*/ | head -1)
$FCN calibrate "${RUN}best.keras" data/synth_docs_cal/calibration.txt --max-false-rate 0.01
for SET in pages receipts receipts_old empty; do
    $FCN compare shipped=receipt "warm=${RUN}best.keras" "$RULE/sets/$SET/pairs.txt" -o "$OUT/$SET"
done
$PY experiments/documents/ship_rule.py "$OUT"
