"""Scenes: surfaces (wood, desks, fabric, stone, beds, carpets, tiles, laps, car seats), laptops,
keyboards, hard-negative distractors, paper-like look-alikes (white bedsheets, white tiles, whiteboards,
plates and bowls, light tablets and laptops) and clutter."""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from fcnlib.synth._common import _DESK, _FABRIC, _RAMP, _WOOD, _field, _jitter, _lut, _rot_rect


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


def _background(rng: np.random.Generator, h: int, w: int, kind: str | None = None,
                colours: list | None = None) -> Image.Image:
    """A surface photo (RGB h x w): a random crop of a tone tile, turned, recoloured, contrast varied.
    `kind` and `colours` (light, dark pairs) force the surface and its palette (the look-alikes)."""
    kind = kind or _KINDS[rng.choice(len(_KINDS), p=_KIND_P)]
    tiles = _tone_tiles()[kind]
    tile = tiles[rng.integers(len(tiles))].transpose(Image.Transpose(int(rng.integers(7))))
    cw, ch = min(_TILE, max(2, w // 2)), min(_TILE, max(2, h // 2))
    x, y = int(rng.integers(0, _TILE - cw + 1)), int(rng.integers(0, _TILE - ch + 1))
    palette = {"wood": _WOOD, "desk": _DESK, "fabric": _FABRIC, "stone": _DESK + [((235, 233, 228), (120, 118, 115))],
               "bed": _BED, "carpet": _CARPET, "tiles": _TILES, "denim": _DENIM, "seat": _SEAT}
    palette = colours or palette[kind]
    light, dark = palette[rng.integers(len(palette))]
    light, dark = _jitter(rng, light), _jitter(rng, dark)
    c, b = rng.uniform(0.6, 1.4), rng.uniform(-0.1, 0.1)
    t = np.clip(0.5 + (_RAMP / 255 - 0.5) * c + b, 0, 1)
    tone = tile.crop((x, y, x + cw, y + ch)).resize((w, h), Image.Resampling.BILINEAR)
    out = Image.merge("RGB", [tone.point(_lut(lo + (hi - lo) * t)) for lo, hi in zip(light, dark)])
    if kind == "denim" and colours is None and rng.random() < 0.6:  # a lap: the dark gap between the thighs, from below
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


# Paper-like look-alikes (issue 12): light and flat, but not paper. Never blank sheets, envelopes or cards:
# those would be documents.
LOOKALIKES = ("sheet", "tiles", "board", "plate", "device")
_LOOKALIKE_SHARE = {False: 0.5, True: 0.12}  # of the empty photos, of the photos with paper
# white and cream bedsheets and duvets (the bed tone's soft folds), white tiles with grey grout
_LOOKALIKE_SURFACES = {
    "sheet": ("bed", [((252, 252, 250), (200, 200, 204)), ((248, 244, 234), (204, 194, 176)),
                      ((244, 246, 250), (188, 194, 208)), ((250, 248, 244), (214, 210, 204))]),
    "tiles": ("tiles", [((246, 246, 244), (140, 140, 138)), ((240, 238, 232), (170, 166, 158)),
                        ((250, 250, 250), (196, 196, 198)), ((236, 238, 240), (120, 124, 130))]),
}


def _pick_lookalike(rng: np.random.Generator, paper: bool) -> str | None:
    """The look-alike a photo shows (one of LOOKALIKES) or None: half the empty photos, and 12% of those
    with paper, where it lies behind the paper (the model learns paper's edges, not "light = paper")."""
    if rng.random() >= _LOOKALIKE_SHARE[bool(paper)]:
        return None
    return LOOKALIKES[int(rng.integers(len(LOOKALIKES)))]


def _ellipse(cx, cy, rx, ry, angle, n=40):
    """Polygon of an ellipse centred at (cx, cy) with radii rx, ry, turned by angle radians."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x, y = rx * np.cos(t), ry * np.sin(t)
    c, s = math.cos(angle), math.sin(angle)
    return [(cx + a * c - b * s, cy + a * s + b * c) for a, b in zip(x, y)]


def _shade(colour, f):
    return tuple(int(np.clip(v * f, 0, 255)) for v in colour)


def _draw_lookalike(rng, d: _Pen, kind: str, h: int, w: int) -> None:
    """One large paper-like object: a whiteboard or light panel in its frame ("board"), a white plate or
    bowl ("plate"), or the back of a light tablet or a closed silver laptop ("device")."""
    cx, cy = rng.uniform(0.25, 0.75) * w, rng.uniform(0.25, 0.75) * h
    if kind == "board":  # glossy face, a frame, sometimes a marker tray and faint ghosting of old writing
        bw = w * rng.uniform(0.6, 1.4)
        bh = bw * rng.uniform(0.45, 0.8)
        ang = rng.normal(0, 0.12) + (np.pi / 2 if rng.random() < 0.2 else 0.0)
        frame = _jitter(rng, [(190, 192, 196), (150, 152, 158), (238, 238, 236), (120, 90, 60)][rng.integers(4)], 6)
        face = _jitter(rng, [(246, 246, 246), (238, 240, 242), (236, 234, 228), (244, 244, 238)][rng.integers(4)], 4)
        inset = w * rng.uniform(0.012, 0.035)
        d.polygon(_rot_rect(cx, cy, bw, bh, ang, inset * 0.3), fill=frame)
        d.polygon(_rot_rect(cx, cy, bw - 2 * inset, bh - 2 * inset, ang), fill=face)
        c, s = math.cos(ang), math.sin(ang)
        at = lambda x, y: (cx + x * c - y * s, cy + x * s + y * c)  # noqa: E731
        gx = rng.uniform(-0.3, 0.3) * bw  # a window reflected in the gloss: a soft, slanted lighter band
        for f in (1.0, 0.6):
            v = _shade(face, 1.0 + 0.03 / f)
            half = bw * 0.08 * f
            d.polygon([at(gx - half, -bh / 2 + inset), at(gx + half, -bh / 2 + inset),
                       at(gx + half - bh * 0.3, bh / 2 - inset), at(gx - half - bh * 0.3, bh / 2 - inset)], fill=v)
        ghost = _shade(face, rng.uniform(0.9, 0.96))
        for _ in range(int(rng.integers(0, 4))):  # a wiped-out stroke: one smooth curve
            p0, p1, p2 = rng.uniform(-0.4, 0.4, (3, 2)) * (bw, bh)
            t = np.linspace(0, 1, 12)[:, None]
            pts = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2
            d.line([at(*p) for p in pts], fill=ghost, width=max(1, int(w * rng.uniform(0.004, 0.012))), joint="curve")
        if rng.random() < 0.5:  # marker tray under the face, one or two markers on it
            ty = bh / 2 + inset * 0.8
            d.polygon(_rot_rect(*at(0, ty), bw * 0.5, inset * 1.4, ang), fill=_shade(frame, 0.85))
            for _ in range(int(rng.integers(0, 3))):
                ink = _jitter(rng, [(30, 30, 30), (30, 60, 160), (190, 40, 40), (30, 130, 60)][rng.integers(4)], 8)
                d.polygon(_rot_rect(*at(rng.uniform(-0.2, 0.2) * bw, ty), bw * 0.07, inset * 0.8, ang, inset * 0.3),
                          fill=ink)
    elif kind == "plate":  # seen from above at a slant: rim, the well in its shade, sometimes a bowl
        r = w * rng.uniform(0.18, 0.36)
        squash, ang = rng.uniform(0.6, 1.0), rng.uniform(0, np.pi)
        white = _jitter(rng, [(246, 246, 244), (240, 238, 230), (236, 238, 242), (248, 246, 240)][rng.integers(4)], 4)
        d.polygon(_ellipse(cx, cy, r, r * squash, ang), fill=white, outline=_shade(white, 0.8),
                  width=max(1, int(w / 250)))
        lx, ly = rng.normal(0, 0.04, 2) * r  # light from one side: the inner wall in shade on the other
        if rng.random() < 0.5:  # a plate: the well's edge a little darker, its floor flat
            if rng.random() < 0.3:  # a coloured line on the rim
                band = _jitter(rng, [(40, 70, 150), (180, 150, 70), (150, 40, 40)][rng.integers(3)], 8)
                d.polygon(_ellipse(cx, cy, r * 0.86, r * 0.86 * squash, ang), fill=band)
                d.polygon(_ellipse(cx, cy, r * 0.83, r * 0.83 * squash, ang), fill=white)
            d.polygon(_ellipse(cx + lx, cy + ly, r * 0.66, r * 0.66 * squash, ang), fill=_shade(white, 0.92))
            d.polygon(_ellipse(cx, cy, r * 0.62, r * 0.62 * squash, ang), fill=_shade(white, 0.98))
        else:  # a bowl: the inside darkens towards the far wall
            for k, f in enumerate(np.linspace(0.9, 0.45, 5)):
                d.polygon(_ellipse(cx + lx * k, cy + ly * k, r * f, r * f * squash, ang),
                          fill=_shade(white, 0.84 + 0.03 * k))
    else:  # device: the back of a light tablet, or a closed silver or white laptop
        body = _jitter(rng, [(226, 228, 230), (236, 236, 236), (214, 216, 220), (242, 240, 236)][rng.integers(4)], 4)
        ang = rng.uniform(-0.6, 0.6)
        c, s = math.cos(ang), math.sin(ang)
        at = lambda x, y: (cx + x * c - y * s, cy + x * s + y * c)  # noqa: E731
        if rng.random() < 0.5:  # tablet back: rounded, a camera bump near a corner, a logo in the middle
            tw = w * rng.uniform(0.4, 0.8)
            th = tw * rng.uniform(1.3, 1.45)
            d.polygon(_rot_rect(cx, cy, tw, th, ang, tw * 0.07), fill=body, outline=_shade(body, 0.78),
                      width=max(1, int(w / 200)))
            bump = tw * rng.uniform(0.12, 0.2)
            bx, by = at(-tw / 2 + bump * 0.8, -th / 2 + bump * 0.8)
            d.polygon(_rot_rect(bx, by, bump, bump * rng.uniform(1.0, 1.8), ang, bump * 0.25), fill=_shade(body, 0.8))
            lens = bump * 0.22
            d.ellipse([bx - lens, by - lens, bx + lens, by + lens], fill=(28, 28, 32))
            logo = tw * 0.06
            d.polygon(_ellipse(cx, cy, logo, logo * 1.1, ang, 16), fill=_shade(body, rng.choice([0.9, 1.05])))
        else:  # closed laptop: hinge along one long edge, a logo, a notch to open it
            lw = w * rng.uniform(0.7, 1.3)
            lh = lw * rng.uniform(0.65, 0.72)
            d.polygon(_rot_rect(cx, cy, lw, lh, ang, lw * 0.03), fill=body, outline=_shade(body, 0.8),
                      width=max(1, int(w / 200)))
            d.polygon(_rot_rect(*at(0, -lh / 2 + lh * 0.025), lw * 0.8, lh * 0.03, ang), fill=_shade(body, 0.82))
            d.polygon(_ellipse(cx, cy, lw * 0.05, lw * 0.055, ang, 16), fill=_shade(body, rng.choice([0.88, 1.06])))
            d.polygon(_rot_rect(*at(0, lh / 2 - lh * 0.01), lw * 0.12, lh * 0.02, ang), fill=_shade(body, 0.75))
