#!/usr/bin/env bash
# A documents candidate's training again with another seed (shuffling and augmentation order; the same
# data, start weights and schedule), scored by the same ship rule: how much of the shipped candidate's
# margin is the luck of one run. Nothing here is chosen: the shipped model stays what the rule chose.
#
#   bash experiments/documents/repeat_seed.sh SEED              # the documents candidate (candidate.sh)
#   bash experiments/documents/repeat_seed.sh SEED landscape    # the landscape candidate (landscape.sh)
#
# Needs the data its candidate script made (training split, calibration photos, the rule's sets and the
# shipped model's scores on them, which are reused: only the new run is scored).
set -euo pipefail
cd "$(dirname "$0")/../.."
SEED=${1:?usage: repeat_seed.sh SEED [documents|landscape]}
KIND=${2:-documents}
FCN=.venv/bin/fcn
PY=.venv/bin/python
case $KIND in
    documents)
        CONFIG=experiments/configs/receipt_documents_warm.yaml; DATA=data/synth_docs; RULE=data/documents-rule
        RUNS=data/runs-docs-seed$SEED; OUT=data/documents-rule-seed$SEED
        SETS="pages receipts receipts_old empty"; RULE_ARGS=() ;;
    landscape)
        CONFIG=experiments/configs/receipt_documents_landscape.yaml; DATA=data/synth_land; RULE=data/landscape-rule
        RUNS=data/runs-land-seed$SEED; OUT=data/landscape-rule-seed$SEED
        SETS="pages_landscape receipts_landscape empty_landscape pages receipts receipts_old empty"
        RULE_ARGS=(--gain pages_landscape receipts_landscape --keep pages receipts receipts_old --empty empty empty_landscape) ;;
    *) echo "repeat_seed.sh: unknown candidate $KIND (documents or landscape)" >&2; exit 2 ;;
esac
for need in "$DATA/train.txt" "${DATA}_cal/calibration.txt"; do
    [ -e "$need" ] || { echo "$need: missing; run the $KIND candidate's script first" >&2; exit 2; }
done
for SET in $SETS; do
    [ -e "$RULE/$SET/shipped/metrics.json" ] || { echo "$RULE/$SET: no scores of the shipped model; run the $KIND candidate's script first" >&2; exit 2; }
done
$FCN train "$CONFIG" --set seed=$SEED --set output_dir=$RUNS
RUN=$(ls -td $RUNS/*/ | head -1)
$FCN calibrate "${RUN}best.keras" "${DATA}_cal/calibration.txt" --max-false-rate 0.01
for SET in $SETS; do
    $FCN compare "warm=${RUN}best.keras" "$RULE/sets/$SET/pairs.txt" -o "$OUT/$SET"
    rm -rf "$OUT/$SET/shipped"
    cp -r "$RULE/$SET/shipped" "$OUT/$SET/shipped"
done
$PY experiments/documents/ship_rule.py "$OUT" "${RULE_ARGS[@]}"
