"""The benchmark helpers run on small inputs (the figures themselves come from `fcn bench`, not tests)."""
from __future__ import annotations

import numpy as np
from helpers import save_image

from fcnlib import bench


def test_bench_pipeline_on_a_photo_folder(tmp_path):
    folder = tmp_path / "photos"
    for i in range(3):
        save_image(folder / f"p{i}.jpg", np.full((60, 80, 3), 100 + i, np.uint8))
    result = bench.bench_pipeline(folder, n_batches=2, batch_size=2, size=32)
    assert result["photos_per_s"] > 0 and result["files"] == 3 and result["batch_size"] == 2


def test_extract_folder_rss_runs_the_cli_writer_on_a_folder(tmp_path):
    from fcnlib import synth

    folder = tmp_path / "photos"
    folder.mkdir()
    save_image(folder / "a.jpg", synth.render(synth.photo_rng(3, 0), 200, 150)[0])
    assert bench.extract_folder_rss(folder, 1) > 0


def test_coldstart_times_fcn_extract_as_typed_in_a_fresh_process(tmp_path):
    bench.extract_photos(tmp_path / "photos", (800, 600), 1)
    figures = bench.bench_coldstart(tmp_path / "photos", quiet=True, runs=1, tf_runs=0)
    assert figures["coldstart_command"] == "fcn extract photo.jpg -o out"  # the default preset, no --model
    assert figures["coldstart_imports"] == []  # the LiteRT path: neither TensorFlow nor Keras
    assert figures["coldstart_s_median"] > 0 and figures["coldstart_with_tensorflow_s_median"] is None
    assert figures["coldstart_found"] is True
