"""Package a documents run as the shipped "document" preset: weights only, class names, TFLite copy.

    python experiments/documents/package.py data/runs-docs/RUN/best.keras

Writes fcnlib/weights/document_unet.keras (the run's network rebuilt from its config with the run's
weights: no optimizer state; its preprocessing and calibrated min_score kept; class names "background",
"document") and its float32 TFLite copy (and, for a model whose preprocessor matches the photo's
orientation, a second copy at the input size turned), and prints the largest difference between the
copies and the model, and between the new file and the run's model, on random inputs.
"""
from __future__ import annotations

import sys

import numpy as np


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__)
        return 2
    from fcnlib import presets
    from fcnlib.litert import TFLiteRunner
    from fcnlib.models.export import to_tflite
    from fcnlib.segmenter import Segmenter, load_segmenter

    run = load_segmenter(argv[0])
    network = type(run.network).from_config(run.network.get_config())  # no compile config, no optimizer
    network.build((None, None, None, 3))
    network.set_weights(run.network.get_weights())
    shipped = Segmenter(network, name="segmenter", **{**run._spec_config(), "class_names": ["background", "document"]})
    x = np.random.default_rng(0).random((2, *shipped.preprocessor.image_size, 3)).astype("float32")
    same = float(np.abs(np.asarray(shipped.predict(x, verbose=0)) - np.asarray(run.predict(x, verbose=0))).max())
    preset = presets.get("document")
    shipped.save(preset.path)
    back = load_segmenter(preset.path)
    to_tflite(back, preset.tflite, input_size=back.preprocessor.image_size)
    parity = float(np.abs(TFLiteRunner(preset.tflite)(x) - np.asarray(back.predict(x, verbose=0))).max())
    print(f"{preset.path}: {back.spec}\nmax difference to the run {same:.2e}, TFLite copy {parity:.2e}, "
          f"{back.count_params()} parameters")
    if back.preprocessor.match_orientation:  # photos framed the other way run at the input size turned
        if preset.tflite_turned is None:
            raise SystemExit("the model matches the photo's orientation: name the preset's tflite_turned file")
        height, width = back.preprocessor.image_size
        to_tflite(back, preset.tflite_turned, input_size=(width, height))
        xt = np.ascontiguousarray(x.transpose(0, 2, 1, 3))
        turned = float(np.abs(TFLiteRunner(preset.tflite_turned)(xt) - np.asarray(back.predict(xt, verbose=0))).max())
        print(f"{preset.tflite_turned}: TFLite copy at {width}x{height}, max difference {turned:.2e}")
    elif preset.tflite_turned is not None and preset.tflite_turned.exists():
        preset.tflite_turned.unlink()  # a copy left from a model that matched the orientation
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
