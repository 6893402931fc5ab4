"""The layout's promises: the import rules between scratchnet's packages (docs/architecture.md),
the network and the base importing NumPy and the standard library only, the tools beside the
library (no tool imports another's entry point; every `python -m tools.X` of the Makefile is one),
and each DVC stage depending on exactly the scratchnet code it runs."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pipeline_helpers import PROJECT_ROOT, STAGES
from ruamel.yaml import YAML

PACKAGE = PROJECT_ROOT / "scratchnet"

# Who may import whom, from the ground floor up (README's import rules). A module of a package
# may import its own package, the standard library, NumPy, and the packages listed here.
MAY_IMPORT = {
    "base": set(),
    "nn": {"base"},
    "config": {"base"},
    "sources": {"base", "config"},
    "splits": {"base", "config"},
    "training": {"base", "config", "nn"},
    "report": {"base", "config", "nn"},
    "predict": {"base", "nn"},
    "estimator": {"base", "nn"},
    "export": {"base", "nn"},
    "params": {"base", "config", "sources", "splits", "training", "report"},
    "__main__": {"base", "predict"},  # base: its plain-shell line before predict imports NumPy
    "__init__": set(),  # the public names are imported on first use, by name
}
# Beyond NumPy and the standard library: what each package's code may import from outside.
THIRD_PARTY = {
    "base": set(),
    "nn": set(),
    "config": {"ruamel"},
    "sources": {"sklearn", "mlxtend"},
    "splits": {"sklearn"},
    "training": {"scipy", "dvclive", "scmrepo", "tqdm"},
    "report": {"matplotlib"},
    "predict": {"PIL", "scipy"},
    "estimator": {"sklearn"},
    "export": {"onnx"},
    "params": set(),
    "__main__": set(),
    "__init__": set(),
}


def package_of(path):
    """The package a module of scratchnet belongs to ("nn", "splits", "__init__", ...)."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0].removesuffix(".py")


