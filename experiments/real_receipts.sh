#!/usr/bin/env bash
# The shipped model, the same model fine-tuned on part of the real receipts, and the classical
# pipeline, side by side on the real photos of ../shared/data/receipts (never trained on by the
# shipped model). Work files (masks, galleries with the photos) stay in data/ (git-ignored);
# only the tables go to experiments/results/real_receipts.md.
# Usage: bash experiments/real_receipts.sh   (from the repo root, after `make demo` or `make test`)
set -euo pipefail
cd "$(dirname "$0")/.."
FCN=.venv/bin/fcn
R=${RECEIPTS:-../shared/data/receipts}
W=data/real
rm -rf "$W" data/runs-real data/real-eval
$FCN import-quads "$R/images" "$R/corners" -o "$W" --negatives "$R/negatives"
$FCN split "$W/pairs.txt" --val 0.1 --test 0.5 --seed 0
$FCN compare "$W/pairs.txt" shipped=receipt classical=classical -o data/real-eval/all > /dev/null
$FCN train experiments/configs/finetune_real.yaml
RUN=$(ls -td data/runs-real/*/ | head -1)
$FCN compare "$W/test.txt" shipped=receipt "fine-tuned on $(grep -cv "^#" "$W/train.txt") real photos=${RUN}best.keras" \
    classical=classical -o data/real-eval/test > /dev/null
{
  echo "# Real receipts: shipped model vs fine-tuned vs classical pipeline"
  echo
  echo "Measured by \`bash experiments/real_receipts.sh\` on $(date -u +%F), $(nproc) CPU cores ($(uname -m)), no GPU."
  echo "Photos: ../shared/data/receipts (200 receipts, 16 without a receipt, 600x800), scored at their"
  echo "original resolution. Corner error: largest corner distance as a share of the photo diagonal."
  echo
  echo "## All $(grep -cv "^#" "$W/pairs.txt") photos (the shipped model never saw any of them)"
  echo
  cat data/real-eval/all/compare.md
  echo
  echo "## Held-out half ($(grep -cv "^#" "$W/test.txt") photos); fine-tuning used $(grep -cv "^#" "$W/train.txt") others"
  echo
  cat data/real-eval/test/compare.md
} > experiments/results/real_receipts.md
cat experiments/results/real_receipts.md
