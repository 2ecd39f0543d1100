"""Tests of fcnlib.postprocess: quad fitting on synthetic masks (clean, rotated, perspective, rounded,
occluded, torn), corner order, warp geometry, extraction from probabilities, the classical baseline."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import skimage.draw
import skimage.filters
import skimage.transform

from fcnlib import postprocess as pp
from fcnlib.geometry import homography

SHAPE = (400, 300)  # (H, W): small photos keep the tests fast


def poly_mask(pts, shape=SHAPE) -> np.ndarray:
    pts = np.asarray(pts, dtype=float)
    m = np.zeros(shape, np.uint8)
    rr, cc = skimage.draw.polygon(pts[:, 1], pts[:, 0], shape)
    m[rr, cc] = 1
    return m


def rotated_rect(cx, cy, w, h, degrees) -> np.ndarray:
    """TL, TR, BR, BL of a w x h rectangle turned clockwise on screen by `degrees` about (cx, cy)."""
    t = np.radians(degrees)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    base = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    return base @ rot.T + [cx, cy]


def corner_error(found, true) -> float:
    assert found is not None
    assert found.shape == (4, 2)
    return float(np.max(np.hypot(*(np.asarray(found) - np.asarray(true)).T)))


PERSPECTIVE = np.array([[60.0, 50.0], [230.0, 70.0], [250.0, 350.0], [40.0, 330.0]])


# ---------------------------------------------------------------- fit_quad on clean shapes


def test_fit_quad_axis_aligned_rectangle():
    true = np.array([[50.0, 40.0], [250.0, 40.0], [250.0, 360.0], [50.0, 360.0]])
    assert corner_error(pp.fit_quad(poly_mask(true)), true) < 1.0


@pytest.mark.parametrize("degrees", [7, 20, 33, -15, -40])
def test_fit_quad_rotated_rectangle(degrees):
    true = rotated_rect(150, 200, 150, 230, degrees)
    assert corner_error(pp.fit_quad(poly_mask(true)), true) < 2.0


@pytest.mark.parametrize("quad", [
    PERSPECTIVE,
    np.array([[90.0, 30.0], [210.0, 35.0], [285.0, 380.0], [15.0, 370.0]]),  # strong keystone
    np.array([[20.0, 120.0], [280.0, 60.0], [270.0, 250.0], [35.0, 390.0]]),
])
def test_fit_quad_perspective(quad):
    assert corner_error(pp.fit_quad(poly_mask(quad)), quad) < 2.0


def test_fit_quad_accepts_bool_and_channel_masks():
    m = poly_mask(PERSPECTIVE)
    assert corner_error(pp.fit_quad(m.astype(bool)), PERSPECTIVE) < 2.0
    assert corner_error(pp.fit_quad(m[..., None] * 255), PERSPECTIVE) < 2.0


# ---------------------------------------------------------------- fit_quad on damaged shapes


def rounded_rect_outline(cx, cy, w, h, radius, degrees) -> np.ndarray:
    pts = []
    for (sx, sy), start in zip([(1, -1), (1, 1), (-1, 1), (-1, -1)], [-90, 0, 90, 180]):
        centre = np.array([cx + sx * (w / 2 - radius), cy + sy * (h / 2 - radius)])
        a = np.radians(np.linspace(start, start + 90, 12))
        pts.extend(centre + radius * np.stack([np.cos(a), np.sin(a)], axis=1))
    pts = np.array(pts) - [cx, cy]
    t = np.radians(degrees)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return pts @ rot.T + [cx, cy]


@pytest.mark.parametrize("degrees", [0, 12, -25])
def test_fit_quad_rounded_corners_meet_at_the_lines_intersection(degrees):
    m = poly_mask(rounded_rect_outline(150, 200, 180, 280, 30, degrees))
    true = rotated_rect(150, 200, 180, 280, degrees)
    assert corner_error(pp.fit_quad(m), true) < 3.0


@pytest.mark.parametrize("corner", [0, 1, 2, 3])
def test_fit_quad_finger_over_a_corner(corner):
    m = poly_mask(PERSPECTIVE)
    # A fingertip (disc) bitten into the corner, the finger reaching out of the photo.
    out = PERSPECTIVE[corner] - PERSPECTIVE.mean(axis=0)
    out /= np.hypot(*out)
    tip = PERSPECTIVE[corner] - 18 * out
    rr, cc = skimage.draw.disk((tip[1], tip[0]), 25, shape=SHAPE)
    m[rr, cc] = 0
    side = np.array([-out[1], out[0]]) * 25
    finger = np.array([tip + side, tip + side + 500 * out, tip - side + 500 * out, tip - side])
    rr, cc = skimage.draw.polygon(finger[:, 1], finger[:, 0], SHAPE)
    m[rr, cc] = 0
    assert m.sum() < poly_mask(PERSPECTIVE).sum() - 1000  # a real bite
    assert corner_error(pp.fit_quad(m), PERSPECTIVE) < 3.0


def test_fit_quad_finger_over_an_edge():
    m = poly_mask(PERSPECTIVE)
    m[180:215, 200:300] = 0  # a finger coming in from the right over the right edge
    assert corner_error(pp.fit_quad(m), PERSPECTIVE) < 2.0


def test_fit_quad_torn_zigzag_short_edge():
    # Receipt torn off the printer: the top edge zigzags +-5 px about y = 60.
    xs = np.linspace(60, 240, 19)
    teeth = np.stack([xs, 60 + 5 * (-1) ** np.arange(len(xs))], axis=1)
    outline = np.vstack([teeth, [[240.0, 350.0], [60.0, 350.0]]])
    true = np.array([[60.0, 60.0], [240.0, 60.0], [240.0, 350.0], [60.0, 350.0]])
    assert corner_error(pp.fit_quad(poly_mask(outline)), true) < 3.0


def test_fit_quad_ignores_speckles_and_holes():
    m = poly_mask(PERSPECTIVE)
    m[5:15, 5:15] = 1           # a speckle far away
    m[150:170, 120:160] = 0     # a hole (glare) inside
    assert corner_error(pp.fit_quad(m), PERSPECTIVE) < 2.0


def test_fit_quad_no_receipt():
    assert pp.fit_quad(np.zeros(SHAPE, np.uint8)) is None
    tiny = np.zeros(SHAPE, np.uint8)
    tiny[100:108, 100:108] = 1   # 64 px < 1% of 120 000
    assert pp.fit_quad(tiny) is None
    assert pp.fit_quad(tiny, min_area=0.0) is not None


def test_largest_region_keeps_biggest_and_fills_holes():
    m = np.zeros((50, 60), np.uint8)
    m[5:30, 5:40] = 1
    m[10:15, 10:15] = 0       # hole
    m[40:45, 50:55] = 1       # smaller component
    region = pp.largest_region(m)
    assert region.dtype == bool
    assert region[12, 12] and not region[42, 52]
    assert region.sum() == 25 * 35
    assert not pp.largest_region(np.zeros((5, 5))).any()


# ---------------------------------------------------------------- order_corners


@pytest.mark.parametrize("degrees", [0, 10, 30, 44, -10, -30, -44])
def test_order_corners_recovers_tl_first_clockwise(degrees):
    true = rotated_rect(100, 100, 60, 120, degrees)
    rng = np.random.default_rng(abs(degrees))
    for _ in range(3):
        np.testing.assert_allclose(pp.order_corners(true[rng.permutation(4)]), true)


@pytest.mark.parametrize("degrees", [60, 90, 135, 180, -100])
def test_order_corners_rule_for_any_rotation(degrees):
    ordered = pp.order_corners(rotated_rect(100, 100, 60, 120, degrees))
    top = ordered[1] - ordered[0]
    angle = np.degrees(np.arctan2(top[1], top[0]))
    assert -45 < angle <= 45
    edges = np.roll(ordered, -1, axis=0) - ordered
    cross = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    assert np.all(cross > 0)  # clockwise on screen (y down)


def test_order_corners_perspective_quad():
    np.testing.assert_allclose(pp.order_corners(PERSPECTIVE[[2, 0, 3, 1]]), PERSPECTIVE)


# ---------------------------------------------------------------- warp


def test_warp_size_follows_the_receipt_aspect():
    photo = np.zeros((400, 300, 3), np.uint8)
    corners = rotated_rect(150, 200, 100, 220, 25)
    out = pp.warp(photo, corners)
    assert out.dtype == np.uint8
    assert abs(out.shape[0] - 220) <= 1 and abs(out.shape[1] - 100) <= 1 and out.shape[2] == 3
    assert pp.warp(photo, corners, out_size=(50, 20)).shape == (50, 20, 3)


def test_warp_returns_a_known_pattern_upright():
    pattern = np.full((120, 80, 3), 230, np.uint8)
    pattern[:30, :40] = (255, 0, 0)   # red block at the top left
    pattern[-20:, :] = (0, 0, 255)    # blue band at the bottom
    corners = np.array([[70.0, 60.0], [190.0, 90.0], [160.0, 300.0], [40.0, 260.0]])
    # Photo: the pattern projected into `corners` on a grey background.
    src = np.array([[-0.5, -0.5], [79.5, -0.5], [79.5, 119.5], [-0.5, 119.5]])
    tform = skimage.transform.ProjectiveTransform(matrix=homography(corners, src))
    photo = skimage.transform.warp(pattern, tform, output_shape=(400, 300), order=1, cval=0.5,
                                   preserve_range=True).astype(np.uint8)
    out = pp.warp(photo, corners, out_size=(120, 80)).astype(int)
    assert np.abs(out[5:25, 5:35] - [255, 0, 0]).max() < 40
    assert np.abs(out[-15:-5, 10:-10] - [0, 0, 255]).max() < 40
    assert np.abs(out[50:80, 50:75] - 230).max() < 20
    assert np.abs(out[3:-3, 3:-3] - pattern[3:-3, 3:-3]).mean() < 6


def test_warp_in_bands_matches_one_call(monkeypatch, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(3)
    photo = rng.integers(0, 256, (300, 260, 3), dtype=np.uint8)
    corners = np.array([[30.2, 20.7], [231.5, 41.0], [244.9, 281.3], [12.4, 262.8]])
    out_size = (257, 211)
    dst = np.array([[0, 0], [211, 0], [211, 257], [0, 257]], float)
    whole = np.asarray(Image.fromarray(photo).transform(
        (211, 257), Image.Transform.PERSPECTIVE, tuple(homography(dst, corners + 0.5).ravel()[:8]),
        Image.Resampling.BILINEAR))
    monkeypatch.setattr(pp, "_WARP_THREADS", 3)
    monkeypatch.setattr(pp, "_WARP_BAND_PIXELS", 1000)  # 3 bands
    banded = pp.warp(photo, corners, out_size=out_size)
    assert banded.shape == whole.shape
    np.testing.assert_array_equal(banded, whole)
    np.testing.assert_array_equal(pp.warp(Image.fromarray(photo), corners, out_size=out_size), whole)
    Image.fromarray(photo).save(tmp_path / "p.png")
    with Image.open(tmp_path / "p.png") as lazy:  # not decoded yet: the bands must not race to load it
        np.testing.assert_array_equal(pp.warp(lazy, corners, out_size=out_size), whole)


# ---------------------------------------------------------------- extract


def test_extraction_makes_a_lazy_mask_once_on_first_read():
    made = []

    def make():
        made.append(1)
        return np.ones((4, 3), np.uint8)

    found = pp.Extraction(np.zeros((4, 2)), 0.9, make)
    moved = found.with_corners(np.ones((4, 2)))
    assert made == [] and "score=0.9000" in repr(found)
    assert found.mask.shape == (4, 3) and found.mask.sum() == 12
    assert made == [1]
    assert moved.mask.shape == (4, 3) and made == [1, 1]  # `moved` shares the function, not the array
    assert pp.Extraction(None, 0.0, np.zeros((2, 2), np.uint8)).mask.shape == (2, 2)



def smooth_prob(mask) -> np.ndarray:
    return np.clip(skimage.filters.gaussian(mask.astype(float), sigma=2), 0, 1).astype(np.float32)


def test_extract_from_probability_maps():
    prob = smooth_prob(poly_mask(PERSPECTIVE))
    prob[10:20, 10:20] = 0.9  # a false blob the largest region drops
    for p in (prob, prob[..., None], np.stack([1 - prob, prob], axis=-1)):
        ex = pp.extract(p)
        assert corner_error(ex.corners, PERSPECTIVE) < 2.0
        assert 0.85 < ex.score <= 1.0
        assert ex.mask.dtype == np.uint8 and ex.mask.shape == SHAPE and ex.mask[15, 15] == 0


def test_extract_no_receipt_is_a_normal_outcome():
    ex = pp.extract(np.zeros(SHAPE, np.float32))
    assert ex.corners is None and ex.score == 0.0 and not ex.mask.any()
    prob = np.zeros(SHAPE, np.float32)
    prob[200:205, 100:110] = 1.0
    assert pp.extract(prob).corners is None


def test_extract_score_drops_for_a_non_quadrilateral_region():
    disc = np.zeros(SHAPE, np.uint8)
    rr, cc = skimage.draw.disk((200, 150), 100, shape=SHAPE)
    disc[rr, cc] = 1
    assert pp.extract(smooth_prob(disc)).score < pp.extract(smooth_prob(poly_mask(PERSPECTIVE))).score - 0.1


# ---------------------------------------------------------------- classical baseline


def test_classical_quad_finds_a_bright_receipt_on_a_dark_textured_table():
    rng = np.random.default_rng(0)
    h, w = 640, 480
    grain = skimage.filters.gaussian(rng.normal(0, 1, (h, w)), sigma=(1, 10))
    table = 60 + 12 * grain / grain.std()  # dark wood-like streaks
    photo = np.repeat(np.clip(table, 0, 255)[..., None], 3, axis=2)
    corners = np.array([[120.0, 90.0], [350.0, 110.0], [370.0, 560.0], [100.0, 540.0]])
    rr, cc = skimage.draw.polygon(corners[:, 1], corners[:, 0], (h, w))
    photo[rr, cc] = 225
    for y in range(150, 500, 25):  # print lines on the receipt
        photo[y:y + 4, 160:300] = 40
    photo = np.clip(photo + rng.normal(0, 4, photo.shape), 0, 255).astype(np.uint8)
    assert corner_error(pp.classical_quad(photo), corners) < 5.0


def test_classical_quad_none_on_a_blank_photo():
    assert pp.classical_quad(np.full((300, 200, 3), 90, np.uint8)) is None


# ---------------------------------------------------------------- real photos' corner files


def test_fit_quad_on_masks_from_real_corner_files(receipts_dir):
    files = sorted((receipts_dir / "corners").glob("*.txt"))[:5]
    assert files
    for f in files:
        v = np.array([float(t) for t in f.read_text().split(",")]).reshape(4, 2)
        true = v[[0, 1, 3, 2]]  # files list TL, TR, BL, BR
        found = pp.fit_quad(poly_mask(true, (800, 600)))
        assert corner_error(found, pp.order_corners(true)) < 2.0, f


def test_modules_import_without_tensorflow_or_matplotlib():
    code = ("import sys, fcnlib.postprocess, fcnlib.viz; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_simplify_polyline_keeps_the_vertices_skimage_keeps():
    # `geometry.simplify_polyline` stands in for `skimage.measure.approximate_polygon` (whose module
    # imports scipy.signal, slow to start): the same vertices on noisy closed contours and real ones
    import skimage.measure

    from fcnlib import synth
    from fcnlib.geometry import simplify_polyline

    rng = np.random.default_rng(0)
    contours = []
    for _ in range(60):
        k = int(rng.integers(3, 300))
        t = np.sort(rng.random(k)) * 2 * np.pi
        r = 50 + rng.normal(0, rng.choice([0.5, 3.0, 10.0]), k)
        c = np.c_[100 + r * np.sin(t), 100 + r * np.cos(t)]
        contours.append(np.vstack([c, c[:1]]))
        contours.append(np.round(contours[-1] * 2) / 2)  # on a half-pixel grid: points tie for farthest
    mask = synth.render(synth.photo_rng(5, 0))[1]
    contours += skimage.measure.find_contours(mask.astype(float), 0.5)
    for c in contours:
        for tol in (0.5, 1.0, 3.0):
            assert np.array_equal(simplify_polyline(c, tol), skimage.measure.approximate_polygon(c, tol))
    assert np.array_equal(simplify_polyline(contours[0], 0), contours[0])


# ---------------------------------------------------------------- corners refined on the photo


def paper_scene(corners, shape=SHAPE, seed=0, contrast=120.0, text=True) -> np.ndarray:
    """uint8 RGB photo: a bright sheet with dark text lines near its edges on a textured table."""
    rng = np.random.default_rng(seed)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    table = 200 - contrast + 15 * np.sin(xx / 7.0 + yy / 31.0) + rng.normal(0, 4, (h, w))
    paper = poly_mask(corners, shape).astype(bool)
    img = np.where(paper, 215.0, table)
    c = np.asarray(corners, float)
    inner = c + (c.mean(axis=0) - c) * 0.12  # text: lines a little inside each edge, parallel to it
    for s in range(4 if text else 0):
        p, q = inner[s], inner[(s + 1) % 4]
        rr, cc = skimage.draw.line(int(p[1]), int(p[0]), int(q[1]), int(q[0]))
        img[rr, cc] = 40.0
    img = skimage.filters.gaussian(img, sigma=1.0, preserve_range=True) + rng.normal(0, 3, (h, w))
    return np.repeat(np.clip(img, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def nudged(corners, shift=(4.0, -3.0), degrees=1.5) -> np.ndarray:
    """The quad moved and turned a little, as a coarse map's corners are."""
    c = np.asarray(corners, float)
    t = np.radians(degrees)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    centre = c.mean(axis=0)
    return (c - centre) @ rot.T + centre + shift


