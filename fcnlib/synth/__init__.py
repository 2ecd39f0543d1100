"""Synthetic document photos: fcnlib's embedded default dataset.

`render` draws one phone-like photo of one paper document, with its exact mask (the visible pixels of
that sheet) and the paper's four corners. The document is a receipt (long narrow white to off-white
paper with printed lines, totals, logos, barcodes, QR-like blocks, stamps; torn or zigzag ends, creases,
curl) or a page (A4, Letter or book shapes; letters with letterheads, invoice tables, forms with
coloured fields and checkboxes, ruled notebook pages with handwriting, book pages; white or coloured
paper; folded in thirds or halves, creased, crumpled, curled; sometimes on a stack of other sheets or
held in hands). The model has one class, "document", of which receipts are a kind; in a stack only the
top sheet is labelled (it is the one sheet whose four corners show, the one `fcn extract` flattens).

Scenes: wood, desks, fabric, stone, beds, carpets, tiles, laps (denim), car seats, laptops, keyboards,
clutter and hard negatives (tablets, boxes, bags, light drawer fronts, pages cut by the frame edge), and
paper-like look-alikes, light and flat but not paper (white or cream bedsheets and duvets with soft folds,
white tiles with grout lines, whiteboards and light panels in a frame, white plates and bowls, the backs of
light tablets and closed silver laptops): half the empty photos show one, and some paper lies on one, at
any angle and perspective, sometimes partly covered by fingers or objects, with shadows, uneven
light, the phone's flash (hotspot, fall-off, glare), defocus and motion blur, noise and JPEG
artefacts. `generate` writes a dataset of such photos in the layout fcnlib reads (`original/`,
`mask/`, `corners/`, `pairs.txt`); its `documents` share sets how many paper photos show a page.

Everything is drawn with PIL's C-level operations and vectorised numpy on one core (`fcn synth` prints
the rate in photos/s). Photo i of a seed is the same whatever the dataset size: its generator is
seeded from (seed, i).
"""
from __future__ import annotations

import io
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageFilter

from fcnlib.geometry import apply_homography, homography, polygon_area
from fcnlib.synth._common import _jitter
from fcnlib.synth.scenes import (_LOOKALIKE_SURFACES, LOOKALIKES, _Pen, _background, _draw_distractor, _draw_keyboard,
                                 _draw_laptop, _draw_lookalike, _draw_object, _pick_lookalike, _two_surfaces)
from fcnlib.synth.receipt import _receipt
from fcnlib.synth.pages import _document
from fcnlib.synth.placement import _place
from fcnlib.synth.camera import _blur, _finger, _lighting
from fcnlib.synth.scenes import _KIND_P, _KINDS, _tone_tiles  # noqa: F401 (tests, notebooks)

__all__ = ["LOOKALIKES", "generate", "photo_rng", "render", "turn_quarter"]


def _under_sheets(rng, d: _Pen, quad: np.ndarray, colour) -> None:
    """1-3 sheets under the top page (a stack, a fanned pile): the page's outline turned, shifted and
    scaled a little, drawn on the scene before the page, in its shade."""
    centre = quad.mean(0)
    size = math.sqrt(polygon_area(quad))
    for _ in range(int(rng.integers(1, 4))):
        a = rng.normal(0, 0.08)
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        q = (quad - centre) @ rot.T * rng.uniform(0.97, 1.06) + centre + rng.normal(0, 0.05, 2) * size
        fill = _jitter(rng, tuple(int(c * rng.uniform(0.86, 0.98)) for c in colour), 4)
        d.polygon([tuple(p) for p in q], fill=fill, outline=tuple(int(c * 0.8) for c in fill), width=1)


def _motion_blur(rng, photo: Image.Image) -> Image.Image:
    """Hand shake along one direction: a 5x5 line kernel, once or twice."""
    k = np.zeros((5, 5), np.float32)
    direction = int(rng.integers(4))
    for i in range(5):
        r, c = [(2, i), (i, 2), (i, i), (i, 4 - i)][direction]
        k[r, c] = 1
    kern = ImageFilter.Kernel((5, 5), k.ravel().tolist(), scale=5)
    for _ in range(1 + int(rng.random() < 0.4)):
        photo = photo.filter(kern)
    return photo


