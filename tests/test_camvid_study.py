"""The CamVid study's table (experiments/camvid/study.py): mean and spread over seeds, runs on the plateau."""
import csv
import importlib.util
from pathlib import Path

import pytest

STUDY = Path(__file__).resolve().parents[1] / "experiments" / "camvid" / "study.py"


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("camvid_study", STUDY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def row(model, seed, miou, stopped_by, epochs=10, minutes=5.0):
    return {"model": model, "seed": seed, "epochs": epochs, "best_epoch": epochs - 2, "stopped_by": stopped_by,
            "steps": 46 * epochs, "train_minutes": minutes, "gflops_per_frame": 2.0, "params": 1000,
            "best_val_miou": miou, "global_accuracy": 0.8, "class_accuracy": 0.7, "miou": miou, "bf1": 0.2,
            "overrides": "", "run": f"runs/{model}-{seed}"}


def test_table_gives_mean_and_sample_std_over_seeds_and_counts_the_plateau_runs(study, tmp_path):
    rows = [row("unet", 0, 0.50, "plateau", epochs=20, minutes=10.0), row("unet", 1, 0.60, "budget"),
            row("unet", 2, 0.70, "plateau"), row("fcn8s", 0, 0.40, "budget")]
    study.write_rows(tmp_path / "runs.csv", rows)
    with open(tmp_path / "runs.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == 4
    study.write_table(study.done_runs(tmp_path / "runs.csv"), tmp_path)
    lines = {line.split(" | ")[0].strip("| "): line for line in (tmp_path / "table.md").read_text().splitlines()
             if line.startswith("| unet") or line.startswith("| fcn8s")}
    unet = lines["unet"].split(" | ")
    assert unet[1] == "3" and unet[4] == "0.600 ± 0.100"  # mIoU: mean, sample standard deviation
    assert unet[6] == "2 of 3"  # runs that ended on their plateau
    assert unet[7] == "13.3 ± 5.8" and unet[11] == "30 ± 0"  # epochs; seconds per epoch
    assert lines["fcn8s"].split(" | ")[6] == "0 of 1"
    assert (tmp_path / "plot.png").stat().st_size > 0