def test_refine_corners_moves_coarse_corners_onto_the_paper_edges():
    photo = paper_scene(PERSPECTIVE)
    coarse = nudged(PERSPECTIVE)
    assert corner_error(coarse, PERSPECTIVE) > 6.0
    refined, sides = pp.refine_corners(photo, coarse, pp.RefineSettings(search=14.0), return_edges=True)
    assert sides.all()
    # edges at half-integer pixel boundaries of the rasterised polygon: within ~1 px of the true corners
    assert corner_error(refined, PERSPECTIVE) < 1.5


def test_refine_corners_keeps_the_coarse_corners_where_no_edge_is_seen():
    coarse = nudged(PERSPECTIVE)
    flat = np.full((*SHAPE, 3), 128, np.uint8)
    refined, sides = pp.refine_corners(flat, coarse, return_edges=True)
    assert not sides.any() and np.array_equal(refined, coarse)
    # a faint sheet (contrast under min_contrast) is not trusted either
    faint = paper_scene(PERSPECTIVE, contrast=-10.0, text=False)
    refined, sides = pp.refine_corners(faint, coarse, pp.RefineSettings(min_contrast=30.0), return_edges=True)
    assert not sides.any() and np.array_equal(refined, coarse)


def test_refine_corners_keeps_a_side_whose_edge_lies_beyond_the_search_strip():
    photo = paper_scene(PERSPECTIVE)
    coarse = PERSPECTIVE.copy()
    coarse[1:3, 0] += 25.0  # the right side 25 px off: outside a +-8 px strip
    # a flat prior: only the strip's width keeps the far edge out
    refined, sides = pp.refine_corners(photo, coarse, pp.RefineSettings(search=8.0, prior=10.0), return_edges=True)
    assert not sides[1] and sides[[0, 2, 3]].all()
    assert np.abs(refined[1:3, 0] - coarse[1:3, 0]).max() < 3.0  # still on the coarse right side