def render(rng: np.random.Generator, height: int = 800, width: int = 600, receipt: bool = True, *,
           occluders: bool = True, document: bool = False,
           lookalike: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """One synthetic photo: (photo uint8 HxWx3, mask uint8 HxW {0,1}, corners (4,2) float or None).

    The photo shows one paper document: a receipt, or with document=True a page (letter, invoice table,
    form, notebook or book page; A4, Letter or book shapes, white or coloured, folded, creased, crumpled,
    sometimes on a stack of other sheets or held in hands). The mask holds exactly the visible pixels of
    that top sheet (pixels covered by a finger or an object, and the sheets under it, are background):
    the model has one class, "document", of which receipts are a kind. Corners are the paper's four
    corners in photo pixels, starting at the left corner of the top (header) end and going clockwise
    (TL, TR, BR, BL of the upright paper). With receipt=False the photo shows only the scene: all-zero
    mask, corners None. occluders=False leaves out fingers and objects on top of the paper (useful to
    check corners against the mask). `lookalike` (one of LOOKALIKES) adds a paper-like object that is not
    paper: a white bedsheet or white tiles as the surface, a whiteboard, a plate or a light tablet or laptop
    on it (under the paper, when there is paper); `generate` picks one for half the empty photos.

    Example:

    >>> photo, mask, corners = render(photo_rng(0, 0), 160, 120, document=True)
    >>> photo.shape, mask.shape, corners.shape
    ((160, 120, 3), (160, 120), (4, 2))
    """
    if lookalike is not None and lookalike not in LOOKALIKES:
        raise ValueError(f"lookalike must be one of {LOOKALIKES} or None, got {lookalike!r}")
    h, w = height, width
    paper_photo = receipt
    page = receipt and document
    held = page and rng.random() < 0.2
    surface = _LOOKALIKE_SURFACES.get(lookalike)
    bg = _background(rng, h, w, *(surface or ()))
    if not surface and rng.random() < (0.2 if paper_photo else 0.4):
        bg = _two_surfaces(rng, bg, h, w)
    objects = Image.new("L", (w, h), 0)  # pixels of things lying on the surface
    pen = _Pen(bg, objects)
    if lookalike is not None and not surface:
        _draw_lookalike(rng, pen, lookalike, h, w)
    if rng.random() < 0.35:
        _draw_laptop(rng, pen, h, w)
    if rng.random() < 0.12:
        _draw_keyboard(rng, pen, h, w)
    # half the receipts share the scene with a distractor (the model learns to tell them apart side by side);
    # an empty scene with a look-alike has one besides it a quarter of the time, and less clutter
    for _ in range(int(rng.random() < (0.5 if paper_photo else 0.25)) if paper_photo or lookalike
                   else 1 + int(rng.random() < 0.4)):
        _draw_distractor(rng, pen, h, w)
    for _ in range(int(rng.poisson(1.2 if paper_photo or lookalike else 2.5))):
        _draw_object(rng, pen, h, w)
    if held:  # a page held up: the scene behind is further away, out of focus
        bg = bg.filter(ImageFilter.BoxBlur(w * rng.uniform(0.004, 0.012)))
        objects = Image.new("L", (w, h), 0)
        pen = _Pen(bg, objects)
    off = rng.normal(0, 0.012 * w, 2) + (0.004 * w, 0.008 * w)
    if held:
        off = off * 2.5
    shadow = Image.new("L", (w, h), 0)  # silhouettes that cast a shadow
    if objects.getbbox():
        shadow.paste(255, (int(off[0]), int(off[1])), objects)

    mask = np.zeros((h, w), np.uint8)
    corners = None
    if paper_photo:
        quad, aspect = _place(rng, h, w, page=page, held=held)
        side = math.sqrt(polygon_area(quad) / aspect)  # projected paper width, px
        scale = rng.uniform(0.75, 1.05) if page else rng.uniform(0.9, 1.2)  # pages: print resolution
        pw = max(24, int(side * scale))
        ph = max(32, int(min(pw * aspect, 2400)))
        folds = []
        if page:
            paper, alpha, m, folds = _document(rng, pw, ph)
            if not held and rng.random() < 0.25:
                _under_sheets(rng, pen, quad, paper.getpixel((m + 1, m + 1)))
                shadow.paste(255, (int(off[0]), int(off[1])), objects)
        else:
            paper, alpha, m = _receipt(rng, pw, ph)
        src = np.array([[m, m], [m + pw, m], [m + pw, m + ph], [m, m + ph]], float)
        hinv = homography(quad, src)
        # premultiplied mode: PIL warps it as is (RGBA would be converted to RGBa and back)
        rgba = Image.merge("RGBa", [*paper.split(), alpha])
        # warp only the paper's bounding box (plus room for the curl), then paste it there
        margin = 0.06 * float(np.max(quad.max(0) - quad.min(0)))
        x0, y0 = np.maximum(np.floor(quad.min(0) - margin), 0).astype(int)
        x1, y1 = np.minimum(np.ceil(quad.max(0) + margin) + 1, (w, h)).astype(int)
        local = hinv @ np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], float)
        if folds or rng.random() < 0.5:
            # curl: the long edges bow, the ends lift; folds bend the edges a little at each fold;
            # the corners stay put
            bx = np.clip(rng.normal(0, 0.012), -0.03, 0.03) * ph
            by_top, by_bot = np.clip(rng.normal(0, 0.02, 2), -0.05, 0.05) * pw
            # a grid node every 24 px or so (at least 3 per side): PIL warps the mesh cell by cell
            nx = int(np.clip((x1 - x0) / 24, 3, 13 if folds else 9))
            ny = int(np.clip((y1 - y0) / 24, 3, 17 if folds else 11))
            xs = np.linspace(0, x1 - x0, nx).astype(int)
            ys = np.linspace(0, y1 - y0, ny).astype(int)
            gx, gy = np.meshgrid(xs, ys)
            p = apply_homography(local, np.c_[gx.ravel(), gy.ravel()])
            u = np.clip((p[:, 0] - m) / pw, 0, 1)
            v = np.clip((p[:, 1] - m) / ph, 0, 1)
            p[:, 0] -= bx * np.sin(np.pi * v)
            p[:, 1] -= np.sin(np.pi * u) * (by_top * (1 - v) ** 4 + by_bot * v ** 4)
            for axis, pos in folds:
                c = v if axis == 0 else u
                tent = np.minimum(c / pos, (1 - c) / (1 - pos))
                p[:, 1 - axis] -= tent * rng.normal(0, 0.008) * (pw if axis == 0 else ph)
            p = p.reshape(gy.shape + (2,))
            mesh = []
            for i in range(len(ys) - 1):
                for j in range(len(xs) - 1):
                    box = (int(gx[i, j]), int(gy[i, j]), int(gx[i, j + 1]), int(gy[i + 1, j]))
                    if box[2] > box[0] and box[3] > box[1]:
                        quad_src = (*p[i, j], *p[i + 1, j], *p[i + 1, j + 1], *p[i, j + 1])
                        mesh.append((box, tuple(float(c) for c in quad_src)))
            warped = rgba.transform((x1 - x0, y1 - y0), Image.Transform.MESH, mesh, Image.Resampling.BILINEAR)
        else:
            coeffs = tuple(local.reshape(-1)[:8] / local[2, 2])
            warped = rgba.transform((x1 - x0, y1 - y0), Image.Transform.PERSPECTIVE, coeffs,
                                    Image.Resampling.BILINEAR)
        *bands, a = warped.split()
        shadow.paste(255, (x0 + int(off[0] * 1.5), y0 + int(off[1] * 1.5)), a)
        bg.paste(Image.merge("RGB", bands), (x0, y0), a)
        objects.paste(255, (x0, y0), a)
        corners = apply_homography(np.linalg.inv(hinv), src)
        mask[y0:y1, x0:x1] = np.asarray(a) >= 128
    photo = bg

    if held and occluders:  # thumbs (and fingers) over the page's side or bottom edges
        layer = photo.copy()
        occ = Image.new("L", (w, h), 0)
        hand = _Pen(layer, occ)
        edges = [(3, 1), (1, 3), (2, 2)][rng.integers(3)]  # left+right, right+left, bottom twice
        for e in edges[:1 + int(rng.random() < 0.8)]:
            t = rng.uniform(0.3, 0.7)
            edge_pt = corners[e] * (1 - t) + corners[(e + 1) % 4] * t
            inward = corners.mean(0) - edge_pt
            _finger(rng, hand, edge_pt + inward / (np.linalg.norm(inward) + 1e-6) * rng.uniform(0.02, 0.08) * w, h, w)
        covered = mask & (np.asarray(occ) >= 128)
        if int(mask.sum()) - int(covered.sum()) >= max(0.6 * mask.sum(), 0.1 * h * w):
            photo = Image.composite(layer, photo, occ)
            mask = mask & (np.asarray(occ) < 128)
            objects = ImageChops.lighter(objects, occ)
    elif receipt and occluders and rng.random() < 0.3:
        layer = photo.copy()
        occ = Image.new("L", (w, h), 0)
        pen = _Pen(layer, occ)
        if rng.random() < 0.7:
            e = int(rng.integers(4))
            t = rng.uniform(0.1, 0.9)
            edge_pt = corners[e] * (1 - t) + corners[(e + 1) % 4] * t
            inward = corners.mean(0) - edge_pt
            tip = edge_pt + inward / (np.linalg.norm(inward) + 1e-6) * rng.uniform(-10, 0.15 * w)
            _finger(rng, pen, tip, h, w)
        else:
            _draw_object(rng, pen, h, w)
        box = occ.getbbox()
        if box and rng.random() < 0.6:  # out of focus: blur the occluder and its alpha around it
            r = rng.uniform(0.5, 2.5)
            box = (max(0, box[0] - 8), max(0, box[1] - 8), min(w, box[2] + 8), min(h, box[3] + 8))
            occ.paste(occ.crop(box).filter(ImageFilter.BoxBlur(r)), box[:2])
            layer.paste(layer.crop(box).filter(ImageFilter.BoxBlur(r)), box[:2])
        covered = mask & (np.asarray(occ) >= 128)
        visible = int(mask.sum()) - int(covered.sum())
        if covered.any() and visible >= 0.6 * mask.sum() and visible >= 0.1 * h * w:
            photo = Image.composite(layer, photo, occ)
            mask = mask & (np.asarray(occ) < 128)
            objects = ImageChops.lighter(objects, occ)

    r = rng.random()
    if r < 0.08:  # hand shake along one direction
        photo = _motion_blur(rng, photo)
    elif r < 0.75:  # defocus: one or two [1 2 1] passes
        photo = Image.fromarray(_blur(np.asarray(photo), 1 + int(r < 0.25)))
    elif r < 0.85:  # phone over-sharpening
        photo = photo.filter(ImageFilter.SHARPEN)
    photo = _lighting(rng, photo, shadow, objects)
    if rng.random() < 0.2:
        buf = io.BytesIO()
        photo.save(buf, "JPEG", quality=int(rng.integers(25, 70)))
        photo = Image.open(buf).convert("RGB")
    return np.asarray(photo), mask.astype(np.uint8), corners


