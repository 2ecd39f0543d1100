"""Benchmarks: commands that print measured figures (`fcn bench`), never timed unit tests.

- data:    photos/s of the input pipeline alone, and training throughput reading JPEGs through
           tf.data vs the same model fed in-memory arrays (`pipeline_ratio`, target >= 0.95);
- compute: achieved GFLOP/s of a training step of each model vs this machine's float32
           matrix-multiply rate measured in the same run (`flops_ratio`);
- extract: latency from a 600x800 JPEG path to the warped receipt with the shipped model
           (`extract_ms_median`, p95) and batch throughput;
- tflite:  the shipped model converted to TFLite: float parity and the IoU change of int8;
- coldstart: wall time of a whole `fcn extract PHOTO` process on one 600x800 photo (start-up included),
           median of a few runs, beside `python -c "import numpy"` as the floor of any such command.
Photos come from `../shared/data/receipts/images` when present, else from freshly generated
synthetic receipts in a temp folder. Figures print as they are measured; `--json` prints one object.
"""
from __future__ import annotations

import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

# Compute benchmark configurations: FCN-8s with VGG16's own convolution widths (fc narrowed to 1024: at
# 4096 the 100 M-parameter optimizer update, memory-bound, dominates the step), U-Net and SegNet-Basic at
# widths a 2-core CPU trains in seconds per step.
BENCH_MODELS = {"unet": {"base_filters": 32}, "fcn8s": {"base_filters": 64, "fc_filters": 1024},
                "segnet_basic": {"base_filters": 32}}


def photo_folder(tmp: Path, n: int = 48) -> Path:
    """The real receipt photos when present, else `n` synthetic ones written under `tmp`."""
    from fcnlib import nb

    real = nb.real_receipts()
    if real is not None:
        return real / "images"
    from fcnlib import synth

    synth.generate(tmp / "synth", n=n, seed=0, progress=False)
    return tmp / "synth" / "original"


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, flush=True)


def matmul_gflops(n: int = 2048, repeats: int = 10, rounds: int = 3) -> float:
    """This machine's float32 matrix-multiply rate through TensorFlow, in GFLOP/s: the best of
    `rounds` timings (the reference should be what the machine can do, not a slow moment)."""
    import tensorflow as tf

    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    f = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
    f(a, b).numpy()
    best = 0.0
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(repeats):
            f(a, b).numpy()
        best = max(best, 2 * n**3 * repeats / (time.perf_counter() - t) / 1e9)
    return best


def _train_rate(model, ds, steps: int, batch: int) -> float:
    """Photos/s of `model.fit` over `steps` batches of `ds`, after one warm-up epoch."""
    model.fit(ds, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)
    t = time.perf_counter()
    model.fit(ds, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False)
    return steps * batch / (time.perf_counter() - t)


def _steady_rate(model, batches, steps: int, batch: int) -> float:
    """Photos/s of `train_on_batch` over `steps` batches drawn from a running iterator: the pipeline
    keeps prefetching between calls, so no pipeline start-up is timed."""
    t = time.perf_counter()
    for _ in range(steps):
        x, y = next(batches)
        model.train_on_batch(x, y)
    return steps * batch / (time.perf_counter() - t)


