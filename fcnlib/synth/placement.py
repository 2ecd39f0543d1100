"""Where the paper lies in the photo: its quadrilateral and aspect."""
from __future__ import annotations

import math

import numpy as np

from fcnlib.geometry import is_convex, polygon_area
from fcnlib.synth.pages import _PAGE_ASPECTS


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
