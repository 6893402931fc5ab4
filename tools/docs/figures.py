"""The figures of README and docs/, drawn from the runs recorded in docs/runs (see tools/docs/build.py)."""

import csv
import os

os.environ["MPLBACKEND"] = "Agg"  # files only, whatever the variable said (see scratchnet/report/plots.py)
import matplotlib.pyplot as plt

# Runs whose figures (drawn by the evaluate stage from the model) are kept with the record.
WITH_FIGURES = {"default"}
FIGURES = ("confusion", "misclassified", "features", "embedding", "reliability")
PHOTO_EXAMPLE = ("photo.jpg", "photo.png")  # tools.photos --example, then predict --show


def series(runs, name, quantity):
    """(epochs, values) of one quantity ("val/loss") of a recorded run's per-epoch record."""
    path = os.path.join(runs, name, "live", "plots", "metrics", f"{quantity}.tsv")
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    column = quantity.rsplit("/", 1)[-1]
    return [int(r["step"]) for r in rows], [float(r[column]) for r in rows]


def default_curves(runs, path):
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, quantity, label in ((axes[0], "loss", "cross-entropy loss"), (axes[1], "accuracy", "accuracy")):
        for part, colour in (("train", "tab:blue"), ("val", "tab:orange")):
            epochs, values = series(runs, "default", f"{part}/{quantity}")
            ax.plot(epochs, values, color=colour, label="training" if part == "train" else "validation")
        ax.set(xlabel="epoch", ylabel=label, title=f"{label.capitalize()}, default configuration, full MNIST")
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_yscale("log")
    axes[1].set_ylim(0.9, 1.0)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)


def compare(runs, path, named, panels, figsize):
    """One line per recorded run ``named`` ((name, label) pairs) in each panel (quantity, axis settings)."""
    fig, axes = plt.subplots(1, len(panels), figsize=figsize, squeeze=False)
    for ax, (quantity, settings) in zip(axes[0], panels):
        for name, label in named:
            epochs, values = series(runs, name, quantity)
            ax.plot(epochs, values, label=label)
        ax.set(xlabel="epoch", **settings)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)


def lambda_curves(runs, path):
    """Validation loss per epoch of the three λ of the original notebook."""
    named = (("default", "λ 0.001"), ("lambda-1e-4", "λ 0.0001"), ("lambda-5e-5", "λ 0.00005"))
    loss = {"ylabel": "validation loss", "yscale": "log", "title": "Validation loss by λ, full MNIST"}
    compare(runs, path, named, [("val/loss", loss)], figsize=(6.4, 3.8))


def dropout_curves(runs, path):
    """Validation accuracy and loss per epoch of the default configuration and the same with dropout 0.2."""
    named = (("default", "default (no dropout)"), ("dropout-0.2", "dropout 0.2"))
    accuracy = {"ylabel": "validation accuracy", "ylim": (0.95, 0.985), "title": "Validation accuracy"}
    loss = {"ylabel": "validation loss", "yscale": "log", "title": "Validation loss"}
    compare(runs, path, named, [("val/accuracy", accuracy), ("val/loss", loss)], figsize=(10, 3.6))


def draw(runs, out, images):
    """Every figure into ``images`` through the output set ``out``."""
    default_curves(runs, out.path(os.path.join(images, "default-curves.png")))
    lambda_curves(runs, out.path(os.path.join(images, "lambda-val-loss.png")))
    dropout_curves(runs, out.path(os.path.join(images, "dropout-val.png")))
    for figure in FIGURES:
        source = os.path.join(runs, "default", "figures", f"{figure}.png")
        with open(source, "rb") as f, out.open(os.path.join(images, f"default-{figure}.png"), "wb") as g:
            g.write(f.read())
    for picture in PHOTO_EXAMPLE:  # the photographed digit and what the network saw, as predict wrote it
        if os.path.isfile(os.path.join(runs, picture)):
            with open(os.path.join(runs, picture), "rb") as f, out.open(os.path.join(images, picture), "wb") as g:
                g.write(f.read())
