"""Training runs: the run folder, configs, atomic files, resume after kill -9, two-replica agreement."""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from helpers import REPO, tiny_config
from fcnlib import fileio, presets, train


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


# options the pretrained-encoder builders add (issue 11 section 3); a config that uses them is checked
# once the builders accept them
ENCODER_OPTIONS = {"encoder", "encoder_weights", "encoder_trainable"}


def test_every_config_loads_and_validates():
    """Every config under experiments/configs (bases, receipts, camvid) passes every check of
    load_config, without reading any data."""
    from fcnlib import models

    paths = sorted((REPO / "experiments" / "configs").rglob("*.yaml"))
    assert len(paths) >= 11 and (REPO / "experiments/configs/camvid/segnet_basic.yaml") in paths
    pending = []
    for path in paths:
        try:
            cfg = train.load_config(path)
        except train.ConfigError as e:
            raw = train._read_raw(path)
            unknown = set(raw.get("model_options", {})) - set(models.options(raw["model"]))
            if e.problems and all(p.startswith("model_options: unknown option") for p in e.problems) \
                    and unknown <= ENCODER_OPTIONS:
                pending.append(path.name)
                continue
            raise
        assert cfg.model and cfg.epochs > 0, path
    assert set(pending) <= {"segnet.yaml", "unet_vgg16.yaml"}, pending


def test_camvid_configs_resolve_the_dataset():
    """CamVid configs: 11 named classes from the dataset file, void 11, val mIoU monitored (a metric
    the multi-class run reports), 180x240, median weights, data re-rooted onto the shared folder."""
    from fcnlib import metrics

    base = train.load_config(REPO / "experiments/configs/camvid/base.yaml")
    upsample = train.load_config(REPO / "experiments/configs/camvid/segnet_basic_upsample.yaml")
    for cfg in (base, upsample):
        assert cfg.num_classes == 11 and cfg.data.ignore_index == 11
        assert cfg.data.class_names[:2] == ["sky", "building"] and len(cfg.data.class_names) == 11
        assert cfg.data.image_size == [180, 240] and cfg.class_weights == "median"
        assert cfg.data.root == "../shared/data/camvid" and cfg.batch_size == 8
        assert "val_" + metrics.default_metrics(11)[0].name == cfg.monitor == "val_miou"
    assert upsample.model == "segnet_basic" and upsample.model_options == {"unpooling": "upsample"}
    assert upsample.name == "camvid-segnet-basic-upsample"


# the receipt configs as they were before they extended receipt_base.yaml: they must mean the same
RECEIPT_CONFIGS_BEFORE = {
    "receipt_default.yaml": """
name: receipt-default
model: unet
model_options: {depth: 4, base_filters: 8, separable: true, upsampling: bilinear}
num_classes: 1
data: {train: data/synth_big/train.txt, val: data/synth_big/val.txt, test: data/synth_big/test.txt,
       image_size: [192, 144], resize: stretch, augment: true, cache: true}
batch_size: 8
epochs: 18
steps_per_epoch: 150
optimizer: adam
learning_rate: 0.003
schedule: cosine
loss: bce+dice
seed: 0
""",
    "demo.yaml": """
name: receipt-demo
model: unet
model_options: {depth: 4, base_filters: 8, separable: true, upsampling: bilinear}
num_classes: 1
data: {train: data/synth/train.txt, val: data/synth/val.txt, test: data/synth/test.txt,
       image_size: [192, 144], resize: stretch, augment: true, cache: true}
batch_size: 8
epochs: 6
optimizer: adam
learning_rate: 0.003
schedule: cosine
loss: bce+dice
seed: 0
""",
    "finetune_real.yaml": """
name: finetune-real
model: unet
model_options: {depth: 4, base_filters: 8, separable: true, upsampling: bilinear}
init: default
num_classes: 1
data: {train: data/real/train.txt, val: data/real/val.txt, test: data/real/test.txt,
       image_size: [192, 144], resize: stretch, augment: true, cache: true}
batch_size: 8
epochs: 8
optimizer: adam
learning_rate: 0.0005
schedule: cosine
loss: bce+dice
seed: 0
output_dir: data/runs-real
""",
}


