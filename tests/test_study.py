"""The receipt ablation's table (fcnlib.study) says plainly what it is."""
from fcnlib import study


def test_ablation_table_opens_with_the_smoke_test_note(tmp_path):
    row = {"variant": "unet", "model": "unet", "params": 10, "gflops": 0.1, "train_s": 1.0, "epochs": 3,
           "iou": 0.5, "bf1": 0.3, "share_iou_ge_0_9": 0.0}
    study.write_table([row], tmp_path)
    lines = (tmp_path / "ablation.md").read_text().splitlines()
    assert lines[0] == study.SMOKE_TEST_NOTE and "not a study" in lines[0]
    assert lines[2].startswith("| variant |") and lines[4].startswith("| unet |")