def bench_data(folder: Path, quiet: bool = False, size: int = 256, batch: int = 8, steps: int = 6,
               rounds: int = 4) -> dict:
    """Pipeline alone, then JPEG-fed vs memory-fed training throughput of the light U-Net."""
    import keras
    import tensorflow as tf

    from fcnlib import data, losses, models

    alone = data.bench_pipeline(folder, n_batches=steps, batch_size=batch, size=size)
    _say(quiet, f"pipeline alone: {alone['photos_per_s']:.1f} photos/s ({size}x{size}, batch {batch}, augmented)")
    with tempfile.TemporaryDirectory() as tmp:
        photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        root = Path(tmp)
        (root / "mask").mkdir()
        pairs = []
        from PIL import Image

        for p in photos[: batch * steps]:
            h, w = data.read_image(p).shape[:2]
            m = np.zeros((h, w), np.uint8)
            m[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = 1
            Image.fromarray(m).save(root / "mask" / f"{p.stem}.png")
            pairs.append((p, root / "mask" / f"{p.stem}.png"))
        data.write_pairs(pairs, root / "pairs.txt")
        ds = data.make_dataset(root / "pairs.txt", (size, size), batch, augment=True, shuffle=True, repeat=True)
        x, y = next(iter(ds.take(1)))
        memory = tf.data.Dataset.from_tensors((x, y)).repeat()
        model = models.build("unet", input_shape=(size, size, 3), num_classes=1, base_filters=16)
        model.compile(optimizer="adam", loss=losses.get("bce+dice"))
        # `rounds` back-to-back pairs (memory, then JPEG) on two running iterators: each pair gives a
        # ratio under the same machine state; the median is the figure, the spread says how far to trust it
        from_memory, from_jpegs = iter(memory), iter(ds)
        for batches in (from_memory, from_jpegs):  # warm up: tracing, thread pools, shuffle buffer
            _steady_rate(model, batches, 2, batch)
        pairs = [(_steady_rate(model, from_memory, steps, batch), _steady_rate(model, from_jpegs, steps, batch))
                 for _ in range(rounds)]
        del from_jpegs  # stop prefetching before the temporary masks go away
    ratios = sorted(j / m for m, j in pairs)
    ratio = float(np.median(ratios))
    mem_rate, jpeg_rate = (float(np.median([p[i] for p in pairs])) for i in (0, 1))
    _say(quiet, f"training from JPEGs: {jpeg_rate:.2f} photos/s; from memory: {mem_rate:.2f} photos/s (medians); "
                f"pipeline_ratio {ratio:.3f} (median of {rounds} pairs, range {ratios[0]:.3f}-{ratios[-1]:.3f}; "
                f"target >= 0.95)")
    keras.backend.clear_session()
    return {"pipeline_photos_per_s": alone["photos_per_s"], "train_jpeg_photos_per_s": jpeg_rate,
            "train_memory_photos_per_s": mem_rate, "pipeline_ratio": ratio, "pipeline_ratios": ratios}


def compute_rate(name: str, opts: dict, size: int, batch: int, steps: int, jit_compile: bool) -> tuple[float, float]:
    """(training photos/s, forward FLOPs per photo) of one model on constant in-memory batches."""
    import tensorflow as tf

    from fcnlib import losses, models

    x = tf.random.uniform((batch, size, size, 3))
    y = tf.cast(tf.random.uniform((batch, size, size, 1)) > 0.5, tf.int32)
    model = models.build(name, input_shape=(size, size, 3), num_classes=1, **opts)
    model.compile(optimizer="adam", loss=losses.get("bce"), jit_compile=jit_compile)
    return _train_rate(model, tf.data.Dataset.from_tensors((x, y)).repeat(), steps, batch), \
        float(models.count_flops(model, size, size))


def bench_compute(quiet: bool = False, size: int = 256, batch: int = 8, steps: int = 6,
                  jit_compile: bool = True) -> dict:
    """Achieved training GFLOP/s per model (3x forward FLOPs per step) vs the matmul rate.

    Each model runs in a process of its own: in one process a model measured after larger ones ran at
    half its rate here (SegNet-Basic 0.40 after FCN-8s, 0.81 first). With XLA (`jit_compile=True`,
    `jit_compile: true` in a training config), which Keras leaves off on CPU-only machines, the
    normalisation and activation passes fuse around each convolution."""
    import json
    import subprocess
    import sys

    peak = matmul_gflops()
    _say(quiet, f"float32 matmul: {peak:.1f} GFLOP/s")
    ratios, rates = {}, {}
    for name, opts in BENCH_MODELS.items():
        code = (f"import json; from fcnlib import bench; "
                f"print(json.dumps(bench.compute_rate({name!r}, {opts!r}, {size}, {batch}, {steps}, {jit_compile})))")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        if done.returncode:
            raise RuntimeError(f"compute benchmark of {name} failed:\n{done.stderr[-2000:]}")
        photos_s, flops = json.loads(done.stdout.strip().splitlines()[-1])
        rates[name] = 3 * flops * photos_s / 1e9
        ratios[name] = rates[name] / peak
        _say(quiet, f"{name} {opts} (XLA {jit_compile}): {flops / 1e9:.2f} GFLOPs/photo forward, {photos_s:.2f} "
                    f"photos/s training, {rates[name]:.1f} GFLOP/s, flops_ratio {ratios[name]:.2f}")
    return {"matmul_gflops": peak, "train_gflops": rates, "flops_ratio": ratios, "compute_xla": jit_compile}


def bench_extract(folder: Path, quiet: bool = False, n: int = 40) -> dict:
    """Median and p95 latency, JPEG path -> warped receipt (`Predictor.extract`, then `warp`), with
    the median of each stage, and batch throughput."""
    from fcnlib import data, postprocess
    from fcnlib.predict import load_pretrained

    predictor = load_pretrained()
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))[:n]
    stages = {"read": [], "model": [], "quad": [], "warp": []}
    totals = []
    for i, p in enumerate(photos):
        t0 = time.perf_counter()
        image = data.read_image(p)
        t1 = time.perf_counter()
        (prob, placement), = predictor.model_outputs([image])
        t2 = time.perf_counter()
        found = predictor.extract_from(prob, placement)
        t3 = time.perf_counter()
        if found.corners is not None:
            postprocess.warp(image, found.corners)
        t4 = time.perf_counter()
        if i:  # the first call traces the model
            totals.append(t4 - t0)
            for key, dt in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                stages[key].append(dt)
    ms = np.array(totals) * 1000
    t = time.perf_counter()
    images = [data.read_image(p) for p in photos]
    for image, found in zip(images, predictor.extract(images, batch_size=8)):
        if found.corners is not None:
            postprocess.warp(image, found.corners)
    rate = len(photos) / (time.perf_counter() - t)
    out = {"extract_ms_median": float(np.median(ms)), "extract_ms_p95": float(np.percentile(ms, 95)),
           "extract_stage_ms_median": {k: float(np.median(v) * 1000) for k, v in stages.items()},
           "extract_batch_photos_per_s": rate}
    parts = ", ".join(f"{k} {v:.1f}" for k, v in out["extract_stage_ms_median"].items())
    _say(quiet, f"extraction: median {out['extract_ms_median']:.1f} ms, p95 {out['extract_ms_p95']:.1f} ms "
                f"(target median <= 50 ms; stages, median ms: {parts}); batch of 8: {rate:.1f} photos/s")
    return out


