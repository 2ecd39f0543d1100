"""Experiments: a config, a run folder, training that survives interruption.

`TrainConfig` holds everything one experiment needs and is saved as YAML or JSON under
`experiments/configs/`; `load_config` merges the bases a file `extends:` and checks every value
before any data is read (`ConfigError` names the file and each key). `train(config)` checks every
pair of every split, then writes a run folder (resolved config, `history.csv`,
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
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import keras
import yaml

from fcnlib import models, presets
from fcnlib.fileio import atomic_save_model, atomic_write_text
from fcnlib.spec import SCORE_METHODS

RUN_STATE = "state.json"
CONFIG_FILE = "config.yaml"


Strategy = Literal["auto", "mirrored", "multiworker", "none"]
Schedule = Literal["constant", "cosine"]
Optimizer = Literal["adam", "adamw", "sgd", "rmsprop"]
ResizePolicy = Literal["stretch", "pad"]
DEFAULT_CLASS_NAMES = ["background", "receipt"]


class ConfigError(ValueError):
    """Every problem of a config at once, each as ``key: problem``, after the config file's name."""

    def __init__(self, problems: list[str], where=None):
        self.problems, self.where = list(problems), where
        head = f"{where}: " if where else ""
        if len(self.problems) == 1:
            msg = head + self.problems[0]
        else:
            msg = head + f"{len(self.problems)} problems in the config:\n" + "\n".join(
                f"  {p}" for p in self.problems)
        super().__init__(msg)


@dataclass
class DataConfig:
    """Where the pairs are and how photos become model inputs.

    Paths (`train`, `val`, `test`, `dataset`, `root`) are relative to the working directory the
    command runs in (the repository root for the shipped configs), not to the config file.
    """

    train: str = "data/synth/train.txt"
    val: str | None = "data/synth/val.txt"
    test: str | None = "data/synth/test.txt"
    image_size: list[int] = field(default_factory=lambda: [256, 256])  # [height, width]
    resize: ResizePolicy = "stretch"
    # photos framed the other way than image_size (landscape for a portrait size) go in at the size turned,
    # [width, height], unsqueezed; saved in the model's preprocessor, so prediction does the same
    match_orientation: bool = False
    augment: bool | dict = True  # true (defaults), false, or AugmentConfig options
    mask_values: list[int] | None = None  # raw mask values mapped to classes 0..n-1, e.g. [0, 255]
    ignore_index: int | None = None  # the void value of the masks (not a class): no loss, no score
    dataset: str | None = None  # a dataset.yaml: class names, colours, ignore index
    root: str | None = None  # re-roots pairs files whose absolute paths come from another machine
    cache: bool | str = True
    # a new order each epoch; off gives one fixed order, e.g. to compare runs step for step (with
    # shuffling, a multi-replica run draws other epoch orders than a single-device run: Keras
    # iterates a distributed dataset differently)
    shuffle: bool = True
    class_names: list[str] = field(default_factory=lambda: list(DEFAULT_CLASS_NAMES))


