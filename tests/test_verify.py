"""Tests of fcnlib.verify: each bad input is reported as "path: problem"; class weights are exact."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fcnlib import data
from fcnlib.verify import verify


def save(path: Path, arr, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(arr)).save(path, **kw)
    return path


def good_pair(folder: Path, name: str, h=10, w=10, ones=25):
    mask = np.zeros((h, w), np.uint8)
    mask.flat[:ones] = 1
    shade = 40 + sum(name.encode()) % 200  # photos of different names differ (identical ones are one photo)
    return (save(folder / "original" / f"{name}.png", np.full((h, w, 3), shade, np.uint8)),
            save(folder / "mask" / f"{name}.png", mask))


def test_clean_dataset_and_median_frequency_weights(tmp_path):
    pairs = [good_pair(tmp_path, "a", ones=25), good_pair(tmp_path, "b", ones=0)]
    f = data.write_pairs(pairs, tmp_path / "pairs.txt")
    report = verify(f, num_classes=2)
    assert report.ok and report.problems == [] and report.pairs == 2
    assert report.class_pixels == [175, 25] and report.class_images == [2, 1]
    # freq_0 = 175 / 200, freq_1 = 25 / 100 (only images where class 1 occurs); w = median / freq
    assert report.class_frequency == pytest.approx([0.875, 0.25])
    assert report.class_weights == pytest.approx([0.5625 / 0.875, 0.5625 / 0.25])
    text = report.format()
    assert "2 pairs checked" in text and "OK: ready for training" in text
    assert verify(f).class_weights == pytest.approx(report.class_weights)  # classes inferred


def expect(report, path, pattern):
    import re

    hits = [m for p, m in report.problems if Path(p).name == Path(path).name and re.search(pattern, m)]
    assert hits, f"no problem for {path} matching {pattern!r} in {report.problems}"
    assert f"{path}: " in report.format()


def test_every_bad_input_is_named(tmp_path):
    h, w = 12, 16
    ok_photo, ok_mask = good_pair(tmp_path, "ok", h, w)
    photo = np.full((h, w, 3), 90, np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[3:9, 4:12] = 1
    pairs = [(ok_photo, ok_mask)]

    def add(name, photo_path=None, mask_path=None):
        pairs.append((photo_path or save(tmp_path / "original" / f"{name}.png", photo),
                      mask_path or save(tmp_path / "mask" / f"{name}.png", mask)))
        return pairs[-1]

    vis = add("vis", mask_path=save(tmp_path / "mask" / "vis.png", mask * 255))
    smooth = Image.fromarray(mask * 255).resize((w * 4, h * 4), Image.BILINEAR).resize((w, h), Image.BICUBIC)
    noisy = np.clip(np.asarray(smooth).astype(int) + np.random.default_rng(0).integers(-40, 40, (h, w)), 0, 255)
    jpegish = add("jpegish", mask_path=save(tmp_path / "mask" / "jpegish.png", noisy.astype(np.uint8)))
    jpg = add("jpgmask", mask_path=save(tmp_path / "mask" / "jpgmask.jpg", mask * 255))
    size = add("size", mask_path=save(tmp_path / "mask" / "size.png", np.zeros((h, w + 2), np.uint8)))
    rgb = add("rgb", mask_path=save(tmp_path / "mask" / "rgb.png", np.dstack([mask] * 3)))
    three = add("three", mask_path=save(tmp_path / "mask" / "three.png", mask * 3))
    missing = add("missing", mask_path=tmp_path / "mask" / "missing.png")
    full = save(tmp_path / "original" / "full.jpg", np.random.default_rng(1).integers(0, 255, (64, 64, 3), np.uint8))
    cut = tmp_path / "original" / "cut.jpg"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    trunc = add("cut", photo_path=cut, mask_path=save(tmp_path / "mask" / "cut.png", np.zeros((64, 64), np.uint8)))
    junk = tmp_path / "original" / "junk.png"
    junk.write_bytes(b"garbage" * 20)
    add("junk", photo_path=junk)
    # EXIF-rotated photo: a note when the mask matches the upright photo, an error when it matches the raw
    raw = Image.fromarray(np.full((w, h, 3), 90, np.uint8))  # raw pixels are w x h (turned)
    exif = raw.getexif()
    exif[0x0112] = 6
    raw.save(tmp_path / "original" / "rot.jpg", exif=exif.tobytes())
    rot_ok = add("rot", photo_path=tmp_path / "original" / "rot.jpg")
    rot_bad = add("rotbad", photo_path=tmp_path / "original" / "rot.jpg",
                  mask_path=save(tmp_path / "mask" / "rotbad.png", np.zeros((w, h), np.uint8)))

    report = verify(pairs, num_classes=2)
    assert not report.ok
    expect(report, vis[1], r"looks like a 0/255 visual mask; pass mask_values=\(0, 255\)")
    expect(report, jpegish[1], r"looks JPEG-compressed")
    expect(report, jpg[1], r"mask is a JPEG")
    expect(report, size[1], r"mask is 18x12 but its photo size\.png is 16x12")
    expect(report, rgb[1], r"mask has 3 channels")
    expect(report, three[1], r"mask values 3 are outside the classes 0\.\.1")
    expect(report, missing[1], r"mask file not found")
    expect(report, trunc[0], r"photo file is truncated")
    expect(report, junk, r"cannot read photo")
    expect(report, rot_bad[1], r"matches the photo's raw pixels before its EXIF orientation 6")
    assert any(Path(p) == rot_ok[0] and "EXIF orientation 6: pixels are read upright" in m for p, m in report.notes)
    assert not any(Path(p).name in ("ok.png", "rot.png") for p, _ in report.problems)
    assert "NOT OK" in report.format()

    fixed = verify([vis], num_classes=2, mask_values=(0, 255))
    assert fixed.ok and fixed.class_pixels == [h * w - 48, 48]
    assert not verify([vis]).ok  # without num_classes a 0/255 mask is still flagged
    assert verify([three]).ok  # values 0/3 are fine when the classes are not known


def test_malformed_pairs_file_is_a_problem_not_a_crash(tmp_path):
    f = tmp_path / "pairs.txt"
    f.write_text("a b c\n")
    report = verify(f)
    assert not report.ok and report.problems[0][0].endswith("pairs.txt:1")
    assert "cannot split" in report.format()
