"""Shared checks for tests of Keras objects (in the manner of keras-hub's ``src/tests/test_case.py``).

Import with ``from helpers import run_serialization_test, run_model_saving_test`` (pytest puts the
tests folder on ``sys.path``, as for ``conftest``).

* :func:`run_serialization_test`: the config is JSON-able, names every constructor argument, and
  ``from_config(get_config())`` rebuilds an object with the same config (and, for layers and
  models, the same weight shapes); also through ``keras.saving.serialize_keras_object``.
* :func:`run_model_saving_test`: ``.keras`` save, reload in safe mode, same class, same config, same
  outputs on ``input_data``.
"""
from __future__ import annotations

import inspect
import json
from pathlib import Path

import keras
import numpy as np


def init_arg_names(cls) -> list[str]:
    """Names of the constructor arguments of ``cls`` (without self/args/kwargs)."""
    params = inspect.signature(cls.__init__).parameters.values()
    return [p.name for p in params if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _weight_shapes(obj) -> list[tuple]:
    return [tuple(w.shape) for w in getattr(obj, "weights", [])]


def run_serialization_test(instance, init_kwargs: dict | None = None) -> dict:
    """Asserts that ``instance``'s config round-trips; returns the config.

    ``init_kwargs``: the arguments ``instance`` was built with; each must come back in the config
    with the same value (tuples compare as lists).

    Example:
    ```python
    run_serialization_test(models.build("unet", base_filters=4, depth=2), {"depth": 2})
    ```
    """
    cls = type(instance)
    config = instance.get_config()
    json.dumps(config)  # JSON-able: .keras files store it as JSON
    missing = set(init_arg_names(cls)) - set(config)
    assert not missing, f"{cls.__name__}.get_config() lacks constructor arguments {sorted(missing)}"
    for key, value in (init_kwargs or {}).items():
        expected = list(value) if isinstance(value, tuple) else value
        assert config[key] == expected, f"{key}: config has {config[key]!r}, built with {value!r}"

    clone = cls.from_config(config)
    assert clone.get_config() == config
    assert _weight_shapes(clone) == _weight_shapes(instance)

    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(instance))
    assert type(revived) is cls and revived.get_config() == config
    return config


def run_model_saving_test(model: keras.Model, input_data, tmp_path: Path, atol: float = 0.0) -> keras.Model:
    """Saves ``model`` as ``.keras``, reloads it in safe mode and asserts the same class, config and
    outputs on ``input_data`` (exactly equal unless ``atol``); returns the reloaded model.

    Example:
    ```python
    run_model_saving_test(model, np.zeros((1, 32, 32, 3), "float32"), tmp_path)
    ```
    """
    path = Path(tmp_path) / f"{model.name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    expected, got = np.asarray(model(input_data)), np.asarray(loaded(input_data))
    np.testing.assert_allclose(got, expected, rtol=0, atol=atol)
    return loaded
