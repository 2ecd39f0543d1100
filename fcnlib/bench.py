"""Benchmarks: commands that print measured figures (`fcn bench`), never timed unit tests.

- data:    photos/s of the input pipeline alone, and training throughput reading JPEGs through
           tf.data vs the same model fed in-memory arrays (`pipeline_ratio`, target >= 0.95);
- compute: achieved GFLOP/s of a training step of each model vs this machine's float32
           matrix-multiply rate measured in the same run (`flops_ratio`);
- extract: latency and peak memory from a JPEG path to the corners and the flattened receipt with the
           shipped model, on synthetic photos of 600x800, 12 MP and 48 MP, each size in its own process;
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
    from fcnlib import shared_data

    real = shared_data.real_receipts()
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


def bench_pipeline(image_dir, n_batches: int = 20, batch_size: int = 8, size: int = 256,
                   augment=True) -> dict:
    """Photos/s of the input pipeline alone (decode, EXIF, resize, augment, batch).

    ``image_dir``: a pairs file, a dataset root (original/ + mask/), or a folder of photos (then
    all-zero masks are written to a temporary folder so the mask path is exercised too).

    Example:

    >>> bench_pipeline("data/synth/pairs.txt", n_batches=4)["photos_per_s"]  # doctest: +SKIP
    """
    from PIL import Image

    from fcnlib import data

    image_dir = Path(image_dir)
    with tempfile.TemporaryDirectory() as tmp:
        if image_dir.is_file():
            pairs = data.read_pairs(image_dir)
        elif (image_dir / "original").is_dir():
            pairs = data.make_pairs(image_dir)[0]
        else:
            photos = sorted(p for p in image_dir.iterdir() if p.is_file() and data.is_photo(p))
            if not photos:
                raise data.DataError(image_dir, f"no photos ({', '.join(data.PHOTO_SUFFIXES)}) in this folder")
            pairs = []
            for photo in photos:
                with Image.open(photo) as im:
                    w, h = data.upright_size(im.size, data.exif_orientation(photo))
                mask = Path(tmp) / f"{photo.stem}.png"
                Image.fromarray(np.zeros((h, w), np.uint8)).save(mask)
                pairs.append((photo, mask))
        ds = data.make_dataset(pairs, (size, size), batch_size, augment=augment, shuffle=True, repeat=True)
        it = iter(ds)
        for _ in range(2):  # warm up: tracing, thread pools, file cache
            next(it)
        start = time.perf_counter()
        for _ in range(n_batches):
            next(it)
        seconds = time.perf_counter() - start
        del it, ds  # stop prefetching before the temporary masks go away
    return {"photos_per_s": n_batches * batch_size / seconds, "seconds": seconds, "batches": n_batches,
            "batch_size": batch_size, "size": size, "files": len(pairs), "augment": bool(augment)}


def bench_data(folder: Path, quiet: bool = False, size: int = 256, batch: int = 8, steps: int = 6,
               rounds: int = 4) -> dict:
    """Pipeline alone, then JPEG-fed vs memory-fed training throughput of the light U-Net."""
    import keras
    import tensorflow as tf

    from fcnlib import data, losses, models

    alone = bench_pipeline(folder, n_batches=steps, batch_size=batch, size=size)
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

    Each model runs in a process of its own: in one process, a model measured after larger ones ran
    far below its own rate (the figures are in `experiments/results/bench.md`). With XLA (`jit_compile=True`,
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


# Rows of `fcn bench extract`: (label, (height, width)); synthetic photos rendered at 600x800, upscaled.
EXTRACT_ROWS = (("600x800", (800, 600)), ("12 MP", (4000, 3000)), ("48 MP", (8000, 6000)))
EXTRACT_PHOTOS = {"600x800": 24, "12 MP": 10, "48 MP": 2}


def extract_photos(folder: Path, size: tuple[int, int], n: int, seed: int = 5) -> list[Path]:
    """`n` synthetic receipt JPEGs of `size` (height, width) in `folder`: rendered at 600x800 by
    `fcnlib.synth` (a seed no model trained on), upscaled bicubic with a little sensor-like noise so the
    JPEG carries as much detail to decode as a phone photo of that size (quality 90)."""
    from PIL import Image

    from fcnlib import synth

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        rng = synth.photo_rng(seed, i)
        photo, _, _ = synth.render(rng, 800, 600)
        im = Image.fromarray(photo)
        if (size[0], size[1]) != (800, 600):
            im = im.resize((size[1], size[0]), Image.Resampling.BICUBIC)
            noise = rng.normal(0, 2.0, (size[0], size[1], 1)).astype(np.float32)
            im = Image.fromarray(np.clip(np.asarray(im, np.float32) + noise, 0, 255).astype(np.uint8))
        path = folder / f"photo_{i:03d}.jpg"
        im.save(path, "JPEG", quality=90)
        paths.append(path)
    return paths


def _peak_rss_mb() -> float:
    """Peak resident memory of this process in MB: VmHWM (reset by exec, so a benchmark process does not
    inherit the high-water mark of the process that started it, as ru_maxrss does), else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def extract_latency(folder, repeats: int = 2, preset: str | None = None) -> dict:
    """In this process: JPEG path -> corners and flattened receipt (`postprocess.extract_file` with
    the shipped model, refinement as shipped) for every photo of `folder`, `repeats` times after one
    warm-up call. Returns median/p95 ms, stage medians, and peak RSS (MB) with the model loaded, after
    the warm-up photo and at the end (memory that grew with the photos would show as the difference).
    `preset`: another shipped model than the default (`fcnlib.presets`).

    Example:
    >>> extract_latency("photos/", repeats=1)["ms_median"]  # doctest: +SKIP
    """
    from fcnlib import postprocess
    from fcnlib.predict import Predictor, load_pretrained

    predictor = load_pretrained() if preset is None else Predictor.load(preset)
    rss_loaded = _peak_rss_mb()
    photos = sorted(Path(folder).glob("*.jpg"))
    postprocess.extract_file(predictor, photos[0])
    rss_first = _peak_rss_mb()
    totals, stages, found = [], {}, 0
    for _ in range(repeats):
        for p in photos:
            timings: dict = {}
            t = time.perf_counter()
            result, flat = postprocess.extract_file(predictor, p, timings=timings)
            totals.append(time.perf_counter() - t)
            found += result.corners is not None
            for k, v in timings.items():
                stages.setdefault(k, []).append(v)
    ms = np.array(totals) * 1000
    return {"photos": len(photos), "runs": len(totals), "found": found,
            "ms_median": float(np.median(ms)), "ms_p95": float(np.percentile(ms, 95)),
            "stage_ms_median": {k: float(np.median(v) * 1000) for k, v in stages.items()},
            "peak_rss_mb_loaded": rss_loaded, "peak_rss_mb_first_photo": rss_first, "peak_rss_mb": _peak_rss_mb()}


