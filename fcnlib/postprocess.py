"""From a receipt probability map or mask to a flat receipt image, plus a classical baseline.

The network gives a per-pixel probability; a user wants four corners and a flattened receipt. This
module holds the steps in between (threshold, largest region, quadrilateral fit, corner order,
perspective warp) and `classical_quad`, the edge-based pipeline people use without a network, kept as
an honest baseline for comparison. Only numpy and scikit-image: no TensorFlow, so it imports fast.

Coordinates are (x, y) pixels with pixel centres at integers (scikit-image's convention); corners
are float (4, 2) arrays ordered top-left, top-right, bottom-right, bottom-left (see `order_corners`).

How `fit_quad` works, and why:
1. The outer boundary of the largest region is traced at sub-pixel precision
   (`skimage.measure.find_contours` at level 0.5); the contour enclosing the largest area is kept, so
   speckles and holes do not matter.
2. Its convex hull bridges notches (a finger over an edge or a corner, a tear); the hull is
   simplified to at most 48 vertices and the inscribed 4-vertex polygon of maximal area is found
   exactly (all vertex quadruples, vectorised). This is the "hull quad".
3. The hull quad's corners cut the contour into four arcs, one per side. Each side is refitted to
   its arc by RANSAC then total least squares on the inliers, ignoring the arc's ends, so rounded
   corners, a notch cut by a finger, a torn (zigzag) edge or a curl do not pull the line. Adjacent
   lines are intersected to give the corners, which may lie outside the mask (a covered or rounded
   corner is where its two edges meet). A side whose fit is degenerate keeps its hull-quad line; if
   the refined quad is not convex or strays from the hull quad, the hull quad is returned.
A folded or strongly curled receipt is not a plane: a 4-point warp cannot flatten it, and the quad
is then only the best straight-edged outline.

Corners at the photo's resolution (`refine_corners`, `refine_in_photo`): a network's map is coarse (one
pixel of a 192x144 map spans 4-40 photo pixels), so its corners are moved onto the paper's edges in the
photo itself: colour steps across each coarse side, a robust parabola through them, tangents of adjacent
sides intersected; each side falls back to its coarse line when the evidence is weak. `extract_file` runs
the whole path for a photo file at phone resolution: one reduced JPEG decode, the network, the quad, the
refinement, and the flattened receipt warped from the photo (output pixels only).
"""
from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import skimage  # submodules load lazily on first use (skimage.measure, ...), keeping import fast

from fcnlib.data import ReducedPhoto, polygon_mask
from fcnlib.geometry import homography, is_convex, polygon_area, simplify_polyline
from fcnlib.spec import check_score_method

__all__ = [
    "Extraction",
    "largest_region",
    "fit_quad",
    "order_corners",
    "warp",
    "extract",
    "classical_quad",
    "receipt_probability",
    "RefineSettings",
    "refine_corners",
    "refine_in_photo",
    "extract_file",
    "REFINE_SEARCH_CELLS",
    "REFINE_LONG_SIDE",
    "FLAT_LONG_SIDE",
    "CONFIDENT_PROBABILITY",
]

_MAX_HULL_VERTICES = 48
CONFIDENT_PROBABILITY = 0.9  # the "confident" score: share of the quad's pixels above this probability
_RANSAC_CANDIDATES = 96


class Extraction:
    """Result of `extract`.

    corners: float (4, 2) TL, TR, BR, BL in (x, y) pixels, or None when no receipt was found.
    score: confidence in [0, 1] (0.0 when nothing quadrilateral was found), by the model's score
        method (`extract`): "fit", the mean receipt probability inside the quad times the IoU between
        the kept region and the quad, low when the net is unsure or the region is not quadrilateral;
        "confident", the share of the quad's pixels where the net is sure (probability above
        CONFIDENT_PROBABILITY), low when it is unsure anywhere inside the outline.
    mask: uint8 (H, W) {0, 1}: the kept region (largest component, holes filled). It may be given as
        a function of no arguments that makes it: it is then made when first read, so a caller that
        wants only the corners does not pay for a photo-size mask (`Predictor.extract_from`).
    """

    __slots__ = ("corners", "score", "_mask")

    def __init__(self, corners: np.ndarray | None, score: float, mask):
        self.corners, self.score, self._mask = corners, score, mask

    @property
    def mask(self) -> np.ndarray:
        if callable(self._mask):
            self._mask = self._mask()
        return self._mask

    def with_corners(self, corners: np.ndarray | None) -> "Extraction":
        """The same extraction with other corners (the mask, made or not, is shared)."""
        return Extraction(corners, self.score, self._mask)

    def __repr__(self) -> str:
        corners = None if self.corners is None else np.round(self.corners, 1).tolist()
        return f"Extraction(corners={corners}, score={self.score:.4f})"


def _bool_mask(mask) -> np.ndarray:
    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[-1] == 1:
        m = m[..., 0]
    if m.ndim != 2:
        raise ValueError(f"mask has shape {m.shape}; expected (H, W) or (H, W, 1)")
    return m > 0


