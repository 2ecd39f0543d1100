"""The dataset commands of `fcn`, end to end: pairs, split, verify, import-quads, synth."""
from __future__ import annotations

import json

import numpy as np
from PIL import Image

from fcnlib import cli, data


def _root(tmp_path, n=6, mask_scale=1):
    root = tmp_path / "my data"  # spaces in paths, as in the research's own example
    (root / "original").mkdir(parents=True)
    (root / "mask").mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (20, 16, 3), dtype=np.uint8)).save(root / "original" / f"p {i}.jpg")
        m = np.zeros((20, 16), np.uint8)
        m[5:15, 4:12] = mask_scale
        Image.fromarray(m).save(root / "mask" / f"p {i}.png")
    return root


def test_pairs_split_verify(tmp_path, capsys):
    root = _root(tmp_path)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(root / "mask" / "orphan.png")
    assert cli.main(["pairs", str(root), "-o", str(root / "pairs.txt")]) == 0
    captured = capsys.readouterr()
    assert "6 pairs" in captured.out and "orphan.png: mask without a photo" in captured.err
    assert "\t" in (root / "pairs.txt").read_text()
    assert cli.main(["split", str(root / "pairs.txt"), "--val", "0.2", "--test", "0.2", "--seed", "0"]) == 0
    splits = [data.read_pairs(root / f"{s}.txt") for s in ("train", "val", "test")]
    photos = [p for split in splits for p, _ in split]
    assert len(photos) == len(set(photos)) == 6
    assert cli.main(["verify", str(root / "pairs.txt"), "--num-classes", "2"]) == 0


def test_verify_fails_on_255_masks_and_names_the_file(tmp_path, capsys):
    root = _root(tmp_path, mask_scale=255)
    cli.main(["pairs", str(root)])
    capsys.readouterr()
    assert cli.main(["verify", str(root / "pairs.txt"), "--num-classes", "2"]) == 1
    out = capsys.readouterr().out
    assert "p 0.png" in out and "mask_values" in out
    assert cli.main(["verify", str(root / "pairs.txt"), "--num-classes", "2", "--mask-values", "0,255"]) == 0


def test_import_quads_and_synth(tmp_path, capsys):
    images, corners, neg = tmp_path / "img", tmp_path / "cor", tmp_path / "neg"
    for d in (images, corners, neg):
        d.mkdir()
    Image.fromarray(np.zeros((40, 30, 3), np.uint8)).save(images / "r1.jpg")
    Image.fromarray(np.zeros((40, 30, 3), np.uint8)).save(neg / "n1.jpg")
    (corners / "r1.txt").write_text("5,5,25,5,5,35,25,35\n")  # TL, TR, BL, BR
    assert cli.main(["import-quads", str(images), str(corners), "-o", str(tmp_path / "ds"),
                     "--negatives", str(neg)]) == 0
    pairs = data.read_pairs(tmp_path / "ds" / "pairs.txt")
    masks = {p.stem: data.read_mask(m) for p, m in pairs}
    assert masks["r1"].sum() == 20 * 30 and masks["n1"].sum() == 0
    kept = {s: json.loads((tmp_path / "ds" / "corners" / f"{s}.json").read_text())["corners"] for s in ("r1", "n1")}
    assert kept == {"r1": [[5, 5], [25, 5], [25, 35], [5, 35]], "n1": None}  # clockwise from top-left
    assert cli.main(["synth", str(tmp_path / "s"), "--n", "3", "--height", "80", "--width", "60"]) == 0
    assert len(data.read_pairs(tmp_path / "s" / "pairs.txt")) == 3


def test_missing_pairs_file_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["split", str(tmp_path / "nope.txt")]) == 2
    assert "nope.txt" in capsys.readouterr().err
