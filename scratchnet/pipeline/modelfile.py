"""The pipeline's model file: a checkpoint (nn/checkpoint.py) that maps MNIST's 784 pixels to 10 digits."""
from ..nn import checkpoint
from .datafiles import N_CLASSES, N_PIXELS
from .errors import ModelFileError


def save_model(out, path, model, config):
    """Write ``model`` and ``config`` to ``path`` through the output set ``out`` (see atomic.outputs)."""
    with out.open(path, "wb") as f:
        checkpoint.save(model, f, config)


def load_digit_classifier(path):
    """(model, config) from ``path``; ModelFileError unless the model maps MNIST's pixels to 10 digits."""
    model, config = checkpoint.load(path)
    if model.sizes[0] != N_PIXELS or model.sizes[-1] != N_CLASSES:
        raise ModelFileError(f"{path}: layer sizes {list(model.sizes)} do not map "
                             f"{N_PIXELS} pixels to {N_CLASSES} digits")
    return model, config