def reference_bilinear(img, x, y):
    """`pp._bilinear` as first written (2-D fancy indexing, a cast per gather): the reference for the faster one."""
    h, w = img.shape[:2]
    inside = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
    x = np.clip(x, 0, w - 1.001)
    y = np.clip(y, 0, h - 1.001)
    x0 = x.astype(np.intp)
    y0 = y.astype(np.intp)
    fx = (x - x0).astype(np.float32)[..., None]
    fy = (y - y0).astype(np.float32)[..., None]
    a, b = img[y0, x0].astype(np.float32), img[y0, x0 + 1].astype(np.float32)
    c, d = img[y0 + 1, x0].astype(np.float32), img[y0 + 1, x0 + 1].astype(np.float32)
    return (a + (b - a) * fx) * (1 - fy) + (c + (d - c) * fx) * fy, inside


def reference_edge_offsets(img, p0, u, outward, length, cfg, base=None):
    """`pp._edge_offsets` as first written ((N, D, T, 2) points, the band's mean over axis 2)."""
    step = 0.5
    d = np.arange(-cfg.search - 2 * step, cfg.search + 2 * step + 1e-9, step)
    t = np.linspace(cfg.end_margin, 1 - cfg.end_margin, cfg.samples) * length
    centre = np.zeros_like(t) if base is None else np.asarray(base, np.float64)
    tau = np.linspace(-cfg.smooth, cfg.smooth, 3)
    across = centre[:, None] + d[None, :]
    pts = (p0 + (t[:, None, None, None] + tau[None, None, :, None]) * u
           + across[:, :, None, None] * outward)
    values, inside = reference_bilinear(img, pts[..., 0], pts[..., 1])
    prof = values.mean(axis=2)
    prof = (prof[:, :-2] + 2 * prof[:, 1:-1] + prof[:, 2:]) / 4
    grad = (prof[:, 2:] - prof[:, :-2]) / (2 * step)
    strength = np.sqrt((grad ** 2).sum(axis=-1))
    dd = d[2:-2]
    weighted = strength * np.exp(-0.5 * (dd / (cfg.prior * cfg.search)) ** 2)
    k = np.argmax(weighted, axis=1)
    rows = np.arange(len(t))
    peak = strength[rows, k]
    km, kp = np.clip(k - 1, 0, len(dd) - 1), np.clip(k + 1, 0, len(dd) - 1)
    ym, y0, yp = weighted[rows, km], weighted[rows, k], weighted[rows, kp]
    denom = ym - 2 * y0 + yp
    frac = np.where(denom < 0, 0.5 * (ym - yp) / np.where(denom < 0, denom, -1.0), 0.0)
    offset = centre + dd[k] + np.clip(frac, -0.5, 0.5) * step
    at_peak = inside[rows, k + 2].all(axis=-1)
    ok = at_peak & (peak >= cfg.min_contrast) & (k > 0) & (k < len(dd) - 1)
    return t, offset, ok


