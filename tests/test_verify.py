"""Tests of fcnlib.verify: each bad input is reported as "path: problem"; class weights are exact."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import save_image as save
from PIL import Image

from fcnlib import data
from fcnlib.verify import verify



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


# ---------------------------------------------------------------------------- issue 14 and 11


def labelled(folder: Path, name: str, labels) -> tuple[Path, Path]:
    labels = np.asarray(labels, np.uint8)
    shade = 40 + sum(name.encode()) % 200
    return (save(folder / "original" / f"{name}.png", np.full(labels.shape + (3,), shade, np.uint8)),
            save(folder / "mask" / f"{name}.png", labels))


def test_median_frequency_weights_leave_void_out(tmp_path):
    # a: 6 px of class 0, 2 of class 1, 4 void; b: 3 of class 1, 6 of class 2, 3 void
    a = labelled(tmp_path, "a", [[0, 0, 0, 11], [0, 0, 0, 11], [1, 1, 11, 11]])
    b = labelled(tmp_path, "b", [[1, 1, 1, 11], [2, 2, 2, 11], [2, 2, 2, 11]])
    report = verify([a, b], num_classes=3, ignore_index=11)
    assert report.ok, report.problems
    assert report.class_pixels == [6, 5, 6] and report.class_images == [1, 2, 1] and report.void_pixels == 7
    # freq_c = pixels of c / non-void pixels of the images holding c: 6/8, 5/(8+9), 6/9
    freq = np.array([6 / 8, 5 / 17, 6 / 9])
    assert report.class_frequency == pytest.approx(freq)
    assert report.class_weights == pytest.approx(np.median(freq) / freq)
    assert "void: not counted, weight 0" in report.format()
    without = verify([a, b], num_classes=3)
    assert not without.ok and "mask values 11 are outside the classes 0..2" in without.format()


def test_255_borders_without_num_classes_are_not_256_classes(tmp_path):
    border = np.full((6, 6), 255, np.uint8)
    border[1:5, 1:5] = 0
    border[2:4, 2:4] = 2
    pairs = [labelled(tmp_path, "a", border), labelled(tmp_path, "b", np.where(border == 2, 1, border))]
    report = verify(pairs)
    assert not report.ok and report.num_classes == 3  # not 256
    assert any(p == "dataset" and "looks like void/borders" in m and "--ignore-index 255" in m
               for p, m in report.problems)
    fixed = verify(pairs, ignore_index=255)
    assert fixed.ok and fixed.num_classes == 3 and fixed.void_pixels == 2 * 20
    assert any("classes inferred from the masks: 0..2" in m for _, m in fixed.notes)


def test_value_hints_fit_the_class_count(tmp_path):
    row = np.array([[0, 1, 2, 255]], np.uint8).repeat(4, axis=0)
    voc = labelled(tmp_path, "voc", row)
    report = verify([voc], num_classes=3)
    message = dict(report.problems)[str(voc[1])]
    assert "mask values 255 are outside the classes 0..2" in message and "ignore_index=255" in message
    assert "(0, 255)" not in message and "0/255" not in message
    spread = labelled(tmp_path, "spread", np.array([[0, 127, 255, 0]], np.uint8).repeat(4, axis=0))
    message = dict(verify([spread], num_classes=3).problems)[str(spread[1])]
    assert "mask_values=(0,127,255)" in message and "0/255" not in message
    binary = labelled(tmp_path, "binary", np.array([[0, 255, 0, 0]], np.uint8).repeat(4, axis=0))
    assert "mask_values=(0, 255)" in dict(verify([binary], num_classes=1).problems)[str(binary[1])]


def test_16bit_mask_and_truncated_jpeg_name_file_and_problem(tmp_path):
    photo = save(tmp_path / "original" / "p.png", np.zeros((8, 8, 3), np.uint8))
    m16 = save(tmp_path / "mask" / "m16.png", (np.eye(8) * 65535).astype(np.uint16))
    full = save(tmp_path / "original" / "full.jpg", np.random.default_rng(1).integers(0, 255, (64, 64, 3), np.uint8))
    cut = tmp_path / "original" / "cut.jpg"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    ok_mask = save(tmp_path / "mask" / "cut.png", np.zeros((64, 64), np.uint8))
    report = verify([(photo, m16), (cut, ok_mask)], num_classes=1)
    expect(report, m16, r"16-bit mask with values 0/65535")
    expect(report, cut, r"photo file is truncated")


def test_extreme_class_weights_are_warned_about(tmp_path):
    rare = np.zeros((40, 40), np.uint8)
    rare[:2, :2] = 2  # 4 pixels of class 2
    rare[20:, :] = 1
    pairs = [labelled(tmp_path, f"i{k}", rare if k == 0 else np.where(rare == 2, 0, rare)) for k in range(3)]
    report = verify(pairs, num_classes=3)
    assert report.ok and report.class_weights[2] > 50
    assert [m.split(" gets")[0] for _, m in report.warnings] == ["class 2"]
    assert "4 pixels in 1 images" in report.format() and "1 warnings:" in report.format()
    assert verify(pairs[1:], num_classes=2).warnings == []


def test_verify_cli_folder_root_ignore_index_and_class_names(tmp_path, capsys):
    from fcnlib import cli

    a = labelled(tmp_path / "ds", "a", [[0, 0, 1, 11], [0, 1, 1, 11]])
    b = labelled(tmp_path / "ds", "b", [[1, 1, 0, 0], [11, 11, 0, 0]])
    assert cli.main(["verify", str(tmp_path / "ds")]) == 1
    out = capsys.readouterr().out
    assert "is a folder, not a pairs file: write one with `fcn pairs" in out
    # a SegNet-style list of another machine, re-rooted, with a dataset.yaml beside it
    f = tmp_path / "ds" / "train.txt"
    f.write_text("".join(f"/home/seg/ds/original/{n}.png /home/seg/ds/mask/{n}.png\n" for n in "ab"))
    (tmp_path / "ds" / "dataset.yaml").write_text("classes: [road, car]\nignore_index: 11\n")
    assert cli.main(["verify", str(f)]) == 1
    assert "--root" in capsys.readouterr().out
    assert cli.main(["verify", str(f), "--root", str(tmp_path / "ds"), "--num-classes", "1"]) == 0
    out = capsys.readouterr().out
    assert "road" in out and "car" in out and "void: not counted" in out and "OK: ready for training" in out
    assert cli.main(["verify", str(f), "--root", f"/home/seg={tmp_path}", "--ignore-index", "11"]) == 0


@pytest.mark.slow
def test_camvid_as_shipped_verifies_with_void_left_out(camvid_dir):
    import time

    camvid = camvid_dir
    start = time.perf_counter()
    reports = [verify(camvid / f"{split}.txt", num_classes=11, ignore_index=11, root=camvid) for split in ("train", "val")]
    seconds = time.perf_counter() - start
    assert [r.pairs for r in reports] == [367, 101] and all(r.ok for r in reports), reports[0].problems[:3]
    train = reports[0]
    assert len(train.class_weights) == 11 and train.void_pixels > 0 and min(train.class_images) > 0
    assert train.class_weights[3] < 1 < train.class_weights[2]  # road is common, pole is rare
    assert seconds < 120


def test_check_split_files_raises_naming_the_file(tmp_path):
    from fcnlib.verify import check_split_files

    good = labelled(tmp_path, "good", [[0, 1], [1, 0]])
    bad = labelled(tmp_path, "bad", [[0, 1], [3, 0]])
    assert check_split_files([good], num_classes=1).class_pixels == [2, 2]
    with pytest.raises(data.DataError, match=r"bad\.png: mask values 3 are outside the classes 0\.\.1"):
        check_split_files([good, bad], num_classes=1)
