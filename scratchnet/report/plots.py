"""PNG figures: training curves, the confusion matrix, what the network learned (first-layer
features, the last hidden layer's embedding), the misclassified digits and the reliability diagram."""

import os

# Files only, no screen: the Agg backend, whatever MPLBACKEND says (`import matplotlib` itself
# fails on a value it does not know, so the variable is set before the import).
os.environ["MPLBACKEND"] = "Agg"
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def _save(fig, path):
    """Write ``fig`` as PNG to ``path`` (the evaluate stage passes a temporary of its output set)."""
    try:
        fig.savefig(path, format="png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)


def training_curve(history, metric, model_epoch, path):
    """train_<metric> and val_<metric> against epoch, with the epoch whose weights the model holds marked."""
    epochs = [r["epoch"] for r in history]
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.plot(epochs, [r[f"train_{metric}"] for r in history], label="train")
    ax.plot(epochs, [r[f"val_{metric}"] for r in history], label="validation")
    ax.axvline(model_epoch, color="grey", linestyle="--", label=f"the model's epoch ({model_epoch})")
    ax.set(xlabel="epoch", ylabel=metric, title=f"{metric.capitalize()} per epoch")
    if metric == "loss":
        ax.set_yscale("log")
    ax.legend()
    ax.grid(alpha=0.3)
    _save(fig, path)


def confusion(counts, path, title="Confusion matrix (test)"):
    fig, ax = plt.subplots(figsize=(5.6, 5))
    image = ax.imshow(np.log1p(counts), cmap="Blues")
    for (i, j), c in np.ndenumerate(counts):
        ax.text(j, i, str(c), ha="center", va="center", fontsize=7, color="white" if c > counts.max() / 3 else "black")
    ax.set(xlabel="predicted", ylabel="actual", title=title, xticks=range(10), yticks=range(10))
    fig.colorbar(image, ax=ax, label="log(1 + count)")
    _save(fig, path)


def features(weights, initial, n, path):
    """First-layer weight vectors as 28x28 images: the n units with the largest norm. ``initial``
    is the same layer at its He initialization: the title says how far training moved it, and
    when that is little (a short run on few digits) that the pictures are still mostly noise."""
    norms = np.linalg.norm(weights, axis=0)
    units = np.argsort(-norms, kind="stable")[:n]
    cols = int(np.ceil(np.sqrt(len(units))))
    rows = int(np.ceil(len(units) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(1.1 * cols, 1.1 * rows + 0.7))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, unit in zip(np.ravel(axes), units):
        image = weights[:, unit].reshape(28, 28)
        limit = np.abs(image).max()
        ax.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_title(str(unit), fontsize=6, pad=1)
    moved = weight_change(weights, initial)
    title = (
        f"First-layer weights of the {len(units)} units with the largest norm (of {weights.shape[1]}; red +, blue −)\n"
        f"training moved them {100 * moved:.0f}% from their random initialization"
    )
    if moved < LITTLE_CHANGE:
        title += ": still mostly noise (strokes show after longer training on more digits, e.g. full MNIST)"
    fig.suptitle(title, fontsize=9)
    _save(fig, path)


LITTLE_CHANGE = 0.5  # of weight_change, below which features.png says its pictures are mostly noise


def weight_change(weights, initial):
    """||W − W₀|| / ||W₀||: how far training moved a layer from its initialization (0: not at all)."""
    w, w0 = weights.astype(np.float64), initial.astype(np.float64)
    return float(np.linalg.norm(w - w0) / np.linalg.norm(w0))


def misclassified(images, y_true, proba, n, path):
    """A grid of misclassified digits, the most confident mistakes first."""
    rows_shown = worst_mistakes(y_true, proba, n)
    cols = 6
    rows = max(1, int(np.ceil(len(rows_shown) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(1.5 * cols, 1.6 * rows + 0.4))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, row in zip(np.ravel(axes), rows_shown):
        predicted = int(proba[row].argmax())
        ax.imshow(images[row].reshape(28, 28), cmap="gray_r")
        ax.set_title(f"true {y_true[row]} / pred {predicted} ({proba[row, predicted]:.2f})", fontsize=7)
    fig.suptitle(
        f"{len(rows_shown)} misclassified test digits, highest confidence in the wrong class first", fontsize=9
    )
    _save(fig, path)


def worst_mistakes(y_true, proba, n):
    """Rows where the prediction is wrong, by the probability given to the wrong class, highest first."""
    predicted = proba.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    confidence = proba[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")][:n]


def embedding(points, labels, path, title):
    """A 2-D scatter of points coloured by digit. The title adds how many points there are and
    how well the plane alone separates the digits (the share of points nearest their own digit's
    centre), so a blob on few digits says what it is. Points with a single component (a layer of
    one unit, a single digit) are drawn on a line, and the title says so."""
    fig, ax = plt.subplots(figsize=(6, 5.4))
    cmap = plt.get_cmap("tab10")
    flat = points.shape[1] < 2
    second = np.zeros(len(points)) if flat else points[:, 1]
    for digit in range(10):
        mine = labels == digit
        ax.scatter(points[mine, 0], second[mine], s=3, alpha=0.5, color=cmap(digit), label=str(digit))
    separated = nearest_centre_share(points, labels)
    note = "; a single principal component (no second to draw)" if flat else ""
    ax.set(
        xlabel="principal component 1",
        ylabel="(none)" if flat else "principal component 2",
        title=f"{title}\n{len(labels):,} digits; {100 * separated:.0f}% lie nearest their own digit's centre{note}",
    )
    ax.legend(markerscale=4, fontsize=7, title="digit", loc="best")
    _save(fig, path)


def nearest_centre_share(points, labels):
    """The share of points whose nearest class centre (mean of a digit's points) is their own digit's."""
    present = np.unique(labels)
    centres = np.stack([points[labels == d].mean(axis=0) for d in present])
    distances = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return float(np.mean(present[distances.argmin(axis=1)] == labels))


def reliability(bins_by_split, eces, path):
    """Reliability diagrams: accuracy against confidence per bin, one panel per split."""
    fig, axes = plt.subplots(1, len(bins_by_split), figsize=(5 * len(bins_by_split), 4.4), squeeze=False)
    for ax, (name, bins) in zip(axes[0], bins_by_split.items()):
        lower = np.array([b["lower"] for b in bins])
        width = np.array([b["upper"] - b["lower"] for b in bins])
        accuracy = np.array([b["accuracy"] for b in bins])
        counts = np.array([b["count"] for b in bins])
        used = counts > 0
        ax.bar(
            lower[used],
            accuracy[used],
            width=width[used],
            align="edge",
            edgecolor="black",
            alpha=0.7,
            label="accuracy in bin",
        )
        ax.plot([0, 1], [0, 1], "k--", label="perfect calibration")
        for x, w, a, c in zip(lower[used], width[used], accuracy[used], counts[used]):
            ax.text(x + w / 2, a + 0.02, f"{c:,}", ha="center", va="bottom", fontsize=6, rotation=90)
        ax.set(
            xlim=(0, 1),
            ylim=(0, 1.25),  # room above the bars for their counts
            yticks=np.linspace(0, 1, 6),
            xlabel="confidence (max probability)",
            ylabel="accuracy",
            title=f"{name}: ECE {100 * eces[name]:.2f}%",
        )
    handles, labels = axes[0, 0].get_legend_handles_labels()
    handles.append(plt.Line2D([], [], linestyle="none"))
    labels.append("above each bar: the digits in it")
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.06))
    _save(fig, path)
