"""Plane geometry shared by the generator, the augmentation and the extraction: one home for each formula.

Points are (N, 2) arrays of x, y. Nothing here imports TensorFlow except `homography_tf`, which does so
when it is called (the augmentation runs it inside tf.data).

Example:

>>> import numpy as np
>>> square = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], float)
>>> h = homography(square, square * 2)
>>> apply_homography(h, np.array([[0.5, 0.5]])).round(6).tolist()
[[1.0, 1.0]]
>>> polygon_area(square), is_convex(square)
(1.0, True)
"""
from __future__ import annotations

import numpy as np


def _dlt_rows(x, y, u, v, one, zero):
    """The two rows of the direct linear transform that map point (x, y) onto (u, v)."""
    return ([x, y, one, zero, zero, zero, -u * x, -u * y],
            [zero, zero, zero, x, y, one, -v * x, -v * y])


def homography(src, dst) -> np.ndarray:
    """3x3 matrix mapping the four `src` points onto the four `dst` points (direct linear transform)."""
    src, dst = np.asarray(src, float), np.asarray(dst, float)
    a = []
    for (x, y), (u, v) in zip(src, dst):
        a.extend(_dlt_rows(x, y, u, v, 1.0, 0.0))
    h = np.linalg.solve(np.asarray(a), dst.reshape(-1))
    return np.append(h, 1.0).reshape(3, 3)


def homography_tf(src, dst):
    """The same as `homography`, as a TensorFlow graph: the 8 free parameters (float32) mapping `src` to `dst`.

    Written for `tf.raw_ops.ImageProjectiveTransformV3`, which wants output-to-input parameters: pass the
    output points as `src` and the input points as `dst`.
    """
    import tensorflow as tf

    src, dst = tf.cast(src, tf.float64), tf.cast(dst, tf.float64)
    one, zero = tf.constant(1.0, tf.float64), tf.constant(0.0, tf.float64)
    rows = []
    for i in range(4):
        rows.extend(tf.stack(r) for r in _dlt_rows(src[i, 0], src[i, 1], dst[i, 0], dst[i, 1], one, zero))
    b = tf.reshape(dst, [8, 1])  # u0, v0, u1, v1, ...
    return tf.cast(tf.reshape(tf.linalg.solve(tf.stack(rows), b), [8]), tf.float32)


def apply_homography(h: np.ndarray, pts) -> np.ndarray:
    """The (N, 2) points `pts` mapped through the 3x3 matrix `h`."""
    pts = np.asarray(pts, float)
    p = np.c_[pts, np.ones(len(pts))] @ np.asarray(h, float).T
    return p[:, :2] / p[:, 2:3]


def signed_area(pts) -> float:
    """Shoelace area of the closed polygon `pts`: positive when its vertices run clockwise in image axes."""
    pts = np.asarray(pts, float)
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def polygon_area(pts) -> float:
    """Area of the closed polygon `pts` (any orientation)."""
    return abs(signed_area(pts))


def is_convex(pts) -> bool:
    """True when the closed polygon `pts` turns the same way at every vertex (strictly convex)."""
    pts = np.asarray(pts, float)
    e = np.roll(pts, -1, axis=0) - pts
    cross = e[:, 0] * np.roll(e[:, 1], -1) - e[:, 1] * np.roll(e[:, 0], -1)
    return bool(np.all(cross > 0) or np.all(cross < 0))


def simplify_polyline(pts, tolerance: float) -> np.ndarray:
    """Douglas-Peucker simplification of a polyline (N, 2): the vertices kept are a subset of `pts`,
    first and last included, and every dropped point lies within `tolerance` of the kept chain.

    It returns what `skimage.measure.approximate_polygon` returns (same rule: a point's distance to a
    segment is perpendicular when it projects inside it, else to the nearer end; the farthest point
    above `tolerance` splits). That module imports `scipy.signal` on import, which costs a one-photo
    `fcn extract` more start-up time than everything else it runs; this one needs only numpy.

    Example:

    >>> line = np.array([[0, 0], [1, 0.1], [2, 0], [3, 5]], float)
    >>> simplify_polyline(line, 0.5).tolist()
    [[0.0, 0.0], [2.0, 0.0], [3.0, 5.0]]
    """
    pts = np.asarray(pts)
    if tolerance <= 0 or len(pts) < 3:
        return pts
    xy = pts.astype(float)
    px, py = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
    xs, ys = px.tolist(), py.tolist()  # the segment ends as Python floats: cheap scalar arithmetic
    keep = np.zeros(len(pts), bool)
    keep[[0, -1]] = True
    stack = [(0, len(pts) - 1)]
    while stack:
        start, end = stack.pop()
        if end - start < 2:
            continue
        ax, ay, bx, by = xs[start], ys[start], xs[end], ys[end]
        abx, aby = bx - ax, by - ay
        ix, iy = px[start + 1:end], py[start + 1:end]
        to_ax, to_ay, to_bx, to_by = ix - ax, iy - ay, ix - bx, iy - by
        # projects inside the segment: (p - a).ab > 0 and (b - p).ab > 0 (negating is exact)
        inside = (to_ax * abx + to_ay * aby > 0) & (to_bx * abx + to_by * aby < 0)
        angle = -np.arctan2(abx, aby)  # the normal of the segment, as skimage computes it
        cos, sin = float(np.cos(angle)), float(np.sin(angle))
        dist = np.abs(ix * cos + iy * sin - (ay * sin + ax * cos))
        if not inside.all():  # beyond an end: the distance to the nearer end
            dist = np.where(inside, dist, np.minimum(np.hypot(to_ax, to_ay), np.hypot(to_bx, to_by)))
        far = int(dist.argmax())
        if dist[far] > tolerance:
            split = start + 1 + far
            keep[split] = True
            stack += [(split, end), (start, split)]
    return pts[keep]
