"""Occluders and the camera: fingers, light, shadows, flash, noise, blur."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageChops, ImageFilter

from fcnlib.synth._common import _RAMP, _SKIN, _lut, _noise_bank
from fcnlib.synth.scenes import _Pen


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
