"""Documents other than receipts: letters, invoice tables, forms, notebook and book pages; folds,
creases, coloured paper."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from fcnlib.synth._common import _RAMP, _field, _jitter, _lut
from fcnlib.synth.receipt import _text


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
