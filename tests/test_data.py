"""Tests of fcnlib.data: reading photos/masks, pairs files, splits, quad import, resizing, the pipeline."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from helpers import save_image as save
from PIL import Image

from fcnlib import data
from fcnlib.data import DataError
from fcnlib.geometry import polygon_area



def upright_photo(h=40, w=60) -> np.ndarray:
    """A photo whose four quadrants have distinct colours, so any rotation or flip is visible."""
    img = np.zeros((h, w, 3), np.uint8)
    img[: h // 2, : w // 2] = (255, 0, 0)
    img[: h // 2, w // 2:] = (0, 255, 0)
    img[h // 2:, : w // 2] = (0, 0, 255)
    img[h // 2:, w // 2:] = (255, 255, 0)
    return img


def save_rotated(path: Path, upright: np.ndarray, orientation: int = 6, **kw) -> Path:
    """Save the raw pixels a phone would store for ``upright`` with EXIF orientation 6 (90 deg cw)."""
    assert orientation == 6
    raw = np.rot90(upright, 1)  # the camera's sensor view: upright turned 90 deg counter-clockwise
    im = Image.fromarray(np.ascontiguousarray(raw))
    exif = im.getexif()
    exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, exif=exif.tobytes(), **kw)
    return path


def make_root(tmp_path: Path, n=4, h=32, w=48, name="ds") -> Path:
    """A dataset root with n JPEG photos and {0,1} PNG masks (a rectangle)."""
    root = tmp_path / name
    rng = np.random.default_rng(0)
    for i in range(n):
        mask = np.zeros((h, w), np.uint8)
        mask[h // 4: 3 * h // 4, w // 4 + i: 3 * w // 4] = 1
        photo = (rng.random((h, w, 3)) * 60 + mask[..., None] * 150).astype(np.uint8)
        save(root / "original" / f"img {i}.jpg", photo, quality=95)
        save(root / "mask" / f"img {i}.png", mask)
    return root


# ---------------------------------------------------------------------------- read_image / read_mask


def test_read_image_modes(tmp_path):
    rgb = upright_photo()
    assert np.array_equal(data.read_image(save(tmp_path / "rgb.png", rgb)), rgb)
    gray = data.read_image(save(tmp_path / "gray.png", rgb[..., 0]))
    assert gray.shape == (40, 60, 3) and gray.dtype == np.uint8 and np.array_equal(gray[..., 1], rgb[..., 0])
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])
    assert np.array_equal(data.read_image(save(tmp_path / "rgba.png", rgba)), rgb)
    pal = Image.fromarray(rgb).convert("P")
    pal.save(tmp_path / "pal.png")
    assert data.read_image(tmp_path / "pal.png").shape == (40, 60, 3)
    assert data.read_image(save(tmp_path / "a.bmp", rgb)).shape == (40, 60, 3)


def test_read_image_bad_files(tmp_path):
    with pytest.raises(DataError, match=r"nope\.jpg: photo file not found"):
        data.read_image(tmp_path / "nope.jpg")
    (tmp_path / "junk.jpg").write_bytes(b"this is not a jpeg at all" * 10)
    with pytest.raises(DataError, match=r"junk\.jpg: cannot read photo"):
        data.read_image(tmp_path / "junk.jpg")
    full = save(tmp_path / "full.jpg", np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8))
    (tmp_path / "cut.jpg").write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(DataError, match=r"cut\.jpg: photo file is truncated"):
        data.read_image(tmp_path / "cut.jpg")


def test_exif_rotated_photo_is_read_upright(tmp_path):
    up = upright_photo()
    png = save_rotated(tmp_path / "rot.png", up)
    jpg = save_rotated(tmp_path / "rot.jpg", up, quality=95)
    assert data.exif_orientation(png) == 6 and data.exif_orientation(jpg) == 6
    assert data.exif_orientation(save(tmp_path / "plain.png", up)) == 1
    assert np.array_equal(data.read_image(png), up)
    got = data.read_image(jpg).astype(int)
    assert got.shape == up.shape and np.abs(got - up).mean() < 8


def test_orientation_tf_matches_pil_for_all_8(tmp_path):
    import tensorflow as tf

    orient = tf.function(data._orient_tf, input_signature=[tf.TensorSpec([None, None, 3], tf.uint8),
                                                             tf.TensorSpec([], tf.int32)])
    arr = np.random.default_rng(1).integers(0, 255, (5, 7, 3), np.uint8)
    for o in range(1, 9):
        im = Image.fromarray(arr)
        exif = im.getexif()
        exif[0x0112] = o
        im.save(tmp_path / f"o{o}.png", exif=exif.tobytes())
        expected = data.read_image(tmp_path / f"o{o}.png")
        assert np.array_equal(orient(arr, o).numpy(), expected), o


def test_open_image_reduced_turns_all_8_orientations_as_pil_does(tmp_path):
    # the photo is turned upright in place (no copy when it already is): the same pixels as PIL's
    # exif_transpose of the decoded (or box-reduced) image, for JPEG and PNG, at full and reduced size
    from PIL import ImageOps

    arr = np.random.default_rng(2).integers(0, 255, (48, 64, 3), np.uint8)
    for o in range(1, 9):
        for ext in ("png", "jpg"):
            im = Image.fromarray(arr)
            exif = im.getexif()
            exif[0x0112] = o
            path = tmp_path / f"o{o}.{ext}"
            im.save(path, exif=exif.tobytes())
            for long_side, scale in ((None, 1), (32, 2), (16, 4)):
                got = data.open_image_reduced(path, long_side)
                ref = Image.open(path)
                if scale > 1 and ext == "jpg":
                    ref.draft("RGB", (64 // scale, 48 // scale))
                want = ImageOps.exif_transpose(ref).convert("RGB")
                if scale > 1 and ext == "png":
                    want = want.reduce(scale)
                assert got.scale == scale and got.size == ((48, 64) if o < 5 else (64, 48)), (o, ext, long_side)
                assert np.array_equal(np.asarray(got.image), np.asarray(want)), (o, ext, long_side)


def test_read_mask_modes_and_values(tmp_path):
    m = np.array([[0, 1, 2], [2, 1, 0]], np.uint8)
    assert np.array_equal(data.read_mask(save(tmp_path / "l.png", m)), m)
    pal = Image.fromarray(m, "L").convert("P")
    pal.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
    pal.save(tmp_path / "p.png")
    assert np.array_equal(data.read_mask(tmp_path / "p.png"), m)  # palette index = class
    Image.fromarray(m.astype(bool)).save(tmp_path / "one.png")
    assert np.array_equal(data.read_mask(tmp_path / "one.png"), (m > 0).astype(np.uint8))
    vis = save(tmp_path / "vis.png", (m > 0).astype(np.uint8) * 255)
    assert np.array_equal(data.read_mask(vis, mask_values=(0, 255)), (m > 0).astype(np.uint8))
    with pytest.raises(DataError, match=r"l\.png: mask values 2 .*not in mask_values=\(0, 1\)"):
        data.read_mask(tmp_path / "l.png", mask_values=(0, 1))
    Image.fromarray(np.array([[0, 300]], np.uint16)).save(tmp_path / "i.png")
    with pytest.raises(DataError, match=r"i\.png: mask values range 0\.\.300"):
        data.read_mask(tmp_path / "i.png")
    with pytest.raises(DataError, match="expected distinct integers"):
        data.read_mask(tmp_path / "l.png", mask_values=(0, 0))


def test_read_mask_rejects_rgb_and_jpeg(tmp_path):
    m = (np.arange(48).reshape(6, 8) % 2).astype(np.uint8)
    rgb = save(tmp_path / "rgb.png", np.dstack([m, m, m]))
    with pytest.raises(DataError, match=r"rgb\.png: mask has 3 channels .*channels are equal"):
        data.read_mask(rgb)
    color = save(tmp_path / "color.png", np.dstack([m, 1 - m, m]))
    with pytest.raises(DataError, match=r"color\.png: mask has 3 channels \(mode RGB\); expected a single"):
        data.read_mask(color)
    jpg = save(tmp_path / "m.jpg", m * 255)
    with pytest.raises(DataError, match=r"m\.jpg: mask is a JPEG"):
        data.read_mask(jpg)
    with pytest.raises(DataError, match=r"missing\.png: mask file not found"):
        data.read_mask(tmp_path / "missing.png")


def test_looks_jpeg_mask_values_named(tmp_path):
    noisy = np.clip(np.random.default_rng(0).normal(128, 80, (20, 20)), 0, 255).astype(np.uint8)
    path = save(tmp_path / "noisy.png", noisy)
    with pytest.raises(DataError, match=r"noisy\.png: .*look JPEG-compressed"):
        data.read_mask(path, mask_values=(0, 255))


# ---------------------------------------------------------------------------- pairs files


def test_read_pairs_formats(tmp_path, monkeypatch):
    folder = tmp_path / "my data"
    folder.mkdir()
    f = folder / "pairs.txt"
    f.write_text("# comment\n\noriginal/a b.jpg\tmask/a b.png\n  x.jpg   y.png  \n/abs/p.jpg\t/abs/m.png\n")
    monkeypatch.chdir(tmp_path)  # relative paths resolve against the pairs file, not the cwd
    pairs = data.read_pairs(Path("my data/pairs.txt"))
    assert pairs[0] == (folder.absolute() / "original/a b.jpg", folder.absolute() / "mask/a b.png")
    assert pairs[1] == (folder.absolute() / "x.jpg", folder.absolute() / "y.png")
    assert pairs[2] == (Path("/abs/p.jpg"), Path("/abs/m.png"))


@pytest.mark.parametrize("line, message", [
    ("a b.jpg c.png", r"pairs\.txt:3: cannot split .*\(3 whitespace-separated parts\).*TAB"),
    ("a.jpg\tb.png\tc.png", r"pairs\.txt:3: expected 'photo<TAB>mask', found 3 TAB-separated"),
    ("lonely.jpg", r"pairs\.txt:3: cannot split"),
])
def test_read_pairs_malformed_lines(tmp_path, line, message):
    f = tmp_path / "pairs.txt"
    f.write_text(f"# header\nok.jpg\tok.png\n{line}\n")
    with pytest.raises(DataError, match=message):
        data.read_pairs(f)


def test_read_pairs_missing_and_empty(tmp_path):
    with pytest.raises(DataError, match=r"none\.txt: pairs file not found"):
        data.read_pairs(tmp_path / "none.txt")
    (tmp_path / "empty.txt").write_text("# nothing\n\n")
    with pytest.raises(DataError, match=r"empty\.txt: pairs file holds no pairs"):
        data.read_pairs(tmp_path / "empty.txt")


def test_write_pairs_round_trip_with_spaces(tmp_path):
    pairs = [(tmp_path / "orig inal" / "a 1.jpg", tmp_path / "mask" / "a 1.png"),
             (tmp_path / "x.jpg", tmp_path / "sub" / "x.png")]
    f = data.write_pairs(pairs, tmp_path / "lists" / "pairs.txt")
    assert "\t../orig inal/a 1.jpg" not in f.read_text() and "../orig inal/a 1.jpg\t../mask/a 1.png" in f.read_text()
    assert [tuple(Path(p).resolve() for p in pr) for pr in data.read_pairs(f)] == \
        [tuple(p.resolve() for p in pr) for pr in pairs]
    with pytest.raises(DataError, match="TAB"):
        data.write_pairs([(tmp_path / "a\tb.jpg", tmp_path / "m.png")], tmp_path / "bad.txt")


def test_make_pairs_matches_stems(tmp_path):
    root = make_root(tmp_path, n=2)
    save(root / "original" / "lonely.jpg", np.zeros((4, 4, 3), np.uint8))
    save(root / "mask" / "orphan.png", np.zeros((4, 4), np.uint8))
    (root / "original" / "notes.txt").write_text("not an image")
    pairs, no_mask, no_photo = data.make_pairs(root)
    assert [(p.name, m.name) for p, m in pairs] == [("img 0.jpg", "img 0.png"), ("img 1.jpg", "img 1.png")]
    assert [p.name for p in no_mask] == ["lonely.jpg"] and [p.name for p in no_photo] == ["orphan.png"]
    save(root / "original" / "img 0.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(DataError, match=r"img 0\.png: two files with stem 'img 0'"):
        data.make_pairs(root)
    with pytest.raises(DataError, match=r"empty/original: folder not found"):
        data.make_pairs(tmp_path / "empty")


def test_split_pairs_deterministic_disjoint_resolvable(tmp_path):
    root = tmp_path / "d"
    pairs = [(root / "original" / f"p{i}.jpg", root / "mask" / f"p{i}.png") for i in range(20)]
    pairs.append(pairs[3])  # a photo listed twice stays in one split
    f = data.write_pairs(pairs, tmp_path / "lists" / "pairs.txt")
    out = data.split_pairs(f, val=0.2, test=0.1, seed=3)
    assert {k: v.name for k, v in out.items()} == {"train": "train.txt", "val": "val.txt", "test": "test.txt"}
    assert all(v.parent == f.parent for v in out.values())
    splits = {k: data.read_pairs(v) for k, v in out.items()}
    photos = {k: {p for p, _ in v} for k, v in splits.items()}
    assert len(photos["val"]) == 4 and len(photos["test"]) == 2 and len(photos["train"]) == 14
    assert not (photos["train"] & photos["val"] or photos["train"] & photos["test"] or photos["val"] & photos["test"])
    assert sum(len(v) for v in splits.values()) == 21
    assert all(p.parent == (root / "original").absolute() for v in photos.values() for p in v)
    first = {k: v.read_text() for k, v in out.items()}
    again = {k: v.read_text() for k, v in data.split_pairs(f, val=0.2, test=0.1, seed=3, force=True).items()}
    assert again == first
    other = data.split_pairs(f, val=0.2, test=0.1, seed=4, force=True)
    assert other["val"].read_text() != again["val"]
    with pytest.raises(ValueError, match="sum to less than 1"):
        data.split_pairs(f, val=0.6, test=0.5)


# ---------------------------------------------------------------------------- import_quads



def test_import_quads_txt_json_and_negatives(tmp_path):
    images, corners, negs = tmp_path / "images", tmp_path / "corners", tmp_path / "neg"
    save(images / "r 1.jpg", np.full((80, 60, 3), 90, np.uint8))
    save(images / "r2.png", np.full((80, 60, 3), 90, np.uint8))
    save(negs / "empty.jpg", np.full((50, 70, 3), 90, np.uint8))
    corners.mkdir()
    (corners / "r 1.txt").write_text("10,10,50,12,8,70,52,68\n")  # TL, TR, BL, BR
    (corners / "r2.json").write_text(json.dumps({"corners": [[10, 10], [50, 12], [52, 68], [8, 70]]}))
    pairs_file = data.import_quads(images, corners, tmp_path / "out", negs)
    pairs = data.read_pairs(pairs_file)
    assert sorted(p.name for p, _ in pairs) == ["empty.jpg", "r 1.jpg", "r2.png"]
    masks = {p.stem: data.read_mask(m) for p, m in pairs}
    area = polygon_area([[10, 10], [50, 12], [52, 68], [8, 70]])
    for stem in ("r 1", "r2"):
        assert masks[stem].shape == (80, 60) and set(np.unique(masks[stem])) == {0, 1}
        assert abs(masks[stem].sum() - area) / area < 0.05  # a bow-tie (wrong order) would be far off
        assert masks[stem][40, 30] == 1 and masks[stem][2, 2] == 0
    assert np.array_equal(masks["r 1"], masks["r2"])
    assert masks["empty"].shape == (50, 70) and masks["empty"].max() == 0
    assert (tmp_path / "out" / "original" / "r 1.jpg").read_bytes() == (images / "r 1.jpg").read_bytes()


def test_import_quads_bad_annotations(tmp_path):
    images, corners = tmp_path / "images", tmp_path / "corners"
    save(images / "a.jpg", np.zeros((20, 20, 3), np.uint8))
    corners.mkdir()
    with pytest.raises(DataError, match=r"a\.jpg: no corners file a\.txt or a\.json"):
        data.import_quads(images, corners, tmp_path / "out")
    (corners / "a.txt").write_text("1,2,3,4,5,6,7\n")
    with pytest.raises(DataError, match=r"a\.txt: expected eight numbers.*found 7"):
        data.import_quads(images, corners, tmp_path / "out")
    (corners / "a.txt").write_text("1,2,x,4,5,6,7,8\n")
    with pytest.raises(DataError, match=r"a\.txt: expected eight numbers"):
        data.import_quads(images, corners, tmp_path / "out")
    (corners / "a.txt").unlink()
    (corners / "a.json").write_text('{"corners": [[1, 2], [3, 4]]}')
    with pytest.raises(DataError, match=r"a\.json: expected 4 \[x, y\] corners"):
        data.import_quads(images, corners, tmp_path / "out")


def test_polygon_mask_area_matches_polygon_area():
    quad = np.array([[30.5, 20.2], [170.1, 35.7], [160.3, 180.9], [25.2, 150.4]])
    mask = data.polygon_mask(quad, 200, 200)
    assert abs(mask.sum() - polygon_area(quad)) / polygon_area(quad) < 0.01
    assert data.polygon_mask(None, 3, 4).shape == (3, 4)


# ---------------------------------------------------------------------------- resizing


def test_resize_image_stretch_and_pad_and_back():
    img = upright_photo(40, 60)
    out, place = data.resize_image(img, (32, 32), "stretch")
    assert out.shape == (32, 32, 3) and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    assert (place.top, place.left, place.height, place.width) == (0, 0, 32, 32)
    out, place = data.resize_image(img, (32, 32), "pad")
    assert (place.top, place.left, place.height, place.width) == (5, 0, 21, 32)
    assert out[:5].max() == 0 and out[27:].max() == 0
    back = place.to_original(out)
    assert back.shape == (40, 60, 3) and np.abs(back - img / 255).mean() < 0.05
    ids = np.zeros((32, 32), np.int32)
    ids[5:26, 16:] = 1
    mask_back = place.to_original(ids)
    assert mask_back.shape == (40, 60) and mask_back.dtype == np.int32 and set(np.unique(mask_back)) == {0, 1}
    assert mask_back[:, 31:].min() == 1 and mask_back[:, :29].max() == 0
    with pytest.raises(ValueError, match="resize policy"):
        data.resize_image(img, (32, 32), "crop")


# ---------------------------------------------------------------------------- make_dataset


def test_make_dataset_shapes_values_and_weights(tmp_path):
    root = make_root(tmp_path, n=3, h=33, w=47)  # odd size
    pairs = data.make_pairs(root)[0]
    ds = data.make_dataset(pairs, (24, 32), 2, class_weights=[0.5, 2.0])
    batches = list(ds)
    assert [b[0].shape[0] for b in batches] == [2, 1]
    x, m, w = batches[0]
    assert x.dtype.name == "float32" and x.shape == (2, 24, 32, 3) and 0 <= float(x.numpy().min())
    assert float(x.numpy().max()) <= 1 and m.dtype.name == "int32" and m.shape == (2, 24, 32, 1)
    assert set(np.unique(m.numpy())) == {0, 1}
    assert np.array_equal(w.numpy(), np.where(m.numpy() == 1, 2.0, 0.5).astype(np.float32))
    # masks agree with the photos (bright where mask 1) and with a nearest-neighbour resize of the file
    assert x.numpy()[m.numpy()[..., 0] == 1].mean() > x.numpy()[m.numpy()[..., 0] == 0].mean() + 0.3
    expected = np.array(Image.open(pairs[0][1]).resize((32, 24), Image.NEAREST))
    assert (m.numpy()[0, ..., 0] != expected).mean() < 0.05


def test_make_dataset_pad_policy_and_pairs_file_with_spaces(tmp_path):
    root = make_root(tmp_path, n=2, h=33, w=47, name="my data")
    f = data.write_pairs(data.make_pairs(root)[0], root / "pairs list.txt")
    x, m = next(iter(data.make_dataset(f, (32, 32), 2, resize="pad")))
    _, place = data.resize_image(np.zeros((33, 47, 3), np.uint8), (32, 32), "pad")
    assert place.top > 0 and x.numpy()[:, : place.top].max() == 0 and m.numpy()[:, : place.top].max() == 0
    assert m.numpy().max() == 1


def test_make_dataset_exif_rotated_photo_upright(tmp_path):
    up = upright_photo(40, 60)
    photo = save_rotated(tmp_path / "original" / "r.jpg", up, quality=95)
    mask = save(tmp_path / "mask" / "r.png", (up[..., 1] > 128).astype(np.uint8))  # drawn on upright
    x, m = next(iter(data.make_dataset([(photo, mask)], (40, 60), 1)))
    assert np.abs(x.numpy()[0] * 255 - up).mean() < 8
    assert (m.numpy()[0, ..., 0] == (up[..., 1] > 128)).all()


def test_make_dataset_reduced_jpeg_decode_matches_full_decode(tmp_path):
    # a 600x800 phone photo (EXIF-rotated) for a 192x144 model decodes at 1/4 in libjpeg: same
    # picture within a gray level or two, mask exact, odd sizes included
    rng = np.random.default_rng(0)
    for (h, w), size, scale in [((800, 600), (192, 144), 4), ((799, 601), (192, 144), 4), ((300, 200), (192, 144), 1)]:
        up = (upright_photo(h, w) * 0.7 + rng.normal(0, 8, (h, w, 3)) + 30).clip(0, 255).astype(np.uint8)
        photo = save_rotated(tmp_path / f"original/r{h}.jpg", up, quality=95)
        mask = save(tmp_path / f"mask/r{h}.png", (up[..., 1] > 128).astype(np.uint8))
        info = data.check_pairs([(photo, mask)])[0]
        assert data.jpeg_scale(info, *size) == scale
        x, m = next(iter(data.make_dataset([(photo, mask)], size, 1)))
        full, _ = data.resize_image(data.read_image(photo), size)
        assert np.abs(x.numpy()[0] - full).mean() * 255 < 2.0
        expect = tf.image.resize((up[..., 1:2] > 128).astype(np.uint8), size, "nearest").numpy()
        assert np.array_equal(m.numpy()[0], expect.astype(np.int32))


def test_make_dataset_decodes_gray_rgba_palette_bmp_and_palette_mask(tmp_path):
    up = upright_photo(16, 16)
    m = (up[..., 0] > 128).astype(np.uint8)
    photos = [save(tmp_path / "g.png", up[..., 0]), save(tmp_path / "a.png", np.dstack([up, m * 255])),
              save(tmp_path / "b.bmp", up)]
    Image.fromarray(up).convert("P").save(tmp_path / "p.png")
    photos.append(tmp_path / "p.png")
    pal = Image.fromarray(m, "L").convert("P")
    pal.putpalette([0, 0, 0, 200, 50, 10] + [0] * 762)
    pal.save(tmp_path / "mask_p.png")
    pairs = [(p, tmp_path / "mask_p.png") for p in photos]
    x, masks = next(iter(data.make_dataset(pairs, (16, 16), 4)))
    for i, p in enumerate(photos):
        assert np.abs(x.numpy()[i] * 255 - data.read_image(p)).max() <= 1, p
        assert np.array_equal(masks.numpy()[i, ..., 0], m)


def test_make_dataset_header_errors_name_the_file(tmp_path):
    root = make_root(tmp_path, n=1, h=32, w=48)
    photo, mask = data.make_pairs(root)[0][0]
    wrong = save(tmp_path / "wrong.png", np.zeros((30, 48), np.uint8))
    with pytest.raises(DataError, match=r"wrong\.png: mask is 48x30 but its photo img 0\.jpg is 48x32"):
        data.make_dataset([(photo, wrong)], (16, 16), 1)
    rgb = save(tmp_path / "rgb.png", np.zeros((32, 48, 3), np.uint8))
    with pytest.raises(DataError, match=r"rgb\.png: mask has 3 channels"):
        data.make_dataset([(photo, rgb)], (16, 16), 1)
    jpg = save(tmp_path / "m.jpg", np.zeros((32, 48), np.uint8))
    with pytest.raises(DataError, match=r"m\.jpg: mask is a JPEG"):
        data.make_dataset([(photo, jpg)], (16, 16), 1)
    with pytest.raises(DataError, match=r"gone\.jpg: photo file not found \(and 1 more problems"):
        data.make_dataset([(tmp_path / "gone.jpg", mask), (photo, rgb)], (16, 16), 1)
    # the classic phone mistake: mask drawn on the raw (un-rotated) pixels of an EXIF-rotated photo
    rotated = save_rotated(tmp_path / "rot.jpg", upright_photo(40, 60))
    raw_mask = save(tmp_path / "raw.png", np.zeros((60, 40), np.uint8))
    with pytest.raises(DataError, match=r"raw\.png: mask is 40x60 .* 60x40 \(upright\); it matches the photo's raw"):
        data.make_dataset([(rotated, raw_mask)], (16, 16), 1)


def test_make_dataset_value_checks_in_graph(tmp_path):
    import tensorflow as tf

    root = make_root(tmp_path, n=1)
    photo, mask = data.make_pairs(root)[0][0]
    vis = save(tmp_path / "vis.png", data.read_mask(mask) * 255)
    x, m = next(iter(data.make_dataset([(photo, vis)], (16, 16), 1, mask_values=(0, 255))))
    assert set(np.unique(m.numpy())) == {0, 1}
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"vis\.png.*outside the classes"):
        next(iter(data.make_dataset([(photo, vis)], (16, 16), 1, num_classes=2)))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"img 0\.png.*not in mask_values"):
        next(iter(data.make_dataset([(photo, mask)], (16, 16), 1, mask_values=(0, 255))))


def test_make_dataset_shuffle_repeat_reproducible(tmp_path):
    root = make_root(tmp_path, n=4)
    pairs = data.make_pairs(root)[0]

    def order(seed, cache=False):
        ds = data.make_dataset(pairs, (8, 8), 1, shuffle=True, repeat=True, seed=seed, cache=cache)
        return [float(b[0].numpy()[0, :, :, 0].mean() + b[1].numpy().sum()) for b in ds.take(8)]

    a = order(0)
    assert a == order(0) and a != order(1)
    assert sorted(a[:4]) == sorted(a[4:])  # each epoch holds every photo once
    assert a[:4] != a[4:]  # reshuffled each epoch
    c = order(0, cache=True)
    assert sorted(c[:4]) == sorted(a[:4])


# ---------------------------------------------------------------------------- issue 14 and 11, data side


def distinct_root(tmp_path: Path, n=12, h=16, w=20, name="ds") -> tuple[Path, list]:
    """A dataset root of n PNG photos that all differ (random) with {0, 1} masks; returns (root, pairs)."""
    root = tmp_path / name
    rng = np.random.default_rng(7)
    pairs = []
    for i in range(n):
        mask = (rng.random((h, w)) > 0.5).astype(np.uint8)
        pairs.append((save(root / "original" / f"p{i:02d}.png", rng.integers(0, 255, (h, w, 3), np.uint8)),
                      save(root / "mask" / f"p{i:02d}.png", mask)))
    return root, pairs


def test_split_never_overwrites_or_deletes_split_files(tmp_path, capsys):
    from fcnlib import cli

    root, pairs = distinct_root(tmp_path)
    f = data.write_pairs(pairs, root / "pairs.txt")
    first = {k: v.read_text() for k, v in data.split_pairs(f, val=0.2, test=0.2, seed=0).items()}
    assert {k: v.read_text() for k, v in data.split_pairs(f, val=0.2, test=0.2, seed=0).items()} == first  # same again
    with pytest.raises(DataError, match=r"train\.txt: already exists .*--force"):
        data.split_pairs(f, val=0.2, test=0.2, seed=1)
    assert {k: (root / f"{k}.txt").read_text() for k in first} == first  # untouched by the refusal
    assert cli.main(["split", str(f), "--seed", "1"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert cli.main(["split", str(f), "--val", "0.2", "--test", "0.2", "--seed", "1", "--force"]) == 0
    assert {k: (root / f"{k}.txt").read_text() for k in first} != first  # --force overwrites
    # a hand-curated test.txt survives a split that writes no test split (--test 0), even with --force
    (root / "train.txt").unlink(), (root / "val.txt").unlink()
    rest, curated = pairs[:9], pairs[9:]
    data.write_pairs(rest, f)
    data.write_pairs(curated, root / "test.txt")
    hand = (root / "test.txt").read_text()
    assert cli.main(["split", str(f), "--val", "0.25", "--test", "0", "--force"]) == 0
    assert (root / "test.txt").read_text() == hand
    assert "test.txt exists and is left as it is" in capsys.readouterr().out
    # ... but one that lists photos of the new splits is refused, not silently kept
    data.write_pairs(pairs[:2], root / "test.txt")
    with pytest.raises(DataError, match=r"test\.txt: exists and is left as it is .* lists .*p00\.png"):
        data.split_pairs(f, val=0.25, test=0.0, force=True)
    assert (root / "test.txt").exists()


def test_pairs_command_never_overwrites_pairs_file(tmp_path, capsys):
    from fcnlib import cli

    root, _ = distinct_root(tmp_path, n=3)
    (root / "pairs.txt").write_text("# hand-made\n")
    assert cli.main(["pairs", str(root)]) == 2
    assert "pairs.txt: already exists" in capsys.readouterr().err
    assert (root / "pairs.txt").read_text() == "# hand-made\n"
    assert cli.main(["pairs", str(root), "--force"]) == 0 and len(data.read_pairs(root / "pairs.txt")) == 3


def test_import_quads_never_overwrites(tmp_path):
    images, corners = tmp_path / "img", tmp_path / "cor"
    save(images / "r1.jpg", np.zeros((40, 30, 3), np.uint8))
    corners.mkdir()
    (corners / "r1.txt").write_text("5,5,25,5,5,35,25,35\n")
    data.import_quads(images, corners, tmp_path / "ds")
    (tmp_path / "ds" / "mask" / "r1.png").write_bytes(b"edited by hand")
    with pytest.raises(DataError, match=r"already exists .*--force"):
        data.import_quads(images, corners, tmp_path / "ds")
    assert (tmp_path / "ds" / "mask" / "r1.png").read_bytes() == b"edited by hand"
    data.import_quads(images, corners, tmp_path / "ds", force=True)
    assert data.read_mask(tmp_path / "ds" / "mask" / "r1.png").sum() == 20 * 30


def test_16bit_gray_photo_reads_like_the_pipeline(tmp_path):
    gray = (np.arange(12 * 16).reshape(12, 16) * 341 % 65536).astype(np.uint16)
    path = save(tmp_path / "g16.png", gray)
    assert Image.open(path).mode.startswith("I;16")
    img = data.read_image(path)
    assert img.dtype == np.uint8 and img.shape == (12, 16, 3)
    assert np.array_equal(img[..., 0], (gray >> 8).astype(np.uint8)) and img.max() < 255 < gray.max()
    mask = save(tmp_path / "m.png", np.zeros((12, 16), np.uint8))
    x, _ = next(iter(data.make_dataset([(path, mask)], (12, 16), 1)))
    assert np.abs(x.numpy()[0] * 255 - img).max() < 1.01


def test_split_keeps_copies_and_links_of_a_photo_together(tmp_path):
    import shutil

    root, pairs = distinct_root(tmp_path, n=12)
    copy = root / "original" / "copy of p00.png"
    shutil.copyfile(pairs[0][0], copy)
    link = root / "original" / "link to p01.png"
    link.symlink_to(pairs[1][0])
    mask_copy = save(root / "mask" / "copy of p00.png", data.read_mask(pairs[0][1]))  # same labels, own file
    listed = pairs + [(copy, mask_copy), (link, pairs[1][1])]
    f = data.write_pairs(listed, root / "pairs.txt")
    groups = data.same_photo_groups(data.read_pairs(f))
    assert sorted(len(g) for g in groups) == [1] * 10 + [2, 2]
    for seed in range(6):
        out = data.split_pairs(f, val=0.3, test=0.3, seed=seed, force=True)
        where = {p.name: k for k, v in out.items() for p, _ in data.read_pairs(v)}
        assert where["copy of p00.png"] == where["p00.png"] and where["link to p01.png"] == where["p01.png"]


def test_one_photo_with_two_different_masks_is_an_error(tmp_path):
    from fcnlib.verify import verify

    root, pairs = distinct_root(tmp_path, n=6)
    other = save(root / "mask" / "other.png", 1 - data.read_mask(pairs[0][1]))
    copy = root / "original" / "copy.png"
    copy.write_bytes(pairs[2][0].read_bytes())
    for extra in [(pairs[0][0], other), (copy, other)]:
        f = data.write_pairs(pairs + [extra], root / "pairs.txt")
        with pytest.raises(DataError, match="with two different masks"):
            data.split_pairs(f, force=True)
        report = verify(f, num_classes=1)
        assert not report.ok and any("two different masks" in m for _, m in report.problems)
    assert verify(data.write_pairs(pairs + [pairs[0]], root / "pairs.txt"), num_classes=1).ok  # same mask twice


def tagged_mask(path: Path, arr, orientation: int) -> Path:
    im = Image.fromarray(np.asarray(arr, np.uint8))
    exif = im.getexif()
    exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, exif=exif.tobytes())
    return path


@pytest.mark.parametrize("orientation", [3, 6])
def test_mask_with_exif_orientation_is_refused_everywhere(tmp_path, orientation):
    """Rule: masks are read as stored; a tag on a mask is ambiguous and refused, naming the mask."""
    from fcnlib.verify import verify

    photo = save(tmp_path / "p.png", upright_photo(40, 60))
    labels = np.zeros((40, 60), np.uint8)
    labels[:20, :30] = 1  # drawn on the upright photo; an editor copied a tag into the file
    mask = tagged_mask(tmp_path / "m.png", labels, orientation)
    pattern = rf"m\.png: mask carries EXIF orientation {orientation}"
    with pytest.raises(DataError, match=pattern):
        data.read_mask(mask)
    with pytest.raises(DataError, match=pattern):
        data.make_dataset([(photo, mask)], (40, 60), 1)
    report = verify([(photo, mask)], num_classes=1)
    assert [(Path(p).name, m.split(";")[0]) for p, m in report.problems] == \
        [("m.png", f"mask carries EXIF orientation {orientation} ({data.ORIENTATION_NAMES[orientation]})")]
    untagged = save(tmp_path / "ok.png", labels)
    assert np.array_equal(data.read_mask(untagged), labels) and verify([(photo, untagged)], num_classes=1).ok


@pytest.mark.parametrize("suffix, kw", [(".webp", {"lossless": True}), (".tif", {}), (".mpo", None)])
def test_one_photo_rule_for_pairs_verify_and_pipeline(tmp_path, suffix, kw):
    from fcnlib.verify import verify

    img = np.random.default_rng(3).integers(0, 255, (24, 32, 3), np.uint8)
    root = tmp_path / "ds"
    photo = root / "original" / f"a{suffix}"
    photo.parent.mkdir(parents=True)
    if kw is None:  # a phone's MPO: a JPEG with a second picture appended
        Image.fromarray(img).save(photo, format="MPO", save_all=True, append_images=[Image.fromarray(img)])
    else:
        Image.fromarray(img).save(photo, **kw)
    save(root / "mask" / "a.png", np.zeros((24, 32), np.uint8))
    assert data.is_photo(photo) and data.is_photo(photo.with_suffix(suffix.upper()))
    pairs, no_mask, no_photo = data.make_pairs(root)
    assert [p.name for p, _ in pairs] == [photo.name] and no_mask == [] and no_photo == []
    read = data.read_image(photo)
    assert read.shape == (24, 32, 3) and (kw is None or np.array_equal(read, img))
    assert verify(pairs, num_classes=1).ok
    x, _ = next(iter(data.make_dataset(pairs, (24, 32), 1)))
    diff = np.abs(x.numpy()[0] * 255 - read)
    if kw is None:  # libjpeg in TensorFlow and in PIL round a few levels apart on noise
        assert diff.mean() < 1.0 and diff.max() <= 8
    else:
        assert diff.max() < 1.01
    bad = save(root / "original" / "b.ico", img[:16, :16])
    with pytest.raises(DataError, match=r"b\.ico: photo format ICO is not supported; photos may be JPEG, MPO"):
        data.read_image(bad)
    assert not data.is_photo(bad)


def test_16bit_and_out_of_range_masks_name_file_and_problem(tmp_path):
    path = save(tmp_path / "m16.png", np.where(np.eye(8, dtype=bool), 65535, 0).astype(np.uint16))
    with pytest.raises(DataError, match=r"m16\.png: 16-bit mask with values 0/65535 .*8-bit PNG"):
        data.read_mask(path)
    photo = save(tmp_path / "p.png", np.zeros((8, 8, 3), np.uint8))
    three = save(tmp_path / "three.png", np.array([[0, 1, 2, 5]] * 8, np.uint8).repeat(2, axis=1))
    with pytest.raises(tf.errors.InvalidArgumentError) as err:
        list(data.make_dataset([(photo, three)], (8, 8), 1, num_classes=3))
    message = str(err.value)
    assert "three.png" in message and "outside the classes 0..2" in message and "0, 255" not in message


def test_read_pairs_folder_and_windows_backslashes(tmp_path):
    root, pairs = distinct_root(tmp_path, n=2)
    with pytest.raises(DataError, match=r"ds: is a folder, not a pairs file: write one with `fcn pairs"):
        data.read_pairs(root)
    data.write_pairs(pairs, root / "pairs.txt")
    with pytest.raises(DataError, match=r"is a folder, not a pairs file: give .*pairs\.txt"):
        data.read_pairs(root)
    f = root / "windows.txt"
    f.write_text("original\\p00.png\tmask\\p00.png\noriginal\\p01.png mask\\p01.png\n")
    assert data.read_pairs(f) == [tuple(p) for p in pairs] and all(p.exists() for pr in data.read_pairs(f) for p in pr)


def test_read_pairs_root_rebases_segnet_lists(tmp_path, monkeypatch):
    data_dir = tmp_path / "somewhere" / "camvid"
    for sub in ("train", "trainannot"):
        (data_dir / sub).mkdir(parents=True)
        for stem in ("0001TP_006690", "0001TP_006720"):
            (data_dir / sub / f"{stem}.png").write_bytes(b"")
    f = data_dir / "train.txt"
    f.write_text("/SegNet/CamVid/train/0001TP_006690.png /SegNet/CamVid/trainannot/0001TP_006690.png\n"
                 "/SegNet/CamVid/train/0001TP_006720.png /SegNet/CamVid/trainannot/0001TP_006720.png\n")
    assert data.read_pairs(f)[0][0] == Path("/SegNet/CamVid/train/0001TP_006690.png")  # as listed
    monkeypatch.chdir(tmp_path)
    for root in ("somewhere/camvid", data_dir, "/SegNet/CamVid=somewhere/camvid", "/SegNet=somewhere"):
        if root == "/SegNet=somewhere":
            (tmp_path / "somewhere" / "CamVid").symlink_to(data_dir)
        pairs = data.read_pairs(f, root=root)
        assert [(p.name, m.parent.name) for p, m in pairs] == [("0001TP_006690.png", "trainannot"),
                                                              ("0001TP_006720.png", "trainannot")]
        assert all(p.is_absolute() and p.exists() for pair in pairs for p in pair), root
    # relative entries resolve against the root too; paths outside an OLD=NEW prefix stay as they are
    g = data_dir / "mixed.txt"
    g.write_text("train/0001TP_006690.png\ttrainannot/0001TP_006690.png\n/elsewhere/a.png /elsewhere/b.png\n")
    assert data.read_pairs(g, root="/x")[0] == (Path("/x/train/0001TP_006690.png"), Path("/x/trainannot/0001TP_006690.png"))
    assert data.read_pairs(g, root="/elsewhere=/y")[1] == (Path("/y/a.png"), Path("/y/b.png"))
    # without a root, the error names the first missing file and says how to re-root
    with pytest.raises(DataError, match=r"train\.txt: none of the 2 listed photos exists \(first: "
                                        r"/SegNet/CamVid/train/0001TP_006690\.png\); they are found under the "
                                        r"pairs file's folder: re-root with root="):
        data.make_dataset(f, (8, 8), 1)
    with pytest.raises(DataError, match=r"photo file not found; its folder /SegNet/CamVid/train does not exist "
                                        r"either: .*re-root"):
        data.read_image("/SegNet/CamVid/train/0001TP_006690.png")


def test_read_pairs_segnet_camvid_train_txt_as_shipped(camvid_dir):
    pairs = data.read_pairs(camvid_dir / "train.txt", root=camvid_dir)
    assert len(pairs) == 367 and all(p.is_file() and m.is_file() for p, m in pairs)
    assert pairs[0] == (camvid_dir.absolute() / "train" / "0001TP_006690.png",
                        camvid_dir.absolute() / "trainannot" / "0001TP_006690.png")


def test_make_dataset_ignore_index_keeps_void_with_weight_zero(tmp_path):
    photo = save(tmp_path / "p.png", np.full((8, 12, 3), 100, np.uint8))
    labels = np.zeros((8, 12), np.uint8)
    labels[:, 4:8], labels[:, 8:] = 2, 11  # classes 0 and 2, void 11 on the right third
    mask = save(tmp_path / "m.png", labels)
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside the classes 0..2"):
        list(data.make_dataset([(photo, mask)], (8, 12), 1, num_classes=3))  # 11 is no class: rejected
    x, m, w = next(iter(data.make_dataset([(photo, mask)], (8, 12), 1, num_classes=3, ignore_index=11,
                                          class_weights=[0.5, 1.0, 2.0])))
    assert np.array_equal(m.numpy()[0, ..., 0], labels)
    assert np.array_equal(w.numpy()[0, ..., 0], np.select([labels == 0, labels == 2], [0.5, 2.0], 0.0))
    # where augmentation moves the photo off the frame, the mask is void, not background
    aug = {"flip": 0.0, "rotate": 0.0, "scale": (0.5, 0.5), "perspective": 0.0, "crop": 1.0}
    one = save(tmp_path / "one.png", np.ones((8, 12), np.uint8))
    _, m, w = next(iter(data.make_dataset([(photo, one)], (8, 12), 1, num_classes=3, ignore_index=11,
                                          class_weights=[1.0, 1.0, 1.0], augment=aug)))
    values = set(np.unique(m.numpy()).tolist())
    assert values == {1, 11} and w.numpy()[m.numpy() == 11].max() == 0


def test_match_orientation_gives_each_photo_its_framing_and_one_size_per_batch(tmp_path):
    """Photos framed the other way than the input size go in at the size turned (as
    `Preprocessor(match_orientation=True)` prepares them), every photo once, each batch of one size; when
    repeating, batches of both sizes are drawn."""
    from collections import Counter

    from fcnlib import synth

    synth.generate(tmp_path, n=10, seed=3, height=64, width=48, landscape=0.5, progress=False)
    pairs = data.read_pairs(tmp_path / "pairs.txt")
    landscape = {p for p, _ in pairs if Image.open(p).width > Image.open(p).height}
    assert 0 < len(landscape) < len(pairs)
    seen = Counter()
    for images, masks in data.make_dataset(pairs, (64, 48), 3, match_orientation=True):
        assert images.shape[1:3] == masks.shape[1:3]
        seen[tuple(images.shape[1:3])] += len(images)
    assert seen == {(64, 48): len(pairs) - len(landscape), (48, 64): len(landscape)}
    # a landscape photo's input is the photo resized to (48, 64), its mask likewise (nearest)
    one = sorted(landscape)[0]
    images, masks = next(iter(data.make_dataset([pair for pair in pairs if pair[0] == one], (64, 48), 1,
                                                match_orientation=True)))
    want, _ = data.resize_image(data.read_image(one), (48, 64))
    assert np.abs(np.asarray(images[0]) - want).mean() < 2 / 255
    repeated = data.make_dataset(pairs, (64, 48), 2, match_orientation=True, repeat=True, shuffle=True, augment=True)
    assert {tuple(images.shape[1:3]) for images, _ in repeated.take(12)} == {(64, 48), (48, 64)}
    assert {tuple(i.shape[1:3]) for i, _ in data.make_dataset(pairs, (64, 48), 3)} == {(64, 48)}  # off by default
