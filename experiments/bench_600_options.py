"""Three ways to cut the 600x800 extraction latency, measured against the shipped path (issue 12 §4).

Each option is run against the shipped path in one process on the same synthetic photos (`fcn bench
extract`'s 600x800 photos, seed 5), in alternated rounds so a drifting host affects both alike:
  - the LiteRT interpreter on one thread instead of two;
  - the flattened receipt warped in two bands on two threads instead of one call;
  - the network's input resized by PIL in 8-bit RGB (one call) instead of float planes (three calls).
Prints the median of each, and the stages, and appends a section with -o.

    python experiments/bench_600_options.py [--rounds 4] [-o experiments/results/bench.md]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--work", default="data/bench-600")
    ap.add_argument("-o", "--output", default=None)
    args = ap.parse_args(argv)

    from PIL import Image

    from fcnlib import bench, fileio, postprocess, presets, spec
    from fcnlib.litert import TFLiteRunner
    from fcnlib.predict import Predictor

    photos = bench.extract_photos(Path(args.work), (800, 600), bench.EXTRACT_PHOTOS["600x800"])
    shipped = Predictor.from_preset("document")
    one_thread = Predictor.from_preset("document")
    one_thread.runner = TFLiteRunner(presets.get("document").tflite, num_threads=1)
    band_pixels = postprocess._WARP_BAND_PIXELS
    float_resize = spec._resize_planes

    def rgb_resize(x, size, resample):  # one 8-bit call for an RGB uint8 photo, else the float planes
        if x.dtype != np.uint8 or x.shape[-1] != 3:
            return float_resize(x, size, resample)
        return np.asarray(Image.fromarray(x).resize((int(size[1]), int(size[0])), resample), np.float32)

    options = {  # name: (predictor, band pixels, resize function)
        "shipped path": (shipped, band_pixels, float_resize),
        "interpreter on one thread": (one_thread, band_pixels, float_resize),
        "flattened receipt in two bands": (shipped, 1 << 15, float_resize),
        "network input resized in 8-bit RGB": (shipped, band_pixels, rgb_resize),
    }
    times = {k: [] for k in options}
    stages = {k: {} for k in options}
    for predictor, *_ in options.values():
        postprocess.extract_file(predictor, photos[0])  # warm-up
    try:
        for _ in range(args.rounds):
            for name, (predictor, pixels, resize) in options.items():
                postprocess._WARP_BAND_PIXELS, spec._resize_planes = pixels, resize
                for path in photos:
                    t = time.perf_counter()
                    postprocess.extract_file(predictor, path, timings=stages[name])
                    times[name].append(time.perf_counter() - t)
    finally:
        postprocess._WARP_BAND_PIXELS, spec._resize_planes = band_pixels, float_resize
    lines = [f"## Three ways to cut the 600x800 latency, tried ({time.strftime('%Y-%m-%d %H:%M')})", "",
             f"`python experiments/bench_600_options.py --rounds {args.rounds}`: {len(photos)} synthetic 600x800 photos "
             f"(`fcn bench extract`'s), each option and the shipped path alternated over {args.rounds} rounds in one process.", "",
             "| path | median | stages, mean ms (read / model / quad / refine / flatten) |", "| --- | --- | --- |"]
    for name in options:
        n = len(times[name])
        parts = " / ".join(f"{stages[name].get(s, 0.0) / n * 1e3:.1f}" for s in ("read", "model", "quad", "refine", "flatten"))
        lines.append(f"| {name} | {np.median(times[name]) * 1e3:.1f} ms | {parts} |")
    fileio.report_section(lines, args.output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
