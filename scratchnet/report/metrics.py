"""Classification metrics from the labels and the model's predictions (classes or probabilities), and
the summary that reports/metrics.json holds."""

import numpy as np

from ..base.formats import KEPT_MODEL, N_CLASSES


def confusion_matrix(y_true, y_pred, n_classes=N_CLASSES):
    """counts[actual, predicted]."""
    counts = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    return counts


def per_class(y_true, y_pred, n_classes=N_CLASSES):
    """{digit: {precision, recall, f1, support}}; 0 where a ratio has no denominator."""
    counts = confusion_matrix(y_true, y_pred, n_classes)
    hits, predicted, actual = np.diag(counts), counts.sum(axis=0), counts.sum(axis=1)
    out = {}
    for k in range(n_classes):
        precision = hits[k] / predicted[k] if predicted[k] else 0.0
        recall = hits[k] / actual[k] if actual[k] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[str(k)] = dict(precision=float(precision), recall=float(recall), f1=float(f1), support=int(actual[k]))
    return out


def reliability(y_true, proba, n_bins):
    """Reliability-diagram bins over max-probability confidence, and the ECE.

    Returns (bins, ece): bins is a list of dicts {lower, upper, count, confidence,
    accuracy}; ECE = sum_b (n_b / n) * |accuracy_b - confidence_b| (Guo et al., 2017).
    """
    confidence = proba.max(axis=1).astype(np.float64)
    correct = proba.argmax(axis=1) == y_true
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Bin b holds confidences in (edges[b], edges[b+1]]; confidence is always > 0.
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    bins, ece = [], 0.0
    for b in range(n_bins):
        inside = which == b
        count = int(inside.sum())
        conf = float(confidence[inside].mean()) if count else 0.0
        acc = float(correct[inside].mean()) if count else 0.0
        ece += count / len(y_true) * abs(acc - conf)
        bins.append(dict(lower=float(edges[b]), upper=float(edges[b + 1]), count=count, confidence=conf, accuracy=acc))
    return bins, float(ece)


def summary(results, best_epoch, model_epoch, epochs):
    """reports/metrics.json: the kept model's figures under "model" ({train, val, test: {accuracy,
    loss, ...}}, the gaps, the epoch whose weights it holds), and the run's best_epoch and epochs.

    accuracy_gap = train accuracy - val accuracy; loss_gap = (val loss - train loss) / train loss,
    the original notebook's "loss gap" (how far validation loss sits above training loss).
    A ratio without a denominator is null, with the reason under "undefined", so the
    file stays strict JSON and no one compares a made-up number.
    """
    train, val = results["train"], results["val"]
    model = {**results, "epoch": model_epoch, "accuracy_gap": train["accuracy"] - val["accuracy"], "loss_gap": None}
    if train["loss"] > 0:
        model["loss_gap"] = (val["loss"] - train["loss"]) / train["loss"]
    else:
        model["undefined"] = {"loss_gap": "the training loss is 0, so the relative gap has no denominator"}
    return {KEPT_MODEL: model, "best_epoch": best_epoch, "epochs": epochs}
