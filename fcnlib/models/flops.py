"""FLOPs of a model counted layer by layer from the built layer shapes (not guessed).

FLOPs = 2 x multiply-adds of the convolution and dense layers (Conv2D, SeparableConv2D,
DepthwiseConv2D, Conv2DTranspose, Dense): the convention of papers and of the ``fcn models`` table.
Bias additions and elementwise layers (normalization, activations, pooling, unpooling, upsampling,
concatenation, add) are excluded: together they are well under 1 % of these models' work.
Nested models (the ``keras.applications`` encoder of a U-Net or FCN) are counted layer by layer.
"""
from __future__ import annotations

import math

import keras

__all__ = ["count_flops", "layer_flops", "summary_table", "format_table"]


def _spatial(shape) -> int:
    return math.prod(int(d) for d in shape[1:-1])


def _flops_of(layer) -> int:
    """2 x multiply-adds of one layer called once in a graph with fully known shapes."""
    if isinstance(layer, keras.layers.SeparableConv2D):
        kh, kw = layer.kernel_size
        cin = layer.input.shape[-1]
        out = _spatial(layer.output.shape)
        return 2 * out * cin * (kh * kw * layer.depth_multiplier + layer.depth_multiplier * layer.filters)
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        kh, kw = layer.kernel_size
        return 2 * _spatial(layer.output.shape) * layer.input.shape[-1] * kh * kw * layer.depth_multiplier
    if isinstance(layer, keras.layers.Conv2DTranspose):  # every input pixel scatters a full kernel
        kh, kw = layer.kernel_size
        return 2 * _spatial(layer.input.shape) * layer.input.shape[-1] * kh * kw * layer.filters
    if isinstance(layer, keras.layers.Conv2D):
        kh, kw = layer.kernel_size
        cin = layer.input.shape[-1] // layer.groups
        return 2 * _spatial(layer.output.shape) * kh * kw * cin * layer.filters
    if isinstance(layer, keras.layers.Dense):
        return 2 * math.prod(layer.input.shape[1:]) * layer.units
    return 0


def _leaves(model: keras.Model, prefix: str = ""):
    """(path, layer) of every layer, descending into nested models (path "encoder/block1_conv1")."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _leaves(layer, f"{prefix}{layer.name}/")
        else:
            yield f"{prefix}{layer.name}", layer


def layer_flops(model: keras.Model, height: int, width: int) -> list[tuple[str, str, int]]:
    """(layer name, layer class, FLOPs) per layer for one ``height`` x ``width`` image; layers of a
    nested model are named ``"outer/inner"``."""
    fixed = _at_size(model, height, width)
    return [(path, type(layer).__name__, _flops_of(layer)) for path, layer in _leaves(fixed)]


def count_flops(model: keras.Model, height: int, width: int) -> float:
    """FLOPs (2 x multiply-adds) of one forward pass on a ``height`` x ``width`` image."""
    return float(sum(f for _, _, f in layer_flops(model, height, width)))


def _at_size(model: keras.Model, height: int, width: int) -> keras.Model:
    """The same architecture with a fixed input size, so every layer shape is known."""
    channels = model.input_shape[-1]
    if tuple(model.input_shape[1:3]) == (height, width):
        return model
    config = model.get_config()
    if "input_shape" not in config:
        raise ValueError(
            f"count_flops needs a model built at {height}x{width} or an fcnlib model whose config "
            f"has input_shape; got {type(model).__name__} with input {model.input_shape}"
        )
    return type(model).from_config({**config, "input_shape": [height, width, channels]})


def summary_table(size: int = 256, num_classes: int = 2) -> list[dict]:
    """One row per registered architecture with its defaults at ``size`` x ``size``:
    dict(name, params, gflops, output_shape)."""
    from fcnlib.models import available, build

    rows = []
    for name in available():
        model = build(name, input_shape=(size, size, 3), num_classes=num_classes)
        rows.append(
            {
                "name": name,
                "params": int(model.count_params()),
                "gflops": count_flops(model, size, size) / 1e9,
                "output_shape": tuple(model.output_shape),
            }
        )
        del model
        keras.backend.clear_session()
    return rows


def format_table(rows: list[dict]) -> str:
    """Plain-text table of :func:`summary_table` rows."""
    header = f"{'model':<14} {'params':>13} {'GFLOPs':>9}  output shape"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(f"{r['name']:<14} {r['params']:>13,} {r['gflops']:>9.1f}  {r['output_shape']}")
    lines.append("GFLOPs = 2 x multiply-adds of convolution/dense layers per image.")
    return "\n".join(lines)
