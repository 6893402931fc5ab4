"""What `make bench` times, each the way a user's training runs it: one epoch through ``fit``.

A contender is an optimizer (SGD, momentum, Nesterov, Adam, at the default network, batch 64
and lambda 0.001) on one side (scratchnet, or PyTorch through the same ``fit``:
tools/bench/reference.py) at a thread count. Its epoch is the record ``fit`` makes, as the train
stage logs it: every training batch and the validation pass. ``step_overhead`` times one
step against the same products alone. ``fast_recipe`` runs README's fast recipe on full
MNIST to its test accuracy. Arrays are synthetic where timing does not depend on the values.
``per_step_us``, ``products_alone`` and ``machine`` serve `make profile` too.
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np

from scratchnet.base.formats import N_CLASSES, N_PIXELS
from scratchnet.nn.fit import FitConfig, fit
from scratchnet.nn.kernels.blas import blas_threads, find_sgemm
from scratchnet.nn.model import MLP
from scratchnet.nn.optim import SGD, Adam, Cosine, Momentum
from scratchnet.training.distort import Distortion, Prefetcher

HIDDEN, BATCH, LAM = (512, 256, 128), 64, 0.001
SIZES = (N_PIXELS, *HIDDEN, N_CLASSES)
OPTIMIZERS = {
    "sgd": lambda: SGD(lr=0.001, weight_decay=LAM),
    "momentum": lambda: Momentum(lr=0.001, momentum=0.9, weight_decay=LAM),
    "nesterov": lambda: Momentum(lr=0.001, momentum=0.9, nesterov=True, weight_decay=LAM),
    "adam": lambda: Adam(lr=0.001, weight_decay=LAM),
}
# The distortions of docs/literature.md's lit-elastic rows: affine and elastic together, the costliest.
DISTORTION = Distortion(shift=2, rotation=10.0, scale=0.1, shear=10.0, elastic_alpha=34.0, elastic_sigma=4.0)


class Contender:
    """One optimizer on one side at one thread count, trained epoch after epoch through ``fit``."""

    def __init__(self, side, optimizer, threads, data, distort=False):
        self.side, self.optimizer_name, self.threads, self.data = side, optimizer, threads, data
        model = MLP(SIZES, seed=0)
        self.optimizer = OPTIMIZERS[optimizer]()
        if side == "pytorch":
            from .reference import TorchMLP, TorchStep

            model = TorchMLP(model, threads)
            self.optimizer = TorchStep(self.optimizer, model)
        self.model, self.epochs = model, 0
        self.prefetcher = Prefetcher(DISTORTION, data[0], np.random.default_rng(1)) if distort else None

    @property
    def name(self):
        return f"{self.side}{'+distort' if self.prefetcher else ''} {self.optimizer_name}@{self.threads}"

    def epoch(self):
        """Seconds of one epoch as ``fit`` records it (training and the validation pass)."""
        X, y, X_val, y_val = self.data
        self.epochs += 1
        config = FitConfig(epochs=1, batch_size=BATCH, patience=1, tol=0.0, seed=self.epochs)
        images = self.prefetcher.next if self.prefetcher else None
        with blas_threads(self.threads):
            history = fit(self.model, self.optimizer, X, y, X_val, y_val, config, epoch_images=images)
        return history.records[0]["seconds"]

    def path(self):
        """Which step this contender takes (scratchnet: the fused path and its BLAS)."""
        if self.side == "pytorch":
            return "PyTorch"
        return f"{self.optimizer.fused or 'explicit'}: {self.optimizer.description}"

    def close(self):
        if self.prefetcher:
            self.prefetcher.close()


def per_step_us(f, n):
    """Microseconds per call of f, over n calls."""
    start = time.perf_counter()
    for _ in range(n):
        f()
    return (time.perf_counter() - start) / n * 1e6


def products_alone(X):
    """A function running a step's sgemm products on X (forward, backprop, weight and bias gradients) alone."""
    sgemm, _ = find_sgemm()
    model = MLP(SIZES, seed=0)
    products = model.products(X, sgemm)

    def run():
        for i in range(len(SIZES) - 1):
            products.forward(i)
        for i in range(len(SIZES) - 2, 0, -1):
            products.backprop(i)
        for i in range(len(SIZES) - 1):
            products.accumulate(i, model.grads[2 * i], 1.0, 0.0)
            products.accumulate_bias(i, model.grads[2 * i + 1], 1.0, 0.0)

    return run


def step_overhead(batch, repeats=200, rounds=5):
    """{optimizer: microseconds of a step beyond its products}: a step on one batch against the same
    sgemm products alone (forward, backprop, weight and bias gradients), interleaved, the median round."""
    rng = np.random.default_rng(0)
    X, y = rng.random((batch, N_PIXELS), dtype=np.float32), rng.integers(0, N_CLASSES, batch).astype(np.uint8)
    steppers = {}
    for name, make in OPTIMIZERS.items():
        model, optimizer = MLP(SIZES, seed=0), make()
        block = optimizer.epoch(model)
        block.__enter__()
        steppers[name] = (model, optimizer, block)
    alone = products_alone(X)

    def timed(f):
        for _ in range(10):
            f()
        return per_step_us(f, repeats)

    samples = {name: [] for name in steppers}
    try:
        for _ in range(rounds):
            floor = timed(alone)
            for name, (model, optimizer, _) in steppers.items():
                samples[name].append(timed(lambda m=model, o=optimizer: m.train_step(X, y, o)) - floor)
    finally:
        for _, _, block in steppers.values():
            block.__exit__(None, None, None)
    return {name: float(np.median(values)) for name, values in samples.items()}


FAST_RECIPE = {"lr": 0.1, "momentum": 0.9, "batch_size": 256, "epochs": 4, "lam": 1e-4, "threads": 2}


def fast_recipe(side, data, seed=0):
    """(seconds, test accuracy) of README's fast recipe (Nesterov momentum 0.9, lr 0.1, batch 256, cosine over
    4 epochs, lambda 1e-4, 2 threads) on the official split: the epochs' time as ``fit`` records it."""
    X, y, X_val, y_val, X_test, y_test = data
    r = FAST_RECIPE
    model = MLP(SIZES, seed=seed)
    optimizer = Momentum(lr=r["lr"], momentum=r["momentum"], nesterov=True, weight_decay=r["lam"], schedule=Cosine())
    if side == "pytorch":
        from .reference import TorchMLP, TorchStep

        model = TorchMLP(model, r["threads"])
        optimizer = TorchStep(optimizer, model)
    config = FitConfig(epochs=r["epochs"], batch_size=r["batch_size"], patience=r["epochs"], tol=0.0, seed=seed)
    with blas_threads(r["threads"]):
        history = fit(model, optimizer, X, y, X_val, y_val, config)
        accuracy = float(np.mean(model.predict(X_test) == y_test))
    return sum(rec["seconds"] for rec in history.records), accuracy


def synthetic(rows, val_rows, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((rows, N_PIXELS), dtype=np.float32)
    y = rng.integers(0, N_CLASSES, rows).astype(np.uint8)
    return X, y, X[:val_rows].copy(), y[:val_rows].copy()


def machine():
    """The machine a measurement ran on, recorded with every report of `make bench` and `make profile`."""
    cpu = platform.processor()
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
    }