@dataclass
class TrainConfig:
    """One experiment: model, data, optimisation, devices. Saved with every run.

    Build one from a file with :func:`load_config` (which checks every value) or in code; `train`
    checks a config built in code the same way before it reads any data.

    Example:

    >>> cfg = TrainConfig(name="tiny", epochs=2, data=DataConfig(image_size=[64, 64]))
    >>> cfg.checked().learning_rate
    0.001
    """

    name: str = "receipt"
    model: str = "unet"
    model_options: dict = field(default_factory=dict)
    init: str | None = None  # a .keras model or a preset name ('receipt') whose weights start the training
    num_classes: int = 1  # model output channels: 1 = binary (sigmoid), K >= 2 = softmax
    data: DataConfig = field(default_factory=DataConfig)
    batch_size: int = 8
    epochs: int = 20
    steps_per_epoch: int | None = None
    optimizer: Optimizer = "adam"
    learning_rate: float = 1e-3
    schedule: Schedule = "constant"
    weight_decay: float = 0.0
    loss: str | dict = "bce+dice"
    class_weights: Literal["median", "none"] | list[float] | None = None  # median: from the train split
    seed: int = 0
    mixed_precision: Literal["auto"] | bool = "auto"  # auto: on with a GPU
    strategy: Strategy = "auto"
    jit_compile: Literal["auto"] | bool = "auto"  # XLA: auto (Keras: on with a GPU, off on CPU only)
    early_stopping: int = 8  # patience in epochs, 0 turns it off
    time_budget_minutes: float | None = None  # stop after the epoch that passes this much training time
    reduce_lr: int = 3  # patience in epochs, 0 turns it off
    checkpoint_every: int = 50  # batches between mid-epoch checkpoints, 0 turns them off
    calibration_max_false_rate: float | None = None  # binary: cap on val's empty photos scored >= min_score
    calibration_score_method: Literal[SCORE_METHODS] = "fit"  # binary: the extraction score min_score is for
    monitor: str = "val_iou"  # a score (higher is better): val_iou (binary), val_miou (multi-class)
    gallery: int = 8
    output_dir: str = "experiments/runs"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict, where=None) -> "TrainConfig":
        """A checked config from a mapping; ConfigError lists every problem (`where` names the file)."""
        if not isinstance(d, dict):
            raise ConfigError([f"expected a mapping of config keys, got {type(d).__name__}"], where)
        problems: list[str] = []
        d = dict(d)
        data = d.pop("data", None)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            problems.append(f"data: expected a mapping, got {data!r}")
            data = {}
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)} - {"data"}
        if unknown:
            problems.append(f"unknown config keys: {sorted(unknown)}")
        unknown = set(data) - {f.name for f in dataclasses.fields(DataConfig)}
        if unknown:
            problems.append(f"unknown data config keys: {sorted(unknown)}")
        data_values = _typed(DataConfig, data, "data.", problems)
        values = _typed(cls, {k: v for k, v in d.items() if k != "data"}, "", problems)
        # the range checks run on the well-typed values (defaults stand in for the others), so that
        # one load reports every problem
        bad = {p.split(":")[0] for p in problems}
        config = cls(data=DataConfig(**data_values), **values)
        problems += [p for p in _check_values(config) if p.split(":")[0] not in bad]
        if problems:
            raise ConfigError(problems, where)
        return config

    def checked(self, where=None) -> "TrainConfig":
        """This config with every value checked (and filled in from `data.dataset`), as a new object."""
        return TrainConfig.from_dict(self.to_dict(), where)


def _describe(tp) -> str:
    origin, args = get_origin(tp), get_args(tp)
    if tp is type(None):
        return "null"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if origin is list:
        return f"a list of {_describe(args[0]).replace('an ', '').replace('a ', '')}s" if args else "a list"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false",
            dict: "a mapping"}.get(tp, getattr(tp, "__name__", str(tp)))


def _coerce(value, tp):
    """`value` as type `tp`, or TypeError. Numbers written as strings (YAML reads `1e-3` as one) are
    accepted where a float is expected and converted."""
    origin, args = get_origin(tp), get_args(tp)
    if tp is Any:
        return value
    if tp is type(None):
        if value is None:
            return None
    elif origin is Literal:
        if isinstance(value, str) and value in args:
            return value
    elif origin in (Union, types.UnionType):
        for arg in args:
            try:
                return _coerce(value, arg)
            except TypeError:
                pass
    elif origin is list:
        if isinstance(value, (list, tuple)):
            return [_coerce(v, args[0]) for v in value]
    elif tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                number = float(value)
            except ValueError:
                pass
            else:
                if math.isfinite(number):
                    return number
    elif tp in (str, dict):
        if isinstance(value, tp):
            return value
    raise TypeError(_describe(tp))


def _typed(cls, d: dict, prefix: str, problems: list[str]) -> dict:
    hints = get_type_hints(cls)
    out = {}
    for key, value in d.items():
        if key not in hints or key == "data":
            continue
        try:
            out[key] = _coerce(value, hints[key])
        except TypeError:
            hint = " ([height, width], e.g. [64, 64])" if key == "image_size" else ""
            problems.append(f"{prefix}{key}: expected {_describe(hints[key])}{hint}, got {value!r}")
    return out


