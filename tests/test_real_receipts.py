"""Real-data test: import the corner-annotated receipts of ../shared, verify them, run the pipeline."""
from __future__ import annotations

import numpy as np

from fcnlib import data
from fcnlib.geometry import polygon_area
from fcnlib.verify import verify



def test_real_receipts_import_verify_pipeline(receipts_dir, tmp_path):
    pairs_file = data.import_quads(receipts_dir / "images", receipts_dir / "corners", tmp_path / "real",
                                   receipts_dir / "negatives")
    pairs = data.read_pairs(pairs_file)
    n_photos = len(list((receipts_dir / "images").glob("*.jpg")))
    n_negatives = len(list((receipts_dir / "negatives").glob("*.jpg")))
    assert len(pairs) == n_photos + n_negatives

    report = verify(pairs_file, num_classes=2)
    assert report.ok, report.format()
    assert report.class_images == [n_photos + n_negatives, n_photos] and min(report.class_weights) > 0

    # expected mean area fraction from the annotated polygons (outline p1, p2, p4, p3), negatives = 0
    fractions = []
    for photo, _ in pairs:
        corners = receipts_dir / "corners" / f"{photo.stem}.txt"
        if corners.exists():
            w, h = data.upright_size(data._open(photo, "photo", load=False).size, data.exif_orientation(photo))
            fractions.append(polygon_area(data.read_corners(corners)) / (w * h))
        else:
            fractions.append(0.0)
    expected = float(np.mean(fractions))

    areas, values = [], set()
    for x, m in data.make_dataset(pairs_file, (200, 150), 32, resize="stretch"):
        m = m.numpy()
        values |= set(np.unique(m).tolist())
        areas += list(m.reshape(len(m), -1).mean(axis=1))
        # alignment: receipts are light paper; inside the mask the photo is brighter on average
        if m.any() and (m == 0).any():
            assert x.numpy()[m[..., 0] == 1].mean() > x.numpy()[m[..., 0] == 0].mean()
    assert values == {0, 1}
    assert len(areas) == len(pairs)
    assert abs(np.mean(areas) - expected) / expected < 0.01, (np.mean(areas), expected)
