"""GPU check of fcnlib's models under JAX, on a machine with no TensorFlow.

fcnlib's layers, models, losses and metrics use `keras.ops` only, so they should run unchanged on
any Keras backend. This script checks that on a GPU with KERAS_BACKEND=jax and prints the figures:

1. max pooling with argmax and max-unpooling (SegNet's switches) against a vectorised numpy
   reference (first maximum of each 2x2 window in row-major order), ties included;
2. every registered architecture trains on synthetic receipts (`fcnlib.synth`, no TensorFlow):
   loss falls, predictions have the input's size, a `.keras` save reloads to the same outputs;
3. the shipped model gives the same probabilities as TensorFlow on the CPU (reference arrays made by
   `--make-reference` on a TensorFlow machine);
4. training throughput (photos/s, achieved TFLOP/s from `count_flops`) of the benchmark models and of
   the shipped configuration, and the GPU's float32 matrix-multiply rate in the same run.

    # on the TensorFlow machine: the reference (inputs and TF outputs of the shipped model)
    python experiments/gpu_check.py --make-reference .gpu/ref.npz
    # on the GPU machine (keras carried as a wheel):
    KERAS_BACKEND=jax python experiments/gpu_check.py --reference .gpu/ref.npz --json OUT/gpu_check.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def synthetic_batch(n: int, height: int, width: int, seed: int = 0):
    """n synthetic receipt photos (float32 in [0, 1]) and masks (int32, (n, h, w, 1)) at this size."""
    from fcnlib import synth

    photos, masks = [], []
    for i in range(n):
        photo, mask, _ = synth.render(synth.photo_rng(seed, i), height, width)
        photos.append(photo.astype(np.float32) / 255)
        masks.append(mask[..., None].astype(np.int32))
    return np.stack(photos), np.stack(masks)


def make_reference(path: Path) -> None:
    """Inputs and TensorFlow-CPU outputs of the shipped model, for the parity check elsewhere."""
    from fcnlib import data, synth
    from fcnlib.predict import load_pretrained

    predictor = load_pretrained()
    photos = [synth.render(synth.photo_rng(7, i))[0] for i in range(8)]
    x = np.stack([data.resize_image(p, predictor.image_size, predictor.resize)[0] for p in photos])
    y = np.asarray(predictor.model.predict(x, verbose=0))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, x=x, y=y)
    print(f"{path}: {len(x)} inputs of {x.shape[1:]} and the TensorFlow outputs")


def check_switches() -> dict:
    """Pool/unpool on the accelerator against the numpy reference, with many ties."""
    import keras

    from fcnlib.models.layers import MaxPoolingWithArgmax, MaxUnpooling

    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, (4, 64, 48, 8)).astype(np.float32)  # values 0..3: ties in most windows
    pooled, switches = MaxPoolingWithArgmax()(keras.ops.convert_to_tensor(x))
    unpooled = keras.ops.convert_to_numpy(MaxUnpooling()([pooled, switches]))
    b, h, w, c = x.shape
    win = x.reshape(b, h // 2, 2, w // 2, 2, c).transpose(0, 1, 3, 5, 2, 4).reshape(b, h // 2, w // 2, c, 4)
    first = win.argmax(-1)  # first maximum, row-major within the window
    expect = np.zeros_like(win)
    np.put_along_axis(expect, first[..., None], win.max(-1, keepdims=True), -1)
    expect = expect.reshape(b, h // 2, w // 2, c, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(b, h, w, c)
    ok = bool(np.array_equal(keras.ops.convert_to_numpy(pooled), win.max(-1)) and np.array_equal(unpooled, expect))
    print(f"switches: pooling and unpooling equal the numpy reference: {ok}")
    return {"switches_exact": ok}


SMALL = {"segnet": {"base_filters": 8}, "segnet_basic": {"base_filters": 16}, "unet": {"base_filters": 8},
         "fcn32s": {"base_filters": 8, "fc_filters": 64}, "fcn16s": {"base_filters": 8, "fc_filters": 64},
         "fcn8s": {"base_filters": 8, "fc_filters": 64}}


def check_models(x, y, steps: int, tmp: Path) -> dict:
    """Every architecture: trains (loss falls), predicts at input size, reloads to the same outputs."""
    import keras

    from fcnlib import losses, metrics, models

    out = {}
    for name in models.available():
        model = models.build(name, input_shape=x.shape[1:], num_classes=1, **SMALL.get(name, {}))
        model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=losses.get("bce+dice"),
                      metrics=[metrics.IoU(num_classes=2)])
        hist = model.fit(x, y, batch_size=8, epochs=steps, verbose=0).history["loss"]
        pred = model.predict(x[:4], verbose=0)
        model.save(tmp / f"{name}.keras")
        again = models.load_model(tmp / f"{name}.keras", compile=False).predict(x[:4], verbose=0)
        out[name] = {"loss_first": float(hist[0]), "loss_last": float(hist[-1]),
                     "falls": bool(hist[-1] < hist[0]), "shape_ok": pred.shape == y[:4].shape,
                     "reload_max_abs_diff": float(np.abs(pred - again).max())}
        print(f"{name}: loss {hist[0]:.3f} -> {hist[-1]:.3f}, output {pred.shape}, "
              f"reload max abs diff {out[name]['reload_max_abs_diff']:.1e}")
        keras.backend.clear_session()
    return out


def check_shipped(reference: Path) -> dict:
    """The shipped weights under this backend against TensorFlow's outputs on the CPU."""
    from fcnlib.models import load_model
    from fcnlib.predict import DEFAULT_MODEL

    ref = np.load(reference)
    y = np.asarray(load_model(DEFAULT_MODEL, compile=False).predict(ref["x"], verbose=0))
    diff = float(np.abs(y - ref["y"]).max())
    agree = float(np.mean((y > 0.5) == (ref["y"] > 0.5)))
    print(f"shipped model vs TensorFlow CPU: max abs probability difference {diff:.2e}, mask agreement {agree:.6f}")
    return {"shipped_max_abs_diff": diff, "shipped_mask_agreement": agree}


