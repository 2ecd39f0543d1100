"""The reference point of issue 11: a plain Keras U-Net written the way the keras-io examples write one.

No fcnlib inside, on purpose: 16 base filters, depth 4, batch norm, inputs 176x240, SegNet's
median-frequency class weights computed on the training labels with void (11) excluded, void weighted 0,
Adam 1e-3, random flips and brightness, batch 8, trained for a wall-time budget; scored on the validation
frames at 360x480 (logits upsampled bilinearly), void ignored: global accuracy, class-average accuracy, mIoU.

Usage (from the repo root; needs ../shared/data/camvid):
    python experiments/camvid/kerasio_unet_baseline.py --minutes 20 --seed 0 --json out.json
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf
from PIL import Image

VOID, CLASSES = 11, 11
SIZE = (176, 240)


def pairs(camvid: Path, split: str) -> list[tuple[str, str]]:
    """The tutorial's own list, re-rooted: /SegNet/CamVid/train/x.png -> CAMVID/train/x.png."""
    out = []
    for line in (camvid / f"{split}.txt").read_text().split("\n"):
        if line.strip():
            photo, label = line.split()
            out.append((str(camvid / Path(photo).parent.name / Path(photo).name),
                        str(camvid / Path(label).parent.name / Path(label).name)))
    return out


def median_frequency_weights(labels: list[str]) -> np.ndarray:
    counts, present = np.zeros(CLASSES), np.zeros(CLASSES)
    for p in labels:
        m = np.asarray(Image.open(p))
        n = np.bincount(m.ravel(), minlength=256)[:CLASSES]
        counts += n
        present += (n > 0) * (m != VOID).sum()
    freq = counts / np.maximum(present, 1)
    return (np.median(freq) / freq).astype(np.float32)


def dataset(items, weights, batch, training, seed):
    w = tf.constant(np.append(weights, 0.0).astype(np.float32))  # void -> 0

    def load(photo, label):
        x = tf.image.decode_png(tf.io.read_file(photo), channels=3)
        y = tf.image.decode_png(tf.io.read_file(label), channels=1)
        x = tf.image.resize(x, SIZE) / 255.0
        y = tf.image.resize(y, SIZE, method="nearest")
        return x, tf.cast(y, tf.int32)

    def aug(x, y):
        flip = tf.random.uniform(()) < 0.5
        x = tf.cond(flip, lambda: tf.image.flip_left_right(x), lambda: x)
        y = tf.cond(flip, lambda: tf.image.flip_left_right(y), lambda: y)
        return tf.clip_by_value(tf.image.random_brightness(x, 0.2), 0, 1), y

    def weigh(x, y):
        return x, tf.where(y == VOID, 0, y), tf.gather(w, y)

    ds = tf.data.Dataset.from_tensor_slices(tuple(map(list, zip(*items)))).map(load).cache()
    if training:
        ds = ds.shuffle(len(items), seed=seed).map(aug)
    return ds.map(weigh).batch(batch).prefetch(tf.data.AUTOTUNE)


def unet(filters=16, depth=4):
    inputs = keras.Input((None, None, 3))
    x, skips = inputs, []
    for d in range(depth):
        for _ in range(2):
            x = keras.layers.Conv2D(filters * 2 ** d, 3, padding="same", use_bias=False)(x)
            x = keras.layers.Activation("relu")(keras.layers.BatchNormalization()(x))
        skips.append(x)
        x = keras.layers.MaxPooling2D()(x)
    for _ in range(2):
        x = keras.layers.Conv2D(filters * 2 ** depth, 3, padding="same", use_bias=False)(x)
        x = keras.layers.Activation("relu")(keras.layers.BatchNormalization()(x))
    for d in reversed(range(depth)):
        x = keras.layers.Conv2DTranspose(filters * 2 ** d, 2, strides=2, padding="same")(x)
        x = keras.layers.Concatenate()([x, skips[d]])
        for _ in range(2):
            x = keras.layers.Conv2D(filters * 2 ** d, 3, padding="same", use_bias=False)(x)
            x = keras.layers.Activation("relu")(keras.layers.BatchNormalization()(x))
    return keras.Model(inputs, keras.layers.Conv2D(CLASSES, 1)(x))


class WallClock(keras.callbacks.Callback):
    def __init__(self, seconds):
        super().__init__()
        self.seconds, self.start, self.epochs = seconds, time.perf_counter(), 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs = epoch + 1
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True


def score(model, items) -> dict:
    cm = np.zeros((CLASSES, CLASSES), np.int64)
    for photo, label in items:
        x = tf.image.resize(np.asarray(Image.open(photo).convert("RGB"))[None], SIZE) / 255.0
        logits = tf.image.resize(model(x, training=False), (360, 480), method="bilinear")
        pred = np.asarray(tf.argmax(logits, -1))[0]
        true = np.asarray(Image.open(label))
        keep = true != VOID
        cm += np.bincount(true[keep] * CLASSES + pred[keep], minlength=CLASSES ** 2).reshape(CLASSES, CLASSES)
    tp = np.diag(cm).astype(float)
    iou = tp / np.maximum(cm.sum(0) + cm.sum(1) - tp, 1)
    acc = tp / np.maximum(cm.sum(1), 1)
    return {"global_accuracy": tp.sum() / cm.sum(), "class_average_accuracy": acc.mean(), "miou": iou.mean(),
            "iou_per_class": iou.tolist()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--camvid", default="../shared/data/camvid")
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    camvid = Path(args.camvid)
    keras.utils.set_random_seed(args.seed)
    train, val = pairs(camvid, "train"), pairs(camvid, "val")
    weights = median_frequency_weights([label for _, label in train])
    model = unet()
    model.compile(keras.optimizers.Adam(1e-3),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    clock = WallClock(args.minutes * 60)
    t0, cpu0 = time.perf_counter(), time.process_time()
    model.fit(dataset(train, weights, 8, True, args.seed), epochs=1000, callbacks=[clock], verbose=2)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    result = {"model": "keras-io style U-Net (16 filters, depth 4, BN)", "seed": args.seed,
              "train_minutes": wall / 60, "train_cpu_minutes": cpu / 60, "epochs": clock.epochs,
              **score(model, val)}
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
