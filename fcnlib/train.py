"""Experiments: a config, a run folder, training that survives interruption.

`TrainConfig` holds everything one experiment needs and is saved as YAML or JSON under
`experiments/configs/`. `train(config)` writes a run folder (resolved config, `history.csv`,
TensorBoard logs, `best.keras`, `latest.keras`, `metrics.json`, `curves.png`, a test gallery);
`resume(run_dir)` continues a run that was stopped, even by `kill -9` in the middle of an epoch,
from its last saved state. Every file is written atomically (temp file + rename), so an
interruption never leaves a corrupt model or report behind.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import yaml

from fcnlib import models
from fcnlib.fileio import atomic_save_model, atomic_write_text

RUN_STATE = "state.json"
CONFIG_FILE = "config.yaml"


@dataclass
class DataConfig:
    """Where the pairs are and how photos become model inputs."""

    train: str = "data/synth/train.txt"
    val: str | None = "data/synth/val.txt"
    test: str | None = "data/synth/test.txt"
    image_size: list[int] = field(default_factory=lambda: [256, 256])
    resize: str = "stretch"
    augment: Any = True
    mask_values: list[int] | None = None
    cache: bool = True
    # a new order each epoch; off gives one fixed order, e.g. to compare runs step for step (with
    # shuffling, a multi-replica run draws other epoch orders than a single-device run: Keras
    # iterates a distributed dataset differently)
    shuffle: bool = True
    class_names: list[str] = field(default_factory=lambda: ["background", "receipt"])


@dataclass
class TrainConfig:
    """One experiment: model, data, optimisation, devices. Saved with every run."""

    name: str = "receipt"
    model: str = "unet"
    model_options: dict = field(default_factory=dict)
    init: str | None = None  # a .keras model whose weights start the training (fine-tuning)
    num_classes: int = 1
    data: DataConfig = field(default_factory=DataConfig)
    batch_size: int = 8
    epochs: int = 20
    steps_per_epoch: int | None = None
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    schedule: str = "constant"  # constant | cosine
    weight_decay: float = 0.0
    loss: str = "bce+dice"
    class_weights: Any = None  # None | "median" (from the train split) | list of floats
    seed: int = 0
    mixed_precision: Any = "auto"  # auto (on with a GPU) | true | false
    strategy: str = "auto"  # auto | mirrored | multiworker | none
    jit_compile: Any = "auto"  # XLA: auto (Keras: on with a GPU, off on CPU-only machines) | true | false
    early_stopping: int = 8  # patience in epochs, 0 turns it off
    reduce_lr: int = 3  # patience in epochs, 0 turns it off
    checkpoint_every: int = 50  # batches between mid-epoch checkpoints
    monitor: str = "val_iou"
    gallery: int = 8
    output_dir: str = "experiments/runs"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = dict(d)
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        data = d.pop("data", {}) or {}
        unknown = set(data) - {f.name for f in dataclasses.fields(DataConfig)}
        if unknown:
            raise ValueError(f"unknown data config keys: {sorted(unknown)}")
        return cls(data=DataConfig(**data), **d)


def load_config(path: str | Path, overrides: list[str] | tuple = ()) -> TrainConfig:
    """Read a YAML/JSON config and apply `key=value` overrides (dotted keys, YAML values)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: config file not found") from None
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML/JSON: {e}") from None
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r}: expected key=value")
        node = raw
        *parents, last = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = yaml.safe_load(value)
    try:
        return TrainConfig.from_dict(raw)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path}: {e}") from None


def save_config(config: TrainConfig, path: str | Path) -> None:
    """Write a config as YAML (or JSON when the name ends in .json), atomically."""
    path = Path(path)
    d = config.to_dict()
    text = json.dumps(d, indent=2) if path.suffix == ".json" else yaml.safe_dump(d, sort_keys=False)
    atomic_write_text(path, text)


# ----------------------------------------------------------------------------- devices