def _check_values(c: TrainConfig) -> list[str]:
    """Ranges and names; fills class names and ignore index from `data.dataset`."""
    from fcnlib import losses, metrics
    from fcnlib.augment import AugmentConfig
    from fcnlib.labels import DatasetInfo, check_ignore_index, num_labels

    p: list[str] = []
    d = c.data
    for key, value, low in (("epochs", c.epochs, 1), ("batch_size", c.batch_size, 1),
                            ("num_classes", c.num_classes, 1), ("early_stopping", c.early_stopping, 0),
                            ("reduce_lr", c.reduce_lr, 0), ("checkpoint_every", c.checkpoint_every, 0),
                            ("gallery", c.gallery, 0), ("seed", c.seed, 0)):
        if value < low:
            p.append(f"{key}: must be at least {low}, got {value}")
    if c.steps_per_epoch is not None and c.steps_per_epoch < 1:
        p.append(f"steps_per_epoch: must be at least 1 or null (one pass over the data), got {c.steps_per_epoch}")
    if not c.learning_rate > 0:
        p.append(f"learning_rate: must be above 0, got {c.learning_rate}")
    if c.time_budget_minutes is not None and not c.time_budget_minutes > 0:
        p.append(f"time_budget_minutes: must be above 0 or null (no budget), got {c.time_budget_minutes}")
    if c.weight_decay < 0:
        p.append(f"weight_decay: must be 0 or more, got {c.weight_decay}")
    if c.calibration_max_false_rate is not None and not 0.0 <= c.calibration_max_false_rate <= 1.0:
        p.append(f"calibration_max_false_rate: must be a share in [0, 1] or null (best balanced accuracy), "
                 f"got {c.calibration_max_false_rate}")
    if len(d.image_size) != 2 or min(d.image_size) < 1:
        p.append(f"data.image_size: expected [height, width] of positive integers, got {d.image_size}")
    if d.mask_values is not None and (any(not 0 <= v <= 255 for v in d.mask_values)
                                      or len(set(d.mask_values)) != len(d.mask_values)):
        p.append(f"data.mask_values: expected distinct mask values 0..255, got {d.mask_values}")
    if c.model not in models.available():
        p.append(f"model: unknown model {c.model!r}; available: {', '.join(models.available())}")
    else:
        unknown = sorted(set(c.model_options) - set(models.options(c.model)))
        if unknown:
            p.append(f"model_options: unknown option(s) {unknown} for model {c.model!r}; "
                     f"accepted: {models.options(c.model)}")
    if c.num_classes < 1:
        return p  # the checks below need a class count
    labels = num_labels(c.num_classes)
    if d.dataset is not None:
        try:
            info = DatasetInfo.load(d.dataset)
        except (OSError, ValueError) as e:
            p.append(f"data.dataset: {e}")
        else:
            if info.num_classes != c.num_classes:
                p.append(f"data.dataset: {d.dataset} describes {len(info.class_names)} classes "
                         f"(num_classes {info.num_classes}), the config says num_classes {c.num_classes}")
            elif d.class_names not in (DEFAULT_CLASS_NAMES, list(info.class_names)):
                p.append(f"data.class_names: {d.class_names} differ from those of {d.dataset} "
                         f"({list(info.class_names)}); leave class_names out")
            else:
                d.class_names = list(info.class_names)
                if d.ignore_index is None:
                    d.ignore_index = info.ignore_index
    if d.class_names == DEFAULT_CLASS_NAMES and labels != 2:
        d.class_names = [f"class_{i}" for i in range(labels)]
    if len(d.class_names) != labels:
        p.append(f"data.class_names: {len(d.class_names)} names for num_classes {c.num_classes} "
                 f"({labels} labels)")
    try:
        check_ignore_index(d.ignore_index, c.num_classes)
    except ValueError as e:
        p.append(f"data.ignore_index: {e}")
    if isinstance(c.class_weights, list) and (len(c.class_weights) != labels or min(c.class_weights) < 0):
        p.append(f"class_weights: expected {labels} weights of 0 or more (one per label), got {c.class_weights}")
    if isinstance(d.augment, dict):
        try:
            AugmentConfig.coerce(d.augment)
        except (TypeError, ValueError) as e:
            p.append(f"data.augment: {e}")
    try:
        losses.get(c.loss)
    except (TypeError, ValueError) as e:
        p.append(f"loss: {e}")
    import tensorflow as tf

    # in a throwaway graph: metrics made eagerly would start TensorFlow's runtime, and a multi-worker
    # strategy must be made before that ("Collective ops must be configured at program startup")
    with tf.Graph().as_default():
        names = [m.name for m in metrics.default_metrics(c.num_classes)]
    allowed = [f"val_{n}" for n in names] if d.val else names
    if c.monitor not in allowed:
        p.append(f"monitor: {c.monitor!r} is not a score this run reports; expected one of {allowed}"
                 + ("" if d.val or not c.monitor.startswith("val_") else " (no data.val is given)"))
    return p


