"""Pictures of masks, probabilities, receipts and training curves.

Array helpers (`palette`, `colorize`, `prob_to_gray`, `overlay`, `draw_quad`) return uint8 images to
write to disk (the research's `_prob.png`, `_color.png`, `_overlay.png` outputs). Figure helpers
(`legend`, `show_pairs`, `gallery`, `plot_history`, `plot_confusion`) build `matplotlib.figure.Figure`
objects directly,
never through pyplot: no GUI backend is chosen, they work headless, and the caller saves them with
`fig.savefig(path)` (a notebook displays a returned Figure). matplotlib is imported inside those
functions so that importing this module stays fast; no TensorFlow here.

Label maps may hold a void value (`ignore_index`, e.g. CamVid's 11, Pascal VOC's 255) besides the
class ids: the pictures draw it in its own colour (`ignore_color`, default black, as
`fcnlib.labels.DatasetInfo.ignore_color`), and `legend` lists it after the classes. Give a dataset's
own colours with `palette=info.colors`.

Example:

>>> from fcnlib.labels import DatasetInfo
>>> info = DatasetInfo(("sky", "road", "car"), colors=((128, 128, 128), (128, 64, 128), (64, 0, 128)),
...                    ignore_index=255, ignore_color=(255, 255, 255))
>>> colorize(np.array([[0, 2, 255]]), palette=info.colors, ignore_index=255,
...          ignore_color=info.ignore_color).tolist()
[[[128, 128, 128], [64, 0, 128], [255, 255, 255]]]
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import skimage  # submodules load lazily on first use

__all__ = [
    "palette",
    "colorize",
    "prob_to_gray",
    "overlay",
    "draw_quad",
    "legend",
    "show_pairs",
    "gallery",
    "plot_history",
    "plot_confusion",
]

DEFAULT_IGNORE_COLOR = (0, 0, 0)  # fcnlib.labels.DEFAULT_IGNORE_COLOR (not imported: keep this module light)

# matplotlib's tab10 then the light half of tab20: distinct, print- and colour-blind-friendlier first.
_FIRST = np.array([
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
    (174, 199, 232), (255, 187, 120), (152, 223, 138), (255, 152, 150), (197, 176, 213),
    (196, 156, 148), (247, 182, 210), (199, 199, 199), (219, 219, 141), (158, 218, 229),
], dtype=np.uint8)


def _voc_colour(i: int) -> tuple[int, int, int]:
    """PASCAL VOC's colour map: the bits of i spread over the high bits of R, G and B."""
    r = g = b = 0
    for shift in range(7, -1, -1):
        r |= ((i >> 0) & 1) << shift
        g |= ((i >> 1) & 1) << shift
        b |= ((i >> 2) & 1) << shift
        i >>= 3
    return r, g, b


def palette(n: int) -> np.ndarray:
    """uint8 (n, 3) RGB colours, one per class, all different, the same on every call: class 0 is
    black, classes 1-20 take matplotlib's tab10 and light tab20 colours, further classes PASCAL VOC's
    colour map (skipping colours already used). At most 256 classes."""
    if not 1 <= n <= 256:
        raise ValueError(f"palette needs 1 to 256 classes, got {n}")
    colours = [(0, 0, 0)] + [tuple(int(v) for v in c) for c in _FIRST]
    i = 1
    while len(colours) < n:
        c = _voc_colour(i)
        if c not in colours:
            colours.append(c)
        i += 1
    return np.array(colours[:n], dtype=np.uint8)


_palette = palette  # for functions whose `palette` argument shadows the function


def _mask2d(mask) -> np.ndarray:
    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[-1] == 1:
        m = m[..., 0]
    if m.ndim != 2:
        raise ValueError(f"mask has shape {m.shape}; expected (H, W) or (H, W, 1) class ids")
    return m.astype(np.intp)


def colorize(mask, palette: np.ndarray | None = None, ignore_index: int | None = None,
             ignore_color=DEFAULT_IGNORE_COLOR) -> np.ndarray:
    """uint8 (H, W, 3) RGB: each class id of `mask` painted with its palette colour (default
    `palette(max id + 1)`, at least 2 colours), void pixels (`ignore_index`) with `ignore_color`.

    A class id without a palette colour is a ValueError (the void value needs none)."""
    m = _mask2d(mask)
    if m.size and m.min() < 0:
        raise ValueError(f"mask holds negative class id {m.min()}")
    void = np.zeros(m.shape, bool) if ignore_index is None else m == int(ignore_index)
    ids = np.where(void, 0, m)
    top = int(ids.max()) if ids.size else 0
    pal = _palette(max(top + 1, 2)) if palette is None else np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    if top >= len(pal):
        hint = "" if ignore_index is not None else " (a void value? give ignore_index)"
        raise ValueError(f"mask holds class id {top} but the palette has {len(pal)} colours{hint}")
    out = pal[ids]
    out[void] = np.asarray(ignore_color, dtype=np.uint8)
    return out


