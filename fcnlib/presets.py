"""Shipped models by name, in the manner of keras-hub's presets.

A preset is a `Segmenter` `.keras` file inside the package (it describes itself: input size, resize,
class names, `min_score`) and, optionally, its TFLite copy, which `fcnlib.predict` runs through LiteRT
so that a one-photo command starts without TensorFlow. Names work wherever a model is asked for:
`Segmenter.from_preset("document")`, `Predictor.load("receipt")`, `fcn extract --model receipt`. The default
(`fcnlib.load_pretrained()`, `fcn extract` without `--model`) is DEFAULT_PRESET.

This module imports neither Keras nor TensorFlow.

Example:

>>> list_presets()
['document', 'receipt']
>>> get(DEFAULT_PRESET).path.name
'document_unet.keras'
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

WEIGHTS = Path(__file__).parent / "weights"


@dataclass(frozen=True)
class Preset:
    """A shipped model: its `Segmenter` file, its TFLite copy (or None), one line on what it is and, for
    a model whose preprocessor matches the photo's orientation, the TFLite copy at the input size turned
    (a TFLite model has one input size)."""

    name: str
    path: Path
    tflite: Path | None
    description: str
    tflite_turned: Path | None = None


_PRESETS = {
    "document": Preset(
        "document", WEIGHTS / "document_unet.keras", WEIGHTS / "document_unet.tflite",
        "U-Net that finds one paper document in a phone photo (binary: receipts, letters, forms, book "
        "pages are all 'document'), trained on synthetic photos only; see experiments/results/shipped_model.md",
        WEIGHTS / "document_unet_turned.tflite"),
    "receipt": Preset(
        "receipt", WEIGHTS / "receipt_unet.keras", WEIGHTS / "receipt_unet.tflite",
        "U-Net that finds one receipt in a phone photo (binary), trained on synthetic receipts only; the "
        "document model's starting point, kept as it was; see experiments/results/shipped_model.md"),
}
DEFAULT_PRESET = "document"  # what `fcnlib.load_pretrained()` and `fcn extract` use
# old names kept working for one version, with a DeprecationWarning
_ALIASES = {"default": "receipt"}


def list_presets() -> list[str]:
    """Names of the shipped models."""
    return list(_PRESETS)


def is_preset(name) -> bool:
    """True when `name` (a string) names a preset or a deprecated alias of one."""
    return isinstance(name, str) and (name in _PRESETS or name in _ALIASES)


def get(name: str, *, must_exist: bool = True) -> Preset:
    """The preset called `name`; a clear error listing the presets when there is none, and (unless
    `must_exist` is False: only its file names are wanted) when its model file is missing.

    Example:

    >>> get("receipt").tflite.suffix
    '.tflite'
    """
    if name in _ALIASES:
        warnings.warn(f"model name {name!r} is deprecated; use {_ALIASES[name]!r}", DeprecationWarning,
                      stacklevel=2)
        name = _ALIASES[name]
    if name not in _PRESETS:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(list_presets())}")
    preset = _PRESETS[name]
    if must_exist and not preset.path.is_file():
        raise FileNotFoundError(f"{preset.path}: the {name!r} preset's model is missing from this install")
    return preset