def _deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_raw(path: Path, chain: tuple[Path, ...] = ()) -> dict:
    """A config file's mapping with its `extends:` bases merged in (paths relative to the file)."""
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        where = f" (extended by {chain[-1]})" if chain else ""
        raise FileNotFoundError(f"{path}: config file not found{where}") from None
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML/JSON: {e}") from None
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError([f"expected a mapping of config keys, got {type(raw).__name__}"], path)
    bases = raw.pop("extends", None)
    if bases is None:
        return raw
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise ConfigError([f"extends: expected a path or a list of paths, got {bases!r}"], path)
    merged: dict = {}
    here = chain + (path.resolve(),)
    for b in bases:
        base = (path.parent / b)
        if base.resolve() in here:
            cycle = " -> ".join(str(x) for x in (*here, base.resolve()))
            raise ConfigError([f"extends: {b} makes a cycle ({cycle})"], path)
        merged = _deep_merge(merged, _read_raw(base, here))
    return _deep_merge(merged, raw)


def load_config(path: str | Path, overrides: list[str] | tuple = ()) -> TrainConfig:
    """Read a YAML/JSON config, merge the bases it `extends:` and apply `key=value` overrides
    (dotted keys, YAML values); every value is checked (ConfigError names the file and each key).

    `extends: base.yaml` (or a list) is relative to the config file; mappings merge key by key
    (deeply), other values replace the base's; bases may extend others, cycles are refused.

    Example:

    >>> cfg = load_config("experiments/configs/demo.yaml", ["epochs=1"])  # doctest: +SKIP
    >>> cfg.epochs  # doctest: +SKIP
    1
    """
    path = Path(path)
    raw = _read_raw(path)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r}: expected key=value")
        node = raw
        *parents, last = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ValueError(f"--set {item!r}: {p} is not a mapping")
        node[last] = yaml.safe_load(value)
    return TrainConfig.from_dict(raw, where=path)


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

    if name == "auto" and os.environ.get("TF_CONFIG"):
        name = "multiworker"
    if name == "multiworker":
        # before anything lists logical devices: that starts TensorFlow's runtime, after which the
        # collective ops of a multi-worker strategy can no longer be configured
        return _multi_worker_strategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        if len(gpus) > 1:
            name = "mirrored"
        else:
            name = "none"
    if name == "mirrored":
        cpus = tf.config.list_logical_devices("CPU")
        if not gpus and len(cpus) > 1:  # several logical CPUs: how tests check replica agreement
            return tf.distribute.MirroredStrategy([d.name for d in cpus])
        return tf.distribute.MirroredStrategy()
    if name == "none":
        return tf.distribute.get_strategy()
    raise ValueError(f"strategy {name!r}: expected auto, mirrored, multiworker or none")