def pick_strategy(name: str = "auto"):
    """The tf.distribute strategy for `auto | mirrored | multiworker | none`."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        if os.environ.get("TF_CONFIG"):
            name = "multiworker"
        elif len(gpus) > 1:
            name = "mirrored"
        else:
            name = "none"
    if name == "mirrored":
        cpus = tf.config.list_logical_devices("CPU")
        if not gpus and len(cpus) > 1:  # several logical CPUs: how tests check replica agreement
            return tf.distribute.MirroredStrategy([d.name for d in cpus])
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "none":
        return tf.distribute.get_strategy()
    raise ValueError(f"strategy {name!r}: expected auto, mirrored, multiworker or none")


def use_mixed_precision(setting: Any) -> bool:
    """Turn on mixed_float16 when asked, or by default when a GPU is present."""
    import tensorflow as tf

    on = bool(tf.config.list_physical_devices("GPU")) if setting == "auto" else bool(setting)
    keras.mixed_precision.set_global_policy("mixed_float16" if on else "float32")
    return on


# ----------------------------------------------------------------------------- building blocks

def _datasets(config: TrainConfig, strategy):
    """Train/val/test tf.data datasets for a config (batch = global batch)."""
    from fcnlib import data

    d = config.data
    class_weights = resolve_class_weights(config)
    common = dict(image_size=tuple(d.image_size), batch_size=config.batch_size,
                  mask_values=d.mask_values, resize=d.resize, num_classes=config.num_classes)
    train = data.make_dataset(d.train, augment=d.augment, shuffle=d.shuffle, cache=d.cache,
                              repeat=config.steps_per_epoch is not None, seed=config.seed,
                              class_weights=class_weights, **common)
    val = data.make_dataset(d.val, augment=None, cache=d.cache, **common) if d.val else None
    test = data.make_dataset(d.test, augment=None, **common) if d.test else None
    if strategy.num_replicas_in_sync > 1 or os.environ.get("TF_CONFIG"):
        import tensorflow as tf

        opts = tf.data.Options()
        opts.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        train, val, test = (ds.with_options(opts) if ds is not None else None for ds in (train, val, test))
    return train, val, test


def resolve_class_weights(config: TrainConfig):
    """None, an explicit list, or SegNet's median-frequency weights from the train split."""
    cw = config.class_weights
    if cw in (None, False, "none"):
        return None
    if cw == "median":
        from fcnlib.verify import verify

        report = verify(config.data.train, num_classes=max(config.num_classes, 2),
                        mask_values=config.data.mask_values)
        return [float(w) for w in report.class_weights]
    return [float(w) for w in cw]


def _optimizer(config: TrainConfig, steps_per_epoch: int):
    lr: Any = config.learning_rate
    if config.schedule == "cosine":
        lr = keras.optimizers.schedules.CosineDecay(lr, decay_steps=max(1, steps_per_epoch * config.epochs))
    elif config.schedule != "constant":
        raise ValueError(f"schedule {config.schedule!r}: expected constant or cosine")
    opts = {"adam": keras.optimizers.Adam, "adamw": keras.optimizers.AdamW,
            "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop}
    if config.optimizer not in opts:
        raise ValueError(f"optimizer {config.optimizer!r}: expected one of {sorted(opts)}")
    kwargs = {"learning_rate": lr}
    if config.weight_decay:
        kwargs["weight_decay"] = config.weight_decay
    if config.optimizer == "sgd":
        kwargs["momentum"] = 0.9
    return opts[config.optimizer](**kwargs)


def build_and_compile(config: TrainConfig, steps_per_epoch: int):
    """The model of a config, compiled with its loss, optimizer and the default metrics."""
    from fcnlib import losses, metrics

    keras.utils.set_random_seed(config.seed)
    model = models.build(config.model, input_shape=(None, None, 3), num_classes=config.num_classes,
                         **config.model_options)
    if config.init:
        from fcnlib.predict import DEFAULT_MODEL

        init = DEFAULT_MODEL if config.init == "default" else config.init
        model.set_weights(models.load_model(init, compile=False).get_weights())
    model.compile(optimizer=_optimizer(config, steps_per_epoch), loss=losses.get(config.loss),
                  metrics=metrics.default_metrics(config.num_classes), jit_compile=config.jit_compile)
    return model


def _count_batches(ds) -> int:
    n = int(ds.cardinality())
    if n < 0:
        n = sum(1 for _ in ds)
    return n


# ----------------------------------------------------------------------------- the run callback

class RunCheckpoint(keras.callbacks.Callback):
    """Keeps a run folder resumable and its files consistent.

    Every `every` batches and at each epoch end it saves `latest.keras` (weights and optimizer)
    and `state.json` (epoch, history, best score, early-stopping and plateau counters); at each
    epoch end it rewrites `history.csv` and, when the monitored score improves, `best.keras`.
    All writes are atomic. On resume it restores the counters of the `watched` callbacks.
    """

    def __init__(self, run_dir, monitor: str, every: int, watched: list, state: dict):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.monitor = monitor
        self.every = every
        self.watched = watched
        self.state = state
        self._batches = 0
        self._description = None

    def _segmenter(self):
        """The model being trained as a self-describing `Segmenter` (the run's config says how)."""
        from fcnlib.segmenter import Segmenter

        if self._description is None:
            config = self.run_dir / CONFIG_FILE
            self._description = segmenter_description(load_config(config)) if config.exists() else {}
        return Segmenter(self.model, **self._description)

    def on_train_begin(self, logs=None):
        for cb in self.watched:
            for k, v in self.state.get("callbacks", {}).get(type(cb).__name__, {}).items():
                setattr(cb, k, v)

    def _save(self, epoch_done: int, batches_in_epoch: int = 0):
        self.state["epoch"], self.state["batches_in_epoch"] = epoch_done, batches_in_epoch
        self.state["callbacks"] = {
            type(cb).__name__: {k: _jsonable(getattr(cb, k))
                                for k in ("wait", "best", "cooldown_counter") if hasattr(cb, k)}
            for cb in self.watched}
        atomic_save_model(self.model, self.run_dir / "latest.keras")
        atomic_write_text(self.run_dir / RUN_STATE, json.dumps(self.state, indent=2))

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1
        if self.every and self._batches % self.every == 0:
            self._save(self.state["epoch"], batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}}
        self.state["history"].append(row)
        _write_history(self.run_dir / "history.csv", self.state["history"])
        score = row.get(self.monitor)
        best = self.state.get("best")
        if score is not None and not math.isnan(score) and (best is None or score > best):
            self.state["best"], self.state["best_epoch"] = score, epoch
            atomic_save_model(self._segmenter(), self.run_dir / "best.keras")
        self._save(epoch + 1)


