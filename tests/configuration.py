"""The tests' own configuration: a value for every key of params.yaml's schema, chosen by the tests.

Tests never read the working tree's params.yaml: a user edits it and may commit the edits
(`dvc exp run -S` rewrites it), so neither the file nor its committed history is a fixed
starting point. These values are what the tests run with, not a second copy of the
pipeline's defaults: params.yaml stays the only place the pipeline's values are set, no
test compares it with these, and changing a default there changes no test. The keys come
from the schema (``scratchnet.params``): a key the schema gains or loses without a value
here fails every test that builds a configuration, naming the key.
"""

from pathlib import Path

from scratchnet import params

VALUES = {
    "data.source": "openml",
    "data.idx_dir": "",
    "split.method": "stratified",
    "split.seed": 42,
    "split.val_fraction": 0.1,
    "split.test_fraction": 0.1,
    "model.hidden_sizes": [512, 256, 128],
    "model.init_seed": 0,
    "model.dropout": 0.0,
    "model.input_dropout": 0.0,
    "train.epochs": 2000,
    "train.batch_size": 64,
    "train.lr": 0.001,
    "train.lambda": 0.001,
    "train.max_norm": 0.0,
    "train.patience": 30,
    "train.tol": 1e-6,
    "train.restore_best": True,
    "train.seed": 0,
    "train.optimizer": "sgd",
    "train.momentum": 0.9,
    "train.nesterov": False,
    "train.beta1": 0.9,
    "train.beta2": 0.999,
    "train.eps": 1e-8,
    "train.threads": 1,
    "train.schedule": "none",
    "train.step_every": 50,
    "train.step_gamma": 0.5,
    "train.affine_shift": 0,
    "train.affine_rotation": 0.0,
    "train.affine_scale": 0.0,
    "train.affine_shear": 0.0,
    "train.elastic_alpha": 0.0,
    "train.elastic_sigma": 4.0,
    "evaluate.calibration_bins": 15,
    "evaluate.n_misclassified": 36,
    "evaluate.n_features": 64,
    "evaluate.threads": 1,
}


def document(changes=None):
    """{section: {key: value}} in the schema's order, with ``changes`` ({"train.lr": 0.05}) applied."""
    changes = changes or {}
    keys = params.dotted_keys()
    missing, stale = sorted(set(keys) - set(VALUES)), sorted(set(VALUES) - set(keys))
    assert not missing and not stale, f"tests/configuration.py: no value for {missing}; keys the schema lacks {stale}"
    unknown = sorted(set(changes) - set(keys))
    assert not unknown, f"no such keys in the schema: {unknown}"
    doc = {}
    for dotted in keys:
        section, key = dotted.split(".")
        value = changes.get(dotted, VALUES[dotted])
        doc.setdefault(section, {})[key] = list(value) if isinstance(value, (list, tuple)) else value
    return doc


def _scalar(value):
    """``value`` as params.yaml spells it (floats with a dot, so that any YAML reader reads a float)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        return text.replace("e", ".0e", 1) if "e" in text and "." not in text else text
    if isinstance(value, str):
        return f'"{value}"' if value == "" else value
    if isinstance(value, list):
        return "[" + ", ".join(map(_scalar, value)) + "]"
    return str(value)


def text(changes=None):
    """The configuration as a params.yaml file's text, laid out as params.yaml is (lists in flow
    style, which `dvc exp run -S` keeps)."""
    lines = []
    for section, values in document(changes).items():
        lines.append(f"{section}:")
        lines += [f"  {key}: {_scalar(value)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def write(path, changes=None):
    """Write the configuration (with ``changes``) to ``path`` as params.yaml; returns ``path``."""
    path = Path(path)
    path.write_text(text(changes), encoding="utf-8")
    return path
