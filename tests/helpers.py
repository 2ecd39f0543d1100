"""What tests share (fixtures are in ``conftest.py``): checks for Keras objects in the manner of
keras-hub's ``src/tests/test_case.py``, tiny configs, known-answer models and photos, image files.

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
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


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


def save_image(path: Path, arr, mode=None, **kw) -> Path:
    """Write `arr` as an image file (folders made as needed); returns `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(arr), mode).save(path, **kw)
    return path


def tiny_config(root: Path, out: Path, **overrides):
    """A TrainConfig that trains a 2-level U-Net of 4 filters on `root` in seconds."""
    from fcnlib.train import DataConfig, TrainConfig

    cfg = TrainConfig(name="tiny", model="unet", model_options={"depth": 2, "base_filters": 4},
                      data=DataConfig(train=str(root / "train.txt"), val=str(root / "val.txt"),
                                      test=str(root / "test.txt"), image_size=[48, 48], augment=False,
                                      cache=False),
                      batch_size=4, epochs=2, output_dir=str(out), gallery=2, checkpoint_every=2)
    for k, v in overrides.items():
        setattr(cfg, k, v)
    return cfg


def bright_quad_model(path: Path) -> Path:
    """A real .keras model that segments bright paper on a dark background (1x1 conv + sigmoid).

    It lets the prediction and extraction tests check corners against a photo whose corners are
    known exactly, without a long training.
    """
    import keras
    import numpy as np

    inputs = keras.Input((None, None, 3))
    conv = keras.layers.Conv2D(1, 1, activation="sigmoid")
    model = keras.Model(inputs, conv(inputs))
    conv.set_weights([np.full((1, 1, 3, 1), 40 / 3, np.float32), np.array([-20.0], np.float32)])
    model.save(path)
    return path


def bright_quad_photo(path: Path, corners, size=(800, 600)) -> Path:
    """A dark photo with one bright quadrilateral at `corners` (TL, TR, BR, BL, x/y pixels)."""
    import numpy as np
    from PIL import Image
    from skimage.draw import polygon

    img = np.full((*size, 3), 40, np.uint8)
    c = np.asarray(corners, float)
    rr, cc = polygon(c[:, 1], c[:, 0], size)
    img[rr, cc] = 230
    Image.fromarray(img).save(path, quality=95)
    return path
