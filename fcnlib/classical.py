"""The classical receipt finder (edges, contours, a 4-point polygon) as a predictor of its own.

`ClassicalPredictor` answers like a network: its "probability" is 1 inside the quadrilateral
`fcnlib.postprocess.classical_quad` finds and 0 elsewhere, so `fcn evaluate classical PAIRS` and
`fcn compare` score the baseline exactly like a trained model. It is registered in
`fcnlib.predict` under the name "classical".

Example:

>>> from fcnlib.predict import Predictor
>>> Predictor.load("classical").num_classes
2
"""
from __future__ import annotations

import numpy as np

from fcnlib import data, postprocess
from fcnlib.predict import Predictor
from fcnlib.spec import Preprocessor, SegmenterSpec


class ClassicalPredictor(Predictor):
    """The classical pipeline dressed as a predictor (no network, no preprocessing)."""

    def __init__(self):
        super().__init__(spec=SegmenterSpec(Preprocessor(), 1, ("background", "receipt")))

    @property
    def num_classes(self) -> int:
        return 2

    def model_outputs(self, photos: list[np.ndarray], batch_size: int = 8) -> list[tuple[np.ndarray, data.Placement]]:
        out = []
        for photo in photos:
            prob = np.zeros((*photo.shape[:2], 1), np.float32)
            quad = postprocess.classical_quad(photo)
            if quad is not None:
                prob[..., 0] = data.polygon_mask(quad, *photo.shape[:2])
            h, w = photo.shape[:2]
            out.append((prob, data.Placement((h, w), (h, w), 0, 0, h, w)))
        return out