def prob_to_gray(prob) -> np.ndarray:
    """uint8 (H, W) probability x 255 (rounded). (H, W) or (H, W, 1) maps are sigmoid P(class 1);
    for (H, W, K >= 2) it is the winning class' probability."""
    p = np.asarray(prob, dtype=np.float32)
    if p.ndim == 3:
        p = p[..., 0] if p.shape[-1] == 1 else p.max(axis=-1)
    if p.ndim != 2:
        raise ValueError(f"probability map has shape {p.shape}; expected (H, W) or (H, W, K)")
    return np.rint(np.clip(p, 0.0, 1.0) * 255.0).astype(np.uint8)


def _rgb(photo) -> np.ndarray:
    img = np.asarray(photo)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    if img.ndim != 3 or img.shape[-1] not in (3, 4):
        raise ValueError(f"photo has shape {img.shape}; expected (H, W, 3) RGB")
    if img.dtype != np.uint8:
        raise ValueError(f"photo has dtype {img.dtype}; expected uint8")
    return img[..., :3]


def overlay(photo, mask, alpha: float = 0.5, palette: np.ndarray | None = None,
            ignore_index: int | None = None, ignore_color=DEFAULT_IGNORE_COLOR,
            background: bool = False) -> np.ndarray:
    """uint8 (H, W, 3): the coloured mask blended over the photo with weight `alpha` where the class
    is not 0 (void pixels included, in `ignore_color`); background pixels keep the photo, unless
    `background` (class 0 is a class like the others, e.g. CamVid's sky)."""
    img = _rgb(photo)
    m = _mask2d(mask)
    if m.shape != img.shape[:2]:
        raise ValueError(f"mask shape {m.shape} differs from photo shape {img.shape[:2]}")
    colour = colorize(m, palette, ignore_index, ignore_color).astype(np.float32)
    out = img.astype(np.float32)
    fg = np.ones(m.shape, bool) if background else m > 0
    out[fg] = (1.0 - alpha) * out[fg] + alpha * colour[fg]
    return np.rint(out).astype(np.uint8)


def draw_quad(photo, corners, color=(255, 0, 0), thickness: int = 3) -> np.ndarray:
    """Copy of the photo (uint8 RGB) with the quad's outline drawn and its first corner (TL) marked
    by a filled disc, so the corner order can be checked by eye. `corners` None returns a copy."""
    img = _rgb(photo).copy()
    if corners is None:
        return img
    q = np.asarray(corners, dtype=np.float64).reshape(-1, 2)
    half = max(thickness, 1) / 2.0
    for a, b in zip(q, np.roll(q, -1, axis=0)):
        d = b - a
        length = float(np.hypot(*d))
        if length == 0:
            continue
        n = np.array([-d[1], d[0]]) / length * half
        band = np.array([a + n, b + n, b - n, a - n])  # the edge as a thin rectangle
        rr, cc = skimage.draw.polygon(band[:, 1], band[:, 0], img.shape[:2])
        img[rr, cc] = color
    rr, cc = skimage.draw.disk((q[0, 1], q[0, 0]), 2 * half + 2, shape=img.shape[:2])
    img[rr, cc] = color
    return img


def _figure(rows: int, cols: int, cell: float = 3.0):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(cell * cols, cell * rows), layout="constrained")
    axes = np.atleast_2d(fig.subplots(rows, cols, squeeze=False))
    for ax in axes.ravel():
        ax.set_axis_off()
    return fig, axes


def legend(class_names, palette: np.ndarray | None = None, ignore_index: int | None = None,
           ignore_name: str = "void", ignore_color=DEFAULT_IGNORE_COLOR):
    """Figure with one coloured swatch and name per class (class i has colour palette[i]), and, when
    `ignore_index` is given, a last entry for the void value in `ignore_color`."""
    from matplotlib.patches import Patch

    names = list(class_names)
    pal = _palette(max(len(names), 1)) if palette is None else np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    if len(pal) < len(names):
        raise ValueError(f"{len(names)} class names but the palette has {len(pal)} colours")
    entries = [(pal[i], f"{i}: {n}") for i, n in enumerate(names)]
    if ignore_index is not None:
        entries.append((np.asarray(ignore_color, dtype=np.uint8), f"{ignore_index}: {ignore_name}"))
    fig, axes = _figure(1, 1, cell=0.4)
    fig.set_size_inches(3.0, 0.35 * len(entries) + 0.4)
    handles = [Patch(facecolor=c / 255.0, edgecolor="black", label=label) for c, label in entries]
    axes[0, 0].legend(handles=handles, loc="center", frameon=False)
    return fig