def refine_scenes():
    """(image, coarse corners, settings): colour, grey and float photos, a sheet cut by the photo's border."""
    rgb = paper_scene(PERSPECTIVE, seed=3).astype(np.int16)
    rgb[..., 0] = np.clip(rgb[..., 0] * 0.8 + 30, 0, 255)  # channels that differ: a coloured table
    rgb[..., 2] = np.clip(255 - rgb[..., 2] * 0.6, 0, 255)
    rgb = rgb.astype(np.uint8)
    cut = PERSPECTIVE + [[-50.0, -40.0], [0, 0], [0, 0], [0, 0]]  # the top-left corner outside the photo
    far = PERSPECTIVE + [[0, 0], [25.0, 0], [25.0, 0], [0, 0]]  # the right side beyond the strip: kept coarse
    return [(paper_scene(PERSPECTIVE), nudged(PERSPECTIVE), pp.RefineSettings(search=14.0)),
            (rgb, nudged(PERSPECTIVE, (-5.0, 6.0), -2.0), pp.RefineSettings()),
            (rgb, nudged(PERSPECTIVE), pp.RefineSettings(search=8.0, curve="line", second_pass=0.0)),
            (paper_scene(PERSPECTIVE, seed=1)[..., 0], nudged(PERSPECTIVE), pp.RefineSettings(search=10.0)),
            (paper_scene(PERSPECTIVE, seed=2).astype(np.float64) / 3, nudged(PERSPECTIVE), pp.RefineSettings(min_contrast=2.0)),
            (paper_scene(cut, seed=4), nudged(cut, (3.0, 3.0)), pp.RefineSettings(search=12.0)),
            (paper_scene(PERSPECTIVE), far, pp.RefineSettings(search=8.0, prior=10.0))]


