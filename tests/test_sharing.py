"""Sharing across machines the DVC way: a remote for data and models, git for the rest.

A local directory stands in for the remote (S3, SSH, ... work the same way).
After `dvc push`, a fresh clone that runs `dvc pull` has the data and the
model, and `dvc repro` has nothing left to run; `dvc exp push` shares an
experiment through the git remote.
"""

import pytest
from pipeline_helpers import Repo, make_project_repo, sha256_file, stages_reported, subprocess_env

pytestmark = pytest.mark.slow  # a minute of clones and pushes: `make test-slow` and CI

SHARED_OUTPUTS = (
    "data/raw/mnist.npz",
    "data/split/train.npz",
    "data/model/model.npz",
    "reports/figures/loss.png",
    "reports/metrics.json",
)


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    """The pipeline run once, committed, and pushed to a directory remote."""
    root = tmp_path_factory.mktemp("sharing")
    env = subprocess_env(root)
    origin = make_project_repo(root / "origin", env)
    origin.dvc("repro")
    origin.dvc("remote", "add", "-d", "storage", str(root / "remote"))
    origin.commit("pipeline outputs and a DVC remote")
    origin.dvc("push")
    return root, env, origin


def test_fresh_clone_pulls_data_and_model_and_has_nothing_to_run(pushed, tmp_path):
    root, env, origin = pushed
    Repo(root, env).run("git", "clone", "-q", str(origin.path), str(tmp_path / "clone"))
    clone = Repo(tmp_path / "clone", env)
    assert not clone.file("data/model/model.npz").exists()

    clone.dvc("pull")
    for name in SHARED_OUTPUTS:
        assert sha256_file(clone.file(name)) == sha256_file(origin.file(name)), name

    output = clone.dvc("repro").stdout
    ran, skipped = stages_reported(output)
    assert ran == set(), output
    assert "up to date" in output
    assert clone.dvc("status").stdout.strip() == "Data and pipelines are up to date."


def test_experiment_pushed_from_one_clone_is_pulled_by_another(pushed, tmp_path):
    root, env, origin = pushed
    clones = []
    for name in ("alice", "bob"):
        Repo(root, env).run("git", "clone", "-q", str(origin.path), str(tmp_path / name))
        clones.append(Repo(tmp_path / name, env))
    alice, bob = clones
    alice.dvc("pull")
    alice.dvc("exp", "run", "-n", "lambda-1e-4", "-S", "train.lambda=1e-4")
    alice.dvc("exp", "push", "origin", "lambda-1e-4")  # git refs to origin, outputs to the DVC remote

    assert "lambda-1e-4" in bob.dvc("exp", "list", "origin").stdout
    bob.dvc("exp", "pull", "origin", "lambda-1e-4")
    bob.dvc("exp", "apply", "lambda-1e-4")
    assert "lambda: 0.0001" in bob.file("params.yaml").read_text()
    for name in SHARED_OUTPUTS:
        assert sha256_file(bob.file(name)) == sha256_file(alice.file(name)), name