def _multi_worker_strategy():
    """`tf.distribute.MultiWorkerMirroredStrategy` with the two `reduce` calls of Keras 3's `fit`
    that it fails on made to work (keras-team/keras#20585: Keras 3 `fit` does not run under this
    strategy as it ships):

    - `fit` reduces the first (image, mask) batch across replicas to learn its shapes, but `reduce`
      takes one value, not a nest ("Attempt to convert a value (PerReplica ...) to a Tensor"): each
      value of the nest is reduced in turn;
    - `fit` averages each step's scalar logs with `reduce("MEAN", v, axis=0)`, which fails on a
      scalar ("Invalid reduction dimension 0 for input with 0 dimensions"): a scalar is averaged
      across replicas (axis None), as Keras means.
    """
    import tensorflow as tf

    base = tf.distribute.MultiWorkerMirroredStrategy

    class MultiWorkerMirroredStrategy(base):
        def reduce(self, reduce_op, value, axis=None):
            if isinstance(value, (tuple, list, dict)):
                return tf.nest.map_structure(lambda v: self.reduce(reduce_op, v, axis), value)
            if axis is not None:
                local = self.experimental_local_results(value)[0]
                if getattr(local, "shape", None) is not None and local.shape.rank == 0:
                    axis = None
            return base.reduce(self, reduce_op, value, axis)

    return MultiWorkerMirroredStrategy()


def use_mixed_precision(setting: Any) -> bool:
    """Turn on mixed_float16 when asked, or by default when a GPU is present."""
    import tensorflow as tf

    on = bool(tf.config.list_physical_devices("GPU")) if setting == "auto" else bool(setting)
    keras.mixed_precision.set_global_policy("mixed_float16" if on else "float32")
    return on


# ----------------------------------------------------------------------------- building blocks

def read_split(config: TrainConfig, path: str | Path) -> list:
    """The (photo, mask) pairs of one split's pairs file, re-rooted by `data.root` when it is set."""
    import inspect

    from fcnlib import data

    if config.data.root is None:
        return data.read_pairs(path)
    if "root" not in inspect.signature(data.read_pairs).parameters:
        raise ValueError(f"data.root is set ({config.data.root}) but this fcnlib's data.read_pairs "
                         "cannot re-root pairs files")
    return data.read_pairs(path, root=config.data.root)


def _splits(config: TrainConfig) -> dict[str, str]:
    d = config.data
    return {name: path for name, path in (("train", d.train), ("val", d.val), ("test", d.test)) if path}


def check_data(config: TrainConfig) -> dict:
    """Read and check every pair of every split before training (`fcnlib.verify.verify`: each photo
    and mask decoded, sizes, mask values against the classes, void); returns {split: (pairs, report)}.

    Raises DataError listing every problem of every split, each with its file, so that a bad mask in
    the test split stops the run before the first step rather than after the last epoch. The cost is
    one decode of each file, small beside the epochs that decode them again; the train split's report
    also gives the median-frequency class weights, so `class_weights: median` reads nothing twice.
    """
    from fcnlib.data import DataError
    from fcnlib.verify import verify

    kwargs: dict = {"num_classes": config.num_classes, "mask_values": config.data.mask_values}
    if config.data.ignore_index is not None:
        kwargs["ignore_index"] = config.data.ignore_index
    out, problems = {}, []
    for split, path in _splits(config).items():
        try:
            pairs = read_split(config, path)
        except DataError as e:
            problems.append(f"data.{split}: {e}")
            continue
        report = verify(pairs, **kwargs)
        problems += [f"data.{split} ({path}): {file}: {message}" for file, message in report.problems]
        out[split] = (pairs, report)
    if problems:
        raise DataError(f"{len(problems)} problem(s) in the data; nothing was trained:\n"
                        + "\n".join(f"  {p}" for p in problems))
    return out


def _datasets(config: TrainConfig, strategy, checked: dict, repeat: bool = False):
    """Train/val/test tf.data datasets for a config (batch = global batch), from `check_data`'s pairs."""
    from fcnlib import data

    d = config.data
    class_weights = resolve_class_weights(config, checked["train"][1])
    common = dict(image_size=tuple(d.image_size), batch_size=config.batch_size,
                  mask_values=d.mask_values, resize=d.resize, num_classes=config.num_classes,
                  match_orientation=d.match_orientation)
    if d.ignore_index is not None:
        common["ignore_index"] = d.ignore_index
    train = data.make_dataset(checked["train"][0], augment=d.augment, shuffle=d.shuffle, cache=d.cache,
                              repeat=repeat, seed=config.seed,
                              class_weights=class_weights, **common)
    val = data.make_dataset(checked["val"][0], augment=None, cache=d.cache, **common) if d.val else None
    test = data.make_dataset(checked["test"][0], augment=None, **common) if d.test else None
    if strategy.num_replicas_in_sync > 1 or os.environ.get("TF_CONFIG"):
        import tensorflow as tf

        opts = tf.data.Options()
        opts.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        train, val, test = (ds.with_options(opts) if ds is not None else None for ds in (train, val, test))
    return train, val, test