@pytest.mark.parametrize("name", sorted(RECEIPT_CONFIGS_BEFORE))
def test_receipt_configs_mean_what_they_meant(name, tmp_path):
    (tmp_path / name).write_text(RECEIPT_CONFIGS_BEFORE[name])
    before = train.load_config(tmp_path / name).to_dict()
    after = train.load_config(REPO / "experiments" / "configs" / name).to_dict()
    if before.get("init") == "default":  # the receipt preset's old alias, since spelt out
        with pytest.warns(DeprecationWarning):
            assert presets.get("default") == presets.get(after["init"])
        before["init"] = after["init"]
    assert after == before
    assert "extends" in (REPO / "experiments" / "configs" / name).read_text()


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


def test_calibration_max_false_rate_reaches_the_calibration(tiny_synth, tmp_path):
    """The config's cap on false answers is the one `finish` calibrates min_score under (issue 12)."""
    from fcnlib.spec import read_spec

    run = train.train(tiny_config(tiny_synth, tmp_path, epochs=1, steps_per_epoch=1, gallery=0,
                                  calibration_max_false_rate=0.0, calibration_score_method="confident"),
                      verbose=0)
    calibration = json.loads((run / "metrics.json").read_text())["calibration"]
    assert calibration["max_false_rate"] == 0.0
    assert calibration["false"] in (None, 0)
    assert read_spec(run / "best.keras").score_method == "confident"  # the threshold's score method travels with it


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
        from helpers import tiny_config
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


# ----------------------------------------------------------------------------- config checks (issue 14)

def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def _tiny_pairs(root: Path, n: int = 4, size=(32, 32), bad_mask: int | None = None) -> Path:
    """`n` photos with 0/1 masks and a pairs file under `root`; mask `bad_mask` holds the value 7."""
    import numpy as np
    from PIL import Image

    (root / "original").mkdir(parents=True)
    (root / "mask").mkdir()
    rng = np.random.default_rng(0)
    lines = []
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(root / "original" / f"p{i}.png")
        mask = np.zeros(size, np.uint8)
        mask[4:20, 6:24] = 7 if i == bad_mask else 1
        Image.fromarray(mask).save(root / "mask" / f"p{i}.png")
        lines.append(f"original/p{i}.png\tmask/p{i}.png")
    (root / "pairs.txt").write_text("\n".join(lines) + "\n")
    return root / "pairs.txt"