def show_pairs(photos, masks, titles=None, palette: np.ndarray | None = None, alpha: float = 0.5,
               ignore_index: int | None = None, ignore_color=DEFAULT_IGNORE_COLOR, background: bool = False):
    """Figure, one row per photo: the photo, its coloured mask, the overlay (void in `ignore_color`;
    `background` as in `overlay`)."""
    photos, masks = list(photos), list(masks)
    if len(photos) != len(masks):
        raise ValueError(f"{len(photos)} photos but {len(masks)} masks")
    void = {"ignore_index": ignore_index, "ignore_color": ignore_color}
    fig, axes = _figure(max(len(photos), 1), 3)
    for r, (photo, mask) in enumerate(zip(photos, masks)):
        title = titles[r] if titles is not None else f"#{r}"
        for c, (img, what) in enumerate([(photo, "photo"), (colorize(mask, palette, **void), "mask"),
                                         (overlay(photo, mask, alpha, palette, **void, background=background),
                                          "overlay")]):
            axes[r, c].imshow(img)
            axes[r, c].set_title(f"{title} {what}", fontsize=8)
    return fig


def gallery(photos, masks_true, masks_pred, titles=None, palette: np.ndarray | None = None,
            alpha: float = 0.5, ignore_index: int | None = None, ignore_color=DEFAULT_IGNORE_COLOR,
            background: bool = False):
    """Figure, one row per photo: photo, ground truth overlay (void in `ignore_color`), prediction
    overlay (`background` as in `overlay`)."""
    photos, masks_true, masks_pred = list(photos), list(masks_true), list(masks_pred)
    if not len(photos) == len(masks_true) == len(masks_pred):
        raise ValueError(f"{len(photos)} photos, {len(masks_true)} true masks and "
                         f"{len(masks_pred)} predicted masks; expected equal counts")
    void = {"ignore_index": ignore_index, "ignore_color": ignore_color}
    fig, axes = _figure(max(len(photos), 1), 3)
    for r, (photo, mt, mp) in enumerate(zip(photos, masks_true, masks_pred)):
        title = titles[r] if titles is not None else f"#{r}"
        truth = overlay(photo, mt, alpha, palette, **void, background=background)
        predicted = overlay(photo, mp, alpha, palette, background=background)
        for c, (img, what) in enumerate([(photo, title), (truth, "truth"), (predicted, "prediction")]):
            axes[r, c].imshow(img)
            axes[r, c].set_title(what, fontsize=8)
    return fig


def plot_confusion(cm, class_names=None, normalize: bool = True, title: str | None = None):
    """Figure of a confusion matrix (rows: true class, columns: predicted class) with the class names
    on both axes. `normalize`: each row divided by its total, so a cell is the share of the true
    class's pixels predicted as the column's class and the diagonal is each class's recall (rows
    without pixels stay 0); the cells show the shares in percent. Otherwise the raw counts.

    Example:

    >>> fig = plot_confusion(np.array([[8, 2], [1, 9]]), ["background", "object"])
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['background', 'object']
    """
    from matplotlib.figure import Figure

    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {cm.shape}")
    n = cm.shape[0]
    names = [str(i) for i in range(n)] if class_names is None else [str(c) for c in class_names]
    if len(names) != n:
        raise ValueError(f"{len(names)} class names for a {n}x{n} confusion matrix")
    if normalize:
        rows = cm.sum(axis=1, keepdims=True)
        shown = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
    else:
        shown = cm
    size = 2.5 + 0.45 * n
    fig = Figure(figsize=(size + 1.0, size), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(shown, cmap="Blues", vmin=0.0, vmax=1.0 if normalize else None)
    fig.colorbar(image, ax=ax, shrink=0.8, label="share of the true class" if normalize else "pixels")
    ax.set_xticks(range(n), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), names, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    if n <= 20:
        top = shown.max() if shown.size else 0.0
        for i in range(n):
            for j in range(n):
                v = shown[i, j]
                text = f"{100 * v:.0f}" if normalize else f"{int(v)}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7,
                        color="white" if v > 0.6 * (1.0 if normalize else top) else "black")
    return fig


def plot_history(history_csv_path):
    """Figure of the curves in a Keras CSVLogger file: one panel per quantity (loss first), train
    solid and validation (`val_` columns) dashed, against the epoch; the learning rate, if logged,
    gets its own log-scale panel."""
    path = Path(history_csv_path)
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{path}: no epochs in the history file")
    columns = list(rows[0].keys())

    def series(name):
        return np.array([float(r[name]) if r.get(name) not in (None, "") else np.nan for r in rows])

    epochs = series("epoch") + 1 if "epoch" in columns else np.arange(1, len(rows) + 1)
    names = [c for c in columns if c != "epoch" and not c.startswith("val_")]
    names += [c[4:] for c in columns if c.startswith("val_") and c[4:] not in names]
    names.sort(key=lambda n: (n != "loss", n in ("lr", "learning_rate")))
    from matplotlib.figure import Figure

    cols = min(len(names), 3)
    rows_n = -(-len(names) // cols)
    fig = Figure(figsize=(4.0 * cols, 3.0 * rows_n), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows_n, cols, squeeze=False).ravel())
    for ax, name in zip(axes, names):
        if name in columns:
            ax.plot(epochs, series(name), "-", label="train")
        if f"val_{name}" in columns:
            ax.plot(epochs, series(f"val_{name}"), "--", label="val")
        if name in ("lr", "learning_rate"):
            ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.legend(fontsize=8)
    for ax in axes[len(names):]:
        ax.set_axis_off()
    return fig