def bench_tflite(folder: Path, quiet: bool = False, n: int = 24) -> dict:
    """Shipped model as TFLite: float parity (max abs probability difference) and int8 IoU change.

    IoU is measured against the real receipts' masks when `folder` is the real photos, else against
    the float model's own masks (agreement)."""
    from fcnlib import data, metrics
    from fcnlib.models import export
    from fcnlib.predict import load_pretrained

    predictor = load_pretrained()
    photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))[:n]
    batch = np.stack([data.resize_image(data.read_image(p), predictor.image_size)[0] for p in photos])
    truth = None
    corners = folder.parent / "corners"
    if corners.is_dir():
        h, w = predictor.image_size
        truth = []
        for p in photos:
            c = data.read_corners(corners / f"{p.stem}.txt")
            full = data.read_image(p).shape[:2]
            truth.append(data.polygon_mask(c * [w / full[1], h / full[0]], h, w))
    ref = np.asarray(predictor.model.predict(batch, verbose=0))
    with tempfile.TemporaryDirectory() as tmp:
        f32 = export.to_tflite(predictor.model, Path(tmp) / "f32.tflite", input_size=predictor.image_size)
        i8 = export.to_tflite(predictor.model, Path(tmp) / "i8.tflite", quantize="int8",
                              representative=batch[:8], input_size=predictor.image_size)
        p32, p8 = export.tflite_predict(f32, batch), export.tflite_predict(i8, batch)
    labels = truth if truth is not None else list(ref[..., 0] > 0.5)

    def miou(prob):
        return float(np.mean([metrics.mask_iou(t, q[..., 0] > 0.5) for t, q in zip(labels, prob)]))

    out = {"tflite_float_max_abs_diff": float(np.abs(p32 - ref).max()),
           "tflite_iou_keras": miou(ref), "tflite_iou_int8": miou(p8),
           "tflite_int8_iou_change": miou(p8) - miou(ref), "tflite_iou_against": "truth" if truth else "float"}
    _say(quiet, f"TFLite float: max abs probability difference {out['tflite_float_max_abs_diff']:.2e} "
                f"(target <= 1e-4); int8: IoU {out['tflite_iou_int8']:.4f} vs Keras {out['tflite_iou_keras']:.4f} "
                f"(change {out['tflite_int8_iou_change']:+.4f}, against {out['tflite_iou_against']}, {len(photos)} photos)")
    return out