def resolve_class_weights(config: TrainConfig, train_report=None):
    """None, an explicit list, or SegNet's median-frequency weights from the train split (void
    excluded: `verify` leaves `data.ignore_index` pixels out of the frequencies)."""
    cw = config.class_weights
    if cw in (None, False, "none"):
        return None
    if cw == "median":
        if train_report is None:
            train_report = check_data(config)["train"][1]
        return [float(w) for w in train_report.class_weights]
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
        init = presets.get(config.init).path if presets.is_preset(config.init) else config.init
        model.set_weights(models.load_model(init, compile=False).get_weights())
    void = {} if config.data.ignore_index is None else {"ignore_index": config.data.ignore_index}
    model.compile(optimizer=_optimizer(config, steps_per_epoch), loss=losses.get(config.loss, **void),
                  metrics=metrics.default_metrics(config.num_classes, **void), jit_compile=config.jit_compile)
    return model


def _synchronize_batch_norm(model) -> None:
    """Batch statistics over the global batch (all replicas) in every BatchNormalization layer.

    With several replicas, each one otherwise normalises with the statistics of its own share of
    the batch and keeps moving averages of its own: the workers of a multi-worker run end with
    different moving means and variances (the trainable weights agree). Synchronised, every
    replica computes what one device would on the whole batch, and all keep the same statistics.
    """
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.synchronized = True


def _count_batches(ds) -> int:
    n = int(ds.cardinality())
    if n < 0:
        n = sum(1 for _ in ds)
    return n


# ----------------------------------------------------------------------------- the run callback

class TimeBudget(keras.callbacks.Callback):
    """Stops training after the epoch in which the run's training time passes `minutes`.

    The wall time of each epoch (its training steps and its validation pass; not the data check, the
    final evaluation or calibration) is summed over resumed sessions in `state["train_seconds"]`, which
    `RunCheckpoint` saves; with `minutes` None it only keeps the sum. `state["train_cpu_seconds"]` sums
    the process's CPU time over the same spans (all threads, the input pipeline's included): on a
    shared machine, the compute a run actually got.
    """

    def __init__(self, minutes: float | None, state: dict):
        super().__init__()
        self.minutes, self.state = minutes, state

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._cpu_start = time.perf_counter(), time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self.state["train_seconds"] = self.state.get("train_seconds", 0.0) + time.perf_counter() - self._start
        self.state["train_cpu_seconds"] = (self.state.get("train_cpu_seconds", 0.0)
                                           + time.process_time() - self._cpu_start)
        if self.minutes is not None and self.state["train_seconds"] >= 60 * self.minutes:
            self.model.stop_training = True


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


def worker_role(config: TrainConfig) -> tuple[bool, int]:
    """(is this process the chief, its task index) under multi-worker training, from `TF_CONFIG`.

    The chief is the task of type "chief", or worker 0 when the cluster has no chief (the
    `tf.distribute` convention). Without TF_CONFIG, or with a strategy other than multiworker/auto,
    every process is its own chief.
    """
    raw = os.environ.get("TF_CONFIG")
    if not raw or config.strategy not in ("auto", "multiworker"):
        return True, 0
    try:
        tf_config = json.loads(raw)
        task, cluster = tf_config.get("task", {}), tf_config.get("cluster", {})
        kind, index = task.get("type"), int(task.get("index", 0))
    except (json.JSONDecodeError, AttributeError, TypeError, ValueError) as e:
        raise ValueError(f"TF_CONFIG: expected JSON with cluster and task ({e})") from None
    if kind == "chief":
        return True, index
    return kind == "worker" and index == 0 and "chief" not in cluster, index


