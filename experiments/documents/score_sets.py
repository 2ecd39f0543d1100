"""The document model before and after its score change, on the ship-rule sets of the earlier candidates.

Reporting only (the change was decided by `score_rule.py`): the same weights with the "fit" score and
min_score 0.6525 (the preset before, kept by `score_rule.py`'s procedure as data/score-rule/document_fit.keras:
`git show 0c192df~1:fcnlib/weights/document_unet.keras`) and with the "confident" score and min_score 0.5856
(the preset now), through `fcn compare` on the seven synthetic sets of `landscape.sh` (portrait and
landscape pages and receipts, receipts of the receipt model's generator, 400 empty scenes portrait and 400
landscape). A document the model does not answer counts IoU 0.

    python experiments/documents/score_sets.py [--sets data/landscape-rule/sets] [-o experiments/results/shipped_model.md]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path

SETS = ("pages", "pages_landscape", "receipts", "receipts_landscape", "receipts_old", "empty", "empty_landscape")
BEFORE = "data/score-rule/document_fit.keras"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="data/landscape-rule/sets")
    ap.add_argument("--work", default="data/score-sets")
    ap.add_argument("-o", "--output", default=None)
    args = ap.parse_args(argv)

    from fcnlib import evaluate, fileio
    from fcnlib.spec import read_spec

    if not Path(BEFORE).is_file():
        Path(BEFORE).parent.mkdir(parents=True, exist_ok=True)
        Path(BEFORE).write_bytes(subprocess.run(["git", "show", "0c192df~1:fcnlib/weights/document_unet.keras"],
                                                check=True, capture_output=True).stdout)
    before, now = read_spec(BEFORE), read_spec("fcnlib/weights/document_unet.keras")
    models = {"fit": BEFORE, "confident": "document"}
    t = time.perf_counter()
    rows = []
    for name in SETS:
        pairs = Path(args.sets) / name / "pairs.txt"
        if not pairs.is_file():
            raise SystemExit(f"score_sets: {pairs} is missing: run experiments/documents/landscape.sh first")
        evaluate.compare(models, pairs, Path(args.work) / name)
        m = {k: json.loads((Path(args.work) / name / k / "metrics.json").read_text()) for k in models}
        rows.append(f"| {name} | {m['fit']['photos']} | " + " | ".join(
            f"{m[k]['mean_iou']:.3f} / {m[k]['missed']} / {m[k]['false_receipts']}" for k in models) + " |")
    lines = [f"## The score change on the earlier rule sets (reporting), {time.strftime('%Y-%m-%d')}", "",
             f"`python experiments/documents/score_sets.py` ({time.perf_counter() - t:.0f} s): the same weights with "
             f"score \"{before.score}\", min_score {before.min_score} (before) and score \"{now.score}\", min_score "
             f"{now.min_score} (now), `fcn compare` on the synthetic sets of `landscape.sh` ({args.sets}). Each cell: "
             "mean IoU (a document not answered counts 0) / documents missed / false documents. Reporting only.", "",
             "| set | photos | fit (before) | confident (now) |", "| --- | --- | --- | --- |", *rows]
    fileio.report_section(lines, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