def _jsonable(v):
    try:
        json.dumps(v)
        return v
    except TypeError:
        return float(v)


def _write_history(path: Path, rows: list[dict]) -> None:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(path, buf.getvalue())


# ----------------------------------------------------------------------------- train / resume

def new_run_dir(config: TrainConfig) -> Path:
    """`<output_dir>/<name>-<YYYYmmdd-HHMMSS>`, made unique if two runs start in one second."""
    base = Path(config.output_dir) / f"{config.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    run, i = base, 1
    while run.exists():
        run, i = Path(f"{base}-{i}"), i + 1
    run.mkdir(parents=True)
    return run


def train(config: TrainConfig, run_dir: str | Path | None = None, verbose: int | str = "auto") -> Path:
    """Train `config` in a new run folder (or `run_dir`) and return the folder."""
    run = Path(run_dir) if run_dir else new_run_dir(config)
    run.mkdir(parents=True, exist_ok=True)
    save_config(config, run / CONFIG_FILE)
    state = {"epoch": 0, "history": [], "best": None, "best_epoch": None, "finished": False}
    atomic_write_text(run / RUN_STATE, json.dumps(state, indent=2))
    return _fit(config, run, state, verbose)


def resume(run_dir: str | Path, verbose: int | str = "auto") -> Path:
    """Continue an interrupted run from `latest.keras` and `state.json`."""
    run = Path(run_dir)
    if not (run / CONFIG_FILE).exists():
        raise FileNotFoundError(f"{run}: not a run folder (no {CONFIG_FILE})")
    config = load_config(run / CONFIG_FILE)
    state = json.loads((run / RUN_STATE).read_text())
    if state.get("finished"):
        print(f"{run}: already finished ({state['epoch']} epochs)")
        return run
    return _fit(config, run, state, verbose)


def _fit(config: TrainConfig, run: Path, state: dict, verbose) -> Path:
    keras.utils.set_random_seed(config.seed)  # before the datasets: their shuffle order depends on it
    mixed = use_mixed_precision(config.mixed_precision)
    strategy = pick_strategy(config.strategy)
    train_ds, val_ds, test_ds = _datasets(config, strategy)
    steps = config.steps_per_epoch or _count_batches(train_ds)
    state["replicas"] = strategy.num_replicas_in_sync
    with strategy.scope():
        if (run / "latest.keras").exists():
            model = models.load_model(run / "latest.keras")
        else:
            model = build_and_compile(config, steps)

    watched = []
    if config.early_stopping:
        watched.append(keras.callbacks.EarlyStopping(monitor=config.monitor, mode="max",
                                                     patience=config.early_stopping))
    if config.reduce_lr:
        watched.append(keras.callbacks.ReduceLROnPlateau(monitor=config.monitor, mode="max",
                                                         patience=config.reduce_lr, factor=0.5))
    if config.schedule != "constant":  # a schedule owns the learning rate
        watched = [cb for cb in watched if not isinstance(cb, keras.callbacks.ReduceLROnPlateau)]
    callbacks = [keras.callbacks.TerminateOnNaN(),
                 keras.callbacks.TensorBoard(log_dir=str(run / "logs")),
                 *watched,
                 RunCheckpoint(run, config.monitor, config.checkpoint_every, watched, state)]
    if state["epoch"] < config.epochs:
        print(f"run: {run} (epochs {state['epoch']}..{config.epochs}, mixed precision {mixed}, "
              f"{strategy.num_replicas_in_sync} replica(s))")
        model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, initial_epoch=state["epoch"],
                  steps_per_epoch=config.steps_per_epoch, callbacks=callbacks, verbose=verbose,
                  shuffle=False)  # the tf.data pipeline shuffles
    finish(config, run, state, test_ds, val_ds)
    return run