def _work_dir(config: TrainConfig, run_dir) -> tuple[Path, bool]:
    """Where this process writes: the run folder for the chief; for another worker a temporary
    folder (removed at the end), since every worker runs the same callbacks but only the chief's
    files are the run's."""
    chief, index = worker_role(config)
    if chief:
        run = Path(run_dir) if run_dir else new_run_dir(config)
        run.mkdir(parents=True, exist_ok=True)
        return run, True
    import tempfile

    return Path(tempfile.mkdtemp(prefix=f"fcn-worker{index}-")), False


def train(config: TrainConfig, run_dir: str | Path | None = None, verbose: int | str = "auto") -> Path | None:
    """Train `config` in a new run folder (or `run_dir`) and return the folder.

    Every value of the config and every pair of every split are checked first (ConfigError or
    DataError naming the file); the run folder is made only after. Under multi-worker training,
    only the chief writes the run folder; another worker returns None.

    Example:

    >>> run = train(load_config("experiments/configs/demo.yaml", ["epochs=1"]))  # doctest: +SKIP
    """
    config = config.checked()
    if config.init is not None and not presets.is_preset(config.init) and not Path(config.init).is_file():
        raise FileNotFoundError(f"{config.init}: model file not found (config key init)")
    checked = check_data(config)
    out, chief = _work_dir(config, run_dir)
    save_config(config, out / CONFIG_FILE)
    state = {"epoch": 0, "history": [], "best": None, "best_epoch": None, "finished": False}
    atomic_write_text(out / RUN_STATE, json.dumps(state, indent=2))
    return _fit(config, out, state, verbose, checked, chief=chief)


