"""What the demo page shows for one picture: the 28x28 image the network saw, the digit, its ten
probabilities and the activity of every hidden layer, read exactly as `python -m scratchnet predict`
reads an image file (scratchnet.predict's read_image and mnist_like, the same scaling and model)."""

import io
import os

import numpy as np

from scratchnet import load
from scratchnet.base.errors import InputError, ModelFileError
from scratchnet.base.formats import N_CLASSES, N_PIXELS, scale_pixels
from scratchnet.predict.cli import LOW_CONFIDENCE
from scratchnet.predict.images import mnist_like, read_image

# Width x height of the largest picture the page takes, checked before it is decoded: a 16-megapixel
# photo is read as gray float64 (128 MB), and the server reads at most a few at a time.
MAX_PIXELS = 16_000_000
FEATURES = 8  # the first hidden layer's most active units, shown with the weights they learned


def load_model(path):
    """The model at ``path``, checked to map 784 pixels to 10 digits (ModelFileError if not)."""
    if not os.path.exists(path):
        raise ModelFileError(f"{path}: no such model file; train one first (make sample) or name one (MODEL=...)")
    model, _ = load(path, inputs=N_PIXELS, outputs=N_CLASSES, names=("pixels", "digits"))
    return model


def look(model, picture, where):
    """What the network makes of ``picture`` (the bytes of an image file), as a JSON-ready dict;
    InputError naming ``where`` if no digit can be read from it."""
    pixels = mnist_like(read_image(io.BytesIO(picture), where, MAX_PIXELS), where).reshape(N_PIXELS)
    X = scale_pixels(pixels[np.newaxis])
    with np.errstate(over="ignore", invalid="ignore"):  # non-finite output is reported below, as predict does
        probabilities = model.predict_proba(X)[0]
        hidden = [model.activations(X, layer)[0] for layer in range(model.n_layers - 1)]
    if not np.isfinite(probabilities).all():
        raise InputError(f"{where}: the model's probabilities are not finite numbers; the model is unusable")
    digit = int(probabilities.argmax())
    return {
        "digit": digit,
        "probabilities": [float(p) for p in probabilities],
        "note": f"low confidence (p < {LOW_CONFIDENCE})" if probabilities[digit] < LOW_CONFIDENCE else None,
        "pixels": pixels.tolist(),
        "hidden": [[round(float(a), 4) for a in layer] for layer in hidden],
        "features": features(model, hidden[0]) if hidden else [],
    }


def features(model, first_hidden):
    """The FEATURES most active units of the first hidden layer: each unit's activation and its
    incoming weights as a 28x28 image (784 integers, -127..127, scaled by the largest magnitude),
    the pattern of ink that drives it (the original notebook's learned features)."""
    weights = model.weights[0]
    active = [int(unit) for unit in np.argsort(-first_hidden, kind="stable")[:FEATURES] if first_hidden[unit] > 0]
    shown = []
    for unit in active:
        column = weights[:, unit]
        scale = float(np.abs(column).max()) or 1.0
        shown.append(
            {
                "unit": unit,
                "activation": round(float(first_hidden[unit]), 4),
                "weights": np.round(column * (127 / scale)).astype(int).tolist(),
            }
        )
    return shown
