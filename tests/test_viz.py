"""Tests of fcnlib.viz: palette, colour masks, probability images, overlays, quads and figures."""
from __future__ import annotations

import numpy as np
import pytest

from fcnlib import viz


def test_palette_is_deterministic_distinct_and_starts_black():
    p = viz.palette(256)
    assert p.shape == (256, 3) and p.dtype == np.uint8
    assert tuple(p[0]) == (0, 0, 0) and p[1].any()
    assert len({tuple(c) for c in p}) == 256
    np.testing.assert_array_equal(viz.palette(5), p[:5])
    for bad in (0, 257):
        with pytest.raises(ValueError):
            viz.palette(bad)


def test_colorize_uses_the_palette():
    mask = np.array([[0, 1, 2], [2, 1, 0]], np.uint8)
    rgb = viz.colorize(mask)
    assert rgb.shape == (2, 3, 3) and rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb, viz.palette(3)[mask])
    custom = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]], np.uint8)
    np.testing.assert_array_equal(viz.colorize(mask[..., None], palette=custom)[0, 2], [7, 8, 9])
    with pytest.raises(ValueError):
        viz.colorize(mask, palette=custom[:2])


def test_prob_to_gray():
    p = np.array([[0.0, 0.5, 1.0]], np.float32)
    np.testing.assert_array_equal(viz.prob_to_gray(p), [[0, 128, 255]])
    np.testing.assert_array_equal(viz.prob_to_gray(p[..., None]), [[0, 128, 255]])
    softmax = np.array([[[0.2, 0.8], [0.6, 0.4], [1.0, 0.0]]], np.float32)
    out = viz.prob_to_gray(softmax)
    assert out.dtype == np.uint8 and out.shape == (1, 3)
    np.testing.assert_array_equal(out, [[204, 153, 255]])


def test_overlay_blends_only_the_classes():
    photo = np.full((4, 5, 3), 100, np.uint8)
    mask = np.zeros((4, 5), np.uint8)
    mask[1:3, 1:3] = 1
    out = viz.overlay(photo, mask, alpha=0.5)
    assert out.shape == (4, 5, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[0, 0], [100, 100, 100])
    expected = np.rint(0.5 * 100 + 0.5 * viz.palette(2)[1].astype(float))
    np.testing.assert_array_equal(out[1, 1], expected)
    with pytest.raises(ValueError):
        viz.overlay(photo, mask[:3])


def test_draw_quad_marks_the_outline():
    photo = np.zeros((60, 80, 3), np.uint8)
    corners = np.array([[10.0, 10.0], [70.0, 10.0], [70.0, 50.0], [10.0, 50.0]])
    out = viz.draw_quad(photo, corners, color=(0, 255, 0))
    assert out.shape == photo.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[10, 40], [0, 255, 0])   # top edge
    np.testing.assert_array_equal(out[30, 70], [0, 255, 0])   # right edge
    np.testing.assert_array_equal(out[30, 40], [0, 0, 0])     # inside untouched
    assert not photo.any()                                     # input untouched
    np.testing.assert_array_equal(viz.draw_quad(photo, None), photo)


def _samples(n=2, h=24, w=32):
    rng = np.random.default_rng(0)
    photos = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(n)]
    masks = [(rng.random((h, w)) > 0.5).astype(np.uint8) for _ in range(n)]
    return photos, masks


def test_figures_build_and_save(tmp_path):
    photos, masks = _samples()
    figs = {
        "legend": viz.legend(["background", "receipt"]),
        "pairs": viz.show_pairs(photos, masks, titles=["a", "b"]),
        "gallery": viz.gallery(photos, masks, masks[::-1], titles=["a", "b"]),
    }
    for name, fig in figs.items():
        fig.savefig(tmp_path / f"{name}.png")
        assert (tmp_path / f"{name}.png").stat().st_size > 0
    assert len(figs["pairs"].axes) == 6
    with pytest.raises(ValueError):
        viz.gallery(photos, masks, masks[:1])


