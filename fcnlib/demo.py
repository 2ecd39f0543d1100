"""`make demo`: from nothing to a trained receipt model, its scores and a few extracted receipts.

Generates the synthetic dataset when absent, splits it, trains the light receipt model of
`experiments/configs/demo.yaml`, evaluates it on the synthetic test split and extracts a few
receipts. `quick=True` shrinks everything to seconds, for tests.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from fcnlib import data, synth, train
from fcnlib.outputs import extract_files
from fcnlib.predict import Predictor

CONFIG = Path("experiments/configs/demo.yaml")


def run(data_dir: str | Path = "data/synth", quick: bool = False, runs_dir: str | Path | None = None) -> Path:
    """Run the demo; returns the run folder. Prints where every output is."""
    t0 = time.time()
    root = Path(data_dir)
    if not (root / "pairs.txt").exists():
        synth.generate(root, n=24 if quick else 600, seed=0)
    if not (root / "train.txt").exists():
        data.split_pairs(root / "pairs.txt", val=0.15, test=0.15, seed=0)
    overrides = [f"data.{s}={root / (s + '.txt')}" for s in ("train", "val", "test")]
    if quick:
        overrides += ["epochs=1", "data.image_size=[64,64]", "model_options={base_filters: 4, depth: 2}",
                      "gallery=2", "data.cache=false"]
    if runs_dir:
        overrides.append(f"output_dir={runs_dir}")
    config = train.load_config(CONFIG, overrides)
    run_dir = train.train(config, verbose=2)
    model = run_dir / "best.keras"
    predictor = Predictor.load(model)
    test_pairs = data.read_pairs(root / "test.txt")
    from fcnlib.evaluate import evaluate

    summary = evaluate(predictor, test_pairs, run_dir / "eval")
    receipts = extract_files(predictor, [p for p, _ in test_pairs[:4]], run_dir / "receipts")
    print("\n== fcnlib demo ==")
    print(f"data:        {root} ({len(data.read_pairs(root / 'pairs.txt'))} synthetic photos)")
    print(f"run folder:  {run_dir}  (config.yaml, history.csv, best.keras, curves.png, gallery.png)")
    print(f"test split:  mean IoU {summary.get('mean_iou', float('nan')):.3f}, "
          f"photos with IoU >= 0.9: {summary.get('share_iou_ge_0_9', float('nan')):.0%}  "
          f"-> {run_dir / 'eval'}")
    print(f"receipts:    {sum(r['corners'] is not None for r in receipts)} of {len(receipts)} found "
          f"-> {run_dir / 'receipts'}")
    print(f"time:        {time.time() - t0:.0f} s")
    (run_dir / "demo.json").write_text(json.dumps({"summary": summary, "receipts": receipts}, indent=2))
    return run_dir