def test_bilinear_and_edge_offsets_equal_their_reference_implementations():
    # the faster sampling (one flat gather of the four neighbours, the band first) gives the same numbers
    rng = np.random.default_rng(0)
    for img, _, cfg in refine_scenes():
        img3 = img[..., None] if img.ndim == 2 else img
        x, y = rng.uniform(-3, img3.shape[1] + 2, (3, 40, 7)), rng.uniform(-3, img3.shape[0] + 2, (3, 40, 7))
        for got, want in zip(pp._bilinear(np.ascontiguousarray(img3), x, y), reference_bilinear(img3, x, y)):
            assert got.dtype == want.dtype and np.array_equal(got, want)
        p0, p1 = np.array([40.5, 330.25]), np.array([60.0, 49.75])  # the left side, upwards
        length = float(np.hypot(*(p1 - p0)))
        u = (p1 - p0) / length
        outward = np.array([u[1], -u[0]])
        for base in (None, rng.normal(0, 2, cfg.samples)):
            got = pp._edge_offsets(np.ascontiguousarray(img3), p0, u, outward, length, cfg, base)
            want = reference_edge_offsets(img3, p0, u, outward, length, cfg, base)
            for g, w in zip(got, want):
                assert g.dtype == w.dtype and np.array_equal(g, w)