def finish(config: TrainConfig, run: Path, state: dict, test_ds, val_ds) -> dict:
    """Evaluate the best model on val and test; write metrics.json, curves.png, the gallery; for a
    binary task calibrate `min_score` on val and save it inside `best.keras` (a `Segmenter`)."""
    from fcnlib import viz
    from fcnlib.segmenter import Segmenter, load_segmenter

    # latest.keras is compiled as in training: it evaluates the best weights with the run's own loss
    # and metrics (best.keras is a Segmenter, saved without them)
    model = models.load_model(run / "latest.keras")
    if (run / "best.keras").exists():
        segmenter = load_segmenter(run / "best.keras")
        model.set_weights(segmenter.network.get_weights())
    else:
        segmenter = Segmenter(model, **segmenter_description(config))
    results = {"best_epoch": state.get("best_epoch"), "epochs_run": len(state["history"]),
               "replicas": state.get("replicas", 1)}
    for split, ds in (("val", val_ds), ("test", test_ds)):
        if ds is not None:
            results[split] = {k: float(v) for k, v in model.evaluate(ds, verbose=0, return_dict=True).items()}
    if config.num_classes <= 2 and config.data.val:  # a binary task: when to answer "no object"
        from fcnlib.evaluate import calibrate_min_score
        from fcnlib.predict import Predictor

        results["calibration"] = calibrate_min_score(Predictor.from_segmenter(segmenter), config.data.val,
                                                     config.data.mask_values)
        segmenter = segmenter.with_spec(min_score=results["calibration"]["min_score"])
    atomic_write_text(run / "metrics.json", json.dumps(results, indent=2))
    atomic_save_model(segmenter, run / "best.keras")
    if state["history"]:
        fig = viz.plot_history(run / "history.csv")
        fig.savefig(run / "curves.png", dpi=100)
    if test_ds is not None and config.gallery:
        _save_gallery(model, test_ds, config, run / "gallery.png")
    state["finished"] = True
    atomic_write_text(run / RUN_STATE, json.dumps(state, indent=2))
    return results


def segmenter_description(config: TrainConfig) -> dict:
    """`Segmenter` arguments from a config: how photos are prepared (input size, resize policy) and
    what the classes are (names, colours, ignore index), so that `best.keras` describes itself."""
    from fcnlib.labels import num_labels
    from fcnlib.spec import Preprocessor

    labels = num_labels(config.num_classes)
    names = list(config.data.class_names or [])
    palette = getattr(config.data, "palette", None) or getattr(config.data, "colors", None)
    return {"preprocessor": Preprocessor(tuple(config.data.image_size), config.data.resize),
            "class_names": names if len(names) >= labels else None,  # too few: numbered names
            "palette": palette if palette and len(palette) >= labels else None,
            "ignore_index": getattr(config.data, "ignore_index", None)}


def _save_gallery(model, ds, config: TrainConfig, path: Path) -> None:
    import numpy as np

    from fcnlib import viz

    images, masks = [], []
    for batch in ds:
        images.append(batch[0].numpy())
        masks.append(batch[1].numpy())
        if sum(len(i) for i in images) >= config.gallery:
            break
    images = np.concatenate(images)[: config.gallery]
    masks = np.concatenate(masks)[: config.gallery, ..., 0]
    prob = model.predict(images, verbose=0)
    pred = (prob[..., 0] > 0.5).astype(np.uint8) if prob.shape[-1] == 1 else prob.argmax(-1).astype(np.uint8)
    photos = (images * 255).round().astype(np.uint8)
    fig = viz.gallery(photos, masks, pred)
    fig.savefig(path, dpi=80)