def largest_region(mask) -> np.ndarray:
    """Bool (H, W) mask of the largest 4-connected component of `mask` (> 0), holes filled."""
    m = _bool_mask(mask)
    labels = skimage.measure.label(m, connectivity=1)
    if labels.max() == 0:
        return np.zeros_like(m)
    counts = np.bincount(labels.ravel())
    counts[0] = 0
    region = labels == counts.argmax()
    # Holes: background components that do not touch the image border.
    background = skimage.measure.label(~region, connectivity=1)
    border = np.unique(np.concatenate(
        [background[0], background[-1], background[:, 0], background[:, -1]]))
    return region | ~np.isin(background, border)


def receipt_probability(prob) -> np.ndarray:
    """Float (H, W) P(receipt) from a model output: (H, W) or (H, W, 1) sigmoid maps are P(class 1);
    (H, W, K>=2) softmax maps give channel 1."""
    p = np.asarray(prob, dtype=np.float32)
    if p.ndim == 2:
        return p
    if p.ndim == 3:
        return p[..., 0] if p.shape[-1] == 1 else p[..., 1]
    raise ValueError(f"probability map has shape {p.shape}; expected (H, W) or (H, W, K)")


def _outer_contour(m: np.ndarray, prob: np.ndarray | None = None, level: float = 0.5) -> np.ndarray | None:
    """(N, 2) xy of the closed contour of region `m` enclosing the largest area (sub-pixel), or None.

    With `prob` (the map `m` was thresholded from at `level`), the contour is traced on the probability
    itself, restricted to the region and its 4-neighbours: its edges fall between pixels where the
    probability crosses `level`, so a coarse map still gives a sub-pixel outline."""
    rows = np.flatnonzero(m.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(m.any(axis=0))
    r0, c0 = max(rows[0] - 1, 0), max(cols[0] - 1, 0)
    r1, c1 = rows[-1] + 2, cols[-1] + 2
    region = m[r0:r1, c0:c1]
    if prob is None:
        field, level = region.astype(np.float32), 0.5
    else:
        p = np.asarray(prob, np.float32)[r0:r1, c0:c1]
        ring = np.zeros_like(region)  # the region's 4-neighbours
        ring[1:] |= region[:-1]
        ring[:-1] |= region[1:]
        ring[:, 1:] |= region[:, :-1]
        ring[:, :-1] |= region[:, 1:]
        ring &= ~region
        field = np.where(region, np.maximum(p, np.float32(level + 1e-4)),
                         np.where(ring, np.minimum(p, np.float32(level)), 0.0)).astype(np.float32)
    crop = np.pad(field, 1)
    r0, c0 = r0 - 1, c0 - 1
    best, best_area = None, 0.0
    for c in skimage.measure.find_contours(crop, level):
        area = polygon_area(c)
        if area > best_area:
            best, best_area = c, area
    if best is None:
        return None
    xy = best[:-1, ::-1] + np.array([c0, r0], dtype=np.float64)  # drop the repeated end
    return xy


def _convex_hull(xy: np.ndarray) -> np.ndarray:
    """Convex hull vertices (counter-clockwise in x-right/y-up terms) by Andrew's monotone chain."""
    pts = np.unique(xy, axis=0)  # sorted by x then y
    if len(pts) < 3:
        return pts
    p = pts.tolist()

    def chain(seq):
        out: list = []
        for q in seq:
            while len(out) >= 2 and ((out[-1][0] - out[-2][0]) * (q[1] - out[-2][1])
                                     - (out[-1][1] - out[-2][1]) * (q[0] - out[-2][0])) <= 0:
                out.pop()
            out.append(q)
        return out

    lower, upper = chain(p), chain(p[::-1])
    return np.array(lower[:-1] + upper[:-1], dtype=np.float64)


def _max_area_quad(hull: np.ndarray) -> np.ndarray:
    """Indices (4,) in hull order of the maximal-area quadrilateral with vertices on the hull."""
    n = len(hull)
    if n <= 4:
        return np.arange(n)
    d = hull[None, :, :] - hull[:, None, :]  # d[i, j] = P_j - P_i
    # t[i, j, k] = |triangle (P_i, P_j, P_k)| * 2
    t = np.abs(d[:, :, None, 0] * d[:, None, :, 1] - d[:, :, None, 1] * d[:, None, :, 0])
    idx = np.arange(n)
    i, j, k = np.meshgrid(idx, idx, idx, indexing="ij")
    # Quad i < j < k < l has area (T(i, j, k) + T(i, k, l)) / 2: maximise each over j and l.
    t = np.where((i < j) & (j < k), t, -np.inf)
    over_j = t.max(axis=1)   # [i, k] = max over i < j < k of T(i, j, k)
    over_l = t.max(axis=2)   # [i, k] = max over l > k of T(i, k, l)
    total = over_j + over_l
    ii, kk = np.unravel_index(np.argmax(total), total.shape)
    return np.array([ii, t[ii, :, kk].argmax(), kk, t[ii, kk, :].argmax()])


def _simplify_hull(hull: np.ndarray) -> np.ndarray:
    tol = 0.5
    h = hull
    while len(h) > _MAX_HULL_VERTICES:
        closed = np.vstack([hull, hull[:1]])
        h = simplify_polyline(closed, tolerance=tol)[:-1]
        tol *= 1.5
    return h


def _fit_line(pts: np.ndarray, threshold: float, rng: np.random.Generator):
    """Robust line through pts: (point, unit direction) or None. RANSAC over point pairs, then total
    least squares on the inliers (twice)."""
    if len(pts) < 8:
        return None
    n = len(pts)
    a = rng.integers(0, n, _RANSAC_CANDIDATES)
    b = rng.integers(0, n, _RANSAC_CANDIDATES)
    keep = np.abs(a - b) >= n // 4  # well-separated pairs give well-determined lines
    a, b = a[keep], b[keep]
    if a.size == 0:
        return None
    p, q = pts[a], pts[b]
    direction = q - p
    length = np.hypot(direction[:, 0], direction[:, 1])
    ok = length > 1e-9
    p, direction, length = p[ok], direction[ok], length[ok]
    if p.size == 0:
        return None
    normal = np.stack([-direction[:, 1], direction[:, 0]], axis=1) / length[:, None]
    dist = np.abs((pts[None, :, 0] - p[:, None, 0]) * normal[:, None, 0]
                  + (pts[None, :, 1] - p[:, None, 1]) * normal[:, None, 1])
    inliers = dist[np.argmax((dist < threshold).sum(axis=1))] < threshold
    for _ in range(2):
        if inliers.sum() < 5:
            return None
        sel = pts[inliers]
        centre = sel.mean(axis=0)
        _, _, vt = np.linalg.svd(sel - centre, full_matrices=False)
        direction = vt[0]
        normal = np.array([-direction[1], direction[0]])
        inliers = np.abs((pts - centre) @ normal) < threshold
    return centre, direction


def _intersect(l1, l2) -> np.ndarray | None:
    (p1, d1), (p2, d2) = l1, l2
    denom = d1[0] * d2[1] - d1[1] * d2[0]
    if abs(denom) < 0.2:  # lines within ~11.5 degrees of parallel: no reliable corner
        return None
    diff = p2 - p1
    s = (diff[0] * d2[1] - diff[1] * d2[0]) / denom
    return p1 + s * d1


def _refine(contour: np.ndarray, corner_idx: np.ndarray, hull_quad: np.ndarray) -> np.ndarray:
    """Refit each side of the hull quad to its contour arc; intersect adjacent sides."""
    n = len(contour)
    diag = float(np.hypot(*(contour.max(axis=0) - contour.min(axis=0))))
    threshold = max(1.5, 0.003 * diag)
    rng = np.random.default_rng(0)
    lines = []
    for s in range(4):
        start, stop = corner_idx[s], corner_idx[(s + 1) % 4]
        arc_len = (stop - start) % n
        trim = int(0.1 * arc_len)
        ids = (start + trim + np.arange(max(arc_len - 2 * trim, 0))) % n
        line = _fit_line(contour[ids], threshold, rng)
        if line is None:  # keep the hull quad's side
            p, q = hull_quad[s], hull_quad[(s + 1) % 4]
            line = (p, (q - p) / max(np.hypot(*(q - p)), 1e-9))
        lines.append(line)
    corners = []
    for s in range(4):
        c = _intersect(lines[s - 1], lines[s])  # corner s joins side s-1 and side s
        if c is None:
            return hull_quad
        corners.append(c)
    quad = np.array(corners)
    if not is_convex(quad) or np.max(np.hypot(*(quad - hull_quad).T)) > 0.25 * diag:
        return hull_quad
    return quad


def fit_quad(mask, min_area: float = 0.01, *, prob=None, threshold: float = 0.5) -> np.ndarray | None:
    """Corners (4, 2) float (x, y), TL, TR, BR, BL, of the largest region of `mask` (> 0), or None
    when the mask is empty or that region covers less than `min_area` of the image.

    With `prob`, the map `mask` came from (P > `threshold`), the outline is traced on the probability
    at sub-pixel precision, so fitting on a model-size map loses little against fitting on the map
    upsampled to the photo, at about a fifth of the cost.

    Robust to rounded, torn or curled edges and to a finger over an edge or a corner; see the module
    docstring for the method. Corners of covered or rounded corners are where the edges meet, so they
    may lie outside the mask (even outside the image)."""
    m = _bool_mask(mask)
    h, w = m.shape
    if m.sum() < max(min_area * h * w, 3):
        return None
    contour = _outer_contour(m, prob, threshold)
    if contour is None or polygon_area(contour) < max(min_area * h * w, 1.0):
        return None
    # Douglas-Peucker at 1 px first: keeps the extreme points, so the hull moves < 1 px, and the
    # pure-Python hull then runs on tens of points instead of thousands.
    coarse = simplify_polyline(np.vstack([contour, contour[:1]]), tolerance=1.0)
    hull = _simplify_hull(_convex_hull(coarse))
    if len(hull) < 4:
        return None
    hull_quad = hull[_max_area_quad(hull)]
    # Hull vertices are contour points: locate them on the contour, in contour order.
    corner_idx = np.array([np.argmin(np.hypot(*(contour - c).T)) for c in hull_quad])
    order = np.argsort(corner_idx)
    corner_idx, hull_quad = corner_idx[order], hull_quad[order]
    if len(np.unique(corner_idx)) < 4:
        return order_corners(hull_quad)
    return order_corners(_refine(contour, corner_idx, hull_quad))


def order_corners(pts) -> np.ndarray:
    """Four (x, y) points ordered TL, TR, BR, BL (clockwise on screen), as float (4, 2).

    Rule: sort the points clockwise by angle around their centroid; the top edge is the clockwise
    edge whose direction is within (-45, +45] degrees of pointing right (+x), and TL is its first
    point. So a receipt is read upright after the smallest rotation (at most 45 degrees); at exactly
    45 degrees the edge going right-and-down is the top. A receipt lying sideways in the photo
    therefore comes out landscape; no rule can be continuous across 45 degrees."""
    p = np.asarray(pts, dtype=np.float64).reshape(4, 2)
    c = p.mean(axis=0)
    p = p[np.argsort(np.arctan2(p[:, 1] - c[1], p[:, 0] - c[0]), kind="stable")]  # y down: clockwise
    e = np.roll(p, -1, axis=0) - p
    ang = np.degrees(np.arctan2(e[:, 1], e[:, 0]))
    in_range = (ang > -45.0 - 1e-9) & (ang <= 45.0 + 1e-9)
    # Normally exactly one edge qualifies; otherwise (a degenerate quad) take the most rightward.
    key = np.where(in_range, np.abs(ang - 0.0), 360.0) - 1e-6 * (ang > 0)
    return np.roll(p, -int(np.argmin(key)), axis=0)


# A large flattened receipt is warped in horizontal bands of at least this many output pixels, one per
# thread (PIL's transform runs without the GIL), on up to _WARP_THREADS threads. Smaller outputs take one
# call: waking an idle core costs more than it saves there (`fcn bench extract` measures both sizes).
_WARP_BAND_PIXELS = 1 << 18
_WARP_THREADS = min(4, os.cpu_count() or 1)


@functools.lru_cache(maxsize=1)
def _warp_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=_WARP_THREADS, thread_name_prefix="fcnlib-warp")