def matmul_tflops(n: int = 8192, repeats: int = 20) -> float:
    """float32 matrix multiply at full float32 precision (no TF32), TFLOP/s."""
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.PRNGKey(0), (n, n), jnp.float32)
    f = jax.jit(lambda a: jnp.dot(a, a, precision=jax.lax.Precision.HIGHEST))
    f(a).block_until_ready()
    t = time.perf_counter()
    for _ in range(repeats):
        r = f(a)
    r.block_until_ready()
    return 2 * n**3 * repeats / (time.perf_counter() - t) / 1e12


def throughput(configs: dict, batch: int, steps: int) -> dict:
    """Photos/s and achieved TFLOP/s (3 x forward FLOPs per photo) of `train_on_batch`."""
    import keras

    from fcnlib import losses, models

    out = {}
    for label, (name, size, opts) in configs.items():
        x, y = synthetic_batch(batch, *size, seed=3)
        model = models.build(name, input_shape=(*size, 3), num_classes=1, **opts)
        model.compile(optimizer="adam", loss=losses.get("bce+dice"))
        flops = models.count_flops(model, *size)
        for _ in range(3):  # compile and warm up
            model.train_on_batch(x, y)
        t = time.perf_counter()
        for _ in range(steps):
            loss = model.train_on_batch(x, y)
        float(loss)  # waits for the device
        rate = steps * batch / (time.perf_counter() - t)
        out[label] = {"photos_per_s": rate, "tflops": 3 * flops * rate / 1e12, "batch": batch, "size": list(size)}
        print(f"{label}: {rate:.0f} photos/s training at {size[0]}x{size[1]}, batch {batch}, "
              f"{out[label]['tflops']:.2f} TFLOP/s achieved")
        keras.backend.clear_session()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--make-reference", type=Path, help="write the TensorFlow reference here and stop")
    ap.add_argument("--reference", type=Path, help="reference .npz for the shipped-model parity check")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--steps", type=int, default=15, help="training epochs per model in the check")
    ap.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run on a CPU)")
    args = ap.parse_args(argv)
    if args.make_reference:
        make_reference(args.make_reference)
        return 0
    import tempfile

    import keras

    from fcnlib.bench import BENCH_MODELS

    figures = {"backend": keras.backend.backend(), "keras": keras.__version__}
    if figures["backend"] == "jax":
        import jax

        figures["devices"] = [str(d) for d in jax.devices()]
        print("devices:", figures["devices"])
    figures.update(check_switches())
    size = (64, 48) if args.quick else (192, 144)
    x, y = synthetic_batch(8 if args.quick else 32, *size)
    with tempfile.TemporaryDirectory() as tmp:
        figures["models"] = check_models(x, y, 2 if args.quick else args.steps, Path(tmp))
    if args.reference:
        figures.update(check_shipped(args.reference))
    if figures["backend"] == "jax" and not args.quick:
        figures["matmul_f32_tflops"] = matmul_tflops()
        print(f"float32 matmul (full precision): {figures['matmul_f32_tflops']:.1f} TFLOP/s")
    configs = {name: (name, (256, 256), opts) for name, opts in BENCH_MODELS.items()}
    configs["shipped (unet 8 separable, 192x144)"] = (
        "unet", (192, 144), {"depth": 4, "base_filters": 8, "separable": True, "upsampling": "bilinear"})
    if args.quick:
        configs = {k: (n, (64, 64), o) for k, (n, _, o) in list(configs.items())[:1]}
    figures["throughput"] = throughput(configs, 8 if args.quick else 64, 2 if args.quick else 20)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