def photo_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of photo `index` of dataset `seed` (independent of the dataset size).

    Example:

    >>> photo, mask, corners = render(photo_rng(1, 42), 160, 120)
    """
    return np.random.default_rng([int(seed), int(index)])


def turn_quarter(photo: np.ndarray, mask: np.ndarray, corners: np.ndarray | None, clockwise: bool):
    """A photo, its mask and corners turned a quarter (the phone held sideways): (photo, mask, corners).

    Corners keep their order (the paper's own TL, TR, BR, BL), in the turned photo's pixels.

    Example:

    >>> photo, mask, corners = turn_quarter(*render(photo_rng(0, 0), 160, 120), clockwise=True)
    >>> photo.shape[:2], mask.shape
    ((120, 160), (120, 160))
    """
    h, w = mask.shape
    k = -1 if clockwise else 1
    if corners is not None:
        x, y = corners[:, 0], corners[:, 1]
        corners = np.stack([h - 1 - y, x] if clockwise else [y, w - 1 - x], axis=1)
    return (np.ascontiguousarray(np.rot90(photo, k)), np.ascontiguousarray(np.rot90(mask, k)), corners)


def generate(out_dir, n: int = 500, seed: int = 0, height: int = 800, width: int = 600,
             negatives: float = 0.15, progress: bool = True, documents: float = 0.3,
             landscape: float = 0.0) -> Path:
    """Write n synthetic photos to out_dir (original/, mask/ class ids 0/1, corners/ JSON, pairs.txt).

    About a `negatives` fraction of photos show no paper; of the others, about a `documents` fraction
    show a page (letter, table, form, notebook, book page) and the rest a receipt, so receipts stay the
    majority at the default. Each corners JSON also says which `kind` of paper the photo shows
    ("receipt", "document" or null) and which paper-like `lookalike` it holds (one of LOOKALIKES or null:
    half the empty photos and 12% of the others have one). About a `landscape` fraction of the photos are
    framed the other way (`width` x `height`, so landscape at the default size): half of those show the
    scene framed so (the paper upright), half a photo turned a quarter either way (`turn_quarter`: the
    phone held sideways, the paper on its side); the JSON's `frame` says which ("portrait", "landscape"
    or "turned"). The other photos are the ones `landscape=0` gives for the same seed. Returns the
    pairs.txt path. With progress, a progress bar with the rate in photos/s is drawn on stderr.

    Example:

    >>> pairs = generate("data/synth", n=20, seed=0, documents=0.5, progress=False)
    """
    for name, value in (("negatives", negatives), ("documents", documents), ("landscape", landscape)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be a fraction in [0, 1], got {value}")
    from fcnlib.data import write_pairs

    out = Path(out_dir)
    for sub in ("original", "mask", "corners"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    pairs = []
    start = last = time.perf_counter()
    for i in range(n):
        rng = photo_rng(seed, i)
        receipt = bool(rng.random() >= negatives)
        document = receipt and bool(rng.random() < documents)
        quality = int(rng.integers(75, 96))
        # drawn from a generator of its own, so that the photos without a look-alike stay as they were
        lookalike = _pick_lookalike(np.random.default_rng([int(seed), int(i), 1]), receipt)
        framing = np.random.default_rng([int(seed), int(i), 2]).random(2)  # its own generator too
        frame = "portrait" if framing[0] >= landscape else ("landscape" if framing[0] < landscape / 2 else "turned")
        size = (width, height) if frame == "landscape" else (height, width)
        photo, mask, corners = render(rng, *size, receipt, document=document, lookalike=lookalike)
        if frame == "turned":
            photo, mask, corners = turn_quarter(photo, mask, corners, clockwise=bool(framing[1] < 0.5))
        name = f"synth_{i:05d}"
        img_path, mask_path = out / "original" / f"{name}.jpg", out / "mask" / f"{name}.png"
        Image.fromarray(photo).save(img_path, "JPEG", quality=quality)
        Image.fromarray(mask).save(mask_path, "PNG", compress_level=1)
        doc = {"corners": None if corners is None else [[round(float(x), 2), round(float(y), 2)] for x, y in corners],
               "kind": ("document" if document else "receipt") if receipt else None, "lookalike": lookalike, "frame": frame}
        (out / "corners" / f"{name}.json").write_text(json.dumps(doc) + "\n")
        pairs.append((img_path, mask_path))
        now = time.perf_counter()
        if progress and (now - last > 0.1 or i == n - 1):
            last = now
            rate = (i + 1) / max(now - start, 1e-9)
            bar = "#" * int(30 * (i + 1) / n)
            print(f"\rsynth [{bar:<30}] {i + 1}/{n} {rate:.1f} photos/s", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    pairs_file = out / "pairs.txt"
    write_pairs(pairs, pairs_file)
    return pairs_file