def imports(path):
    """(top-level names of absolute imports, scratchnet packages imported) anywhere in ``path``."""
    absolute, ours = set(), set()
    package = path.relative_to(PACKAGE).parts[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            absolute.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = (*base, *(node.module or "").split(".")) if node.module else base
                if target:
                    ours.add(target[0].removesuffix(".py"))
                else:  # "from .. import x" at the top: the names are packages
                    ours.update(alias.name for alias in node.names)
            else:
                absolute.add(node.module.split(".")[0])
    ours.update(m for m in absolute if m == "scratchnet")
    return absolute - {"scratchnet"}, ours


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_module_keeps_to_the_import_rules(path):
    package = package_of(path)
    absolute, ours = imports(path)
    assert "scratchnet" not in ours, f"{path.name} imports scratchnet by its absolute name"
    allowed = MAY_IMPORT[package] | {package}
    assert ours <= allowed, f"{package} may import {sorted(allowed)}, {path.name} imports {sorted(ours - allowed)}"
    outside = absolute - {"numpy"} - sys.stdlib_module_names
    assert outside <= THIRD_PARTY[package], f"{path.name} imports {sorted(outside - THIRD_PARTY[package])}"
    assert not absolute & {"tools", "stages", "torch"}, "the library never imports the tools, stages or PyTorch"


# The demo page (tools/demo/), beside the library: what it may import of scratchnet. It reads pictures
# with predict's own code and the model through the public API (docs/architecture.md).
DEMO_MAY_IMPORT = {"scratchnet", "scratchnet.base", "scratchnet.predict"}


@pytest.mark.parametrize("path", sorted((PROJECT_ROOT / "tools" / "demo").glob("*.py")), ids=lambda p: p.name)
def test_the_demo_uses_the_public_api_and_predicts_reading_alone(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module]
        for name in names:
            if name.split(".")[0] == "scratchnet":
                assert ".".join(name.split(".")[:2]) in DEMO_MAY_IMPORT, f"{path.name} imports {name}"
            assert name.split(".")[0] not in ("stages", "torch"), f"{path.name} imports {name}"


def test_the_rules_have_no_cycle_and_cover_every_package():
    packages = {package_of(p) for p in MODULES}
    assert packages == set(MAY_IMPORT)
    order = []
    while len(order) < len(MAY_IMPORT):  # peel off the packages whose imports are all placed
        ready = [p for p in MAY_IMPORT if p not in order and MAY_IMPORT[p] <= set(order)]
        assert ready, f"a cycle among {set(MAY_IMPORT) - set(order)}"
        order += sorted(ready)


# Inside the network, rooms from the ground floor up: the CPU kernels, the maths, the model (which
# owns the training step), the optimizers (update rules the step calls), then the loop and the files.
NN_MAY_IMPORT = {
    "kernels": set(),
    "activations": set(),
    "init": set(),
    "losses": {"activations"},
    "model": {"kernels", "activations", "init", "losses"},
    "optim": {"kernels", "model"},
    "fit": {"model", "optim"},
    "checkpoint": {"model"},
    "__init__": set(),
}
NN = PACKAGE / "nn"


def nn_rooms_imported(path):
    """The rooms of scratchnet/nn that ``path`` imports, type-checking imports included."""
    rooms = set()
    package = path.relative_to(PACKAGE).parts[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            target = (*base, *node.module.split(".")) if node.module else base
            names = [(*target, alias.name) for alias in node.names] if not node.module else [target]
            rooms.update(t[1] for t in names if len(t) > 1 and t[0] == "nn")
    return rooms


@pytest.mark.parametrize("path", sorted(NN.rglob("*.py")), ids=lambda p: str(p.relative_to(NN)))
def test_the_network_is_layered_inside(path):
    room = path.relative_to(NN).parts[0].removesuffix(".py")
    imported = nn_rooms_imported(path) - {room}
    assert imported <= NN_MAY_IMPORT[room], f"nn/{room} may import {sorted(NN_MAY_IMPORT[room])}, not {imported}"


def test_the_networks_rooms_have_no_cycle():
    assert {p.relative_to(NN).parts[0].removesuffix(".py") for p in NN.rglob("*.py")} == set(NN_MAY_IMPORT)
    order = []
    while len(order) < len(NN_MAY_IMPORT):
        ready = [r for r in NN_MAY_IMPORT if r not in order and NN_MAY_IMPORT[r] <= set(order)]
        assert ready, f"a cycle among {set(NN_MAY_IMPORT) - set(order)}"
        order += sorted(ready)


def test_the_network_and_the_base_need_numpy_alone():
    for package in ("base", "nn"):
        assert THIRD_PARTY[package] == set()
        assert MAY_IMPORT[package] <= {"base"}


TOOLS = PROJECT_ROOT / "tools"


def tool_name(path):
    """A module of tools/ by its dotted name ("tools.bench.speed")."""
    return ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__")


def tools_imported(path):
    """The dotted names of the modules of tools/ that ``path`` imports (absolute or relative)."""
    package = tool_name(path).split(".")[: -1 if path.name != "__init__.py" else None]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - (node.level - 1)] if node.level else []
            module = [*base, *(node.module.split(".") if node.module else [])]
            if module[:1] == ["tools"]:
                found.update(".".join([*module, alias.name]) for alias in node.names)
                found.add(".".join(module))
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "tools")
    return found


TOOL_MODULES = {tool_name(p): p for p in sorted(TOOLS.rglob("*.py"))}
# A tool's entry point: a module that runs as `python -m tools.X` (it ends in a __main__ block).
ENTRY_POINTS = {name for name, p in TOOL_MODULES.items() if 'if __name__ == "__main__":' in p.read_text("utf-8")}


