"""Source of notebooks/05_camvid.ipynb: `python notebooks/src/05_camvid.py` writes the notebook (unexecuted);
`python -m fcnlib.notebook notebooks/05_camvid.ipynb` then runs it in full mode and stamps it.

Cells are separated by lines `# %% [markdown]` / `# %%` (the percent format Jupytext and VS Code read).
"""
# %% [markdown]
# # 05 · CamVid: SegNet's own benchmark, from SegNet's files to a scored model
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/fcnlib/fcnlib/blob/main/notebooks/05_camvid.ipynb)
#
# The receipt task is one fcnlib made up for itself. CamVid is one nobody here chose: road scenes in 11
# classes (sky, building, pole, road, pavement, tree, sign, fence, car, pedestrian, bicyclist) plus a
# *void* label for pixels nobody labelled, the dataset SegNet and SegNet-Basic were published on. This
# notebook takes CamVid exactly as the SegNet tutorial ships it, with its own `train.txt` and `val.txt`,
# trains SegNet-Basic with SegNet's recipe (median-frequency class weights, void ignored), and scores it
# the way the literature does: global accuracy, class-average accuracy, mean IoU and boundary F1, per class,
# with the confusion matrix. The architecture comparison with several seeds lives in
# `experiments/results/camvid.md`.
#
# Pictures of CamVid below: CamVid (Brostow et al., 2008), as distributed with the SegNet tutorial, CC BY-NC.

# %% [markdown]
# **Setup.** In Colab the next cell clones the repository and installs `fcnlib`; in a checkout (`pip install -e .` done) it does nothing. Set `FCNLIB_QUICK=1` before starting Jupyter for the quick mode CI uses: the same story on less data, smaller photos and fewer epochs.

# %%
import sys

IN_COLAB = "google.colab" in sys.modules
if IN_COLAB:  # a fresh Colab runtime: fetch fcnlib and install it; elsewhere this cell does nothing
    !git clone -q https://github.com/fcnlib/fcnlib.git
    %cd fcnlib
    %pip install -q -e .

# %% [markdown]
# CamVid is not part of fcnlib (its licence is non-commercial). Put the tutorial's `CamVid` folder at
# `../shared/data/camvid` beside the checkout, or point `FCNLIB_SHARED` at the folder holding `data/camvid`.

# %%
%matplotlib inline
from fcnlib import notebook  # first: it quiets TensorFlow's start-up log before anything imports TensorFlow

import json
import time

import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Image, Markdown, display

from fcnlib import data, evaluate, labels, predict, shared_data, train, verify, viz

plt.rcParams["figure.dpi"] = 80
ATTRIBUTION = shared_data.CAMVID_ATTRIBUTION
camvid = shared_data.camvid()
if camvid is None:
    raise FileNotFoundError(shared_data.missing_reason("CamVid"))
work = notebook.work_dir("05_camvid")
print("quick mode:", notebook.quick())

# %% [markdown]
# ## SegNet's files as they are
#
# The tutorial lists its pairs as `photo label`, separated by a space, with absolute paths of the machine
# it was made on. fcnlib reads that format as it is; `root=` re-roots the paths: each one is moved from the
# deepest folder holding every listed file onto the folder you give.

# %%
print((camvid / "train.txt").read_text().splitlines()[0])
train_pairs = data.read_pairs(camvid / "train.txt", root=camvid)
val_pairs = data.read_pairs(camvid / "val.txt", root=camvid)
print(f"{len(train_pairs)} training and {len(val_pairs)} validation pairs; the first, re-rooted:")
print(*train_pairs[0], sep="\n")

# %% [markdown]
# ## What the labels mean
#
# A small description, `experiments/datasets/camvid.yaml`, gives the class names in label order, the
# tutorial's colours and the void value (11). Verification, training, evaluation and every picture read it.

# %%
info = labels.DatasetInfo.load(notebook.repo_root() / "experiments" / "datasets" / "camvid.yaml")
colors = np.array(info.colors, np.uint8)
print(f"{len(info.class_names)} classes, void = {info.ignore_index} ({info.ignore_name})")
fig = viz.legend(info.class_names, colors, ignore_index=info.ignore_index, ignore_name=info.ignore_name,
                 ignore_color=info.ignore_color)

