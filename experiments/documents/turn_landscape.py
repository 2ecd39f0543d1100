"""Would turning a landscape photo to portrait before the network help? (issue 12, left open before.)

The network's input is 192x144 (portrait, stretched), so a landscape photo reaches it squeezed 1.78 times
across; since the landscape update the model has seen such photos in training. The alternative is to turn
a landscape photo a quarter before the network and turn the answer back. This scores both on fresh
synthetic landscape photos (receipts and pages, half framed wide with the paper upright, half a portrait
photo turned: `fcn synth --landscape 1.0`, no empty photos): the mask IoU of `Predictor.extract` on the
photo as it is and on the photo turned a quarter clockwise and counter-clockwise (IoU does not change
under the turn, so the turned mask is compared with the turned truth). Synthetic data only; nothing ships
from it unless turning wins.

    python experiments/documents/turn_landscape.py [--preset document] [--n 300] [-o experiments/results/shipped_model.md]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

TURNS = {"as it is": 0, "turned clockwise": -1, "turned counter-clockwise": 1}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="document")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=142)
    ap.add_argument("--work", default="data/turn-landscape")
    ap.add_argument("-o", "--output", default=None)
    args = ap.parse_args(argv)

    from fcnlib import data, fileio, metrics, synth
    from fcnlib.predict import Predictor

    folder = Path(args.work) / f"landscape_s{args.seed}_n{args.n}"
    if not (folder / "pairs.txt").is_file():
        synth.generate(folder, n=args.n, seed=args.seed, negatives=0.0, documents=0.5, landscape=1.0, progress=False)
    predictor = Predictor.load(args.preset)
    t = time.perf_counter()
    ious = {name: [] for name in TURNS}
    kinds = []
    for photo_path, mask_path in data.read_pairs(folder / "pairs.txt"):
        photo, truth = data.read_image(photo_path), data.read_mask(mask_path) > 0
        kinds.append("page" if "document" in synth_kind(photo_path) else "receipt")
        for name, k in TURNS.items():
            found = predictor.extract([np.ascontiguousarray(np.rot90(photo, k))])[0]
            turned_truth = np.rot90(truth, k)
            ious[name].append(metrics.mask_iou(turned_truth, found.mask if found.corners is not None
                                               else np.zeros_like(turned_truth)))
    kinds = np.array(kinds)
    lines = [f"## Turning landscape photos before the network (reporting), {time.strftime('%Y-%m-%d')}", "",
             f"`python experiments/documents/turn_landscape.py --preset {args.preset} --n {args.n} --seed {args.seed}` "
             f"({time.perf_counter() - t:.0f} s): {args.n} synthetic photos framed landscape (`--landscape 1.0 "
             "--documents 0.5 --negatives 0`), `Predictor.extract` on each as it is and turned a quarter either way; "
             "mean mask IoU (a photo not answered counts 0) and the share at IoU >= 0.9.", "",
             "| photo given to the network | all | receipts | pages | IoU >= 0.9 |", "| --- | --- | --- | --- | --- |"]
    for name, values in ious.items():
        v = np.array(values)
        lines.append(f"| {name} | {v.mean():.4f} | {v[kinds == 'receipt'].mean():.4f} | {v[kinds == 'page'].mean():.4f} "
                     f"| {np.mean(v >= 0.9):.1%} |")
    fileio.report_section(lines, args.output)
    return 0


def synth_kind(photo_path) -> str:
    """The `kind` the generator wrote in the photo's corners JSON ("receipt" or "document")."""
    import json

    info = Path(photo_path).parent.parent / "corners" / (Path(photo_path).stem + ".json")
    return json.loads(info.read_text()).get("kind", "?")


if __name__ == "__main__":
    raise SystemExit(main())
