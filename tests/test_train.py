"""Training runs: the run folder, configs, atomic files, resume after kill -9, two-replica agreement."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import REPO, tiny_config
from fcnlib import fileio, train


def test_config_yaml_round_trip_and_overrides(tmp_path):
    cfg = train.TrainConfig(name="x", model_options={"depth": 3})
    train.save_config(cfg, tmp_path / "c.yaml")
    train.save_config(cfg, tmp_path / "c.json")
    assert train.load_config(tmp_path / "c.yaml") == cfg
    assert train.load_config(tmp_path / "c.json") == cfg
    over = train.load_config(tmp_path / "c.yaml", ["epochs=3", "data.image_size=[64, 96]", "loss=dice"])
    assert over.epochs == 3 and over.data.image_size == [64, 96] and over.loss == "dice"


def test_config_errors_name_the_file(tmp_path):
    (tmp_path / "bad.yaml").write_text("epochz: 3\n")
    with pytest.raises(ValueError, match=r"bad\.yaml: unknown config keys: \['epochz'\]"):
        train.load_config(tmp_path / "bad.yaml")
    with pytest.raises(FileNotFoundError, match="missing.yaml: config file not found"):
        train.load_config(tmp_path / "missing.yaml")
    with pytest.raises(ValueError, match="expected key=value"):
        train.load_config(tmp_path / "bad.yaml", ["epochs"])


def test_shipped_configs_load():
    for path in sorted((REPO / "experiments" / "configs").glob("*.yaml")):
        cfg = train.load_config(path)
        assert cfg.model and cfg.epochs > 0, path


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    fileio.atomic_write_text(target, '{"ok": 1}')

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        fileio.atomic_write_text(target, '{"ok": 2}')
    assert json.loads(target.read_text()) == {"ok": 1}


def test_train_writes_the_run_folder(tiny_synth, tmp_path):
    run = train.train(tiny_config(tiny_synth, tmp_path), verbose=0)
    for name in ("config.yaml", "history.csv", "best.keras", "latest.keras", "metrics.json",
                 "curves.png", "gallery.png", "state.json"):
        assert (run / name).is_file(), name
    assert (run / "logs").is_dir()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs_run"] == 2
    assert 0.0 <= metrics["test"]["iou"] <= 1.0 and 0.0 <= metrics["val"]["iou"] <= 1.0
    lines = (run / "history.csv").read_text().strip().splitlines()
    assert len(lines) == 3 and "val_iou" in lines[0]
    assert train.load_config(run / "config.yaml").model == "unet"


def _run_dirs(out: Path) -> list[Path]:
    return [p for p in out.iterdir() if p.is_dir()] if out.exists() else []


def test_resume_after_kill_9_mid_epoch(tiny_synth, tmp_path):
    """A run killed in the middle of an epoch resumes and ends like an uninterrupted one."""
    cfg = tiny_config(tiny_synth, tmp_path / "killed", epochs=4, steps_per_epoch=12, batch_size=2,
                      checkpoint_every=3, early_stopping=0, reduce_lr=0)
    cfg_path = tmp_path / "cfg.yaml"
    train.save_config(cfg, cfg_path)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen([sys.executable, "-m", "fcnlib.cli", "train", str(cfg_path)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state_seen = None
    deadline = time.time() + 240
    try:
        while time.time() < deadline and proc.poll() is None:
            runs = _run_dirs(tmp_path / "killed")
            if runs and (runs[0] / "state.json").exists():
                state = json.loads((runs[0] / "state.json").read_text())
                if state["epoch"] >= 1 and state.get("batches_in_epoch", 0) > 0:
                    state_seen = state
                    break
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert state_seen is not None, "the run never reached a mid-epoch checkpoint"
    run = _run_dirs(tmp_path / "killed")[0]
    assert not (run / "metrics.json").exists()
    out = subprocess.run([sys.executable, "-m", "fcnlib.cli", "train", "--resume", str(run)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    resumed = json.loads((run / "metrics.json").read_text())
    assert resumed["epochs_run"] == 4
    assert len((run / "history.csv").read_text().strip().splitlines()) == 5  # header + 4 epochs, no duplicate

    cfg.output_dir = str(tmp_path / "clean")
    clean = json.loads((train.train(cfg, verbose=0) / "metrics.json").read_text())
    assert clean["epochs_run"] == 4
    assert abs(clean["test"]["loss"] - resumed["test"]["loss"]) < 0.15
    assert abs(clean["test"]["iou"] - resumed["test"]["iou"]) < 0.15


def test_mirrored_two_cpu_replicas_match_one_device(tiny_synth, tmp_path):
    """MirroredStrategy over two logical CPUs gives the metrics of a single device, batches in the same
    order (with shuffling on, the two draw different epoch orders and end up apart by more than 1e-3)."""
    script = textwrap.dedent(f"""
        import json, sys
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        sys.path.insert(0, {str(REPO / 'tests')!r})
        from conftest import tiny_config
        from fcnlib import train
        from pathlib import Path
        out = {{}}
        for strategy in ("none", "mirrored"):
            cfg = tiny_config(Path({str(tiny_synth)!r}), Path({str(tmp_path)!r}) / strategy, strategy=strategy,
                              model_options={{"depth": 2, "base_filters": 4, "normalization": "none"}},
                              optimizer="sgd", learning_rate=0.05, loss="bce")
            cfg.data.shuffle = False
            run = train.train(cfg, verbose=0)
            out[strategy] = json.loads((run / "metrics.json").read_text())
        print(json.dumps(out))
    """)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["none"]["replicas"] == 1 and out["mirrored"]["replicas"] == 2
    for split in ("val", "test"):
        for key in ("loss", "iou", "precision", "bf1"):
            assert abs(out["none"][split][key] - out["mirrored"][split][key]) < 1e-3, (split, key, json.dumps(out))