def extract_folder_rss(folder, n: int) -> float:
    """Peak RSS (MB) of this process after `fcnlib.outputs.extract_files` wrote the receipts of the first
    `n` photos of `folder` (as `fcn extract FOLDER` does): compared across `n`, it shows whether memory
    grows with the number of photos."""
    from fcnlib.outputs import extract_files
    from fcnlib.predict import load_pretrained

    photos = sorted(Path(folder).glob("*.jpg"))[:n]
    with tempfile.TemporaryDirectory() as out:
        extract_files(load_pretrained(), photos, out)
    return _peak_rss_mb()


def _in_subprocess(code: str, what: str):
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", f"import json; from fcnlib import bench; print(json.dumps({code}))"],
                          capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if done.returncode:
        raise RuntimeError(f"{what} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_extract(quiet: bool = False, rows=EXTRACT_ROWS, repeats: int = 2) -> dict:
    """Latency and peak memory, JPEG path -> corners and flattened receipt, at 600x800, 12 MP and 48 MP.

    Each size runs in a fresh process of its own (so its peak RSS is its own, start-up excluded from the
    timings: one warm-up photo), on synthetic photos of that size (`extract_photos`)."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, size in rows:
            folder = Path(tmp) / label.replace(" ", "")
            extract_photos(folder, size, EXTRACT_PHOTOS.get(label, 4))
            row = _in_subprocess(f"bench.extract_latency({str(folder)!r}, {repeats})",
                                 f"extraction benchmark at {label}")
            out[label] = row
            parts = ", ".join(f"{k} {v:.1f}" for k, v in row["stage_ms_median"].items())
            _say(quiet, f"extraction {label} ({size[1]}x{size[0]} JPEG -> corners and flattened receipt): median "
                        f"{row['ms_median']:.1f} ms, p95 {row['ms_p95']:.1f} ms over {row['runs']} runs "
                        f"({row['found']} receipts found); stages, median ms: {parts}; peak RSS "
                        f"{row['peak_rss_mb']:.0f} MB ({row['peak_rss_mb_loaded']:.0f} MB with the model loaded, "
                        f"{row['peak_rss_mb_first_photo']:.0f} MB after the first photo)")
            if label == "12 MP":  # a folder streams: peak memory of `fcn extract FOLDER` with 1 photo vs all
                n = EXTRACT_PHOTOS[label]
                row["folder_peak_rss_mb"] = {str(k): _in_subprocess(f"bench.extract_folder_rss({str(folder)!r}, {k})",
                                                                    "folder extraction") for k in (1, n)}
                _say(quiet, f"fcn extract on a folder of {label} photos: peak RSS "
                            f"{row['folder_peak_rss_mb']['1']:.0f} MB with 1 photo, {row['folder_peak_rss_mb'][str(n)]:.0f} MB with {n}")
    small = out.get("600x800")
    figures = {"extract": out}
    if small:
        figures.update(extract_ms_median=small["ms_median"], extract_ms_p95=small["ms_p95"])
    return figures


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
        res = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600, cwd=tmp)
        wall = time.perf_counter() - start
        after = os.times()
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, args))} failed: {res.stderr[-2000:]}")
        return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system), res.stdout

    # the command as a user types it: the default preset, no --model
    typed = ["extract", photo.name, "-o", "out"]
    extract = [sys.executable, "-m", "fcnlib.cli", *typed]
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
               "coldstart_command": " ".join(["fcn", *typed]),
               "coldstart_load_average": [round(v, 2) for v in os.getloadavg()]}
    _say(quiet, f"fcn extract, one 600x800 photo, fresh process: median {figures['coldstart_s_median']:.2f} s wall "
                f"(min {figures['coldstart_s_min']:.2f}, max {figures['coldstart_s_max']:.2f}, {runs} runs; "
                f"target <= 1.5 s), CPU {figures['coldstart_cpu_s_median']:.2f} s; python -c 'import numpy' "
                f"{figures['coldstart_python_numpy_s_median']:.2f} s; "
                + (f"with TensorFlow imported first {figures['coldstart_with_tensorflow_s_median']:.2f} s ({tf_runs} runs); "
                   if tf_walls else "") + f"imported {imported or 'neither TensorFlow nor Keras'}; "
                f"load average {figures['coldstart_load_average']}")
    return figures


def run(what: str = "all", json_only: bool = False) -> dict:
    """Run the chosen benchmarks; returns (and prints, unless json_only) their figures."""
    figures = {"machine": f"{platform.machine()}, {os.cpu_count()} CPU cores", "images": None}
    with tempfile.TemporaryDirectory() as tmp:
        folder = None
        if what != "extract":  # the extraction benchmark makes photos of its own sizes
            folder = photo_folder(Path(tmp))
            figures["images"] = str(folder)
        if what in ("data", "all"):
            figures.update(bench_data(folder, json_only))
        if what in ("compute", "all"):
            figures.update(bench_compute(json_only))
        if what in ("extract", "all"):
            figures.update(bench_extract(json_only))
        if what in ("tflite", "all"):
            figures.update(bench_tflite(folder, json_only))
        if what in ("coldstart", "all"):
            figures.update(bench_coldstart(folder, json_only))
    return figures