def test_plot_history_from_csvlogger_file(tmp_path):
    csv = tmp_path / "history.csv"
    csv.write_text("epoch,learning_rate,loss,mean_io_u,val_loss,val_mean_io_u\n"
                   "0,0.001,0.9,0.4,1.0,0.35\n1,0.001,0.6,0.6,0.7,0.55\n2,0.0005,0.4,0.7,0.5,0.66\n")
    fig = viz.plot_history(csv)
    titled = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in titled] == ["loss", "mean_io_u", "learning_rate"]
    assert len(titled[0].lines) == 2  # train and val
    np.testing.assert_allclose(titled[1].lines[1].get_ydata(), [0.35, 0.55, 0.66])
    fig.savefig(tmp_path / "curves.png")
    empty = tmp_path / "empty.csv"
    empty.write_text("epoch,loss\n")
    with pytest.raises(ValueError, match="empty.csv"):
        viz.plot_history(empty)


def test_colorize_draws_void_in_its_own_colour_with_the_dataset_palette():
    from fcnlib.labels import DatasetInfo

    info = DatasetInfo(("sky", "road", "car"), colors=((128, 128, 128), (128, 64, 128), (64, 0, 128)),
                       ignore_index=11, ignore_color=(255, 255, 0))
    mask = np.array([[0, 1, 11], [2, 11, 0]], np.uint8)
    rgb = viz.colorize(mask, palette=info.colors, ignore_index=info.ignore_index, ignore_color=info.ignore_color)
    np.testing.assert_array_equal(rgb[0, 0], [128, 128, 128])
    np.testing.assert_array_equal(rgb[1, 0], [64, 0, 128])
    np.testing.assert_array_equal(rgb[0, 2], [255, 255, 0])
    np.testing.assert_array_equal(rgb[1, 1], [255, 255, 0])
    # default palette and default void colour (black): 255 needs no 256-colour palette
    voc = viz.colorize(np.array([[1, 255]]), ignore_index=255)
    np.testing.assert_array_equal(voc, [[viz.palette(2)[1], [0, 0, 0]]])
    # without ignore_index the void value is a class id the palette lacks
    with pytest.raises(ValueError, match="ignore_index"):
        viz.colorize(mask, palette=info.colors)
    # overlays paint void too, in its colour
    photo = np.full((2, 3, 3), 100, np.uint8)
    out = viz.overlay(photo, mask, alpha=1.0, palette=info.colors, ignore_index=11, ignore_color=(255, 255, 0))
    np.testing.assert_array_equal(out[0, 2], [255, 255, 0])
    np.testing.assert_array_equal(out[0, 0], [100, 100, 100])  # class 0 keeps the photo


def test_legend_lists_names_and_the_void_entry():
    fig = viz.legend(["sky", "road"], palette=[(1, 2, 3), (4, 5, 6)], ignore_index=11, ignore_color=(9, 9, 9))
    box = fig.axes[0].get_legend()
    assert [t.get_text() for t in box.get_texts()] == ["0: sky", "1: road", "11: void"]
    np.testing.assert_allclose(box.legend_handles[2].get_facecolor()[:3], np.array([9, 9, 9]) / 255)
    plain = viz.legend(["a", "b"]).axes[0].get_legend()
    assert [t.get_text() for t in plain.get_texts()] == ["0: a", "1: b"]


def test_plot_confusion_is_row_normalised_with_names(tmp_path):
    cm = np.array([[6, 2, 0], [1, 3, 0], [0, 0, 0]])
    fig = viz.plot_confusion(cm, ["sky", "road", "car"])
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.75, 0.25, 0], [0.25, 0.75, 0], [0, 0, 0]])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["sky", "road", "car"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["sky", "road", "car"]
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    np.testing.assert_array_equal(viz.plot_confusion(cm, normalize=False).axes[0].images[0].get_array(), cm)
    fig.savefig(tmp_path / "cm.png")
    assert (tmp_path / "cm.png").stat().st_size > 0
    with pytest.raises(ValueError, match="2 class names"):
        viz.plot_confusion(cm, ["a", "b"])


def test_overlay_background_option_paints_class_0():
    photo = np.full((1, 2, 3), 100, np.uint8)
    mask = np.array([[0, 1]], np.uint8)
    pal = [(0, 0, 200), (200, 0, 0)]
    np.testing.assert_array_equal(viz.overlay(photo, mask, 1.0, pal)[0, 0], [100, 100, 100])
    np.testing.assert_array_equal(viz.overlay(photo, mask, 1.0, pal, background=True), [[[0, 0, 200], [200, 0, 0]]])
