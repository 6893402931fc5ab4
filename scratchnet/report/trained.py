"""The train stage's model file as evaluate reads it: a digit classifier whose configuration
records its best epoch, the epoch whose weights it holds, how many epochs ran, its init seed
and its training run."""

from __future__ import annotations

from typing import Any

from ..base.errors import ModelFileError
from ..base.formats import N_CLASSES, N_PIXELS
from ..nn import checkpoint
from ..nn.model import MLP


def load_trained(path: str) -> tuple[MLP, dict[str, Any]]:
    """(model, config) of a model the train stage wrote; ModelFileError naming what is missing."""
    model, config = checkpoint.load(path, inputs=N_PIXELS, outputs=N_CLASSES, names=("pixels", "digits"))
    bad = [key for key in ("best_epoch", "epochs_run") if type(config.get(key)) is not int or config[key] < 0]
    config.setdefault("model_epoch", config.get("best_epoch"))  # models from before train.restore_best
    if bad:
        raise ModelFileError(
            f"{path}: its configuration lacks {' and '.join(bad)} as whole numbers "
            "(was it written by the train stage?); rerun `dvc repro train`"
        )
    for key in ("best_epoch", "model_epoch"):
        if type(config[key]) is not int or not 1 <= config[key] <= config["epochs_run"]:
            raise ModelFileError(
                f"{path}: its {key.replace('_', ' ')} {config[key]} is not one of its {config['epochs_run']} epochs; "
                "rerun `dvc repro train`"
            )
    model_params = config.get("model")
    seed = model_params.get("init_seed") if isinstance(model_params, dict) else None
    if type(seed) is not int or seed < 0:
        raise ModelFileError(
            f"{path}: its configuration lacks model.init_seed as a whole number >= 0 (was it written by the "
            "train stage?); rerun `dvc repro train`"
        )
    if not isinstance(config.get("run"), str):
        raise ModelFileError(
            f"{path}: its configuration names no training run (an older model?); rerun `dvc repro train`"
        )
    return model, config
