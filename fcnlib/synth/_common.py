"""Shared resources of the generator: text strips, noise, smooth fields, colour helpers."""
from __future__ import annotations

import math
import string
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont


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
