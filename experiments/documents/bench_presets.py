"""Extraction latency of the two presets, alternated in one process (`fcnlib.bench.extract_latency`):
the host's speed drifts over the day, so a model is compared with another only side by side.

    python experiments/documents/bench_presets.py
"""
from __future__ import annotations

import tempfile
from pathlib import Path


def main() -> int:
    from fcnlib import bench

    tmp = Path(tempfile.mkdtemp())
    folders = {"600x800": bench.extract_photos(tmp / "a", (800, 600), 48)[0].parent,
               "12MP": bench.extract_photos(tmp / "b", (4000, 3000), 20)[0].parent}
    for rnd in range(2):
        for preset in ("receipt", "document"):
            for row, folder in folders.items():
                r = bench.extract_latency(folder, repeats=1 if row == "12MP" else 2, preset=preset)
                print(rnd, preset, row, f"median {r['ms_median']:.1f} ms p95 {r['ms_p95']:.1f} found {r['found']}/{r['runs']}",
                      {k: round(v, 1) for k, v in r["stage_ms_median"].items()}, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
