"""The receipt itself: printed layout, codes, stamps, torn or zigzag ends, shading."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from fcnlib.synth._common import _PAPER_COLOURS, _RAMP, _STRIP_H, _field, _jitter, _lut, _strips


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