def test_refine_corners_gives_the_corners_of_the_reference_sampling(monkeypatch):
    # whole refinements, faster sampling against the reference one: identical corners and sides
    runs = [pp.refine_corners(img, coarse, cfg, return_edges=True) for img, coarse, cfg in refine_scenes()]
    monkeypatch.setattr(pp, "_edge_offsets", reference_edge_offsets)
    for (img, coarse, cfg), (corners, sides) in zip(refine_scenes(), runs):
        want, want_sides = pp.refine_corners(img, coarse, cfg, return_edges=True)
        assert np.array_equal(corners, want) and np.array_equal(sides, want_sides)
    assert any(sides.all() for _, sides in runs) and any(not sides.all() for _, sides in runs)


def save_jpeg(path, photo, orientation: int | None = None):
    from PIL import Image

    im = Image.fromarray(photo)
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    im.save(path, "JPEG", quality=95, exif=exif.tobytes())


def test_read_image_reduced_decodes_jpegs_at_a_power_of_two_and_keeps_orientation(tmp_path):
    from fcnlib import data

    photo = paper_scene(PERSPECTIVE, shape=(800, 600))  # portrait (H 800, W 600)
    save_jpeg(tmp_path / "a.jpg", photo)
    r = data.read_image_reduced(tmp_path / "a.jpg", long_side=200)
    assert r.scale == 4 and r.size == (800, 600) and r.image.shape == (200, 150, 3)
    assert data.read_image_reduced(tmp_path / "a.jpg", long_side=201).scale == 2
    assert data.read_image_reduced(tmp_path / "a.jpg").scale == 1
    # stored sideways with EXIF orientation 6 (rotate 90 clockwise to view): upright sizes
    save_jpeg(tmp_path / "b.jpg", np.ascontiguousarray(np.rot90(photo, 1)), orientation=6)
    r = data.read_image_reduced(tmp_path / "b.jpg", long_side=100)
    assert r.scale == 8 and r.size == (800, 600) and r.image.shape == (100, 75, 3)
    full = data.read_image(tmp_path / "b.jpg")
    small = full.reshape(100, 8, 75, 8, 3).mean(axis=(1, 3))
    assert np.abs(small - r.image).mean() < 6  # same content, upright
    # PNG: box-reduced on the same pixel grid
    from PIL import Image

    Image.fromarray(photo).save(tmp_path / "c.png")
    r = data.read_image_reduced(tmp_path / "c.png", long_side=200)
    assert r.scale == 4 and r.image.shape == (200, 150, 3)
    assert np.allclose(r.to_full(r.to_reduced([[10.0, 20.0]])), [[10.0, 20.0]])
    assert np.allclose(r.to_full([[0.0, 0.0]]), [[1.5, 1.5]])  # reduced pixel 0 covers full 0..3


