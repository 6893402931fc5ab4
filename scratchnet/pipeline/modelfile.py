"""The pipeline's model file: a checkpoint (nn/checkpoint.py) that maps MNIST's 784 pixels to 10 digits."""
from ..nn import checkpoint
from .datafiles import N_CLASSES, N_PIXELS
from .errors import ModelFileError


def save_model(out, path, model, config):
    """Write ``model`` and ``config`` to ``path`` through the output set ``out`` (see atomic.outputs)."""
    with out.open(path, "wb") as f:
        checkpoint.save(model, f, config)


def load_trained(path):
    """(model, config) of a model the train stage wrote: a digit classifier whose configuration
    records its best epoch and how many epochs ran; ModelFileError naming what is missing."""
    model, config = load_digit_classifier(path)
    bad = [key for key in ("best_epoch", "epochs_run")
           if not isinstance(config, dict) or not isinstance(config.get(key), int) or config[key] < 0]
    if bad:
        raise ModelFileError(f"{path}: its configuration lacks {' and '.join(bad)} as whole numbers "
                             "(was it written by the train stage?); rerun `dvc repro train`")
    return model, config


def load_digit_classifier(path):
    """(model, config) from ``path``; ModelFileError unless the model maps MNIST's pixels to 10 digits."""
    model, config = checkpoint.load(path)
    if model.sizes[0] != N_PIXELS or model.sizes[-1] != N_CLASSES:
        raise ModelFileError(f"{path}: layer sizes {list(model.sizes)} do not map "
                             f"{N_PIXELS} pixels to {N_CLASSES} digits")
    return model, config
