"""The change-λ-rerun-compare loop's own pieces, fast: what `make sample` runs, what `make exps`
shows for finished and running experiments, and the one line an entry point prints in a Python
without the project's packages. tests/test_newcomer.py walks the whole loop as README prints it."""

import subprocess
import sys

import pytest
from pipeline_helpers import PROJECT_ROOT, make_project_repo, subprocess_env

from scratchnet.base import dependencies
from scratchnet.base.errors import ScratchnetError
from tools import exp_table, sample

COMMITTED = {"data.source": "openml", "train.lambda": 0.001, "train.optimizer": "sgd", "model.hidden_sizes": [512]}


def test_make_sample_starts_from_the_committed_params_and_names_what_it_leaves_out():
    name, overrides, left = sample.plan(COMMITTED, dict(COMMITTED), [], set())
    assert (name, overrides, left) == ("sample", ["data.source=sample"], {})
    # An earlier experiment left Adam and λ 0.0001 in the workspace: only what SET names is kept.
    workspace = {**COMMITTED, "data.source": "sample", "train.optimizer": "adam", "train.lambda": 0.0001}
    name, overrides, left = sample.plan(COMMITTED, workspace, ["train.lambda=0.00005"], {"sample"})
    assert name == "sample-lambda-0.00005"
    assert overrides == ["data.source=sample", "train.lambda=0.00005", 'train.optimizer="sgd"']
    assert left == {"train.optimizer": "adam"}


def test_make_sample_names_are_unique_per_commit_and_bad_keys_are_one_error():
    assert sample.plan(COMMITTED, COMMITTED, [], {"sample", "sample-2"})[0] == "sample-3"
    name = sample.plan(COMMITTED, COMMITTED, ["train.optimizer=adam", "params.yaml:train.lambda=1e-4"], set())[0]
    assert name == "sample-optimizer-adam-lambda-1e-4"
    for bad in ("train.lamda=0.1", "train.lambda", "=3"):
        with pytest.raises(ScratchnetError, match="SET: .* is not KEY=VALUE with a key of params.yaml"):
            sample.plan(COMMITTED, COMMITTED, [bad], set())


def row(name, **values):
    return {"Experiment": name, "rev": name, "State": "Success", "train.lambda": 0.001, **values}


def test_make_exps_shows_kept_models_and_a_running_rows_latest_epoch_marked_as_such():
    finished = row(
        "sample",
        **{"model.val.accuracy": 0.93, "model.test.accuracy": 0.94, "model.val.loss": 0.25, "epochs": 784},
        **{"model.test.loss": 0.26, "model.accuracy_gap": 0.05, "model.loss_gap": 2.5, "best_epoch": 754},
    )
    # A running experiment's row still carries the figures of the run before it: never shown.
    running = {**finished, "Experiment": "next", "rev": "next", "State": "Running", "train.lambda": 0.0001}
    live = {"next": {"epoch": 129, "val.accuracy": 0.91, "val.loss": 0.3, "accuracy_gap": 0.02, "loss_gap": 0.5}}
    header, body = exp_table.table([finished, running], live)
    assert header[:3] == ["experiment", "state", "train.lambda"]
    rows = {r[0]: dict(zip(header, r)) for r in body}
    assert rows["sample"]["val acc"] == "93.00%" and rows["sample"]["epochs"] == "784"
    assert rows["next"]["state"] == "running: epoch 129's figures"
    assert rows["next"]["val acc"] == "91.00%" and rows["next"]["epochs"] == "129"
    assert rows["next"]["test acc"] == rows["next"]["best epoch"] == ""  # no test figures while it trains
    for column, _, _, _ in exp_table.METRICS:  # every column is defined under the table
        defined = f"{column}:", f"val/test {column.split()[-1]}"
        assert any(name in exp_table.LEGEND for name in defined), column


def test_a_missing_package_is_one_line_saying_make_setup():
    line = dependencies.message(ModuleNotFoundError("No module named 'PIL'", name="PIL"))
    assert line.startswith("Pillow (module PIL) is not installed for ") and "make setup" in line
    assert dependencies.message(ModuleNotFoundError("x", name="someone_elses")) is None


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory):
    """A Python with nothing installed: a venv without the project's packages, or pip."""
    path = tmp_path_factory.mktemp("bare")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return str(path / "bin" / "python")


@pytest.mark.parametrize(
    "argv",
    [
        ["-m", "scratchnet", "predict", "--model", "data/model/model.npz", "docs/img/photo.jpg"],
        ["stages/train.py", "data/split", "data/model/model.npz", "reports/live"],
        ["-m", "stages.evaluate", "m", "s", "l", "m.json", "p.json", "p.csv", "f"],
        ["-m", "tools.experiments"],
        ["-m", "tools.sample"],
    ],
)
def test_every_entry_point_in_a_plain_python_says_make_setup_in_one_line(bare_python, argv):
    done = subprocess.run([bare_python, *argv], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and done.stdout == "", done
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert "is not installed for" in done.stderr and "make setup" in done.stderr and ".venv/bin/activate" in done.stderr


@pytest.mark.slow  # a real `dvc exp run` that fails, after the data stages: `make test-slow`
def test_a_make_sample_that_fails_before_any_stage_finishes_leaves_params_yaml_as_it_was(tmp_path):
    repo = make_project_repo(tmp_path / "repo", subprocess_env(tmp_path / "dvc-state"))
    repo.dvc("repro", "split")  # the data stages, as an earlier make sample leaves them
    repo.commit("data")
    params = repo.file("params.yaml")
    params.write_text(params.read_text(encoding="utf-8").replace("lambda: 0.001", "lambda: 5.0e-05"), encoding="utf-8")
    before = {name: repo.file(name).read_bytes() for name in ("params.yaml", "dvc.lock")}

    done = repo.run(sys.executable, "-m", "tools.sample", "-S", "train.lr=abc", check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "train.lr = 'abc' is not allowed" in output, output
    assert "params.yaml is back as it was" in output, output
    # the uncommitted λ edit and everything else: as before the failed run
    assert {name: repo.file(name).read_bytes() for name in before} == before
