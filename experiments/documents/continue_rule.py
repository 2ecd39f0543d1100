"""The plateau check's ship rule (experiments/results/shipped_model.md, "A second training cycle"), fixed
before the candidate was trained (`data/continue/RULE.txt`, the same text as in the results; run by
`experiments/documents/second_cycle.sh plateau`): on the
`metrics.json` files of `fcn compare shipped=document cont=CANDIDATE PAIRS -o OUT/SET`,
  1. the mean over the document sets of the mean IoU is at least +0.005 above the shipped model's;
  2. no document set is more than 0.005 below;
  3. on the empty set, at most 5 more false documents.
Prints each check with PASS or FAIL and a table; exit status 0 when all pass, 1 otherwise.

Usage: python experiments/documents/continue_rule.py OUT [--documents SET ...] [--empty SET]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ship_rule import _false, _metrics  # noqa: E402  (one reader of fcn compare's files)

MEAN_GAIN = 0.005  # 1. mean over the document sets
KEEP_LOSS = 0.005  # 2. each document set
FALSE_EXTRA = 5  # 3. of 1000 empty scenes (0.5%)
DOCUMENT_SETS = ("pages", "pages_landscape", "receipts", "receipts_landscape")


def checks(out: Path, documents=DOCUMENT_SETS, empty: str = "empty", shipped: str = "shipped",
           candidate: str = "cont") -> list[tuple[str, bool]]:
    """The three checks as (description, passed)."""
    iou = {(s, k): _metrics(out, s, k)["mean_iou"] for s in documents for k in (shipped, candidate)}
    diffs = {s: iou[s, candidate] - iou[s, shipped] for s in documents}
    mean_gain = sum(diffs.values()) / len(diffs)
    worst = min(diffs, key=diffs.get)
    f_c = _false(_metrics(out, empty, candidate), f"{empty}/{candidate}")
    f_s = _false(_metrics(out, empty, shipped), f"{empty}/{shipped}")
    return [
        (f"1. mean over {len(documents)} document sets: {mean_gain:+.4f} (needs >= +{MEAN_GAIN})",
         mean_gain >= MEAN_GAIN - 1e-12),
        (f"2. worst document set ({worst}): {diffs[worst]:+.4f} (needs >= -{KEEP_LOSS})",
         diffs[worst] >= -KEEP_LOSS - 1e-12),
        (f"3. false documents on {empty}: {f_c} vs {f_s}, {f_c - f_s:+d} (needs <= +{FALSE_EXTRA})",
         f_c - f_s <= FALSE_EXTRA),
    ]


def table(out: Path, documents=DOCUMENT_SETS, empty: str = "empty", shipped: str = "shipped",
          candidate: str = "cont") -> str:
    """Markdown: per set, each model's mean IoU, quad IoU, median worst-corner error, missed and false."""
    lines = ["| set | model | mean IoU | IoU >= 0.9 | quad IoU | worst-corner error (median) | missed | false |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    def fmt(value, digits):
        return "-" if value is None else f"{value:.{digits}f}"

    for s in (*documents, empty):
        for k in (shipped, candidate):
            m = _metrics(out, s, k)
            lines.append(f"| {s} | {k} | {fmt(m.get('mean_iou'), 4)} | {fmt(m.get('share_iou_ge_0_9'), 3)} | "
                         f"{fmt(m.get('mean_quad_iou'), 4)} | {fmt(m.get('median_corner_error'), 4)} | "
                         f"{m.get('missed', '-')} | {m.get('false_receipts', '-')} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--documents", nargs="+", default=list(DOCUMENT_SETS), metavar="SET")
    p.add_argument("--empty", default="empty")
    args = p.parse_args(argv)
    rows = checks(args.out, args.documents, args.empty)
    for text, ok in rows:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    print()
    print(table(args.out, args.documents, args.empty))
    ok = all(passed for _, passed in rows)
    print(f"\ncandidate {'PASSES' if ok else 'FAILS'} the rule: {'it may replace' if ok else 'keep'} the shipped model")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
