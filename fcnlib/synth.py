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
clutter and hard negatives (tablets, boxes, bags, light drawer fronts, pages cut by the frame edge),
at any angle and perspective, sometimes partly covered by fingers or objects, with shadows, uneven
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
import string
import sys
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from fcnlib.geometry import apply_homography, homography, is_convex, polygon_area

_STRIP_H = 32  # height of the pre-rendered text strips, pixels

_PAPER_COLOURS = [(246, 246, 243), (242, 240, 232), (238, 236, 226), (235, 238, 242), (240, 236, 242),
                  (246, 238, 238), (244, 242, 226), (228, 228, 224), (250, 250, 250)]
_WOOD = [((214, 172, 122), (150, 98, 52)), ((190, 140, 90), (112, 70, 38)), ((160, 112, 70), (84, 52, 30)),
         ((120, 82, 55), (58, 36, 22)), ((200, 185, 160), (140, 120, 95)), ((176, 120, 74), (120, 66, 36)),
         ((228, 200, 160), (180, 140, 95))]
_DESK = [((168, 168, 166), (140, 140, 140)), ((198, 198, 196), (172, 172, 170)), ((226, 226, 222), (206, 206, 202)),
         ((242, 242, 238), (224, 224, 220)), ((214, 206, 190), (186, 176, 160)), ((70, 70, 72), (50, 50, 52)),
         ((36, 36, 38), (24, 24, 26)), ((120, 134, 150), (96, 108, 122)), ((140, 160, 140), (110, 128, 112)),
         ((200, 210, 222), (176, 186, 200)), ((150, 150, 156), (120, 120, 128)), ((232, 224, 214), (214, 204, 192))]
_FABRIC = [((60, 70, 110), (35, 40, 70)), ((180, 60, 60), (120, 30, 35)), ((200, 200, 196), (150, 150, 146)),
           ((90, 120, 90), (55, 80, 55)), ((120, 110, 100), (80, 72, 64)), ((230, 220, 200), (190, 60, 60))]
_SKIN = [(234, 192, 168), (224, 172, 140), (198, 144, 110), (160, 112, 84), (112, 76, 56), (240, 204, 184)]


# ----------------------------------------------------------------------------- shared resources

@lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    """A fixed bank of Gaussian noise; photos take random windows of it (much faster than sampling)."""
    return np.random.default_rng(20240607).standard_normal((1100, 1100)).astype(np.float32)


@lru_cache(maxsize=1)
def _strips() -> dict[str, list[Image.Image]]:
    """Pre-rendered text strips (ink 255 on 0), height _STRIP_H: latin words, digits, CJK-like glyphs."""
    rng = np.random.default_rng(7)
    font = ImageFont.load_default(size=26)
    bold = ImageFont.load_default(size=30)
    out: dict[str, list[Image.Image]] = {"latin": [], "digits": [], "cjk": [], "bold": []}
    letters = string.ascii_uppercase + string.ascii_lowercase + "      "
    for kind in ("latin", "digits", "bold"):
        for _ in range(10):
            if kind == "digits":
                words = [f"{rng.integers(0, 999)}.{rng.integers(0, 99):02d}" if rng.random() < 0.6
                         else str(rng.integers(1, 99999)) for _ in range(40)]
            else:
                words = ["".join(rng.choice(list(letters), rng.integers(2, 10))).strip() or "A"
                         for _ in range(40)]
            text = "  ".join(words)
            f = bold if kind == "bold" else font
            w = int(f.getlength(text)) + 4
            im = Image.new("L", (w, _STRIP_H), 0)
            ImageDraw.Draw(im).text((2, 1), text, fill=255, font=f, stroke_width=1 if kind == "bold" else 0,
                                    stroke_fill=255)
            out[kind].append(im)
    # CJK-like glyphs: a few horizontal/vertical/diagonal strokes in a square cell, sometimes a box.
    for _ in range(10):
        n = 60
        im = Image.new("L", (n * _STRIP_H, _STRIP_H), 0)
        d = ImageDraw.Draw(im)
        for k in range(n):
            if rng.random() < 0.12:
                continue
            x0, s = k * _STRIP_H + 3, _STRIP_H - 6
            for _ in range(rng.integers(3, 8)):
                kind = rng.random()
                a, b = rng.uniform(0, s, 2)
                if kind < 0.4:
                    d.line([(x0 + min(a, b) * 0.5, 3 + a), (x0 + s - rng.uniform(0, s / 3), 3 + a)], 255, 2)
                elif kind < 0.75:
                    d.line([(x0 + a, 3 + rng.uniform(0, s / 3)), (x0 + a, 3 + s - rng.uniform(0, s / 3))], 255, 2)
                elif kind < 0.9:
                    d.line([(x0 + a, 3 + b / 2), (x0 + a + rng.uniform(-8, 8), 3 + b / 2 + 10)], 255, 2)
                else:
                    d.rectangle([x0 + a / 2, 3 + b / 2, x0 + a / 2 + s / 3, 3 + b / 2 + s / 3], outline=255, width=2)
        out["cjk"].append(im)
    return out


def _field(rng: np.random.Generator, h: int, w: int, gh: int, gw: int) -> np.ndarray:
    """Smooth random field (h, w) float32 in about [-1, 1]: gh x gw uniform noise upsampled bicubically."""
    small = Image.fromarray(rng.uniform(-1, 1, (max(gh, 2), max(gw, 2))).astype(np.float32), "F")
    return np.asarray(small.resize((w, h), Image.Resampling.BICUBIC))


_RAMP = np.arange(256, dtype=np.float64)


def _lut(values: np.ndarray) -> list[int]:
    """A PIL lookup table (list of ints in 0..255) from float values."""
    return np.clip(values, 0, 255).astype(np.int64).tolist()


def _jitter(rng, colour, s=10):
    return tuple(int(np.clip(c + rng.normal(0, s), 0, 255)) for c in colour)


def _rot_rect(cx, cy, w, h, angle, r=0.0):
    """Polygon of a rectangle (optionally rounded by r) centred at (cx, cy), turned by angle radians."""
    if r <= 0:
        pts = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    else:
        r = min(r, w / 2, h / 2)
        pts = []
        for (ox, oy), a0 in (((w / 2 - r, -h / 2 + r), -90), ((w / 2 - r, h / 2 - r), 0),
                             ((-w / 2 + r, h / 2 - r), 90), ((-w / 2 + r, -h / 2 + r), 180)):
            for k in range(4):
                a = math.radians(a0 + 30 * k)
                pts.append((ox + r * math.cos(a), oy + r * math.sin(a)))
    c, s = math.cos(angle), math.sin(angle)
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in pts]


# ----------------------------------------------------------------------------- backgrounds

class _Pen:
    """Draws shapes on a photo and, at 255, on an alpha image, so drawn objects know their pixels."""

    def __init__(self, photo: Image.Image, alpha: Image.Image):
        self.d, self.a = ImageDraw.Draw(photo), ImageDraw.Draw(alpha)

    def polygon(self, xy, fill, outline=None, width=1):
        self.d.polygon(xy, fill=fill, outline=outline, width=width)
        self.a.polygon(xy, fill=255, outline=255 if outline else None, width=width)

    def line(self, xy, fill, width=1, joint=None):
        self.d.line(xy, fill=fill, width=width, joint=joint)
        self.a.line(xy, fill=255, width=width, joint=joint)

    def ellipse(self, xy, fill):
        self.d.ellipse(xy, fill=fill)
        self.a.ellipse(xy, fill=255)


_TILE = 448  # side of the pre-rendered surface tiles (drawn at half the photo's resolution)
_KINDS = ("wood", "desk", "fabric", "stone", "bed", "carpet", "tiles", "denim", "seat")
_KIND_P = (0.27, 0.27, 0.08, 0.08, 0.08, 0.05, 0.06, 0.06, 0.05)
_BED = [((250, 250, 248), (196, 196, 200)), ((236, 240, 248), (170, 180, 200)), ((244, 236, 226), (190, 176, 160)),
        ((200, 210, 200), (130, 150, 132)), ((120, 130, 160), (60, 66, 90)), ((230, 200, 205), (170, 130, 140))]
_CARPET = [((150, 140, 128), (90, 82, 74)), ((110, 110, 116), (60, 60, 66)), ((170, 60, 60), (100, 30, 34)),
           ((70, 80, 120), (36, 40, 66)), ((200, 190, 170), (150, 138, 120))]
_TILES = [((236, 234, 228), (120, 118, 114)), ((210, 200, 186), (110, 100, 90)), ((190, 110, 80), (90, 60, 50)),
          ((170, 172, 176), (70, 72, 76)), ((240, 240, 240), (60, 60, 62))]
_DENIM = [((90, 120, 170), (30, 44, 80)), ((60, 80, 120), (20, 28, 50)), ((60, 60, 64), (20, 20, 24)),
          ((190, 170, 130), (120, 104, 76)), ((150, 170, 200), (80, 100, 140))]
_SEAT = [((70, 70, 74), (24, 24, 26)), ((50, 50, 56), (14, 14, 16)), ((190, 176, 150), (110, 98, 80)),
         ((110, 100, 90), (50, 44, 40))]