def bench_coldstart(folder: Path, quiet: bool = False, runs: int = 5, tf_runs: int = 3) -> dict:
    """Wall and CPU seconds of `fcn extract PHOTO -o DIR` in a fresh process (the shipped preset, one
    600x800 photo), median of `runs`; whether that process imported TensorFlow or Keras; and the same
    for `python -c "import numpy"`, the floor of any command. CPU time (user + sys) is what the wall time
    would be on an idle machine, less the file reads; on a loaded one the wall time is longer. The same
    command with TensorFlow imported first (what every command paid before) runs `tf_runs` times beside."""
    import json
    import subprocess
    import sys

    from PIL import Image

    from fcnlib import data

    tmp = Path(tempfile.mkdtemp())
    photo = tmp / "photo.jpg"
    image = data.read_image(sorted(folder.glob("*.jpg"))[0])
    Image.fromarray(image).resize((600, 800)).save(photo, quality=92)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    check = ("import sys; from fcnlib import cli; rc = cli.main(sys.argv[1:]); "
             "print('IMPORTED', [m for m in ('tensorflow', 'keras') if m in sys.modules]); sys.exit(rc)")

    def timed(args) -> tuple[float, float, str]:
        before = os.times()
        start = time.perf_counter()
        res = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
        wall = time.perf_counter() - start
        after = os.times()
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, args))} failed: {res.stderr[-2000:]}")
        return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system), res.stdout

    extract = [sys.executable, "-m", "fcnlib.cli", "extract", str(photo), "--model", "receipt", "-o", str(tmp / "out")]
    floor = [sys.executable, "-c", "import numpy"]
    # the same command in a process that imports TensorFlow first, as every fcnlib command did before
    # the LiteRT path: the start-up this benchmark is about, measured under the same load
    with_tf = [sys.executable, "-c", "import sys, tensorflow; from fcnlib import cli; sys.exit(cli.main(sys.argv[1:]))",
               *extract[3:]]
    walls, cpus, floors, tf_walls = [], [], [], []
    for i in range(runs):  # interleaved, so all see the same load
        w, c, _ = timed(extract)
        walls.append(w)
        cpus.append(c)
        floors.append(timed(floor)[0])
        if i < tf_runs:
            tf_walls.append(timed(with_tf)[0])
    out = timed([sys.executable, "-c", check, *extract[3:]])[2]
    imported = json.loads(out.split("IMPORTED", 1)[1].strip().replace("'", '"'))
    found = json.loads((tmp / "out" / "photo.json").read_text())["corners"] is not None
    figures = {"coldstart_s_median": float(np.median(walls)), "coldstart_s_min": float(min(walls)),
               "coldstart_s_max": float(max(walls)), "coldstart_cpu_s_median": float(np.median(cpus)),
               "coldstart_runs": runs, "coldstart_python_numpy_s_median": float(np.median(floors)),
               "coldstart_with_tensorflow_s_median": float(np.median(tf_walls)) if tf_walls else None,
               "coldstart_imports": imported, "coldstart_found": found,
               "coldstart_load_average": [round(v, 2) for v in os.getloadavg()]}
    _say(quiet, f"fcn extract, one 600x800 photo, fresh process: median {figures['coldstart_s_median']:.2f} s wall "
                f"(min {figures['coldstart_s_min']:.2f}, max {figures['coldstart_s_max']:.2f}, {runs} runs; "
                f"target <= 1.5 s), CPU {figures['coldstart_cpu_s_median']:.2f} s; python -c 'import numpy' "
                f"{figures['coldstart_python_numpy_s_median']:.2f} s; with TensorFlow imported first "
                f"{figures['coldstart_with_tensorflow_s_median']:.2f} s ({tf_runs} runs); imported {imported or 'neither TensorFlow nor Keras'}; "
                f"load average {figures['coldstart_load_average']}")
    return figures


def run(what: str = "all", json_only: bool = False) -> dict:
    """Run the chosen benchmarks; returns (and prints, unless json_only) their figures."""
    figures = {"machine": f"{platform.machine()}, {os.cpu_count()} CPU cores", "images": None}
    with tempfile.TemporaryDirectory() as tmp:
        folder = photo_folder(Path(tmp))
        figures["images"] = str(folder)
        if what in ("data", "all"):
            figures.update(bench_data(folder, json_only))
        if what in ("compute", "all"):
            figures.update(bench_compute(json_only))
        if what in ("extract", "all"):
            figures.update(bench_extract(folder, json_only))
        if what in ("tflite", "all"):
            figures.update(bench_tflite(folder, json_only))
        if what in ("coldstart", "all"):
            figures.update(bench_coldstart(folder, json_only))
    return figures