def test_refine_in_photo_on_a_reduced_decode_gives_full_resolution_corners(tmp_path):
    from fcnlib import data

    true = PERSPECTIVE * 4 + 1.5  # a 1600x1200 photo
    save_jpeg(tmp_path / "big.jpg", paper_scene(true, shape=(1600, 1200)))
    reduced = data.read_image_reduced(tmp_path / "big.jpg", long_side=400)
    assert reduced.scale == 4
    coarse = nudged(true, shift=(14.0, -10.0))
    assert corner_error(coarse, true) > 20
    refined = pp.refine_in_photo(reduced, coarse, cell=12.0, search_cells=4.0)
    assert corner_error(refined, true) < 5.0  # about one pixel of the reduced image


def bright_paper_runner(batch):
    """A stand-in network with a coarse, biased outline: P(receipt) = 1 on the bright sheet grown by
    one model pixel (a map that spills over the paper's edges, as a blurry network's does), else 0."""
    paper = np.asarray(batch, np.float32).mean(axis=-1) > 0.6
    grown = paper.copy()
    grown[:, 1:] |= paper[:, :-1]
    grown[:, :-1] |= paper[:, 1:]
    grown[:, :, 1:] |= paper[:, :, :-1]
    grown[:, :, :-1] |= paper[:, :, 1:]
    return grown[..., None].astype(np.float32)