# %%
shown = train_pairs[:: len(train_pairs) // 3][:3]
photos = [data.read_image(p) for p, _ in shown]
masks = [data.read_mask(m, ignore_index=info.ignore_index) for _, m in shown]
fig = viz.show_pairs(photos, masks, titles=[p.name for p, _ in shown], palette=colors,
                     ignore_index=info.ignore_index, ignore_color=info.ignore_color)
fig.suptitle(ATTRIBUTION, fontsize=8)
plt.show()

# %% [markdown]
# ## Checking the data, and SegNet's class weights
#
# `verify` decodes every label, counts each class with void left out, and computes SegNet's
# median-frequency weights (a class's weight is the median frequency over its own frequency, each counted
# over the images where the class appears). The tutorial's published weights sit beside them: they were
# computed on an earlier version of the labels, so a few differ.

# %%
published = [0.2595, 0.1826, 4.5640, 0.1417, 0.9051, 0.3826, 9.6446, 1.8418, 0.6823, 6.2478, 7.3614]
checked = train_pairs[: notebook.pick(24, None)]
report = verify.verify(checked, num_classes=11, ignore_index=info.ignore_index)
print("OK" if report.ok else report.format())
rows = ["| class | weight (these labels) | published |", "| --- | --- | --- |"]
rows += [f"| {name} | {w:.4f} | {p:.4f} |" for name, w, p in zip(info.class_names, report.class_weights, published)]
display(Markdown(f"Weights from {len(checked)} training labels:\n\n" + "\n".join(rows)))

# %% [markdown]
# ## Training SegNet-Basic with SegNet's recipe
#
# `experiments/configs/camvid/segnet_basic.yaml` extends `camvid/base.yaml`: SegNet-Basic (4 + 4 blocks of
# 64 filters, 7x7 kernels, max-unpooling with the encoder's pooling indices), frames at half size
# (180x240), cross-entropy with the median-frequency weights, void weighted 0 and left out of every metric,
# Adam, flips and brightness, early stopping when validation mIoU stops improving. The quick mode trains
# for a moment on a handful of frames at a small size; the full mode of this notebook trains on every
# frame on a CPU-sized budget (smaller frames, half the width, a cap on the epochs: the cell prints them),
# while the study trains each model at 180x240 to its plateau.

# %%
subset = notebook.pick((16, 8), (None, None))
train_file = data.write_pairs(train_pairs[: subset[0]], work / "train.txt", overwrite=True)
val_file = data.write_pairs(val_pairs[: subset[1]], work / "val.txt", overwrite=True)
overrides = [f"data.train={train_file}", f"data.val={val_file}", "data.root=null",
             f"data.dataset={notebook.repo_root() / 'experiments' / 'datasets' / 'camvid.yaml'}",
             f"output_dir={work / 'runs'}", "gallery=0"]
# full mode on this notebook's budget (two CPU cores): every frame at a third of its size, half the width
overrides += notebook.pick(["data.image_size=[48,64]", "epochs=1", "model_options.base_filters=8"],
                           ["data.image_size=[120,160]", "epochs=15", "model_options.base_filters=32"])
config = train.load_config(notebook.repo_root() / "experiments" / "configs" / "camvid" / "segnet_basic.yaml", overrides)
print(f"{config.model} ({config.model_options}), {len(data.read_pairs(train_file))} frames at "
      f"{config.data.image_size[0]}x{config.data.image_size[1]}, up to {config.epochs} epochs, "
      f"batch {config.batch_size}, loss {config.loss}, class weights {config.class_weights}, void {config.data.ignore_index}")
started = time.perf_counter()
run = train.train(config, verbose=0)
print(f"trained in {(time.perf_counter() - started) / 60:.1f} min")
history = json.loads((run / "state.json").read_text())["history"]
print(f"{len(history)} epochs; best val mIoU {max(h['val_miou'] for h in history):.3f}")

# %%
fig = viz.plot_history(run / "history.csv")
plt.show()

# %% [markdown]
# ## Scored as the literature scores CamVid
#
# `evaluate` predicts every validation frame at the model's size, maps the class scores back to 360x480,
# and counts every non-void pixel: global accuracy, class-average accuracy (mean per-class recall), mean IoU
# and boundary F1 (per frame, then averaged), overall and per class. The same from the command line:
# `fcn evaluate RUN/best.keras ../shared/data/camvid/val.txt --root ../shared/data/camvid -o OUT`.

# %%
predictor = predict.Predictor.load(run / "best.keras")
summary = evaluate.evaluate(predictor, val_file, work / "eval", dataset=info, worst=0)
print(f"{summary['photos']} frames: global accuracy {summary['global_accuracy']:.3f}, class average "
      f"{summary['class_accuracy']:.3f}, mIoU {summary['miou']:.3f}, BF1 {summary['bf1']:.3f}")
display(Markdown((work / "eval" / "per_class.md").read_text()))

# %%
display(Image(filename=work / "eval" / "confusion.png"))

# %% [markdown]
# ## Predictions beside the labels
#
# Left the frame, then the label and the prediction over it in the tutorial's colours (void black).

# %%
shown = val_pairs[: subset[1] or len(val_pairs)][:: max(1, (subset[1] or len(val_pairs)) // 3)][:3]
photos = [data.read_image(p) for p, _ in shown]
truths = [data.read_mask(m, ignore_index=info.ignore_index) for _, m in shown]
preds = [p.argmax(-1).astype(np.uint8) for p in predictor.predict(photos)]
fig = viz.gallery(photos, truths, preds, titles=[p.name for p, _ in shown], palette=colors,
                  ignore_index=info.ignore_index, ignore_color=info.ignore_color)
fig.suptitle(ATTRIBUTION, fontsize=8)
plt.show()

# %% [markdown]
# ## Where to go from here
#
# One run, one seed, a capped budget: read the figures above as a working pipeline, not as a ranking. The
# comparison of SegNet-Basic (unpooling and upsampling), U-Net and FCN-8s at 180x240 with three seeds each,
# its budget and which runs reached their plateau, is `experiments/results/camvid.md` (written by
# `experiments/camvid/study.py`, which also continues the runs its time budget stopped). Every model of
# `experiments/configs/camvid/` trains with `fcn train experiments/configs/camvid/<model>.yaml` from the
# repository root.