def test_bad_config_values_all_reported_at_load_and_no_run_folder(tmp_path, capsys):
    """epochs: ten, image_size: 64, batch_size: 0 and an unknown model: one error naming the file and
    every key, before any data is read (the pairs files do not even exist), and no run folder."""
    from fcnlib import cli

    out = tmp_path / "runs"
    cfg = _write(tmp_path / "bad.yaml", f"""
        model: unett
        epochs: ten
        batch_size: 0
        data: {{train: {tmp_path}/nowhere.txt, val: null, test: null, image_size: 64}}
        monitor: iou
        output_dir: {out}
        """)
    assert cli.main(["train", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"{cfg}: 4 problems" in err
    for key in ("epochs: expected an integer, got 'ten'", "batch_size: must be at least 1, got 0",
                "data.image_size: expected a list of integers", "model: unknown model 'unett'"):
        assert key in err, err
    assert "nowhere.txt" not in err
    assert not out.exists()


@pytest.mark.parametrize("line, message", [
    ("epochs: 0", "epochs: must be at least 1, got 0"),
    ("learning_rate: -1", "learning_rate: must be above 0"),
    ("learning_rate: fast", "learning_rate: expected a number, got 'fast'"),
    ("strategy: mirorred", "strategy: expected one of 'auto', 'mirrored', 'multiworker', 'none'"),
    ("schedule: step", "schedule: expected one of 'constant', 'cosine'"),
    ("optimizer: adamax", "optimizer: expected one of"),
    ("data: {resize: crop}", "data.resize: expected one of 'stretch', 'pad'"),
    ("model_options: {depht: 3}", "model_options: unknown option(s) ['depht'] for model 'unet'"),
    ("class_weights: [1, 2, 3]", "class_weights: expected 2 weights"),
    ("loss: bce+dise", "loss: unknown loss 'dise'"),
    ("data: {ignore_index: 1}", "data.ignore_index: ignore_index 1 is one of the 2 class labels"),
    ("data: {augment: {flipp: 1}}", "data.augment: unknown augment options ['flipp']"),
    ("monitor: val_miou", "monitor: 'val_miou' is not a score this run reports"),
    ("mixed_precision: maybe", "mixed_precision: expected one of 'auto' or true or false"),
    ("calibration_max_false_rate: 1.5", "calibration_max_false_rate: must be a share in [0, 1] or null"),
    ("calibration_score_method: area", "calibration_score_method: expected one of 'fit', 'confident'"),
])
def test_each_bad_value_is_named(tmp_path, line, message):
    cfg = _write(tmp_path / "c.yaml", line + "\n")
    with pytest.raises(train.ConfigError) as e:
        train.load_config(cfg)
    assert str(e.value).startswith(f"{cfg}: ") and message in str(e.value), str(e.value)


def test_numbers_written_as_strings_are_converted(tmp_path):
    """YAML reads `1e-3` (no dot) as a string: a number is expected there, so it is converted."""
    cfg = train.load_config(_write(tmp_path / "c.yaml", "learning_rate: 1e-3\nweight_decay: '5e-4'\n"))
    assert cfg.learning_rate == pytest.approx(0.001) and isinstance(cfg.learning_rate, float)
    assert cfg.weight_decay == pytest.approx(5e-4)


def test_extends_merges_bases_relative_to_the_file(tmp_path):
    _write(tmp_path / "bases" / "root.yaml", """
        model: unet
        model_options: {depth: 3, base_filters: 8}
        epochs: 5
        data: {image_size: [64, 48], augment: false}
        """)
    _write(tmp_path / "bases" / "mid.yaml", """
        extends: root.yaml
        epochs: 7
        data: {cache: false}
        """)
    cfg = train.load_config(_write(tmp_path / "exp" / "leaf.yaml", """
        extends: ../bases/mid.yaml
        name: leaf
        model_options: {base_filters: 4}
        """), ["data.augment=true"])
    assert cfg.name == "leaf" and cfg.epochs == 7
    assert cfg.model_options == {"depth": 3, "base_filters": 4}  # dicts merge key by key
    assert cfg.data.image_size == [64, 48] and cfg.data.cache is False and cfg.data.augment is True


def test_extends_refuses_cycles_and_names_missing_bases(tmp_path):
    _write(tmp_path / "a.yaml", "extends: b.yaml\n")
    _write(tmp_path / "b.yaml", "extends: a.yaml\n")
    with pytest.raises(train.ConfigError, match=r"b\.yaml: extends: a\.yaml makes a cycle"):
        train.load_config(tmp_path / "a.yaml")
    _write(tmp_path / "c.yaml", "extends: nothere.yaml\n")
    with pytest.raises(FileNotFoundError, match=r"nothere\.yaml: config file not found \(extended by .*c\.yaml\)"):
        train.load_config(tmp_path / "c.yaml")


def test_dataset_file_gives_class_names_and_ignore_index(tmp_path):
    ds = _write(tmp_path / "dataset.yaml", """
        classes: [bg, cat, dog]
        ignore_index: 255
        """)
    cfg = train.load_config(_write(tmp_path / "c.yaml", f"""
        num_classes: 3
        monitor: val_miou
        data: {{dataset: {ds}}}
        """))
    assert cfg.data.class_names == ["bg", "cat", "dog"] and cfg.data.ignore_index == 255
    own = train.load_config(tmp_path / "c.yaml", ["data.ignore_index=10"])
    assert own.data.ignore_index == 10  # set in the config: it wins
    with pytest.raises(train.ConfigError, match="describes 3 classes .* the config says num_classes 1"):
        train.load_config(tmp_path / "c.yaml", ["num_classes=1", "monitor=val_iou"])
    with pytest.raises(train.ConfigError, match=r"data.class_names: \['a', 'b', 'c'\] differ"):
        train.load_config(tmp_path / "c.yaml", ["data.class_names=[a, b, c]"])
    with pytest.raises(train.ConfigError, match="data.dataset: .*nothere.yaml: dataset description not found"):
        train.load_config(tmp_path / "c.yaml", [f"data.dataset={tmp_path}/nothere.yaml"])


# ----------------------------------------------------------------------------- data, resume, state (issue 14)

def test_bad_mask_in_test_split_stops_before_any_model(tmp_path, monkeypatch):
    """A mask with a value outside the classes in the TEST split is reported, with its file, before
    a model is built or a run folder made (it used to crash only after the last epoch)."""
    from fcnlib import data, models

    good = _tiny_pairs(tmp_path / "good")
    bad = _tiny_pairs(tmp_path / "bad", bad_mask=2)
    built = []
    monkeypatch.setattr(models, "build", lambda *a, **k: built.append(a) or pytest.fail("model built"))
    cfg = train.TrainConfig(name="t", model_options={"depth": 2, "base_filters": 4}, epochs=1,
                            output_dir=str(tmp_path / "runs"),
                            data=train.DataConfig(train=str(good), val=str(good), test=str(bad),
                                                  image_size=[32, 32], augment=False, cache=False))
    with pytest.raises(data.DataError) as e:
        train.train(cfg, verbose=0)
    msg = str(e.value)
    assert f"data.test ({bad})" in msg and str(tmp_path / "bad" / "mask" / "p2.png") in msg
    assert "outside the classes 0..1" in msg and "data.train" not in msg
    assert not built and not (tmp_path / "runs").exists()


def _fake_run(run: Path, pairs: Path, epoch: int, **state) -> Path:
    """A run folder as an interrupted run leaves it: config.yaml and state.json after `epoch` epochs."""
    cfg = train.TrainConfig(name="r", model_options={"depth": 2, "base_filters": 4}, epochs=3,
                            output_dir=str(run.parent), gallery=0,
                            data=train.DataConfig(train=str(pairs), val=str(pairs), test=None,
                                                  image_size=[32, 32], augment=False, cache=False))
    run.mkdir(parents=True)
    train.save_config(cfg, run / "config.yaml")
    history = [{"epoch": i, "loss": 0.5, "val_iou": 0.8} for i in range(epoch)]
    (run / "state.json").write_text(json.dumps({"epoch": epoch, "history": history, "best": 0.8,
                                                "best_epoch": 0, "finished": False, **state}))
    return run


def test_resume_refuses_when_latest_keras_is_gone(tmp_path, capsys):
    """`fcn train --resume` on a run that trained 2 epochs but lost latest.keras names the file and
    changes nothing (it used to restart from random weights under the old history, exit 0)."""
    from fcnlib import cli

    run = _fake_run(tmp_path / "runs" / "r-1", _tiny_pairs(tmp_path / "d"), epoch=2)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    assert cli.main(["train", "--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"{run / 'latest.keras'}: missing" in err and "2 epoch(s) done" in err
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


@pytest.mark.parametrize("text", ['{"epoch": 2, "hist', "", '["not", "a", "state"]', '{"epoch": "two", "history": []}'])
def test_damaged_state_json_is_named(tmp_path, capsys, text):
    from fcnlib import cli

    run = _fake_run(tmp_path / "runs" / "r-1", _tiny_pairs(tmp_path / "d"), epoch=1)
    (run / "state.json").write_text(text)
    assert cli.main(["train", "--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"{run / 'state.json'}: run state is" in err and "Traceback" not in err


# ----------------------------------------------------------------------------- multi-worker (issue 14)

# one worker of a multi-worker run: `fcn train ...` in a process whose TF_CONFIG names it; it also
# saves the weights it ends with (its latest.keras, read before a non-chief removes its folder)
WORKER = """
import json, os, sys
import numpy as np
from fcnlib import cli, models, train
index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
finish = train.finish
def finish_and_save_weights(config, run, state, test_ds, val_ds):
    out = finish(config, run, state, test_ds, val_ds)
    weights = models.load_model(run / "latest.keras", compile=False).get_weights()
    np.savez(os.path.join(sys.argv[1], f"weights{index}.npz"), *weights)
    with open(os.path.join(sys.argv[1], f"wrote{index}.txt"), "w") as f:
        f.write(str(run))
    return out
train.finish = finish_and_save_weights
sys.exit(cli.main(sys.argv[2:]))
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_workers(tmp_path: Path, args: list[str], tag: str) -> list[subprocess.Popen]:
    cluster = {"worker": [f"127.0.0.1:{_free_port()}" for _ in range(2)]}
    procs = []
    for index in range(2):
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TMPDIR": str(tmp_path / "worker_tmp"),
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        log = open(tmp_path / f"{tag}{index}.log", "w")
        procs.append(subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), *args], env=env,
                                      stdout=log, stderr=subprocess.STDOUT))
    return procs


@pytest.mark.slow
def test_multiworker_two_processes_chief_writes_same_weights_and_resume(tmp_path):
    """Two worker processes on 127.0.0.1 with TF_CONFIG train one model: only the chief (worker 0)
    writes the run folder, a run killed after its first epoch resumes with `--resume` on both workers,
    and the two end with the same weights (batch norm statistics included)."""
    import numpy as np

    (tmp_path / "worker_tmp").mkdir()
    pairs = _tiny_pairs(tmp_path / "data", n=8)
    # no val split (no validation pass to trace, no calibration): the test is about the workers
    cfg = train.TrainConfig(name="mw", model_options={"depth": 2, "base_filters": 4}, epochs=2, batch_size=4,
                            strategy="multiworker", checkpoint_every=0, early_stopping=0, reduce_lr=0, gallery=0,
                            monitor="iou", output_dir=str(tmp_path / "runs"),
                            data=train.DataConfig(train=str(pairs), val=None, test=None, image_size=[32, 32],
                                                  augment=False, cache=False))
    train.save_config(cfg, tmp_path / "mw.yaml")

    procs = _start_workers(tmp_path, ["train", str(tmp_path / "mw.yaml")], "first")
    state, deadline = None, time.time() + 240
    try:
        while time.time() < deadline and all(p.poll() is None for p in procs):
            runs = _run_dirs(tmp_path / "runs")
            if runs and (runs[0] / "state.json").exists():
                state = json.loads((runs[0] / "state.json").read_text())
                if state["epoch"] >= 1:
                    break
            time.sleep(0.05)
    finally:
        for p in procs:
            p.send_signal(signal.SIGKILL)
            p.wait()
    logs = "\n".join((tmp_path / f"first{i}.log").read_text()[-1500:] for i in range(2))
    assert state is not None and state["epoch"] >= 1, logs
    runs = _run_dirs(tmp_path / "runs")
    assert len(runs) == 1, runs  # worker 1 made no run folder of its own
    run = runs[0]
    assert state["replicas"] == 2 and not (run / "metrics.json").exists()

    procs = _start_workers(tmp_path, ["train", "--resume", str(run)], "resume")
    try:
        for p in procs:
            p.wait(timeout=300)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    logs = "\n".join((tmp_path / f"resume{i}.log").read_text()[-1500:] for i in range(2))
    assert [p.returncode for p in procs] == [0, 0], logs
    assert _run_dirs(tmp_path / "runs") == [run]
    assert (tmp_path / "wrote0.txt").read_text() == str(run)
    worker_dir = Path((tmp_path / "wrote1.txt").read_text())
    assert worker_dir.parent == tmp_path / "worker_tmp" and not worker_dir.exists()  # removed at the end
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs_run"] == 2 and metrics["replicas"] == 2
    assert len((run / "history.csv").read_text().strip().splitlines()) == 3
    w0, w1 = np.load(tmp_path / "weights0.npz"), np.load(tmp_path / "weights1.npz")
    assert len(w0.files) == len(w1.files) > 0
    for key in w0.files:
        np.testing.assert_allclose(w0[key], w1[key], rtol=0, atol=1e-6, err_msg=key)


def test_check_data_passes_root_and_ignore_index(tmp_path, monkeypatch):
    """`data.root` re-roots every split's pairs file (data.read_pairs(root=...)) and `data.ignore_index`
    reaches the check of every split (verify(ignore_index=...))."""
    from fcnlib import data, verify

    pairs = _tiny_pairs(tmp_path / "d")
    real_read, real_verify = data.read_pairs, verify.verify
    roots, voids = [], []

    def read_pairs(path, root=None):
        roots.append(root)
        return real_read(path)

    def check(pairs, ignore_index=None, **kwargs):
        voids.append(ignore_index)
        return real_verify(pairs, **kwargs)

    monkeypatch.setattr(data, "read_pairs", read_pairs)
    monkeypatch.setattr(verify, "verify", check)
    cfg = train.TrainConfig(num_classes=3, monitor="val_miou",
                            data=train.DataConfig(train=str(pairs), val=str(pairs), test=str(pairs),
                                                  root=str(tmp_path / "elsewhere"), ignore_index=255))
    checked = train.check_data(cfg.checked())
    assert set(checked) == {"train", "val", "test"} and len(checked["test"][0]) == 4
    assert roots == [str(tmp_path / "elsewhere")] * 3 and voids == [255] * 3


def test_time_budget_stops_after_the_epoch_that_passes_it(tiny_synth, tmp_path):
    # a budget far under one epoch: the run stops after its first epoch instead of the configured 3,
    # and the training time it used is kept in state.json (summed over resumed sessions)
    run = train.train(tiny_config(tiny_synth, tmp_path, epochs=3, early_stopping=0, time_budget_minutes=1e-4),
                      verbose=0)
    state = json.loads((run / "state.json").read_text())
    assert len(state["history"]) == 1
    assert state["train_seconds"] > 0 and state["train_cpu_seconds"] > 0
    unbounded = train.train(tiny_config(tiny_synth, tmp_path / "free", epochs=2, early_stopping=0), verbose=0)
    assert len(json.loads((unbounded / "state.json").read_text())["history"]) == 2


def test_resume_with_a_larger_time_budget_extends_a_run_its_budget_stopped(tiny_synth, tmp_path):
    # a study run capped by its budget goes on towards its plateau; one that ended on its epoch count
    # (or plateau) stays finished, and a budget that is not larger is refused
    run = train.train(tiny_config(tiny_synth, tmp_path, epochs=3, early_stopping=0, time_budget_minutes=1e-4),
                      verbose=0)
    state = train.read_state(run)
    assert len(state["history"]) == 1 and train.stopped_by(train.load_config(run / "config.yaml"), state) == "budget"
    with pytest.raises(ValueError, match="larger time budget"):
        train.resume(run, verbose=0, time_budget_minutes=1e-4)
    assert train.resume(run, verbose=0, time_budget_minutes=60) == run
    state = train.read_state(run)
    config = train.load_config(run / "config.yaml")
    assert len(state["history"]) == 3 and state["finished"] and config.time_budget_minutes == 60
    assert train.stopped_by(config, state) == "epochs"
    train.resume(run, verbose=0, time_budget_minutes=120)  # finished on its epochs: nothing more to train
    assert len(train.read_state(run)["history"]) == 3
    assert train.load_config(run / "config.yaml").time_budget_minutes == 60  # nor a budget it did not train under


def test_stopped_by_names_the_plateau():
    config = train.TrainConfig(epochs=50, early_stopping=3, time_budget_minutes=1.0)
    assert train.stopped_by(config, {"epoch": 10, "best_epoch": 6, "train_seconds": 90}) == "plateau"
    assert train.stopped_by(config, {"epoch": 10, "best_epoch": 7, "train_seconds": 90}) == "budget"
    assert train.stopped_by(config, {"epoch": 50, "best_epoch": 49, "train_seconds": 90}) == "epochs"


def test_cli_time_budget_flag_needs_resume(tmp_path):
    from fcnlib import cli

    with pytest.raises(SystemExit, match="--resume"):
        cli.main(["train", str(tmp_path / "c.yaml"), "--time-budget-minutes", "5"])


def test_time_budget_must_be_positive(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("time_budget_minutes: 0\n")
    with pytest.raises(train.ConfigError, match="time_budget_minutes"):
        train.load_config(path)


def test_init_takes_a_preset_name_or_a_file_and_a_missing_one_fails_before_any_work(tmp_path):
    import numpy as np

    from fcnlib import models

    cfg = train.load_config(REPO / "experiments/configs/receipt_documents_warm.yaml")
    assert cfg.init == "receipt"
    want = models.load_model(presets.get("receipt").path, compile=False).get_weights()
    got = train.build_and_compile(cfg, steps_per_epoch=10).get_weights()
    assert len(got) == len(want) and all(np.array_equal(a, b) for a, b in zip(got, want))
    missing = dataclasses.replace(cfg, init=str(tmp_path / "nope.keras"), output_dir=str(tmp_path / "runs"))
    with pytest.raises(FileNotFoundError, match="nope.keras: model file not found"):
        train.train(missing)
    assert not (tmp_path / "runs").exists()


def test_report_section_prints_and_appends_after_what_was_there(tmp_path, capsys):
    target = tmp_path / "results.md"
    fileio.report_section(["## First", "", "| a |"], target)
    fileio.report_section(["", "## Second", ""], target)
    assert target.read_text() == "\n## First\n\n| a |\n\n## Second\n"
    assert "## Second" in capsys.readouterr().out
    fileio.report_section(["## Printed only"])
    assert "Printed only" not in target.read_text()


def test_match_orientation_trains_on_both_framings_and_the_model_keeps_it(tmp_path):
    """`data.match_orientation` reaches the pipeline (batches of both sizes in one fit) and the saved
    Segmenter's preprocessor, so a landscape photo is predicted at the size it was trained at."""
    import numpy as np

    from fcnlib import data, synth
    from fcnlib.predict import Predictor
    from fcnlib.spec import read_spec

    root = tmp_path / "synth"
    synth.generate(root, n=16, seed=4, height=64, width=48, landscape=0.5, progress=False)
    data.split_pairs(root / "pairs.txt", val=0.25, test=0.25, seed=0)
    config = tiny_config(root, tmp_path / "runs", epochs=1, gallery=0)
    config.data.image_size, config.data.match_orientation = [64, 48], True
    run = train.train(config, verbose=0)
    assert read_spec(run / "best.keras").preprocessor.match_orientation is True
    landscape = np.zeros((48, 64, 3), np.uint8)
    (prob, placement), = Predictor.load(run / "best.keras").model_outputs([landscape])
    assert prob.shape[:2] == (48, 64) and placement.original == (48, 64)
