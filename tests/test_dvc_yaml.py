"""dvc.yaml lists, for every stage, exactly the scratchnet modules its script imports (transitively)."""
import ast

import pytest
from ruamel.yaml import YAML

from pipeline_helpers import PROJECT_ROOT, STAGES

PACKAGE = PROJECT_ROOT / "scratchnet"


def direct_imports(path):
    """scratchnet modules imported anywhere in ``path`` (also inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.module and node.module.startswith("scratchnet."):
                found.add(node.module.split(".")[1])
            elif node.module == "scratchnet" or (node.level == 1 and not node.module):
                found.update(alias.name for alias in node.names)
            elif node.level == 1:
                found.add(node.module)
    return {name for name in found if (PACKAGE / f"{name}.py").exists()}


def module_closure(path):
    seen, todo = set(), list(direct_imports(path))
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += direct_imports(PACKAGE / f"{name}.py")
    return {f"scratchnet/{name}.py" for name in seen}


@pytest.mark.parametrize("stage", STAGES)
def test_stage_deps_are_the_modules_it_imports(stage):
    spec = YAML(typ="safe").load((PROJECT_ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"][stage]
    listed = {d for d in spec["deps"] if d.startswith("scratchnet/")}
    assert listed == module_closure(PROJECT_ROOT / "stages" / f"{stage}.py")
    assert f"stages/{stage}.py" in spec["deps"]