def read_json(path: Path, what: str):
    """A JSON file of a run folder; errors name the file (missing, unreadable, not JSON)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: {what} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: {what} is not valid JSON ({e}); the file is damaged") from None


def read_state(run: Path) -> dict:
    """The `state.json` of a run folder, checked (epoch, history)."""
    path = Path(run) / RUN_STATE
    state = read_json(path, "run state")
    if (not isinstance(state, dict) or not isinstance(state.get("epoch"), int) or state["epoch"] < 0
            or not isinstance(state.get("history"), list)):
        raise ValueError(f"{path}: run state is damaged (expected an epoch count and a history list)")
    return state


def stopped_by(config: TrainConfig, state: dict) -> str:
    """Why a finished run ended: "plateau" (early stopping), "budget" (`time_budget_minutes`) or
    "epochs" (the configured number of epochs, or a NaN loss)."""
    since_best = state["epoch"] - (state.get("best_epoch") if state.get("best_epoch") is not None else -1) - 1
    if config.early_stopping and since_best >= config.early_stopping:
        return "plateau"
    budget = config.time_budget_minutes
    if budget is not None and state.get("train_seconds", 0.0) >= 60 * budget and state["epoch"] < config.epochs:
        return "budget"
    return "epochs"


def resume(run_dir: str | Path, verbose: int | str = "auto", time_budget_minutes: float | None = None) -> Path | None:
    """Continue an interrupted run from `latest.keras` and `state.json`.

    Refuses (FileNotFoundError naming the file) when `latest.keras` is gone although the state
    records training done: restarting from random weights under the old epoch counter and history
    would silently give a worse model. (`best.keras` is no substitute: it lacks the optimizer state
    and the epochs after the best one.) A run stopped before its first checkpoint starts over.

    `time_budget_minutes` replaces the run's budget (total training time, all sessions together; the
    run's config.yaml records it). A finished run that its budget stopped goes on with a larger one,
    e.g. to reach the plateau of a study run: its early-stopping and learning-rate counters carry on.
    A run that ended on its plateau or its epoch count stays finished.

    Example:

    >>> resume("runs/camvid-unet-s0-20261201-120000", time_budget_minutes=30)  # doctest: +SKIP
    """
    run = Path(run_dir)
    if not (run / CONFIG_FILE).exists():
        raise FileNotFoundError(f"{run}: not a run folder (no {CONFIG_FILE})")
    config = load_config(run / CONFIG_FILE)
    state = read_state(run)
    if time_budget_minutes is not None:
        extend = state.get("finished") and stopped_by(config, state) == "budget"
        config = dataclasses.replace(config, time_budget_minutes=time_budget_minutes).checked()
        if extend and stopped_by(config, state) == "budget":
            raise ValueError(f"{run}: {time_budget_minutes} min is not more than the {state['train_seconds'] / 60:.1f} "
                             f"min the run has trained; give a larger time budget")
        if extend:
            state["finished"] = False
        if not state.get("finished"):  # the budget this run trains under, recorded beside its state
            save_config(config, run / CONFIG_FILE)
    if state.get("finished"):
        print(f"{run}: already finished ({state['epoch']} epochs, stopped by {stopped_by(config, state)})")
        return run
    latest = run / "latest.keras"
    if not latest.exists() and (state["epoch"] > 0 or state.get("batches_in_epoch") or state["history"]):
        raise FileNotFoundError(
            f"{latest}: missing, but {run / RUN_STATE} records {state['epoch']} epoch(s) done; resuming "
            f"would restart from random weights. Put latest.keras back, or train anew: "
            f"fcn train {run / CONFIG_FILE}")
    checked = check_data(config)
    out, chief = _work_dir(config, run)
    return _fit(config, out, state, verbose, checked, chief=chief, source=run)


def _fit(config: TrainConfig, run: Path, state: dict, verbose, checked: dict, chief: bool = True,
         source: Path | None = None) -> Path | None:
    """Fit and finish; `run` is where this process writes, `source` the run folder it resumes from."""
    source = source or run
    keras.utils.set_random_seed(config.seed)  # before the datasets: their shuffle order depends on it
    mixed = use_mixed_precision(config.mixed_precision)
    strategy = pick_strategy(config.strategy)
    # several workers must agree on the steps of an epoch: a repeated dataset and a step count
    # (with a dataset that runs out, the workers wait on each other after the first epoch)
    multi_worker = getattr(strategy.extended, "_num_workers", 1) > 1
    steps_per_epoch = config.steps_per_epoch
    if multi_worker and steps_per_epoch is None:
        steps_per_epoch = max(1, len(checked["train"][0]) // config.batch_size)
    train_ds, val_ds, test_ds = _datasets(config, strategy, checked, repeat=steps_per_epoch is not None)
    steps = steps_per_epoch or _count_batches(train_ds)
    state["replicas"] = strategy.num_replicas_in_sync
    with strategy.scope():
        if (source / "latest.keras").exists():
            model = models.load_model(source / "latest.keras")
        else:
            model = build_and_compile(config, steps)
    if strategy.num_replicas_in_sync > 1:
        _synchronize_batch_norm(model)

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
                 TimeBudget(config.time_budget_minutes, state),  # before RunCheckpoint, which saves the sum
                 RunCheckpoint(run, config.monitor, config.checkpoint_every, watched, state)]
    if state["epoch"] < config.epochs:
        print(f"run: {run} (epochs {state['epoch']}..{config.epochs}, mixed precision {mixed}, "
              f"{strategy.num_replicas_in_sync} replica(s))")
        model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, initial_epoch=state["epoch"],
                  steps_per_epoch=steps_per_epoch, callbacks=callbacks, verbose=verbose,
                  shuffle=False)  # the tf.data pipeline shuffles
    finish(config, run, state, test_ds, val_ds)
    if chief:
        return run
    import shutil

    shutil.rmtree(run, ignore_errors=True)
    return None


def finish(config: TrainConfig, run: Path, state: dict, test_ds, val_ds) -> dict:
    """Evaluate the best model on val and test; write metrics.json, curves.png, the gallery; for a
    binary task calibrate `min_score` on val (under `calibration_max_false_rate` when set, for the score
    method `calibration_score_method`) and save both inside `best.keras` (a `Segmenter`)."""
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

        results["calibration"] = calibrate_min_score(Predictor.from_segmenter(segmenter),
                                                     read_split(config, config.data.val),
                                                     config.data.mask_values,
                                                     max_false_rate=config.calibration_max_false_rate,
                                                     score_method=config.calibration_score_method)
        segmenter = segmenter.with_spec(min_score=results["calibration"]["min_score"],
                                        score_method=config.calibration_score_method)
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
    return {"preprocessor": Preprocessor(tuple(config.data.image_size), config.data.resize,
                                         match_orientation=config.data.match_orientation),
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
