"""The layout's promises: the network imports NumPy and the standard library only; each DVC stage
depends on exactly the scratchnet code it runs; train never depends on the report package."""
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from pipeline_helpers import PROJECT_ROOT, STAGES

NN = PROJECT_ROOT / "scratchnet" / "nn"


def imported_modules(path):
    """(absolute top-level names, relative imports as (level, module)) anywhere in ``path``."""
    absolute, relative = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            absolute.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                relative.add((node.level, node.module))
            else:
                absolute.add(node.module.split(".")[0])
    return absolute, relative


@pytest.mark.parametrize("path", sorted(NN.glob("*.py")), ids=lambda p: p.name)
def test_the_network_imports_numpy_and_the_standard_library_only(path):
    absolute, relative = imported_modules(path)
    assert absolute - {"numpy"} <= sys.stdlib_module_names, absolute - {"numpy"} - sys.stdlib_module_names
    assert all(level == 1 for level, _ in relative), relative  # nothing from outside scratchnet/nn


def stage_spec(stage):
    return YAML(typ="safe").load((PROJECT_ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"][stage]


# Import the stage, validate the params sections it declares (which imports the registries
# their choices come from), and list the files of every module of ours now loaded.
PROBE = """
import importlib, json, sys
importlib.import_module("stages." + sys.argv[1])
from scratchnet.pipeline import params
params.load(*sys.argv[2:])
print(json.dumps(sorted(m.__file__ for name, m in sys.modules.items()
                        if name.split(".")[0] in ("scratchnet", "stages") and getattr(m, "__file__", None))))
"""


def files_a_stage_runs(stage):
    sections = [p for p in stage_spec(stage)["params"] if isinstance(p, str)]
    done = subprocess.run([sys.executable, "-c", PROBE, stage, *sections], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, check=True)
    return {str(Path(f).resolve().relative_to(PROJECT_ROOT)) for f in json.loads(done.stdout)}


def covers(dep, path):
    return path == dep or path.startswith(dep.rstrip("/") + "/")


@pytest.mark.parametrize("stage", STAGES)
def test_stage_deps_are_exactly_the_packages_it_runs(stage):
    deps = [d for d in stage_spec(stage)["deps"] if d.startswith(("scratchnet", "stages"))]
    runs = {f for f in files_a_stage_runs(stage) if f != "stages/__init__.py"}
    assert f"stages/{stage}.py" in deps
    uncovered = sorted(f for f in runs if not any(covers(d, f) for d in deps))
    assert not uncovered, f"dvc.yaml's {stage} stage runs these files without depending on them: {uncovered}"
    unused = [d for d in deps if not any(covers(d, f) for f in runs)]
    assert not unused, f"dvc.yaml's {stage} stage depends on code it never runs: {unused}"


def test_train_never_depends_on_the_reports():
    assert not any(d.startswith("scratchnet/report") for d in stage_spec("train")["deps"])
    assert not any(f.startswith("scratchnet/report") for f in files_a_stage_runs("train"))


def test_the_public_api_is_exported_and_loaded_on_first_use(tmp_path):
    probe = """
import sys, numpy as np
import scratchnet
assert "scratchnet.nn.model" not in sys.modules  # importing the package runs none of the network
from scratchnet import MLP, SGD, FitConfig, fit, save, load
rng = np.random.default_rng(0)
X, y = rng.random((64, 6), dtype=np.float32), rng.integers(0, 3, 64)
model = MLP([6, 8, 3], seed=0)
history = fit(model, SGD(model.params, lr=0.1), X, y, X, y, FitConfig(epochs=2, batch_size=16, lam=0.0,
              patience=5, tol=0.0, seed=0))
save(model, sys.argv[1], {"epochs": len(history.records)})
loaded, config = load(sys.argv[1])
assert config == {"epochs": 2} and np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
print(sorted(scratchnet.__all__))
"""
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "model.npz")], cwd=PROJECT_ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert {"MLP", "SGD", "Momentum", "Adam", "FitConfig", "fit", "save", "load"} <= set(eval(done.stdout))