@pytest.mark.parametrize("name", sorted(TOOL_MODULES))
def test_no_tool_imports_another_tools_entry_point(name):
    """What two tools share lives in a module both import (tools/bench/runs.py, tools/exp_table.py),
    never in one tool's entry point: an edit of one tool's command line never reaches another."""
    imported = tools_imported(TOOL_MODULES[name]) & set(TOOL_MODULES)
    assert not imported & (ENTRY_POINTS - {name}), f"{name} imports the entry points {sorted(imported & ENTRY_POINTS)}"
    assert "stages" not in imports_anywhere(TOOL_MODULES[name]), f"{name} imports stages/"


def imports_anywhere(path):
    """Top-level names of the absolute imports in ``path`` (a file outside scratchnet)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_every_make_target_runs_a_tools_entry_point():
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    run = set(re.findall(r"python -m (tools(?:\.\w+)+)", makefile))
    assert run, "the Makefile runs no tool"
    assert run <= ENTRY_POINTS, f"the Makefile runs modules that are not entry points: {sorted(run - ENTRY_POINTS)}"


def stage_spec(stage):
    return YAML(typ="safe").load((PROJECT_ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"][stage]


# Import the stage and list the files of every module of ours now loaded (a stage validates its
# params sections through classes it imports, so their registries are loaded by then too).
PROBE = """
import importlib, json, sys
importlib.import_module("stages." + sys.argv[1])
print(json.dumps(sorted(m.__file__ for name, m in sys.modules.items()
                        if name.split(".")[0] in ("scratchnet", "stages") and getattr(m, "__file__", None))))
"""


def files_a_stage_runs(stage):
    done = subprocess.run(
        [sys.executable, "-c", PROBE, stage], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    return {str(Path(f).resolve().relative_to(PROJECT_ROOT)) for f in json.loads(done.stdout)}


def covers(dep, path):
    return path == dep or path.startswith(dep.rstrip("/") + "/")


def code_files(dep):
    return {
        str(p.relative_to(PROJECT_ROOT))
        for p in ((PROJECT_ROOT / dep).rglob("*.py") if (PROJECT_ROOT / dep).is_dir() else [PROJECT_ROOT / dep])
    }


@pytest.mark.parametrize("stage", STAGES)
def test_stage_deps_are_exactly_the_code_it_runs(stage):
    """Every file a stage loads is inside one of its deps, and every file inside its deps is loaded:
    an edit reruns exactly the stages that run the edited code. The one allowance: evaluate, which
    always follows train, depends on the whole network folder."""
    deps = [d for d in stage_spec(stage)["deps"] if d.startswith(("scratchnet", "stages"))]
    runs = {f for f in files_a_stage_runs(stage) if f != "stages/__init__.py"}
    assert f"stages/{stage}.py" in deps
    uncovered = sorted(f for f in runs if not any(covers(d, f) for d in deps))
    assert not uncovered, f"dvc.yaml's {stage} stage runs these files without depending on them: {uncovered}"
    for dep in deps:
        if (stage, dep) == ("evaluate", "scratchnet/nn"):
            assert code_files(dep) & runs
            continue
        unused = sorted(code_files(dep) - runs)
        assert not unused, f"dvc.yaml's {stage} stage depends on {dep}, whose {unused} it never runs"


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
history = fit(model, SGD(lr=0.1, weight_decay=1e-4), X, y, X, y, FitConfig(epochs=2, batch_size=16, patience=5,
              tol=0.0, seed=0))
save(model, sys.argv[1], {"epochs": len(history.records)})
loaded, config = load(sys.argv[1])
assert config == {"epochs": 2} and np.array_equal(loaded.predict_proba(X), model.predict_proba(X))
save(model, sys.argv[1])
assert load(sys.argv[1])[1] == {}
assert not any(m.split(".")[0] in ("sklearn", "dvc", "dvclive", "pandas", "matplotlib", "scipy") for m in sys.modules)
print(sorted(scratchnet.__all__))
"""
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "model.npz")], cwd=PROJECT_ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert {"MLP", "SGD", "Momentum", "Adam", "FitConfig", "fit", "save", "load", "MLPClassifier"} <= set(
        eval(done.stdout)
    )