def test_extract_file_refines_corners_and_flattens_from_a_reduced_decode(tmp_path):
    from fcnlib.predict import Predictor

    true = PERSPECTIVE * 4 + 1.5  # 1600x1200 photo, corners in its pixels
    save_jpeg(tmp_path / "big.jpg", paper_scene(true, shape=(1600, 1200)))
    predictor = Predictor(model=None, image_size=(96, 72), runner=bright_paper_runner)
    coarse, _ = pp.extract_file(predictor, tmp_path / "big.jpg", refine=False, refine_long_side=400, flatten=False)
    timings = {}
    found, flat = pp.extract_file(predictor, tmp_path / "big.jpg", refine=True, refine_long_side=400,
                                  timings=timings)
    assert corner_error(coarse.corners, true) > 8.0  # one model pixel spans 16 photo pixels
    assert corner_error(found.corners, true) < 5.0   # about one pixel of the 400x300 decode
    assert found.mask.shape == (1600, 1200) and found.score > 0.8
    side = lambda a, b: float(np.hypot(*(true[a] - true[b])))  # noqa: E731
    assert abs(flat.shape[0] - (side(0, 3) + side(1, 2)) / 2) < 6 and flat.shape[2] == 3
    assert abs(flat.shape[1] - (side(0, 1) + side(3, 2)) / 2) < 6
    assert flat[20:-20, 20:-20].mean() > 150  # the sheet, not the table
    assert set(timings) == {"read", "model", "quad", "refine", "flatten"}
    # the flattened receipt from a reduced decode: half the size
    _, half = pp.extract_file(predictor, tmp_path / "big.jpg", refine=True, refine_long_side=400,
                              flat_long_side=800)
    assert abs(half.shape[0] - flat.shape[0] / 2) <= 2


def test_refine_in_photo_reduces_a_large_full_size_array_first(monkeypatch):
    true = PERSPECTIVE * 8 + 3.5  # a 3200x2400 photo given as a full-size array
    photo = paper_scene(true, shape=(3200, 2400))
    coarse = nudged(true, shift=(20.0, -16.0))
    seen = []
    original = pp.refine_corners
    monkeypatch.setattr(pp, "refine_corners", lambda image, *a, **k: seen.append(image.shape) or original(image, *a, **k))
    refined = pp.refine_in_photo(photo, coarse, cell=16.0, search_cells=4.0)
    assert seen == [(1600, 1200, 3)]  # halved: the smallest power-of-two reduction with long side >= 1000
    assert corner_error(refined, true) < 8.0  # about one pixel of the 1/2 image it ran on
    assert corner_error(coarse, true) > 30.0


def test_extract_score_methods_change_the_score_not_the_outline():
    # one rectangle, its left half sure (0.95), its right half unsure (0.7)
    prob = np.zeros((80, 60), np.float32)
    prob[10:70, 10:30] = 0.95
    prob[10:70, 30:50] = 0.7
    fit = pp.extract(prob)
    confident = pp.extract(prob, score_method="confident")
    np.testing.assert_allclose(confident.corners, fit.corners)
    assert confident.score == pytest.approx(0.5, abs=0.05)  # half of the quad above 0.9
    assert fit.score == pytest.approx(0.825, abs=0.03)  # mean probability x quad-region IoU (about 1)
    # min_score holds for the method asked for
    assert pp.extract(prob, min_score=0.6, score_method="confident").corners is None
    assert pp.extract(prob, min_score=0.6).corners is not None
    with pytest.raises(ValueError, match="score method 'area'"):
        pp.extract(prob, score_method="area")
