"""PNG figures: training curves, confusion matrix, and what the network learned."""
import matplotlib

matplotlib.use("Agg")  # files only, no screen needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .atomic import atomic_path  # noqa: E402


def _save(fig, path):
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def training_curve(history, metric, best_epoch, path):
    """train_<metric> and val_<metric> against epoch, with the best epoch marked."""
    epochs = [r["epoch"] for r in history]
    fig, ax = plt.subplots(figsize=(6.4, 4))
    ax.plot(epochs, [r[f"train_{metric}"] for r in history], label="train")
    ax.plot(epochs, [r[f"val_{metric}"] for r in history], label="validation")
    ax.axvline(best_epoch, color="grey", linestyle="--", label=f"best epoch ({best_epoch})")
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
        ax.text(j, i, str(c), ha="center", va="center", fontsize=7,
                color="white" if c > counts.max() / 3 else "black")
    ax.set(xlabel="predicted", ylabel="actual", title=title, xticks=range(10), yticks=range(10))
    fig.colorbar(image, ax=ax, label="log(1 + count)")
    _save(fig, path)
