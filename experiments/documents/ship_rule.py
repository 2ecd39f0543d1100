"""The documents candidates' ship rule (experiments/results/shipped_model.md, "Documents candidate" and
"Landscape candidate"), checked on the `metrics.json` files that `fcn compare shipped=... warm=... PAIRS
-o OUT/SET` writes (OUT/SET/shipped/metrics.json, OUT/SET/warm/metrics.json). Three checks: on each
`--gain` set the candidate's mean IoU is at least +0.02 above the shipped model's; on each `--keep` set at
most 0.005 below; on each `--empty` set (empty scenes) at most 4 more false documents. The defaults are the
first documents candidate's sets (gain: pages; keep: receipts, receipts_old; empty: empty). Prints each
check with PASS or FAIL; exit status 0 when all pass, 1 otherwise.

Usage: python experiments/documents/ship_rule.py OUT [--gain SET ...] [--keep SET ...] [--empty SET ...]
                                                     [--shipped NAME] [--candidate NAME]
                                                     [--gain-min X] [--false-extra N]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

GAIN = 0.02  # 1. each gain set: mean IoU at least this much above the shipped model's
KEEP_LOSS = 0.005  # 2. each keep set: mean IoU at most this much below
FALSE_EXTRA = 4  # 3. each set of 400 empty scenes: at most this many more false documents (1%)
DEFAULT_SETS = {"gain": ("pages",), "keep": ("receipts", "receipts_old"), "empty": ("empty",)}
LABELS = {"receipts": "receipts, new generator", "receipts_old": "receipts, shipped model's generator"}


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


def checks(out: Path, shipped: str = "shipped", candidate: str = "warm", gain=DEFAULT_SETS["gain"],
           keep=DEFAULT_SETS["keep"], empty=DEFAULT_SETS["empty"], gain_min: float = GAIN,
           false_extra: int = FALSE_EXTRA) -> list[tuple[str, bool]]:
    """The checks as (description, passed), one per set."""
    m = {(s, k): _metrics(out, s, k) for s in (*gain, *keep, *empty) for k in (shipped, candidate)}
    rows = []
    for s in gain:
        d = m[s, candidate]["mean_iou"] - m[s, shipped]["mean_iou"]
        rows.append((f"1. {LABELS.get(s, s)}: mean IoU {m[s, candidate]['mean_iou']:.3f} vs "
                     f"{m[s, shipped]['mean_iou']:.3f}, {d:+.3f} (needs >= +{gain_min})", d >= gain_min - 1e-12))
    for s in keep:
        d = m[s, candidate]["mean_iou"] - m[s, shipped]["mean_iou"]
        rows.append((f"2. {LABELS.get(s, s)}: mean IoU {m[s, candidate]['mean_iou']:.3f} vs "
                     f"{m[s, shipped]['mean_iou']:.3f}, {d:+.3f} (needs >= -{KEEP_LOSS})", d >= -KEEP_LOSS - 1e-12))
    for s in empty:
        f_c = _false(m[s, candidate], f"{s}/{candidate}")
        f_s = _false(m[s, shipped], f"{s}/{shipped}")
        rows.append((f"3. {s} scenes: false documents {m[s, candidate]['false_receipts']} vs "
                     f"{m[s, shipped]['false_receipts']}, {f_c - f_s:+d} (needs <= +{false_extra})",
                     f_c - f_s <= false_extra))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="folder holding the pages, receipts, receipts_old and empty comparisons")
    p.add_argument("--shipped", default="shipped")
    p.add_argument("--candidate", default="warm")
    for kind, sets in DEFAULT_SETS.items():
        p.add_argument(f"--{kind}", nargs="+", default=list(sets), metavar="SET")
    p.add_argument("--gain-min", type=float, default=GAIN, help=f"check 1's least gain (default {GAIN})")
    p.add_argument("--false-extra", type=int, default=FALSE_EXTRA,
                   help=f"check 3's most extra false documents (default {FALSE_EXTRA})")
    args = p.parse_args(argv)
    rows = checks(args.out, args.shipped, args.candidate, args.gain, args.keep, args.empty,
                  args.gain_min, args.false_extra)
    for text, ok in rows:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    ok = all(passed for _, passed in rows)
    print(f"candidate {'PASSES' if ok else 'FAILS'} the ship rule: "
          f"{'it may replace' if ok else 'keep'} the shipped model")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