def _perspective(image, size: tuple[int, int], h: np.ndarray) -> np.ndarray:
    """PIL's bilinear perspective transform of `image` (a PIL image) to `size` (width, height), output
    pixel (x, y) sampled at `h` @ (x, y, 1) (pixel edges on integers), computed in horizontal bands on
    `_warp_pool`'s threads. Each output pixel is computed alone, so the bands match one whole call."""
    from PIL import Image

    width, height = size

    def band(top: int, bottom: int) -> np.ndarray:
        shifted = h @ np.array([[1.0, 0.0, 0.0], [0.0, 1.0, top], [0.0, 0.0, 1.0]])
        coeffs = tuple((shifted / shifted[2, 2]).ravel()[:8])
        return np.asarray(image.transform((width, bottom - top), Image.Transform.PERSPECTIVE, coeffs,
                                          Image.Resampling.BILINEAR))

    n = int(min(_WARP_THREADS, height, width * height // _WARP_BAND_PIXELS))
    if n <= 1:
        return band(0, height)
    image.load()  # a lazily opened file is decoded here, once, not by each band's thread at the same time
    cuts = np.linspace(0, height, n + 1).astype(int)
    return np.concatenate(list(_warp_pool().map(band, cuts[:-1], cuts[1:])))


def warp(photo, corners, out_size: tuple[int, int] | None = None) -> np.ndarray:
    """The receipt inside `corners` (TL, TR, BR, BL) flattened upright, uint8 of the photo's channels.

    `photo`: an array, or a PIL image (warped without a copy: only the output's pixels are computed).
    Size: `out_size` (height, width) if given, else the receipt's own aspect ratio: width = mean of
    the top and bottom edge lengths, height = mean of the left and right edge lengths. Bilinear."""
    from PIL import Image

    pil = photo if isinstance(photo, Image.Image) else None  # a PIL image is warped as is, no copy
    img = np.asarray(photo) if pil is None else None
    q = np.asarray(corners, dtype=np.float64).reshape(4, 2)
    if out_size is None:
        length = lambda a, b: float(np.hypot(*(q[a] - q[b])))  # noqa: E731
        w = (length(0, 1) + length(3, 2)) / 2
        h = (length(0, 3) + length(1, 2)) / 2
        out_h, out_w = max(int(round(h)), 1), max(int(round(w)), 1)
    else:
        out_h, out_w = (int(v) for v in out_size)
    w, h = pil.size if pil is not None else img.shape[1::-1]
    if np.all(q[:, 0] < -0.5) or np.all(q[:, 0] > w - 0.5) or np.all(q[:, 1] < -0.5) or np.all(q[:, 1] > h - 0.5):
        raise ValueError(f"corners {q.tolist()} lie outside the photo of size {w}x{h}")
    # PIL's transform (C, uint8) puts pixel edges on integers: the output's edges (0 ... size) map onto
    # the receipt's outline, whose corners are at pixel centres + 0.5.
    dst = np.array([[0, 0], [out_w, 0], [out_w, out_h], [0, out_h]], dtype=np.float64)
    to_photo = homography(dst, q + 0.5)
    if pil is not None:
        return _perspective(pil, (out_w, out_h), to_photo)
    if img.dtype != np.uint8:
        img = np.clip(np.rint(img), 0, 255).astype(np.uint8)

    def flat(plane):  # gray, RGB and RGBA in one call; other channel counts plane by plane
        return _perspective(Image.fromarray(np.ascontiguousarray(plane)), (out_w, out_h), to_photo)

    if img.ndim == 2 or img.shape[-1] in (3, 4):
        return flat(img)
    return np.stack([flat(img[..., k]) for k in range(img.shape[-1])], axis=-1)


def extract(prob, threshold: float = 0.5, min_area: float = 0.01, min_score: float = 0.0,
            score_method: str = "fit") -> Extraction:
    """Receipt corners from a probability map ((H, W), (H, W, 1) sigmoid or (H, W, K) softmax).

    Threshold P(receipt) > `threshold`, keep the largest region (holes filled), `fit_quad` it on the
    probability (sub-pixel, so a model-size map does). "No receipt" is a normal outcome: corners None
    when the region is empty or too small (score 0.0) or when the score is below `min_score` (the score
    is kept, so a caller sees how close it was). `score_method` names how the score is computed
    (`fcnlib.spec.SCORE_METHODS`, see `Extraction`); a model's `min_score` holds for the method it was
    calibrated with (`SegmenterSpec.score_method`).

    Example:

    >>> prob = np.zeros((40, 30), np.float32); prob[8:32, 6:24] = 0.95
    >>> found = extract(prob, score_method="confident")
    >>> found.corners is not None, round(found.score, 2)
    (True, 1.0)
    """
    check_score_method(score_method)
    p = receipt_probability(prob)
    region = largest_region(p > threshold)
    corners = fit_quad(region, min_area=min_area, prob=p, threshold=threshold)
    value = 0.0
    if corners is not None:
        quad = polygon_mask(corners, *region.shape).astype(bool)  # vectorised: cheaper than skimage.draw here
        inside = p[quad]
        if inside.size and score_method == "confident":
            value = float(np.count_nonzero(inside > CONFIDENT_PROBABILITY) / inside.size)
        elif inside.size:
            union = np.count_nonzero(quad | region)
            iou = np.count_nonzero(quad & region) / union if union else 0.0
            value = float(np.clip(float(inside.mean()) * iou, 0.0, 1.0))
        if value < min_score:
            corners = None
    return Extraction(corners=corners, score=value, mask=region.astype(np.uint8))


def classical_quad(photo, *, max_side: int = 500, sigma: float = 2.0, closing_radius: int = 2,
                   min_area: float = 0.05) -> np.ndarray | None:
    """The classical receipt finder, as a baseline: (4, 2) corners TL, TR, BR, BL or None.

    The usual recipe, with scikit-image and default settings (not tuned on any answers): grayscale,
    shrink to `max_side`, Canny with Gaussian blur `sigma` (scikit-image's default thresholds),
    morphological closing to join broken edges, closed contours (border-padded), each approximated
    by a polygon at 2% of its perimeter (as OpenCV's approxPolyDP recipe); the largest convex
    4-vertex polygon covering at least `min_area` of the photo wins. Like the recipe, it answers
    whenever any such polygon exists, receipt or not."""
    img = np.asarray(photo)
    gray = skimage.color.rgb2gray(img) if img.ndim == 3 else img.astype(np.float64) / 255.0
    h0, w0 = gray.shape
    scale = min(1.0, max_side / max(h0, w0))
    if scale < 1.0:
        gray = skimage.transform.resize(gray, (round(h0 * scale), round(w0 * scale)),
                                        anti_aliasing=True)
    h, w = gray.shape
    edges = skimage.feature.canny(gray, sigma=sigma)
    edges = skimage.morphology.closing(edges, skimage.morphology.disk(closing_radius))
    best, best_area = None, min_area * h * w
    # fully_connected="high": a thin edge line joined only diagonally still closes a loop.
    padded = np.pad(edges, 1).astype(np.float32)
    for c in skimage.measure.find_contours(padded, 0.5, fully_connected="high"):
        if not np.allclose(c[0], c[-1]):
            continue
        area = polygon_area(c)
        if area <= best_area:
            continue
        perimeter = float(np.sum(np.hypot(*np.diff(c, axis=0).T)))
        poly = skimage.measure.approximate_polygon(c, tolerance=0.02 * perimeter)
        if len(poly) == 5 and is_convex(poly[:-1]):
            best, best_area = poly[:-1], area
    if best is None:
        return None
    xy = (best[:, ::-1] - 0.5) / scale - 0.5  # undo the 1-pixel pad and the rescale (pixel centres)
    return order_corners(xy)


# ---------------------------------------------------------------------------------------------------
# Corners at the photo's resolution


@dataclass(frozen=True)
class RefineSettings:
    """Parameters of `refine_corners`, in pixels of the image the refinement runs on.

    search: half-width of the strip searched across each coarse edge (the paper's edge is looked for
        within +-search of it).
    prior: the Gaussian weight favouring steps near the coarse edge has sigma = prior * search.
    samples: profiles across each edge (spread over its middle, `1 - 2 * end_margin` of its length).
    end_margin: share of the edge left out at each end (rounded, torn or covered corners).
    smooth: half-width, along the edge, of the band each profile averages (noise, paper texture).
    min_contrast: smallest colour step (grey levels per pixel, RGB norm) taken as an edge.
    min_inliers: share of the profiles that must agree on one line for the edge to be refined.
    max_angle: largest turn (degrees) of a refined edge against the coarse one.
    inlier_px: RANSAC distance threshold of the curve fit.
    second_pass: half-width of a second, narrower search around the first pass's curve (0: none).
    curve: "quadratic" (a bowed edge: curled paper) or "line", the model fitted to each edge.
    """

    search: float = 12.0
    samples: int = 48
    end_margin: float = 0.1
    smooth: float = 1.5
    min_contrast: float = 6.0
    min_inliers: float = 0.4
    max_angle: float = 4.0
    inlier_px: float = 1.0
    prior: float = 0.5
    second_pass: float = 3.0
    curve: str = "quadratic"


def _bilinear(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear samples (..., C) float32 of uint8/float img (h, w, C) at (x, y), and a bool mask of the
    points that lie inside the image. A C-contiguous `img` is gathered without a copy."""
    h, w, channels = img.shape
    inside = (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
    x = np.minimum(np.maximum(x, 0), w - 1.001)
    y = np.minimum(np.maximum(y, 0), h - 1.001)
    x0 = x.astype(np.intp)
    y0 = y.astype(np.intp)
    fx = (x - x0).astype(np.float32)[..., None]
    fy = (y - y0).astype(np.float32)[..., None]
    i = y0 * w + x0  # flat indices: one take of the four neighbours is much cheaper than 2-D fancy indexing
    neighbours = np.take(img.reshape(h * w, channels), np.stack([i, i + 1, i + w, i + w + 1]), axis=0)
    a, b, c, d = neighbours.astype(np.float32)
    return (a + (b - a) * fx) * (1 - fy) + (c + (d - c) * fx) * fy, inside


def _edge_offsets(img: np.ndarray, p0: np.ndarray, u: np.ndarray, outward: np.ndarray, length: float,
                  cfg: RefineSettings, base: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the colour steps most across the coarse side (p0, direction u, `length`), at `cfg.samples`
    places along it: (t (N,) along the side in pixels, offset (N,) along `outward`, bool ok (N,)). Each
    profile spans +-`cfg.search` around `base` (per-sample offsets, default 0). A profile is `ok` when its
    strongest (prior-weighted) step lies inside the image and is at least `cfg.min_contrast`."""
    step = 0.5
    d = np.arange(-cfg.search - 2 * step, cfg.search + 2 * step + 1e-9, step)  # across, outward +
    t = np.linspace(cfg.end_margin, 1 - cfg.end_margin, cfg.samples) * length  # along
    centre = np.zeros_like(t) if base is None else np.asarray(base, np.float64)
    tau = np.linspace(-cfg.smooth, cfg.smooth, 3)  # band along the edge, averaged
    across = centre[:, None] + d[None, :]  # (N, D)
    along = tau[:, None, None] + t[None, :, None]  # (T, N, 1): the band first, so its mean adds whole blocks
    x = p0[0] + along * u[0] + across * outward[0]  # (T, N, D)
    y = p0[1] + along * u[1] + across * outward[1]
    values, inside = _bilinear(img, x, y)  # (T, N, D, C)
    prof = values.sum(axis=0)
    prof /= len(tau)  # (N, D, C): the band's mean, as values.mean() would give it
    prof = (prof[:, :-2] + 2 * prof[:, 1:-1] + prof[:, 2:]) / 4  # [1 2 1] across
    grad = (prof[:, 2:] - prof[:, :-2]) / (2 * step)  # (N, D - 4, C): centred derivative
    strength = np.sqrt((grad ** 2).sum(axis=-1))
    dd = d[2:-2]
    weighted = strength * np.exp(-0.5 * (dd / (cfg.prior * cfg.search)) ** 2)
    k = np.argmax(weighted, axis=1)
    rows = np.arange(len(t))
    peak = strength[rows, k]
    # sub-sample peak position: parabola through the weighted neighbours
    km, kp = np.clip(k - 1, 0, len(dd) - 1), np.clip(k + 1, 0, len(dd) - 1)
    ym, y0, yp = weighted[rows, km], weighted[rows, k], weighted[rows, kp]
    denom = ym - 2 * y0 + yp
    frac = np.where(denom < 0, 0.5 * (ym - yp) / np.where(denom < 0, denom, -1.0), 0.0)
    offset = centre + dd[k] + np.clip(frac, -0.5, 0.5) * step
    # profiles may leave the photo (a sheet at its border): samples there repeat the border pixel (no
    # step); the step found must itself lie inside
    at_peak = inside[:, rows, k + 2].all(axis=0)
    ok = at_peak & (peak >= cfg.min_contrast) & (k > 0) & (k < len(dd) - 1)
    return t, offset, ok


def _fit_curve(t: np.ndarray, off: np.ndarray, length: float, degree: int, threshold: float,
               rng: np.random.Generator):
    """Robust polynomial offset(t) of `degree` (1: a line, 2: a bowed edge): (coefficients in
    s = t / length, highest first; bool inliers) or None. RANSAC over minimal samples, then least squares
    on the inliers (twice)."""
    n = len(t)
    if n < 3 * (degree + 1):
        return None
    s = t / length
    picks = np.sort(rng.integers(0, n, (_RANSAC_CANDIDATES, degree + 1)), axis=1)
    spread = np.ptp(s[picks], axis=1) > 0.3  # well-separated samples give well-determined curves
    picks = picks[spread & (np.diff(picks, axis=1) > 0).all(axis=1)]
    if len(picks) == 0:
        return None
    vander = np.vander(s, degree + 1)  # (n, degree + 1)
    sub = vander[picks]  # (M, k, k)
    try:
        coef = np.linalg.solve(sub, off[picks][..., None])[..., 0]  # (M, k)
    except np.linalg.LinAlgError:
        return None
    resid = np.abs(vander @ coef.T - off[:, None])  # (n, M)
    inliers = resid[:, np.argmax((resid < threshold).sum(axis=0))] < threshold
    for _ in range(2):
        if inliers.sum() < 2 * (degree + 1):
            return None
        best, *_ = np.linalg.lstsq(vander[inliers], off[inliers], rcond=None)
        inliers = np.abs(vander @ best - off) < threshold
    return best, inliers


def _refine_side(img, p0, p1, outward, cfg: RefineSettings, rng):
    """The paper's edge near the coarse side p0 -> p1, as offset(s) along `outward`, s in [0, 1] from p0
    to p1: polynomial coefficients (highest first), or None when not confident."""
    length = float(np.hypot(*(p1 - p0)))
    u = (p1 - p0) / max(length, 1e-9)
    degree = 2 if cfg.curve == "quadratic" else 1
    t, off, ok = _edge_offsets(img, p0, u, outward, length, cfg)
    need = max(8, cfg.min_inliers * cfg.samples)
    if ok.sum() < need:
        return None
    fit = _fit_curve(t[ok], off[ok], length, degree, cfg.inlier_px, rng)
    if fit is None or fit[1].sum() < need:
        return None
    coef = fit[0]
    if cfg.second_pass > 0:  # a narrow strip around the first curve: more points, fewer outliers
        narrow = RefineSettings(**{**cfg.__dict__, "search": cfg.second_pass})
        t2, off2, ok2 = _edge_offsets(img, p0, u, outward, length, narrow, base=np.polyval(coef, t / length))
        if ok2.sum() >= need:
            again = _fit_curve(t2[ok2], off2[ok2], length, degree, cfg.inlier_px, rng)
            if again is not None and again[1].sum() >= need:
                coef = again[0]
    # confidence: the edge stays within the strip at both ends and turns by at most max_angle there
    for s_end in (0.0, 1.0):
        slope = np.polyval(np.polyder(coef), s_end) / max(length, 1e-9)
        if abs(np.polyval(coef, s_end)) > cfg.search or np.degrees(np.arctan(abs(slope))) > cfg.max_angle:
            return None
    return coef


def _end_line(p0, p1, outward, coef, s_end: float):
    """The tangent line (point, unit direction) of a refined side's curve at its end s_end (0 or 1)."""
    length = float(np.hypot(*(p1 - p0)))
    u = (p1 - p0) / max(length, 1e-9)
    point = p0 + s_end * length * u + np.polyval(coef, s_end) * outward
    direction = u + (np.polyval(np.polyder(coef), s_end) / max(length, 1e-9)) * outward
    return point, direction / np.hypot(*direction)


def refine_corners(image, corners, settings: RefineSettings | None = None,
                   return_edges: bool = False):
    """Coarse corners (TL, TR, BR, BL, (x, y) pixels of `image`) moved onto the paper's edges in `image`.

    For each side of the coarse quad, colour profiles across it (within +-`settings.search` pixels)
    locate the strongest colour step, favouring steps near the coarse side; a robust curve through those
    points (RANSAC, then least squares on the inliers; a parabola by default, so a curled sheet's bowed
    edge still meets its neighbour at the corner) is the paper's edge, and the tangents of adjacent edges
    at their ends meet at the refined corners. A side keeps its coarse line when the refinement is not
    confident: too few profiles with a step of `min_contrast`, too few of them on one curve, or a curve
    leaving the strip or turned by more than `max_angle` at an end. The coarse corners come back when
    the refined quad is not convex; a corner that moved farther than 2 * search keeps its coarse place.

    `image`: uint8 or float (H, W) or (H, W, C), at any resolution (pass corners in its pixels).
    With `return_edges`, returns (corners, bool (4,) sides refined).

    Example:
    >>> found = extract(prob)  # doctest: +SKIP
    >>> corners = refine_corners(photo, found.corners)  # doctest: +SKIP
    """
    cfg = settings or RefineSettings()
    img = np.asarray(image)
    if img.ndim == 2:
        img = img[..., None]
    img = np.ascontiguousarray(img)  # once here, so that every `_bilinear` gathers from it without a copy
    q = np.asarray(corners, dtype=np.float64).reshape(4, 2)
    centre = q.mean(axis=0)
    rng = np.random.default_rng(0)
    sides, refined = [], np.zeros(4, bool)
    for s in range(4):
        p0, p1 = q[s], q[(s + 1) % 4]
        u = (p1 - p0) / max(float(np.hypot(*(p1 - p0))), 1e-9)
        outward = np.array([u[1], -u[0]])
        if np.dot(outward, (p0 + p1) / 2 - centre) < 0:
            outward = -outward
        coef = _refine_side(img, p0, p1, outward, cfg, rng)
        refined[s] = coef is not None
        sides.append((p0, p1, outward, np.zeros(2) if coef is None else coef))
    out = []
    for s in range(4):
        if not (refined[s - 1] or refined[s]):  # both sides coarse: the coarse corner, exactly
            out.append(q[s])
            continue
        c = _intersect(_end_line(*sides[s - 1], 1.0), _end_line(*sides[s], 0.0))
        out.append(q[s] if c is None or np.hypot(*(c - q[s])) > 2 * cfg.search else c)
    out = np.array(out)
    if not is_convex(out):
        out, refined = q.copy(), np.zeros(4, bool)
    return (out, refined) if return_edges else out


# The refinement's defaults for a network's coarse corners, chosen on synthetic photos (see
# experiments/results/real_receipts.md for the command): search +-REFINE_SEARCH_CELLS model pixels
# across each coarse edge, on the photo decoded with its long side >= REFINE_LONG_SIDE.
REFINE_SEARCH_CELLS = 4.0
REFINE_LONG_SIDE = 1000
# The flattened receipt is warped from the photo decoded with its long side >= FLAT_LONG_SIDE (a 12 MP
# photo at 1/2, 48 MP at 1/4): output size and time stay bounded whatever the camera.
FLAT_LONG_SIDE = 2000


def refine_in_photo(photo, corners, cell: float, search_cells: float = REFINE_SEARCH_CELLS,
                    settings: RefineSettings | None = None) -> np.ndarray:
    """`refine_corners` for corners in full-photo pixels found on a coarse map.

    `photo`: the photo as an array at its full size (box-reduced by a power of two while its long side
    stays >= REFINE_LONG_SIDE, the resolution the settings were chosen at), or a `fcnlib.data.ReducedPhoto`
    (a reduced decode: the refinement runs on it). Corners stay in full-photo pixels. `cell`: the size, in full-photo
    pixels, of one pixel of the map the corners came from; the search strip is +-`search_cells` of them.

    Example:
    >>> corners = refine_in_photo(data.read_image_reduced("IMG.jpg", 1000), found.corners, cell=20.8)  # doctest: +SKIP
    """
    if not hasattr(photo, "scale"):  # a full-size array: refine at the resolution the settings were chosen at
        arr = np.asarray(photo)
        k = 1
        while k < 8 and max(arr.shape[:2]) / (2 * k) >= REFINE_LONG_SIDE:
            k *= 2
        if k > 1:
            from PIL import Image

            small = np.asarray(Image.fromarray(arr if arr.dtype == np.uint8 else np.clip(arr, 0, 255).astype(np.uint8)).reduce(k))
            photo = ReducedPhoto(small, tuple(arr.shape[:2]), k)
    scale = getattr(photo, "scale", 1)
    image = getattr(photo, "image", photo)
    q = (np.asarray(corners, np.float64) + 0.5) / scale - 0.5
    base = settings or RefineSettings()
    cfg = RefineSettings(**{**base.__dict__, "search": max(2.0, search_cells * cell / scale)})
    return (refine_corners(np.asarray(image), q, cfg) + 0.5) * scale - 0.5


def extract_file(predictor, path, *, threshold: float = 0.5, min_score: float | None = None,
                 refine: bool | None = None, refine_long_side: int = REFINE_LONG_SIDE,
                 flatten: bool = True, flat_long_side: int | None = FLAT_LONG_SIDE, timings: dict | None = None):
    """One photo file to (Extraction, flattened receipt uint8 array or None), decoding only what is needed.

    The photo is decoded once, reduced in libjpeg (`fcnlib.data.open_image_reduced`) to a long side >=
    `flat_long_side`: the flattened receipt is warped from it by PIL's perspective transform, which
    computes only the output's pixels; box-reduced further to a long side >= `refine_long_side`, it gives
    the network's input and the image the corners are refined on (`refine_in_photo`; `refine` None
    follows `predictor.refine`). With `flat_long_side` None the receipt comes from the full-resolution
    photo, decoded for that alone. Corners and mask are in full-photo pixels. `predictor` is a
    `fcnlib.predict.Predictor` (its `model_outputs` and `extract_from` are used). `timings`, a dict,
    receives the seconds of each stage (read, model, quad, refine, flatten).

    Example:
    >>> found, flat = extract_file(load_pretrained(), "IMG_0001.jpg")  # doctest: +SKIP
    """
    import dataclasses
    import time

    from fcnlib import data

    clock = [time.perf_counter()]

    def lap(stage):
        now = time.perf_counter()
        if timings is not None:
            timings[stage] = timings.get(stage, 0.0) + now - clock[0]
        clock[0] = now

    source = None
    if flatten and flat_long_side is not None:
        # one decode serves all: reduced in libjpeg for the flattened receipt, box-reduced further (same
        # pixel grid) for the network and the refinement
        source = data.open_image_reduced(path, flat_long_side)
        k, side = 1, max(source.image.size)
        while k < 8 and side / (2 * k) >= refine_long_side:
            k *= 2
        small = source.image.reduce(k) if k > 1 else source.image
        reduced = data.ReducedPhoto(np.asarray(small), source.size, source.scale * k)
    else:
        reduced = data.read_image_reduced(path, refine_long_side)
    lap("read")
    (prob, placement), = predictor.model_outputs([reduced.image])
    lap("model")
    full = dataclasses.replace(placement, original=tuple(reduced.size))
    found = predictor.extract_from(prob, full, threshold=threshold, min_score=min_score)
    lap("quad")
    if found.corners is not None and (getattr(predictor, "refine", False) if refine is None else refine):
        cell = max(reduced.size[1] / placement.width, reduced.size[0] / placement.height)
        found = found.with_corners(refine_in_photo(reduced, found.corners, cell))
        lap("refine")
    flat = None
    if flatten and found.corners is not None:
        if source is None:
            del reduced
            source = data.open_image_reduced(path, flat_long_side)
            lap("read")
        flat = warp(source.image, source.to_reduced(found.corners))
        lap("flatten")
    return found, flat