def _tone(rng: np.random.Generator, kind: str, h2: int, w2: int) -> np.ndarray:
    """Tone field (h2, w2) in about [0, 1] of a surface: wood grain, desk, fabric/tablecloth or stone."""
    if kind == "wood":
        d = int(math.hypot(h2, w2)) + 4
        y = np.arange(d, dtype=np.float32)[:, None]
        fine = _field(rng, d, d, d // 2, 4)
        coarse = _field(rng, d, d, d // 12, 3)
        warp = _field(rng, d, d, 6, 6)
        period = rng.uniform(10, 40)
        rings = np.sin(2 * np.pi * (y + 25 * warp) / period) ** 8
        tone = 0.45 + 0.22 * fine + 0.2 * coarse + rng.uniform(0.1, 0.35) * rings
        plank = rng.uniform(60, 200)
        seam = (np.mod(y + rng.uniform(0, plank), plank) < 1.2).astype(np.float32)
        tone += 0.4 * seam * (rng.random() < 0.5)
        angle = rng.choice([0.0, 90.0]) + rng.normal(0, 25)
        img = Image.fromarray(tone.astype(np.float32), "F").rotate(angle, Image.Resampling.BILINEAR)
        tone = np.asarray(img)[(d - h2) // 2:(d - h2) // 2 + h2, (d - w2) // 2:(d - w2) // 2 + w2]
    elif kind == "desk":
        tone = 0.5 + 0.12 * _field(rng, h2, w2, 5, 4) + 0.05 * _field(rng, h2, w2, 60, 45)
    elif kind == "fabric":
        yy, xx = np.mgrid[0:h2, 0:w2].astype(np.float32)
        a = rng.uniform(0, np.pi)
        u, v = xx * np.cos(a) + yy * np.sin(a), -xx * np.sin(a) + yy * np.cos(a)
        if rng.random() < 0.5:  # woven cloth
            p = rng.uniform(2.2, 4)
            tone = 0.5 + 0.25 * np.sin(2 * np.pi * u / p) * np.sin(2 * np.pi * v / p)
        else:  # gingham / plaid tablecloth
            p = rng.uniform(15, 40)
            tone = 0.5 * ((np.sin(2 * np.pi * u / p) > 0).astype(np.float32)
                          + (np.sin(2 * np.pi * v / p) > 0).astype(np.float32))
        tone = tone + 0.1 * _field(rng, h2, w2, 6, 5)
    elif kind == "stone":  # stone / marble / terrazzo
        n = _field(rng, h2, w2, 8, 6) + 0.5 * _field(rng, h2, w2, 24, 18)
        veins = np.abs(np.sin(rng.uniform(3, 9) * n)) ** 0.2
        tone = 0.15 + 0.5 * (1 - veins) + 0.08 * _field(rng, h2, w2, 100, 75)
    elif kind == "bed":  # a duvet or sheet: broad soft folds, light and shade, a faint weave
        f = 2.5 * _field(rng, h2, w2, 4, 4) + 0.6 * _field(rng, h2, w2, 9, 8)
        tone = 0.3 + 0.35 * (np.sin(2.2 * f) + 1) / 2 + 0.02 * _field(rng, h2, w2, h2 // 2, w2 // 2)
    elif kind == "carpet":  # pile: fine random texture over a mottled tone
        tone = 0.5 + 0.22 * _field(rng, h2, w2, h2 // 2, w2 // 2) + 0.12 * _field(rng, h2, w2, 20, 16)
    elif kind == "tiles":  # floor or wall tiles with grout lines
        yy, xx = np.mgrid[0:h2, 0:w2].astype(np.float32)
        p, g = rng.uniform(35, 120), rng.uniform(1.0, 3.0)
        off = (np.floor(yy / p) % 2) * p / 2 * (rng.random() < 0.3)  # running bond sometimes
        grout = (np.mod(yy, p) < g) | (np.mod(xx + off, p) < g)
        tone = 0.25 + 0.08 * _field(rng, h2, w2, 30, 30) + 0.04 * _field(rng, h2, w2, 4, 4)
        tone = np.where(grout, 0.9, tone)
    elif kind == "denim":  # trousers on a lap: diagonal twill, faded patches
        yy, xx = np.mgrid[0:h2, 0:w2].astype(np.float32)
        p = rng.uniform(2.0, 3.5)
        tone = 0.45 + 0.15 * np.sin(2 * np.pi * (xx + yy) / p) + 0.2 * _field(rng, h2, w2, h2 // 3, w2 // 3)
        tone = tone + 0.2 * _field(rng, h2, w2, 5, 4)
    else:  # car seat: fabric or perforated leather, stitched channels
        yy, xx = np.mgrid[0:h2, 0:w2].astype(np.float32)
        tone = 0.45 + 0.1 * _field(rng, h2, w2, 6, 5) + 0.12 * _field(rng, h2, w2, h2 // 2, w2 // 2)
        if rng.random() < 0.5:
            q = rng.uniform(4, 7)
            tone = tone + 0.25 * ((np.sin(2 * np.pi * xx / q) * np.sin(2 * np.pi * yy / q)) > 0.85)
        ch = rng.uniform(60, 140)
        c = np.mod(xx, ch)
        tone = tone + 0.35 * (c < 2.5) - 0.12 * np.exp(-((c - ch / 2) / (ch / 3)) ** 2)
    return tone


@lru_cache(maxsize=1)
def _tone_tiles() -> dict[str, list[Image.Image]]:
    """Surface tone tiles (L images), rendered once; photos crop, flip, recolour and scale them."""
    rng = np.random.default_rng(11)
    return {kind: [Image.fromarray((np.clip(_tone(rng, kind, _TILE, _TILE), 0, 1) * 255).astype(np.uint8))
                   for _ in range(10)] for kind in _KINDS}


def _background(rng: np.random.Generator, h: int, w: int) -> Image.Image:
    """A surface photo (RGB h x w): a random crop of a tone tile, turned, recoloured, contrast varied."""
    kind = _KINDS[rng.choice(len(_KINDS), p=_KIND_P)]
    tiles = _tone_tiles()[kind]
    tile = tiles[rng.integers(len(tiles))].transpose(Image.Transpose(int(rng.integers(7))))
    cw, ch = min(_TILE, max(2, w // 2)), min(_TILE, max(2, h // 2))
    x, y = int(rng.integers(0, _TILE - cw + 1)), int(rng.integers(0, _TILE - ch + 1))
    palette = {"wood": _WOOD, "desk": _DESK, "fabric": _FABRIC, "stone": _DESK + [((235, 233, 228), (120, 118, 115))],
               "bed": _BED, "carpet": _CARPET, "tiles": _TILES, "denim": _DENIM, "seat": _SEAT}
    light, dark = palette[kind][rng.integers(len(palette[kind]))]
    light, dark = _jitter(rng, light), _jitter(rng, dark)
    c, b = rng.uniform(0.6, 1.4), rng.uniform(-0.1, 0.1)
    t = np.clip(0.5 + (_RAMP / 255 - 0.5) * c + b, 0, 1)
    tone = tile.crop((x, y, x + cw, y + ch)).resize((w, h), Image.Resampling.BILINEAR)
    out = Image.merge("RGB", [tone.point(_lut(lo + (hi - lo) * t)) for lo, hi in zip(light, dark)])
    if kind == "denim" and rng.random() < 0.6:  # a lap: the dark gap between the thighs, from below
        cx, top = rng.uniform(0.3, 0.7) * w, rng.uniform(0.2, 0.7) * h
        half = rng.uniform(0.04, 0.12) * w
        ImageDraw.Draw(out).polygon([(cx, top), (cx + half, h), (cx - half, h)],
                                    fill=_jitter(rng, (22, 22, 26), 6))
    return out


def _draw_laptop(rng, d: _Pen, h: int, w: int) -> None:
    """A laptop (body, key grid, trackpad) entering from a frame edge."""
    body = _jitter(rng, [(96, 98, 104), (130, 132, 138), (190, 192, 196), (40, 40, 44)][rng.integers(4)], 6)
    keyc = tuple(max(0, c - 70) for c in body) if body[0] > 60 else (20, 20, 22)
    lw, lh = w * rng.uniform(1.0, 1.8), w * rng.uniform(0.7, 1.1)
    side = rng.integers(4)
    ang = rng.normal(0, 0.25) + side * np.pi / 2
    depth = rng.uniform(0.08, 0.35) * (h if side % 2 == 0 else w)
    # the laptop centre sits beyond a frame edge so that only `depth` pixels show
    ex, ey = [(w / 2, 0), (w, h / 2), (w / 2, h), (0, h / 2)][side]
    nx, ny = [(0, -1), (1, 0), (0, 1), (-1, 0)][side]
    ex += rng.uniform(-0.3, 0.3) * w * (ny != 0)
    ey += rng.uniform(-0.3, 0.3) * h * (nx != 0)
    cx, cy = ex + nx * (lh / 2 - depth), ey + ny * (lh / 2 - depth)
    poly = _rot_rect(cx, cy, lw, lh, ang, r=w * 0.03)
    d.polygon(poly, fill=body)
    c, s = math.cos(ang), math.sin(ang)
    # keys in the half of the body nearest the frame edge, trackpad nearer the viewer
    kw = lw / 16
    for row in range(5):
        for col in range(14):
            lx = -lw / 2 + kw * (col + 1.0)
            ly = -lh / 2 + lh * 0.08 + kw * row * 1.05
            d.polygon(_rot_rect(cx + lx * c - ly * s, cy + lx * s + ly * c, kw * 0.82, kw * 0.82, ang), fill=keyc)
    ly = lh * 0.25
    d.polygon(_rot_rect(cx - ly * s, cy + ly * c, lw * 0.36, lh * 0.32, ang, w * 0.01),
              fill=tuple(min(255, x + 8) for x in body), outline=tuple(max(0, x - 25) for x in body))


def _draw_keyboard(rng, d: _Pen, h: int, w: int, anywhere: bool = False) -> None:
    """An external keyboard with coloured keycaps, partly in frame (or `anywhere`)."""
    frame = _jitter(rng, [(235, 235, 235), (40, 40, 40), (200, 200, 205)][rng.integers(3)], 5)
    caps = [(250, 250, 250), (235, 180, 205), (120, 200, 220), (150, 210, 170), (60, 60, 60)]
    kw = w * rng.uniform(0.07, 0.11)
    cx, cy = rng.uniform(0, w), rng.choice([rng.uniform(-0.1, 0.15), rng.uniform(0.85, 1.1)]) * h
    if anywhere:
        cy = rng.uniform(0.15, 0.85) * h
    ang = rng.normal(0, 0.3)
    c, s = math.cos(ang), math.sin(ang)
    poly = _rot_rect(cx, cy, kw * 16, kw * 6, ang, kw * 0.2)
    d.polygon(poly, fill=frame)
    pal = [caps[i] for i in rng.integers(0, len(caps), 3)]
    for row in range(5):
        for col in range(15):
            lx, ly = -kw * 7.5 + kw * (col + 0.5), -kw * 2.5 + kw * (row + 0.5)
            d.polygon(_rot_rect(cx + lx * c - ly * s, cy + lx * s + ly * c, kw * 0.85, kw * 0.85, ang),
                      fill=pal[rng.integers(3)], outline=tuple(max(0, x - 40) for x in frame))


def _two_surfaces(rng, bg: Image.Image, h: int, w: int) -> Image.Image:
    """The frame split by a straight edge: a light desk top beside the floor, a drawer or another desk."""
    other = _background(rng, h, w)
    if rng.random() < 0.6:  # the other side is a light laminate: the hardest one for a receipt finder
        light = _jitter(rng, [(236, 236, 232), (222, 222, 218), (210, 206, 198), (240, 238, 230)][rng.integers(4)], 6)
        other = Image.blend(other, Image.new("RGB", (w, h), light), rng.uniform(0.7, 0.95))
    a = rng.uniform(0, 2 * np.pi)
    px, py = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    n = np.array([math.cos(a), math.sin(a)])
    far = 3 * (h + w)
    t = np.array([-n[1], n[0]]) * far
    side = Image.new("L", (w, h), 0)
    poly = [(px + t[0], py + t[1]), (px - t[0], py - t[1]), (px - t[0] + n[0] * far, py - t[1] + n[1] * far),
            (px + t[0] + n[0] * far, py + t[1] + n[1] * far)]
    ImageDraw.Draw(side).polygon(poly, fill=255)
    out = Image.composite(other, bg, side)
    band = w * rng.uniform(0.005, 0.03)  # the desk's edge, lit or in shade
    edge = [(px + t[0], py + t[1]), (px - t[0], py - t[1]), (px - t[0] - n[0] * band, py - t[1] - n[1] * band),
            (px + t[0] - n[0] * band, py + t[1] - n[1] * band)]
    ImageDraw.Draw(out).polygon(edge, fill=_jitter(rng, [(60, 55, 50), (230, 228, 222), (150, 120, 90)]
                                                   [rng.integers(3)], 10))
    return out


def _draw_distractor(rng, d: _Pen, h: int, w: int) -> None:
    """One large light object a receipt finder confuses with paper: a tablet (bezel, dark screen with
    glare), a closed laptop, a white or cardboard box, a kraft paper bag, a white keyboard, or the
    plain light front of a drawer or cabinet (bright, four-sided, but no print on it)."""
    kind = rng.choice(["tablet", "lid", "box", "bag", "keyboard", "panel"], p=[0.2, 0.15, 0.15, 0.15, 0.15, 0.2])
    cx, cy, ang = rng.uniform(0.1, 0.9) * w, rng.uniform(0.1, 0.9) * h, rng.normal(0, 0.4)
    c, s = math.cos(ang), math.sin(ang)
    at = lambda x, y: (cx + x * c - y * s, cy + x * s + y * c)  # noqa: E731
    if kind == "tablet":
        tw = w * rng.uniform(0.5, 1.1)
        th = tw * rng.uniform(1.3, 1.45)
        bezel = _jitter(rng, [(240, 240, 238), (200, 200, 204), (30, 30, 32)][rng.integers(3)], 5)
        d.polygon(_rot_rect(cx, cy, tw, th, ang, tw * 0.06), fill=bezel)
        screen = _jitter(rng, (28, 28, 34), 8)
        d.polygon(_rot_rect(cx, cy, tw * 0.88, th * 0.9, ang), fill=screen)
        # glare: a window reflected in the screen, soft edged, brighter towards its middle
        gx, gy = at(rng.uniform(-0.25, 0.25) * tw, rng.uniform(-0.25, 0.25) * th)
        gw, gh, peak = tw * rng.uniform(0.3, 0.7), th * rng.uniform(0.2, 0.5), rng.uniform(60, 200)
        for f in np.linspace(1.0, 0.5, 6):
            v = int(screen[0] + peak * (1.5 - f))
            d.polygon(_rot_rect(gx, gy, gw * f, gh * f, ang + 0.1, gw * f * 0.3), fill=(v, v, min(255, v + 6)))
    elif kind == "lid":
        lw = w * rng.uniform(0.8, 1.5)
        body = _jitter(rng, [(196, 198, 202), (170, 172, 176), (215, 212, 208), (128, 130, 136)][rng.integers(4)], 5)
        d.polygon(_rot_rect(cx, cy, lw, lw * rng.uniform(0.65, 0.72), ang, w * 0.03), fill=body)
        r = lw * 0.05
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=tuple(min(255, v + 25) for v in body))
    elif kind == "box":
        bw, bh, depth = w * rng.uniform(0.3, 0.6), w * rng.uniform(0.3, 0.6), w * rng.uniform(0.1, 0.3)
        face = _jitter(rng, [(240, 238, 232), (226, 224, 220), (196, 160, 112)][rng.integers(3)], 6)
        top = [at(-bw / 2, -bh / 2), at(bw / 2, -bh / 2), at(bw / 2, bh / 2), at(-bw / 2, bh / 2)]
        side = [top[3], top[2], at(bw / 2, bh / 2 + depth), at(-bw / 2, bh / 2 + depth)]
        d.polygon(side, fill=tuple(int(v * 0.8) for v in face))
        d.polygon(top, fill=face)
        ink = _jitter(rng, [(200, 40, 40), (30, 60, 150), (30, 30, 30)][rng.integers(3)], 10)
        r = min(bw, bh) * rng.uniform(0.1, 0.25)
        mx, my = at(rng.uniform(-0.2, 0.2) * bw, rng.uniform(-0.2, 0.2) * bh)
        d.ellipse([mx - r, my - r, mx + r, my + r], fill=ink)
        d.ellipse([mx - r * 0.85, my - r * 0.85, mx + r * 0.85, my + r * 0.85], fill=face)
    elif kind == "bag":
        bw = w * rng.uniform(0.4, 0.7)
        bh = bw * rng.uniform(1.2, 1.7)
        kraft = _jitter(rng, [(190, 150, 105), (205, 170, 125), (170, 130, 90), (235, 232, 226)][rng.integers(4)], 8)
        d.polygon([at(-bw / 2, -bh / 2), at(bw / 2, -bh / 2), at(bw * 0.55, bh / 2), at(-bw * 0.55, bh / 2)],
                  fill=kraft)
        fold = tuple(int(v * 0.85) for v in kraft)
        for fy in (-0.35, 0.3):
            d.line([at(-bw / 2, fy * bh), at(bw / 2, fy * bh)], fill=fold, width=max(1, int(w / 200)))
        d.polygon(_rot_rect(*at(0, -0.05 * bh), bw * 0.3, bw * 0.2, ang), fill=(40, 70, 140))
    elif kind == "panel":
        pw, ph = w * rng.uniform(0.5, 1.2), w * rng.uniform(0.25, 0.6)
        face = _jitter(rng, [(236, 234, 228), (222, 214, 200), (205, 190, 165), (245, 245, 242)][rng.integers(4)], 6)
        d.polygon(_rot_rect(cx, cy, pw, ph, ang), fill=face, outline=tuple(int(v * 0.7) for v in face),
                  width=max(1, int(w / 150)))
        grain = tuple(int(v * rng.uniform(0.9, 0.97)) for v in face)
        for gy in rng.uniform(-0.45, 0.45, int(rng.integers(0, 6))):  # faint grain or a seam
            d.line([at(-pw / 2, gy * ph), at(pw / 2, gy * ph)], fill=grain, width=max(1, int(w / 300)))
        hw = pw * rng.uniform(0.1, 0.3)  # a bar handle or a knob
        metal = _jitter(rng, [(200, 200, 205), (60, 60, 60), (170, 150, 110)][rng.integers(3)], 8)
        hy = rng.uniform(-0.3, 0.0) * ph
        d.polygon(_rot_rect(*at(0, hy), hw, w * 0.015, ang), fill=metal)
    else:
        _draw_keyboard(rng, d, h, w, anywhere=True)


def _draw_object(rng, d: _Pen, h: int, w: int) -> None:
    """One clutter object: other paper, sticky note, card, pen, phone, mouse, coin, cable or book."""
    kind = rng.choice(["paper", "note", "card", "pen", "phone", "mouse", "coin", "cable", "book"],
                      p=[0.2, 0.1, 0.1, 0.15, 0.1, 0.08, 0.07, 0.1, 0.1])
    cx, cy, ang = rng.uniform(-0.1, 1.1) * w, rng.uniform(-0.1, 1.1) * h, rng.uniform(0, np.pi)
    if kind == "paper":  # cut by a frame edge: a whole page in the frame is a document, not clutter
        pw = w * rng.uniform(0.5, 0.9)
        side = rng.integers(4)
        cx = [rng.uniform(-0.3, 0.0) * w, rng.uniform(1.0, 1.3) * w, cx, cx][side]
        cy = [cy, cy, rng.uniform(-0.3, 0.0) * h, rng.uniform(1.0, 1.3) * h][side]
        poly = _rot_rect(cx, cy, pw, pw * 1.414, ang)
        d.polygon(poly, fill=_jitter(rng, (236, 236, 232), 6))
        c, s = math.cos(ang), math.sin(ang)
        for k in range(int(rng.integers(0, 12))):  # a few grey print lines, A4 style
            ly = -pw * 0.6 + k * pw * 0.06
            lx = -pw * 0.38
            ln = pw * rng.uniform(0.3, 0.75)
            d.line([(cx + lx * c - ly * s, cy + lx * s + ly * c),
                    (cx + (lx + ln) * c - ly * s, cy + (lx + ln) * s + ly * c)], fill=(120, 120, 125),
                   width=max(1, int(pw / 120)))
    elif kind == "note":
        sz = w * rng.uniform(0.15, 0.25)
        poly = _rot_rect(cx, cy, sz, sz, ang)
        d.polygon(poly, fill=_jitter(rng, [(250, 230, 120), (250, 170, 190), (160, 220, 240)][rng.integers(3)]))
    elif kind == "card":
        sz = w * rng.uniform(0.25, 0.4)
        poly = _rot_rect(cx, cy, sz, sz * 0.6, ang, sz * 0.05)
        d.polygon(poly, fill=_jitter(rng, tuple(int(v) for v in rng.integers(30, 250, 3)), 0))
    elif kind == "pen":
        ln = w * rng.uniform(0.3, 0.6)
        poly = _rot_rect(cx, cy, ln, w * rng.uniform(0.015, 0.03), ang, w * 0.01)
        d.polygon(poly, fill=_jitter(rng, [(20, 30, 120), (20, 20, 20), (240, 240, 240), (200, 40, 40)]
                                     [rng.integers(4)], 5))
    elif kind == "phone":
        sz = w * rng.uniform(0.3, 0.45)
        poly = _rot_rect(cx, cy, sz, sz * 2.05, ang, sz * 0.12)
        d.polygon(poly, fill=(18, 18, 22), outline=(90, 90, 95), width=3)
    elif kind == "mouse":
        sz = w * rng.uniform(0.12, 0.18)
        poly = _rot_rect(cx, cy, sz, sz * 1.7, ang, sz * 0.5)
        d.polygon(poly, fill=_jitter(rng, [(25, 25, 28), (230, 230, 230)][rng.integers(2)], 5))
    elif kind == "coin":
        r = w * rng.uniform(0.03, 0.05)
        poly = _rot_rect(cx, cy, 2 * r, 2 * r, 0, r)
        d.polygon(poly, fill=_jitter(rng, [(190, 160, 90), (180, 180, 180)][rng.integers(2)], 8))
    elif kind == "book":
        sz = w * rng.uniform(0.5, 0.8)
        poly = _rot_rect(cx, cy, sz, sz * 1.35, ang, 4)
        d.polygon(poly, fill=_jitter(rng, tuple(int(v) for v in rng.integers(20, 230, 3)), 0))
    else:  # cable: a smooth dark curve
        t = np.linspace(0, 1, 24)
        p0, p1, p2 = rng.uniform(-0.2, 1.2, (3, 2)) * (w, h)
        pts = ((1 - t)[:, None] ** 2 * p0 + 2 * ((1 - t) * t)[:, None] * p1 + (t ** 2)[:, None] * p2)
        poly = [tuple(p) for p in pts]
        d.line(poly, fill=_jitter(rng, [(20, 20, 20), (235, 235, 235)][rng.integers(2)], 5),
               width=max(1, int(w * rng.uniform(0.01, 0.02))), joint="curve")


# ----------------------------------------------------------------------------- the receipt itself

@lru_cache(maxsize=2048)
def _scaled_strip(kind: str, index: int, cw: float, th: int) -> Image.Image:
    """Text strip `index` of `kind` scaled to glyphs cw wide and th high (shared by all photos)."""
    src = _strips()[kind][index]
    src_cw = _STRIP_H if kind == "cjk" else 15.0
    return src.resize((max(2, int(src.width * cw / src_cw)), th), Image.Resampling.BILINEAR)


def _text(rng, ink: Image.Image, kind: str, x: float, y: float, n_chars: float, cw: float, th: float,
          bold: bool = False, cache: dict | None = None) -> None:
    """Paste a run of about n_chars glyphs of width cw, height th at (x, y) into the ink layer.

    cache (one per receipt) keeps each strip scaled once per glyph size, so a line costs a crop.
    """
    key = (kind, round(cw, 1), max(2, int(th)))
    strip = None if cache is None else cache.get(key)
    if strip is None:
        strip = _scaled_strip(kind, int(rng.integers(len(_strips()[kind]))), *key[1:])
        if cache is not None:
            cache[key] = strip
    tw = int(min(strip.width - 1, max(2, n_chars * cw)))
    x0 = int(rng.integers(0, max(1, strip.width - tw)))
    seg = strip.crop((x0, 0, x0 + tw, strip.height))
    ink.paste(255, (int(x), int(y)), seg)
    if bold:  # print twice, one pixel apart
        ink.paste(255, (int(x) + 1, int(y)), seg)


def _barcode(rng, ink: Image.Image, x, y, w, h) -> None:
    bars = rng.random(int(rng.integers(40, 90))) < 0.5
    row = np.repeat(bars, rng.integers(1, 4, bars.size)).astype(np.uint8) * 255
    row[:2] = 255
    img = Image.fromarray(row[None, :]).resize((max(2, int(w)), max(2, int(h))), Image.Resampling.NEAREST)
    ink.paste(img, (int(x), int(y)))


def _qr(rng, ink: Image.Image, x, y, s) -> None:
    n = int(rng.choice([21, 25, 29, 33]))
    g = (rng.random((n, n)) < 0.5).astype(np.uint8)
    finder = np.ones((7, 7), np.uint8)
    finder[1:6, 1:6] = 0
    finder[2:5, 2:5] = 1
    for r, c in ((0, 0), (0, n - 7), (n - 7, 0)):
        g[r:r + 8, c:c + 8] = 0
        g[r:r + 7, c:c + 7] = finder
    img = Image.fromarray(g * 255).resize((max(2, int(s)), max(2, int(s))), Image.Resampling.NEAREST)
    ink.paste(img, (int(x), int(y)))


def _layout(rng, ink: Image.Image, stamp: ImageDraw.ImageDraw, x0: float, x1: float, y0: float, y1: float,
            script: str) -> None:
    """Print a receipt's content (header, lines, items, totals, codes, footer) between y0 and y1."""
    width = x1 - x0
    n_cols = rng.uniform(26, 46)
    cw = width / n_cols
    th = cw * rng.uniform(1.3, 1.8)
    lh = th * rng.uniform(1.25, 1.8)
    d = ImageDraw.Draw(ink)
    cache: dict = {}
    y = y0

    def line(frac_len, align="left", scale=1.0, bold=False, kind=None):
        nonlocal y
        k = kind or (script if rng.random() < 0.8 else "digits")
        n = max(2.0, n_cols * frac_len / scale)
        c = cw * scale * (1.6 if k == "cjk" else 1.0)
        n = n / (1.6 if k == "cjk" else 1.0)
        tw = n * c
        xs = {"left": x0, "center": x0 + (width - tw) / 2, "right": x1 - tw}[align]
        if y + th * scale < y1:
            _text(rng, ink, k, xs, y, n, c, th * scale, bold, cache)
        y += lh * scale

    def sep():
        nonlocal y
        if y + lh > y1:
            y = y1
            return
        yy = int(y + lh / 2)
        if rng.random() < 0.5:
            d.line([(x0, yy), (x1, yy)], fill=255, width=max(1, int(th / 8)))
        else:
            step = max(3, int(cw))
            for xx in range(int(x0), int(x1) - step // 2, step):
                d.line([(xx, yy), (xx + step * 0.6, yy)], fill=255, width=max(1, int(th / 7)))
        y += lh

    # header: logo, shop name, address
    if rng.random() < 0.45:
        s = width * rng.uniform(0.15, 0.3)
        lx = x0 + (width - s) / 2 if rng.random() < 0.7 else x0
        if rng.random() < 0.5:
            d.ellipse([lx, y, lx + s, y + s], outline=255, width=max(2, int(s / 10)))
            _text(rng, ink, "bold", lx + s * 0.2, y + s * 0.3, 2, s * 0.3, s * 0.4, True)
        else:
            d.rectangle([lx, y, lx + s, y + s * 0.6], fill=255)
            _text(rng, ink, "latin", lx + s * 0.1, y + s * 0.15, 3, s * 0.25, s * 0.3)
            ink.paste(Image.eval(ink.crop((int(lx), int(y), int(lx + s), int(y + s * 0.6))), lambda v: 255 - v),
                      (int(lx), int(y)))
        y += s * 1.15
    big = rng.uniform(1.4, 2.4)
    for _ in range(int(rng.integers(1, 3))):
        line(rng.uniform(0.4, 0.9), "center", big, bold=True, kind="bold" if script == "latin" else "cjk")
    for _ in range(int(rng.integers(1, 5))):
        line(rng.uniform(0.3, 0.95), "center" if rng.random() < 0.6 else "left")
    sep()
    for _ in range(int(rng.integers(1, 6))):
        line(rng.uniform(0.3, 0.9))
    sep()
    n_items = int(max(2, (y1 - y) / lh * rng.uniform(0.2, 0.55)))
    cols = rng.random() < 0.5
    for _ in range(n_items):
        if y + th > y1:
            break
        yy = y
        line(rng.uniform(0.2, 0.5))
        y = yy
        if cols:
            line(rng.uniform(0.05, 0.1), "center", kind="digits")
            y = yy
        line(rng.uniform(0.1, 0.2), "right", kind="digits")
    sep()
    s = rng.uniform(1.0, 1.8)
    for _ in range(int(rng.integers(1, 4))):
        yy = y
        line(rng.uniform(0.2, 0.4), scale=s, bold=True)
        y = yy
        line(rng.uniform(0.15, 0.25), "right", scale=s, bold=True, kind="digits")
    for _ in range(int(rng.integers(0, 6))):
        line(rng.uniform(0.3, 0.95))
    if rng.random() < 0.5 and y + width * 0.2 < y1:
        bw, bh = width * rng.uniform(0.6, 1.0), width * rng.uniform(0.1, 0.22)
        _barcode(rng, ink, x0 + (width - bw) / 2, y + lh * 0.5, bw, bh)
        y += bh + lh
        line(rng.uniform(0.3, 0.6), "center", kind="digits")
    if rng.random() < 0.45:
        s = width * rng.uniform(0.3, 0.5)
        if y + s < y1:
            if rng.random() < 0.3 and x0 + 2.3 * s < x1:
                _qr(rng, ink, x0 + width * 0.1, y, s)
                _qr(rng, ink, x1 - width * 0.1 - s, y, s)
            else:
                _qr(rng, ink, x0 + (width - s) / 2, y, s)
            y += s + lh * 0.5
    for _ in range(int(rng.integers(0, 4))):
        line(rng.uniform(0.3, 0.9), "center")
    if rng.random() < 0.15:  # handwritten signature across the bottom
        t = np.linspace(0, 1, 40)
        yy = min(y, y1 - width * 0.15) + width * 0.05
        xs = x0 + width * (0.2 + 0.6 * t)
        ys = yy + width * 0.05 * np.sin(t * rng.uniform(10, 25)) * np.sin(t * 3 + rng.uniform(0, 3))
        d.line(list(zip(xs, ys)), fill=255, width=max(1, int(cw / 4)), joint="curve")
    if rng.random() < 0.2 and stamp is not None:  # red seal over the text
        s = width * rng.uniform(0.25, 0.4)
        sx, sy = x0 + rng.uniform(0.2, 0.8) * (width - s), rng.uniform(y0, max(y0 + 1, y1 - s))
        if rng.random() < 0.5:
            stamp.ellipse([sx, sy, sx + s, sy + s * 0.75], outline=255, width=max(2, int(s / 18)))
        else:
            stamp.rectangle([sx, sy, sx + s, sy + s * 0.5], outline=255, width=max(2, int(s / 18)))


def _edge(rng, x0: float, x1: float, y: float, amp: float, direction: int, style: str) -> list:
    """Points along a paper end from x0 to x1 near height y: straight, zigzag or torn, going inward."""
    if style == "straight" or amp < 1:
        return [(x0, y), (x1, y)]
    if style == "zigzag":
        n = max(4, int((x1 - x0) / max(3.0, amp * 1.6)))
        xs = np.linspace(x0, x1, 2 * n + 1)
        ys = y + direction * amp * (np.arange(2 * n + 1) % 2)
    else:  # torn: a ragged random walk, biased inward
        n = max(6, int((x1 - x0) / 3))
        xs = np.linspace(x0, x1, n)
        walk = np.cumsum(rng.normal(0, amp * 0.35, n))
        walk = np.abs(walk - np.linspace(walk[0], walk[-1], n))
        ys = y + direction * np.clip(walk, 0, amp * 2.5)
    return list(zip(xs, ys))


def _receipt(rng, pw: int, ph: int) -> tuple[Image.Image, Image.Image, int]:
    """Draw a receipt paper pw x ph px inside a canvas with margin m; returns (rgb, alpha, m)."""
    m = max(6, int(0.06 * pw))
    W, H = pw + 2 * m, ph + 2 * m
    pc = _jitter(rng, _PAPER_COLOURS[rng.integers(len(_PAPER_COLOURS))], 3)
    paper = Image.new("RGB", (W, H), pc)
    if rng.random() < 0.1:  # coloured end-of-roll stripe along one long edge
        sw = pw * rng.uniform(0.04, 0.1)
        xs = m if rng.random() < 0.5 else m + pw - sw
        col = _jitter(rng, [(236, 120, 170), (200, 130, 220), (240, 170, 120)][rng.integers(3)], 10)
        ImageDraw.Draw(paper).rectangle([xs, 0, xs + sw, H], fill=col)
    ink = Image.new("L", (W, H), 0)
    stamp_img = Image.new("L", (W, H), 0)
    pad = pw * rng.uniform(0.04, 0.1)
    _layout(rng, ink, ImageDraw.Draw(stamp_img), m + pad, m + pw - pad, m + ph * rng.uniform(0.02, 0.06),
            m + ph * rng.uniform(0.9, 0.98), "cjk" if rng.random() < 0.5 else "latin")
    strength = rng.uniform(0.55, 0.95)
    ink = ink.point(_lut(_RAMP * strength))
    ink_col = _jitter(rng, [(25, 25, 30), (45, 45, 55), (60, 50, 90), (30, 30, 60)][rng.integers(4)], 8)
    paper = Image.composite(Image.new("RGB", (W, H), ink_col), paper, ink)
    if stamp_img.getbbox():
        stamp_img = stamp_img.point(_lut(_RAMP * rng.uniform(0.4, 0.8)))
        paper = Image.composite(Image.new("RGB", (W, H), _jitter(rng, (215, 40, 60), 15)), paper, stamp_img)

    # shading: curl across the width, creases across the length, a soft gradient
    sh, sw_ = max(2, H // 8), max(2, W // 8)
    v = np.linspace(0, 1, sh, dtype=np.float32)[:, None]
    u = np.linspace(0, 1, sw_, dtype=np.float32)[None, :]
    shade = 1 - rng.uniform(0, 0.08) * (np.cos(np.pi * (u - rng.uniform(0.2, 0.8)) * 2) + 1) / 2
    shade = shade + rng.uniform(-0.05, 0.05) * v + 0.03 * _field(rng, sh, sw_, 4, 3)
    for _ in range(int(rng.poisson(0.8))):  # creases: one side slightly darker, a bright fold line
        vy = rng.uniform(0.1, 0.9) + rng.uniform(-0.05, 0.05) * (u - 0.5)
        shade = shade - rng.uniform(0.02, 0.07) * (v > vy) + 0.05 * (np.abs(v - vy) < 1.0 / sh)
    shade_img = Image.fromarray(np.clip(shade * 255, 0, 255).astype(np.uint8)).resize((W, H), Image.Resampling.BILINEAR)
    paper = ImageChops.multiply(paper, Image.merge("RGB", [shade_img] * 3))

    alpha = Image.new("L", (W, H), 0)
    amp = max(1.5, pw * rng.uniform(0.01, 0.03))
    top_style = rng.choice(["straight", "zigzag", "torn"], p=[0.6, 0.2, 0.2])
    bot_style = rng.choice(["straight", "zigzag", "torn"], p=[0.5, 0.25, 0.25])
    top = _edge(rng, m, m + pw, m, amp, 1, top_style)
    bottom = _edge(rng, m + pw, m, m + ph, amp, -1, bot_style)
    ImageDraw.Draw(alpha).polygon(top + bottom, fill=255)
    return paper, alpha, m


# ----------------------------------------------------------------------------- documents (pages other than receipts)

_PAGE_WHITES = [(248, 248, 246), (244, 244, 240), (240, 240, 236), (250, 250, 250), (236, 238, 240),
                (242, 240, 234)]
_PAGE_COLOURS = [(250, 242, 170), (252, 222, 228), (212, 230, 250), (216, 240, 216), (240, 226, 198),
                 (250, 214, 172), (226, 214, 240)]
_ACCENTS = [(30, 70, 150), (180, 30, 40), (20, 120, 80), (230, 120, 20), (90, 40, 130), (40, 40, 40),
            (0, 130, 170)]
_FIELD_FILLS = [(220, 232, 250), (252, 246, 200), (250, 226, 232), (222, 244, 226), (232, 232, 232)]
_PEN_INKS = [(20, 40, 140), (25, 25, 30), (40, 60, 170), (10, 80, 160), (150, 30, 40)]
_PAGE_KINDS = ("letter", "table", "form", "notebook", "book")
_PAGE_ASPECTS = (1.414, 1.294, 1.5, 1.333)  # A4, Letter, book page, a cropped page


def _handwriting(rng, d: ImageDraw.ImageDraw, x0: float, y: float, length: float, size: float, width: int) -> None:
    """Cursive-like handwriting along a baseline: words of looping, slanted strokes, size = x-height (px)."""
    x = x0
    slant = rng.uniform(-0.1, 0.45) * size
    while x < x0 + length - size:
        wl = min(max(size * rng.uniform(1.5, 6.0), length * rng.uniform(0.08, 0.3)), x0 + length - x)
        n_loops = max(1.0, wl / size * rng.uniform(0.8, 1.2))
        t = np.linspace(0, 1, max(8, int(n_loops * 7)))
        phase = 2 * np.pi * n_loops * t
        amp = size * (0.5 + 0.15 * np.sin(rng.uniform(1, 4) * phase + rng.uniform(0, 6)))
        ys = y - amp * (1 - np.cos(phase)) * rng.uniform(0.45, 0.55)
        if rng.random() < 0.5:  # an ascender or a descender somewhere in the word
            k = int(rng.integers(len(t)))
            ys[k] += size * rng.choice([-1.2, 1.0])
        xs = x + wl * t - 0.35 * size * np.sin(phase) + slant * (y - ys) / max(size, 1e-6)
        d.line(list(zip(xs.tolist(), ys.tolist())), fill=255, width=width, joint="curve")
        x += wl + size * rng.uniform(0.7, 1.4)


def _page_layout(rng, kind: str, paper: Image.Image, ink: Image.Image, pen: Image.Image,
                 x0: float, x1: float, y0: float, y1: float, script: str) -> None:
    """Print a page's content between (x0, y0) and (x1, y1): coloured fills go straight onto `paper`,
    printed text onto `ink` (L, 255 = ink), handwriting onto `pen` (L)."""
    width = x1 - x0
    n_cols = rng.uniform(55, 95) if kind != "notebook" else rng.uniform(40, 60)
    cw = width / n_cols
    th = cw * rng.uniform(1.3, 1.7)
    lh = th * rng.uniform(1.3, 1.9)
    di, dp, dc = ImageDraw.Draw(ink), ImageDraw.Draw(pen), ImageDraw.Draw(paper)
    accent = _jitter(rng, _ACCENTS[rng.integers(len(_ACCENTS))], 12)
    light = tuple(int(255 - (255 - c) * rng.uniform(0.15, 0.35)) for c in accent)
    hand = max(1, int(round(cw * rng.uniform(0.25, 0.45))))
    cache: dict = {}
    y = y0

    def text(x, n, scale=1.0, bold=False, k=None):
        k = k or (script if rng.random() < 0.85 else "digits")
        f = 1.6 if k == "cjk" else 1.0
        if y + th * scale < y1 and n >= 1:
            _text(rng, ink, k, x, y, n / f, cw * scale * f, th * scale, bold, cache)

    def paragraph(n_lines, x_a=x0, x_b=x1, scale=1.0):
        nonlocal y
        cols = (x_b - x_a) / (cw * scale)
        for j in range(n_lines):
            if y + th * scale > y1:
                return
            frac = rng.uniform(0.3, 0.9) if j == n_lines - 1 else rng.uniform(0.93, 1.0)
            text(x_a + (cw * scale * 3 if j == 0 and rng.random() < 0.4 else 0), cols * frac, scale)
            y += lh * scale

    def letterhead():
        nonlocal y
        hh = (y1 - y0) * rng.uniform(0.06, 0.11)
        style = rng.integers(3)
        if style == 0:  # a coloured band across the top
            dc.rectangle([0, 0, paper.width, y0 + hh * 0.7], fill=accent)
            text(x0, rng.uniform(10, 25), 1.6, True, "bold")
        else:  # a logo and the name, a rule below
            s = hh * 0.9
            lx = x0 if style == 1 else x1 - s
            if rng.random() < 0.5:
                dc.ellipse([lx, y, lx + s, y + s], fill=accent)
            else:
                dc.rectangle([lx, y, lx + s, y + s], fill=accent)
            y_save = y
            y += s * 0.15
            text(x0 + s * 1.2 if style == 1 else x0, rng.uniform(12, 28), rng.uniform(1.4, 2.2), True,
                 "bold" if script == "latin" else "cjk")
            y = y_save + s * 0.6
            text(x0 + s * 1.2 if style == 1 else x0, rng.uniform(20, 45), 0.8)
            y = y_save
            dc.line([(x0, y + hh), (x1, y + hh)], fill=accent, width=max(1, int(th / 4)))
        y = y0 + hh * 1.4

    if kind == "notebook":  # ruled paper, a margin line, handwriting on some rules
        rule = lh * rng.uniform(0.9, 1.3)
        blue = _jitter(rng, (150, 180, 220), 10)
        for yy in np.arange(y0 + rule, y1, rule):
            dc.line([(0, yy), (paper.width, yy)], fill=blue, width=max(1, int(rule / 14)))
        dc.line([(x0 + width * 0.08, 0), (x0 + width * 0.08, paper.height)], fill=(220, 120, 130),
                width=max(1, int(rule / 12)))
        size = rule * rng.uniform(0.3, 0.45)
        for yy in np.arange(y0 + rule, y1, rule):
            if rng.random() < 0.8:
                _handwriting(rng, dp, x0 + width * rng.uniform(0.1, 0.2), yy - rule * 0.1,
                             width * rng.uniform(0.4, 0.9), size, hand)
        return
    if kind in ("letter", "table", "form") and rng.random() < 0.7:
        letterhead()
    if kind == "book":
        ncol = 1 if rng.random() < 0.7 else 2
        text(x0 + width * 0.3, rng.uniform(10, 30), 0.9)  # running head
        y += lh * 2
        if rng.random() < 0.4:
            text(x0, rng.uniform(10, 30), 1.8, True, "bold")
            y += lh * 2.5
        top = y
        gut = width * 0.05
        cwid = (width - gut * (ncol - 1)) / ncol
        for c in range(ncol):
            y = top
            xa = x0 + c * (cwid + gut)
            while y < y1 - lh * 3:
                if rng.random() < 0.12:  # a figure
                    fh = min(cwid * rng.uniform(0.4, 0.7), y1 - y - lh * 2)
                    dc.rectangle([xa, y, xa + cwid, y + fh], fill=_jitter(rng, (150, 150, 150), 40))
                    y += fh + lh
                paragraph(int(rng.integers(3, 12)), xa, xa + cwid)
                y += lh * 0.4
        return
    if kind == "letter":
        for _ in range(int(rng.integers(2, 5))):
            text(x0, rng.uniform(15, 35))
            y += lh
        y += lh
        text(x1 - cw * 20, rng.uniform(10, 18))
        y += lh * 2
        text(x0, rng.uniform(20, 50), 1.0, True)
        y += lh * 2
        while y < y1 - lh * 8:
            paragraph(int(rng.integers(2, 9)))
            y += lh * 0.8
        text(x0, rng.uniform(8, 20))
        y += lh * 1.5
        _handwriting(rng, dp, x0, y + lh, width * rng.uniform(0.2, 0.4), lh * rng.uniform(0.5, 0.9), hand)
        y += lh * 2
        text(x0, rng.uniform(10, 25))
        return
    if kind == "table":
        text(x0, rng.uniform(10, 25), 1.8, True, "bold" if script == "latin" else "cjk")
        y += lh * 2.5
        for _ in range(int(rng.integers(1, 4))):
            text(x0, rng.uniform(15, 40))
            y += lh
        y += lh
        n_c = int(rng.integers(3, 7))
        edges = np.sort(np.r_[0, rng.uniform(0.15, 0.9, n_c - 1), 1]) * width + x0
        row = lh * rng.uniform(1.2, 1.8)
        n_r = int(max(3, min((y1 - y) / row - 4, rng.integers(6, 30))))
        top = y
        grid = rng.random() < 0.5
        dc.rectangle([x0, top, x1, top + row], fill=light)
        lw = max(1, int(th / 6))
        for r in range(n_r + 1):
            if rng.random() < 0.3 and r > 0 and r % 2 == 0:
                dc.rectangle([x0, top + r * row, x1, top + (r + 1) * row], fill=_jitter(rng, (238, 238, 238), 3))
            y = top + r * row + (row - th) / 2
            for c in range(n_c):
                cols = (edges[c + 1] - edges[c]) / cw - 2
                text(edges[c] + cw, cols * rng.uniform(0.3, 0.9), 1.0, r == 0, "digits" if c > 0 and r > 0 else None)
            di.line([(x0, top + (r + 1) * row), (x1, top + (r + 1) * row)], fill=255, width=lw)
        bottom = top + (n_r + 1) * row
        di.line([(x0, top), (x1, top)], fill=255, width=lw)
        if grid:
            for e in edges:
                di.line([(e, top), (e, bottom)], fill=255, width=lw)
        y = bottom + lh
        for _ in range(int(rng.integers(1, 4))):
            text(x1 - cw * 25, 24, 1.0, True, "digits")
            y += lh
        if rng.random() < 0.5:
            paragraph(int(rng.integers(1, 5)))
        return
    # form: labelled fields filled with a pale colour, checkboxes, handwriting in some fields
    text(x0, rng.uniform(10, 30), 1.7, True, "bold" if script == "latin" else "cjk")
    y += lh * 2
    fill = _jitter(rng, _FIELD_FILLS[rng.integers(len(_FIELD_FILLS))], 4)
    lw = max(1, int(th / 7))
    while y < y1 - lh * 3:
        r = rng.random()
        if r < 0.15:  # a section heading on a coloured band
            dc.rectangle([x0, y - lh * 0.2, x1, y + th * 1.3], fill=light if rng.random() < 0.6 else accent)
            text(x0 + cw, rng.uniform(10, 30), 1.0, True)
            y += lh * 1.6
        elif r < 0.3:  # a row of checkboxes
            s = th * 1.1
            for bx in np.linspace(x0, x1 - width * 0.25, int(rng.integers(2, 5))):
                di.rectangle([bx, y, bx + s, y + s], outline=255, width=lw)
                if rng.random() < 0.4:
                    dp.line([(bx + s * 0.1, y + s * 0.5), (bx + s * 0.4, y + s * 0.9), (bx + s * 1.1, y - s * 0.2)],
                            fill=255, width=hand)
                _text(rng, ink, script, bx + s * 1.5, y, 12, cw, th, cache=cache)
            y += lh * 1.6
        else:  # one or two labelled fields on a line
            n_f = 1 + int(rng.random() < 0.4)
            fw = width / n_f
            fh = th * rng.uniform(1.6, 2.6)
            for k in range(n_f):
                fx = x0 + k * fw
                lab = fw * rng.uniform(0.2, 0.35)
                _text(rng, ink, script, fx, y + (fh - th) / 2, lab / cw * 0.8, cw, th, cache=cache)
                box = [fx + lab, y, fx + fw - cw * 1.5, y + fh]
                dc.rectangle(box, fill=fill)
                di.rectangle(box, outline=255, width=lw) if rng.random() < 0.6 else di.line(
                    [(box[0], box[3]), (box[2], box[3])], fill=255, width=lw)
                if rng.random() < 0.6:
                    _handwriting(rng, dp, box[0] + cw, box[3] - fh * 0.25, (box[2] - box[0]) * rng.uniform(0.3, 0.9),
                                 fh * 0.3, hand)
            y += fh + lh * 0.7


def _paper_shade(rng, W: int, H: int, folds: list, crumple: bool, scale: int = 4) -> Image.Image:
    """Shading (L, 255 = unshaded) of a paper of W x H: bow across, gradient, folds (each panel tilted
    towards or away from the light, a bright ridge and a dark valley along the fold) and crumples."""
    sh, sw = max(2, H // scale), max(2, W // scale)
    v = np.linspace(0, 1, sh, dtype=np.float32)[:, None]
    u = np.linspace(0, 1, sw, dtype=np.float32)[None, :]
    shade = 1 - rng.uniform(0, 0.06) * (np.cos(np.pi * (u - rng.uniform(0.2, 0.8)) * 2) + 1) / 2
    shade = shade + rng.uniform(-0.05, 0.05) * v + 0.025 * _field(rng, sh, sw, 4, 3)
    for axis, pos in folds:
        c = v if axis == 0 else u
        n = sh if axis == 0 else sw
        tilt = rng.uniform(0.03, 0.12) * rng.choice([-1, 1])
        shade = shade + tilt * (c > pos) - tilt / 2
        shade = shade + rng.uniform(0.03, 0.08) * np.exp(-((c - pos) * n / 1.2) ** 2) * rng.choice([-1, 1])
    if crumple:
        f = _field(rng, sh, sw, 7, 6) + 0.5 * _field(rng, sh, sw, 16, 12)
        shade = shade - rng.uniform(0.04, 0.1) * np.exp(-(f / 0.06) ** 2) + 0.04 * f
    return Image.fromarray(np.clip(shade * 255, 0, 255).astype(np.uint8)).resize((W, H), Image.Resampling.BILINEAR)


def _document(rng, pw: int, ph: int) -> tuple[Image.Image, Image.Image, int, list]:
    """Draw a page (letter, invoice table, form, notebook, book page) pw x ph px on a canvas with margin
    m; returns (rgb, alpha, m, folds) where folds lists (axis, position) of the page's fold lines."""
    m = max(6, int(0.06 * pw))
    W, H = pw + 2 * m, ph + 2 * m
    coloured = rng.random() < 0.22
    pc = _jitter(rng, (_PAGE_COLOURS if coloured else _PAGE_WHITES)[rng.integers(7 if coloured else 6)], 3)
    paper = Image.new("RGB", (W, H), pc)
    ink = Image.new("L", (W, H), 0)
    pen = Image.new("L", (W, H), 0)
    kind = _PAGE_KINDS[rng.choice(5, p=[0.3, 0.22, 0.2, 0.12, 0.16])]
    pad = pw * rng.uniform(0.07, 0.14)
    _page_layout(rng, kind, paper, ink, pen, m + pad, m + pw - pad, m + ph * rng.uniform(0.04, 0.09),
                 m + ph * rng.uniform(0.9, 0.96), "cjk" if rng.random() < 0.2 else "latin")
    ink = ink.point(_lut(_RAMP * rng.uniform(0.6, 0.95)))
    ink_col = _jitter(rng, [(20, 20, 24), (40, 40, 46), (30, 30, 60)][rng.integers(3)], 6)
    paper = Image.composite(Image.new("RGB", (W, H), ink_col), paper, ink)
    if pen.getbbox():
        pen = pen.point(_lut(_RAMP * rng.uniform(0.6, 0.9)))
        paper = Image.composite(Image.new("RGB", (W, H), _jitter(rng, _PEN_INKS[rng.integers(5)], 10)), paper, pen)
    folds = []
    r = rng.random()
    if r < 0.3:  # letter fold in thirds
        folds = [(0, 1 / 3 + rng.normal(0, 0.01)), (0, 2 / 3 + rng.normal(0, 0.01))]
    elif r < 0.45:  # folded in half, one way or both
        folds = [(0, 0.5 + rng.normal(0, 0.01))] + ([(1, 0.5 + rng.normal(0, 0.01))] if rng.random() < 0.4 else [])
    elif r < 0.5:
        folds = [(1, 0.5 + rng.normal(0, 0.01))]
    # the fold positions are fractions of the paper; the shade covers the canvas around it
    canvas = [(a, (m + p * (ph if a == 0 else pw)) / (H if a == 0 else W)) for a, p in folds]
    shade = _paper_shade(rng, W, H, canvas, rng.random() < 0.12)
    paper = ImageChops.multiply(paper, Image.merge("RGB", [shade] * 3))
    alpha = Image.new("L", (W, H), 0)
    da = ImageDraw.Draw(alpha)
    da.rectangle([m, m, m + pw - 1, m + ph - 1], fill=255)
    if kind == "notebook" and rng.random() < 0.5:  # punched holes along the left edge
        rr = pw * 0.02
        for yy in np.linspace(m + ph * 0.2, m + ph * 0.8, int(rng.choice([2, 3, 4]))):
            da.ellipse([m + pw * 0.04, yy - rr, m + pw * 0.04 + 2 * rr, yy + rr], fill=0)
    return paper, alpha, m, folds


# ----------------------------------------------------------------------------- geometry

def _place(rng, h: int, w: int, page: bool = False, held: bool = False) -> tuple[np.ndarray, float]:
    """Sample the paper's quadrilateral in the photo (TL, TR, BR, BL of the paper) and its aspect.

    Receipts are long and narrow; pages (page=True) have the shapes of A4, Letter and book pages and
    are larger in the frame when held (held=True).
    """
    for _ in range(200):
        if page:
            aspect = float(_PAGE_ASPECTS[rng.integers(len(_PAGE_ASPECTS))] * rng.normal(1, 0.015))
            frac = rng.uniform(0.4, 0.86) if held else rng.uniform(0.18, 0.84)  # pages often fill the frame
        else:
            aspect = float(np.clip(rng.lognormal(np.log(2.1), 0.35), 1.15, 4.6))
            frac = rng.uniform(0.25, 0.65) if rng.random() < 0.7 else rng.uniform(0.11, 0.78)
        r = rng.random()
        if held:
            r = 0.0
        if r < 0.55:
            angle = rng.normal(0, 9)
        elif r < 0.8:
            angle = rng.uniform(-60, 60)
        elif r < 0.92:
            angle = rng.choice([-90, 90]) + rng.normal(0, 12)
        else:
            angle = 180 + rng.normal(0, 15)
        pw = math.sqrt(frac * h * w / aspect)
        rect = np.array([[-pw / 2, -pw * aspect / 2], [pw / 2, -pw * aspect / 2],
                         [pw / 2, pw * aspect / 2], [-pw / 2, pw * aspect / 2]])
        # camera tilt: the far end (top in the photo) looks narrower; plus free corner jitter
        k = rng.uniform(-0.04, 0.12)
        rect[:2, 0] *= 1 - k
        rect[2:, 0] *= 1 + k
        rect += rng.normal(0, rng.uniform(0, 0.04) * pw, (4, 2))
        a = math.radians(angle)
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        q = rect @ rot.T
        span = q.max(0) - q.min(0)
        fit = min((w - 4) / span[0], (h - 4) / span[1], 1.0)
        q *= fit
        lo = -q.min(0) + 2
        hi = np.array([w, h]) - q.max(0) - 2
        centre = np.array([w / 2, h / 2]) + rng.normal(0, 0.07, 2) * (w, h)
        q += np.clip(centre, lo, hi)
        area = polygon_area(q) / (h * w)
        if 0.11 <= area <= (0.87 if page else 0.79) and is_convex(q):
            return q, aspect
    raise RuntimeError("could not place a receipt")  # practically unreachable


# ----------------------------------------------------------------------------- occluders and camera

def _finger(rng, d: _Pen, tip: np.ndarray, h: int, w: int) -> None:
    """A finger (or thumb) from the nearest frame edge to tip: tapered, shaded across, with a nail."""
    dists = np.asarray([tip[0], w - tip[0], tip[1], h - tip[1]])
    side = int(np.argmin(dists + rng.uniform(0, 0.15 * w, 4)))
    base = np.array([[-0.1 * w, tip[1]], [1.1 * w, tip[1]], [tip[0], -0.1 * h], [tip[0], 1.1 * h]][side], float)
    base += rng.normal(0, 0.2 * w, 2) * ([0, 1] if side < 2 else [1, 0])
    width = w * rng.uniform(0.12, 0.2)
    axis = (tip - base) / (np.linalg.norm(tip - base) + 1e-6)
    normal = np.array([-axis[1], axis[0]])
    skin = np.array(_SKIN[rng.integers(len(_SKIN))], float) * rng.uniform(0.85, 1.05)
    # concentric tapered outlines, darker at the rim, lighter along the middle
    for f, shade in ((1.0, 0.78), (0.85, 0.88), (0.6, 0.96), (0.3, 1.02)):
        wd = width * f
        end = tip - axis * (width * (1 - f) * 0.35)
        poly = [tuple(base + normal * wd * 0.55), tuple(end + normal * wd * 0.5), tuple(end - normal * wd * 0.5),
                tuple(base - normal * wd * 0.55)]
        col = tuple(int(c) for c in np.clip(skin * shade, 0, 255))
        d.polygon(poly, fill=col)
        d.ellipse([end[0] - wd / 2, end[1] - wd / 2, end[0] + wd / 2, end[1] + wd / 2], fill=col)
    nail = tip - axis * width * 0.3
    nr = width * 0.27
    d.ellipse([nail[0] - nr, nail[1] - nr, nail[0] + nr, nail[1] + nr],
              fill=tuple(int(c) for c in np.clip(skin * 1.08 + 20, 0, 255)))


@lru_cache(maxsize=1)
def _noise_images() -> list[Image.Image]:
    """Sensor-noise tiles (uint8 around 128) at a few strengths, cut from the noise bank."""
    bank = _noise_bank()
    rgb = np.stack([bank, np.roll(bank, 333, 0), np.roll(bank, 555, 1)], -1)
    lum = bank[..., None]
    return [Image.fromarray(np.clip(128 + s * (0.7 * lum + 0.45 * rgb), 0, 255).astype(np.uint8))
            for s in (1.5, 3.0, 5.0, 8.0)]


def _lighting(rng, photo: Image.Image, shadow: Image.Image, top: Image.Image) -> Image.Image:
    """Cast shadows, uneven light, vignette, a soft shadow blob, exposure, colour cast, sensor noise.

    shadow: silhouettes (L, 255 inside) that cast a soft shadow; top: what lies on top (L), which the
    shadows do not darken.
    """
    w, h = photo.size
    gh, gw = 6, 5
    yy, xx = np.mgrid[0:gh, 0:gw].astype(np.float32)
    yy, xx = yy / (gh - 1) - 0.5, xx / (gw - 1) - 0.5
    g = rng.uniform(-0.35, 0.35, 2)
    light = 1 + g[0] * xx + g[1] * yy + 0.04 * rng.standard_normal((gh, gw)) * (rng.random() < 0.5)
    light -= rng.uniform(0, 0.4) * (xx ** 2 + yy ** 2)
    if rng.random() < 0.3:  # a broad soft shadow (the phone, the photographer)
        cx, cy, r = rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5), rng.uniform(0.25, 0.5)
        light -= rng.uniform(0.1, 0.3) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (r * r))
    flash = rng.random() < 0.2
    if flash:  # the phone's flash: light falls off from the middle
        light -= rng.uniform(0.3, 0.8) * (xx ** 2 + yy ** 2)
    light = np.clip(light, 0.2, None)
    # everything smooth is computed at a quarter of the resolution, then scaled up once
    qw, qh = max(2, w // 4), max(2, h // 4)
    field = np.asarray(Image.fromarray(light.astype(np.float32), "F").resize((qw, qh), Image.Resampling.BILINEAR))
    glare = None
    if flash:  # ... with a hotspot, and on glossy paper sometimes a specular glare
        fy, fx = np.ogrid[0:qh, 0:qw]
        cx, cy = rng.normal(0.5, 0.12) * qw, rng.normal(0.5, 0.12) * qh
        d2 = ((fx - cx) ** 2 + (fy - cy) ** 2) / float(qw * qw)
        field = field + rng.uniform(0.15, 0.5) * np.exp(-d2 / rng.uniform(0.02, 0.08))
        if rng.random() < 0.5:
            spot = rng.uniform(60, 220) * np.exp(-d2 / rng.uniform(0.001, 0.006))
            glare = Image.fromarray(np.clip(spot, 0, 255).astype(np.uint8)).resize((w, h), Image.Resampling.BILINEAR)
    if shadow.getbbox():
        soft = shadow.resize((qw, qh), Image.Resampling.BOX).filter(ImageFilter.BoxBlur(rng.uniform(1.0, 4.0)))
        soft = ImageChops.subtract(soft, top.resize((qw, qh), Image.Resampling.BOX))
        field = field * (1 - rng.uniform(0.1, 0.4) / 255 * np.asarray(soft, np.float32))
    cast = 1 + rng.normal(0, 0.035, 3)  # white balance
    cast = cast / cast.max()
    peak = float(field.max())
    field = Image.fromarray((field * (255 / peak)).astype(np.uint8)).resize((w, h), Image.Resampling.BILINEAR)
    photo = ImageChops.multiply(photo, Image.merge("RGB", [field.point(_lut(_RAMP * c)) for c in cast]))
    if glare is not None:
        photo = ImageChops.add(photo, Image.merge("RGB", [glare] * 3))
    gain = peak * rng.uniform(0.8, 1.2)  # exposure
    noise = _noise_images()[int(rng.integers(4))]
    ox, oy = int(rng.integers(0, noise.width - w + 1)), int(rng.integers(0, noise.height - h + 1))
    n = noise.crop((ox, oy, ox + w, oy + h))
    return ImageChops.add(photo, n, 1.0 / gain, int(round(-128 * gain)))  # gain * (photo + noise - 128)


def _blur(a: np.ndarray, passes: int = 1) -> np.ndarray:
    """Separable [1 2 1] / 4 blur of a uint8 (H, W, C) array, edges replicated; fast on one core."""
    b = a.astype(np.uint16)
    for _ in range(passes):
        for axis in (0, 1):
            c = np.swapaxes(b, 0, axis)
            out = c * 2
            out[1:-1] += c[:-2]
            out[1:-1] += c[2:]
            out[0] += c[0] + c[1]
            out[-1] += c[-1] + c[-2]
            b = np.swapaxes(out, 0, axis) >> 2
    return b.astype(np.uint8)


# ----------------------------------------------------------------------------- public API

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
           occluders: bool = True, document: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """One synthetic photo: (photo uint8 HxWx3, mask uint8 HxW {0,1}, corners (4,2) float or None).

    The photo shows one paper document: a receipt, or with document=True a page (letter, invoice table,
    form, notebook or book page; A4, Letter or book shapes, white or coloured, folded, creased, crumpled,
    sometimes on a stack of other sheets or held in hands). The mask holds exactly the visible pixels of
    that top sheet (pixels covered by a finger or an object, and the sheets under it, are background):
    the model has one class, "document", of which receipts are a kind. Corners are the paper's four
    corners in photo pixels, starting at the left corner of the top (header) end and going clockwise
    (TL, TR, BR, BL of the upright paper). With receipt=False the photo shows only the scene: all-zero
    mask, corners None. occluders=False leaves out fingers and objects on top of the paper (useful to
    check corners against the mask).

    Example:

    >>> photo, mask, corners = render(photo_rng(0, 0), 160, 120, document=True)
    >>> photo.shape, mask.shape, corners.shape
    ((160, 120, 3), (160, 120), (4, 2))
    """
    h, w = height, width
    paper_photo = receipt
    page = receipt and document
    held = page and rng.random() < 0.2
    bg = _background(rng, h, w)
    if rng.random() < (0.2 if paper_photo else 0.4):
        bg = _two_surfaces(rng, bg, h, w)
    objects = Image.new("L", (w, h), 0)  # pixels of things lying on the surface
    pen = _Pen(bg, objects)
    if rng.random() < 0.35:
        _draw_laptop(rng, pen, h, w)
    if rng.random() < 0.12:
        _draw_keyboard(rng, pen, h, w)
    # half the receipts share the scene with a distractor: the model learns to tell them apart side by side
    for _ in range(int(rng.random() < 0.5) if paper_photo else 1 + int(rng.random() < 0.4)):
        _draw_distractor(rng, pen, h, w)
    for _ in range(int(rng.poisson(1.2 if paper_photo else 2.5))):
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
    """The generator of photo `index` of dataset `seed` (independent of the dataset size)."""
    return np.random.default_rng([int(seed), int(index)])


def generate(out_dir, n: int = 500, seed: int = 0, height: int = 800, width: int = 600,
             negatives: float = 0.15, progress: bool = True, documents: float = 0.3) -> Path:
    """Write n synthetic photos to out_dir (original/, mask/ class ids 0/1, corners/ JSON, pairs.txt).

    About a `negatives` fraction of photos show no paper; of the others, about a `documents` fraction
    show a page (letter, table, form, notebook, book page) and the rest a receipt, so receipts stay the
    majority at the default. Each corners JSON also says which `kind` of paper the photo shows
    ("receipt", "document" or null). Returns the pairs.txt path. With progress, a progress bar with the
    rate in photos/s is drawn on stderr.

    Example:

    >>> pairs = generate("data/synth", n=20, seed=0, documents=0.5, progress=False)
    """
    for name, value in (("negatives", negatives), ("documents", documents)):
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
        photo, mask, corners = render(rng, height, width, receipt, document=document)
        name = f"synth_{i:05d}"
        img_path, mask_path = out / "original" / f"{name}.jpg", out / "mask" / f"{name}.png"
        Image.fromarray(photo).save(img_path, "JPEG", quality=quality)
        Image.fromarray(mask).save(mask_path, "PNG", compress_level=1)
        doc = {"corners": None if corners is None else [[round(float(x), 2), round(float(y), 2)] for x, y in corners],
               "kind": ("document" if document else "receipt") if receipt else None}
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
