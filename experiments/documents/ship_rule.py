"""The documents candidate's ship rule (experiments/results/shipped_model.md, "Documents candidate"),
checked on the `metrics.json` files that `fcn compare shipped=... warm=... PAIRS -o OUT/SET` writes
(OUT/SET/shipped/metrics.json, OUT/SET/warm/metrics.json) for the sets pages, receipts, receipts_old and
empty. Prints each check with PASS or FAIL; exit status 0 when all three pass, 1 otherwise.

Usage: python experiments/documents/ship_rule.py OUT [--shipped NAME] [--candidate NAME]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

PAGES_GAIN = 0.02  # 1. pages: mean IoU at least this much above the shipped model's
RECEIPTS_LOSS = 0.005  # 2. receipts (new and old generator): mean IoU at most this much below
FALSE_EXTRA = 4  # 3. empty scenes: at most this many more false documents (1% of 400)


def _metrics(out: Path, name: str, model: str) -> dict:
    path = out / name / model / "metrics.json"
    if not path.is_file():
        raise SystemExit(f"ship_rule: {path} is missing: run fcn compare on the {name} set first")
    return json.loads(path.read_text())


def _false(m: dict, where: str) -> int:
    """The count of "N of M" false receipts."""
    try:
        return int(str(m["false_receipts"]).split(" of ")[0])
    except (KeyError, ValueError):
        raise SystemExit(f"ship_rule: {where} has no 'false_receipts' count (a set without empty photos?)") from None


def checks(out: Path, shipped: str = "shipped", candidate: str = "warm") -> list[tuple[str, bool]]:
    """The three checks as (description, passed)."""
    m = {(s, k): _metrics(out, s, k) for s in ("pages", "receipts", "receipts_old", "empty")
         for k in (shipped, candidate)}
    gain = m["pages", candidate]["mean_iou"] - m["pages", shipped]["mean_iou"]
    rows = [(f"1. pages: mean IoU {m['pages', candidate]['mean_iou']:.3f} vs {m['pages', shipped]['mean_iou']:.3f}, "
             f"{gain:+.3f} (needs >= +{PAGES_GAIN})", gain >= PAGES_GAIN - 1e-12)]
    for s, label in (("receipts", "new generator"), ("receipts_old", "shipped model's generator")):
        d = m[s, candidate]["mean_iou"] - m[s, shipped]["mean_iou"]
        rows.append((f"2. receipts, {label}: mean IoU {m[s, candidate]['mean_iou']:.3f} vs "
                     f"{m[s, shipped]['mean_iou']:.3f}, {d:+.3f} (needs >= -{RECEIPTS_LOSS})",
                     d >= -RECEIPTS_LOSS - 1e-12))
    f_c = _false(m["empty", candidate], f"empty/{candidate}")
    f_s = _false(m["empty", shipped], f"empty/{shipped}")
    rows.append((f"3. empty scenes: false documents {m['empty', candidate]['false_receipts']} vs "
                 f"{m['empty', shipped]['false_receipts']}, {f_c - f_s:+d} (needs <= +{FALSE_EXTRA})",
                 f_c - f_s <= FALSE_EXTRA))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="folder holding the pages, receipts, receipts_old and empty comparisons")
    p.add_argument("--shipped", default="shipped")
    p.add_argument("--candidate", default="warm")
    args = p.parse_args(argv)
    rows = checks(args.out, args.shipped, args.candidate)
    for text, ok in rows:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    ok = all(passed for _, passed in rows)
    print(f"candidate {'PASSES' if ok else 'FAILS'} the ship rule: "
          f"{'it may replace' if ok else 'keep'} the shipped model")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
