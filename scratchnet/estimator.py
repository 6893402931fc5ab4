"""``MLPClassifier``: the from-scratch network behind scikit-learn's estimator interface, so that
``cross_val_score``, ``GridSearchCV`` and ``Pipeline`` work with it.

Parameters are named as scikit-learn's ``MLPClassifier`` names them where they mean the same
(``hidden_layer_sizes``, ``learning_rate_init``, ``batch_size``, ``max_iter``, ``momentum``,
``nesterovs_momentum``, ``beta_1``, ``beta_2``, ``epsilon``, ``early_stopping``,
``validation_fraction``, ``n_iter_no_change``, ``tol``, ``random_state``), and so are the fitted
attributes (``classes_``, ``coefs_``, ``intercepts_``, ``loss_curve_``, ``validation_scores_``,
``best_loss_``, ``n_iter_``, ``t_``). Where the meaning differs, so does the name: ``l2`` is
scratchnet's lambda, added as ``l2 * W`` to each weight gradient (scikit-learn's ``alpha`` is
divided by the batch size); ``solver`` takes scratchnet's optimizers ("sgd" is plain SGD,
"momentum" heavy ball or Nesterov, "adam"); ``schedule`` is a learning-rate schedule of
``train.schedule``; ``dropout`` and ``input_dropout`` are the rates of hidden units and of input
features dropped in training (``model.dropout``, ``model.input_dropout``), ``max_norm`` the
largest L2 norm of each hidden unit's incoming weights (``train.max_norm``; 0 = off); early
stopping restores the weights of the epoch with the lowest validation loss (scikit-learn's keeps
the best validation accuracy).

Input: uint8 pixels are divided by 255, as the pipeline scales MNIST; any other numbers are
taken as they are (float32 inside), so scale them yourself (``MinMaxScaler`` in a ``Pipeline``).
This module alone imports scikit-learn; ``scratchnet.nn`` stays NumPy-only.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from .base.constraints import Invalid, arguments, check
from .nn.fit import FitConfig, fit, train_epoch
from .nn.kernels.blas import blas_threads
from .nn.model import MLP
from .nn.optim import OPTIMIZERS, SCHEDULES


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """A multilayer perceptron (ReLU hidden layers, softmax output, cross-entropy plus L2 on the
    weights) trained by scratchnet's NumPy code. See the module's docstring for the parameters."""

    def __init__(
        self,
        hidden_layer_sizes=(512, 256, 128),
        *,
        solver="adam",
        learning_rate_init=0.001,
        l2=0.0001,
        batch_size=64,
        max_iter=200,
        schedule="none",
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        dropout=0.0,
        input_dropout=0.0,
        max_norm=0.0,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        threads=1,
        verbose=False,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.l2 = l2
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.schedule = schedule
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.max_norm = max_norm
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.threads = threads
        self.verbose = verbose

    # --- scikit-learn's interface ------------------------------------------------------------

    def fit(self, X, y):
        """Train a new network on (X, y) for at most ``max_iter`` epochs."""
        X, y = self._validate(X, y, reset=True)
        self.classes_, y = np.unique(y, return_inverse=True)
        self._check_classes()
        rng = check_random_state(self.random_state)
        init_seed, shuffle_seed, split_seed = (int(s) for s in rng.randint(0, 2**31 - 1, size=3))
        X_val = y_val = None
        n_val = int(np.ceil(self.validation_fraction * len(X))) if self.early_stopping else 0
        if 0 < n_val < len(X):  # too few samples to hold some out: the training loss is monitored instead
            stratify = y if n_val >= len(self.classes_) and np.bincount(y).min() >= 2 else None
            X, X_val, y, y_val = train_test_split(X, y, test_size=n_val, random_state=split_seed, stratify=stratify)
        self._start(X.shape[1], init_seed)
        optimizer = self._optimizer()
        config = self._checked(
            FitConfig(
                epochs=self.max_iter,
                batch_size=self._batch_size(len(X)),
                patience=self.n_iter_no_change,
                tol=self.tol,
                seed=shuffle_seed,
            )
        )
        with blas_threads(self.threads):
            history = fit(
                self.model_, optimizer, X, y, X_val, y_val, config, on_epoch=self._log if self.verbose else None
            )
        self.loss_curve_ = [r["train_loss"] for r in history.records]
        self.validation_scores_ = [r["val_accuracy"] for r in history.records] if X_val is not None else None
        self.best_loss_ = history.best_val_loss
        self.n_iter_ = len(history.records)
        self.t_ = self.n_iter_ * len(X)
        return self

    def partial_fit(self, X, y, classes=None):
        """One epoch on (X, y), starting a network on the first call (which needs ``classes``
        unless the estimator was fitted before); early stopping plays no part."""
        first = not hasattr(self, "model_")
        X, y = self._validate(X, y, reset=first)
        if first or not hasattr(self, "_partial"):
            rng = check_random_state(self.random_state)
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self.classes_ = np.unique(classes)
            self._check_classes()
            self._start(X.shape[1], int(rng.randint(0, 2**31 - 1)))
            self.loss_curve_, self.n_iter_, self.t_ = [], 0, 0
            self.validation_scores_, self.best_loss_ = None, np.inf
        if not hasattr(self, "_partial"):  # the optimizer's state and the shuffle, kept across calls
            self._partial = (self._optimizer(), np.random.default_rng(int(rng.randint(0, 2**31 - 1))))
        unknown = np.setdiff1d(y, self.classes_)
        if len(unknown):
            raise ValueError(f"y holds labels {unknown[:10].tolist()} that are not in classes_")
        y = np.searchsorted(self.classes_, y)
        optimizer, rng = self._partial
        with blas_threads(self.threads):
            loss, _ = train_epoch(
                self.model_,
                optimizer,
                X,
                y,
                rng.permutation(len(X)),
                batch_size=self._batch_size(len(X)),
                rng=rng,
            )
        self.loss_curve_.append(loss / len(X))
        self.best_loss_ = min(self.best_loss_, self.loss_curve_[-1])
        self.n_iter_ += 1
        self.t_ += len(X)
        return self

    def predict_proba(self, X):
        """Class probabilities, computed in float64 from the trained float32 weights, so that a row's
        probabilities do not depend on the rows predicted with it (float32 BLAS products may sum
        in another order for another number of rows; scikit-learn's checks expect invariance)."""
        check_is_fitted(self)
        X = self._validate(X, reset=False)
        model = MLP(self.model_.sizes, seed=0, dtype=np.float64)
        for p, trained in zip(model.params, self.model_.params):
            p[...] = trained
        return model.predict_proba(X.astype(np.float64))

    def predict(self, X):
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    @property
    def coefs_(self):
        check_is_fitted(self)
        return self.model_.weights

    @property
    def intercepts_(self):
        check_is_fitted(self)
        return self.model_.params[1::2]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.classifier_tags.multi_class = True
        return tags

    # --- the network behind it -----------------------------------------------------------------

    def _validate(self, X, y="no", *, reset):
        """X as float32 (uint8 pixels divided by 255), and y checked if given; scikit-learn's own validation."""
        if isinstance(y, str) and y == "no":
            X = validate_data(self, X, reset=reset, dtype=None)
        elif y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        else:
            X, y = validate_data(self, X, y, reset=reset, dtype=None)
            check_classification_targets(y)
        scaled = X.astype(np.float32) / np.float32(255) if X.dtype == np.uint8 else X.astype(np.float32)
        if not np.isfinite(scaled).all():
            raise ValueError("Input X contains values too large for float32 (scratchnet computes in float32)")
        return scaled if isinstance(y, str) else (scaled, y)

    def _check_classes(self):
        if len(self.classes_) < 2:
            raise ValueError(f"a classifier needs samples of at least 2 classes; got 1 class: {self.classes_[0]!r}")

    def _start(self, n_features, seed):
        hidden = np.atleast_1d(self.hidden_layer_sizes).tolist()
        if not hidden or not all(isinstance(h, int) and h > 0 for h in hidden):
            raise ValueError(f"hidden_layer_sizes={self.hidden_layer_sizes!r}: expected positive integers")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout={self.dropout!r}: expected a number in [0, 1)")
        if not 0 <= self.input_dropout < 1:
            raise ValueError(f"input_dropout={self.input_dropout!r}: expected a number in [0, 1)")
        sizes = [n_features, *hidden, len(self.classes_)]
        self.model_ = MLP(sizes, seed=seed, dropout=self.dropout, input_dropout=self.input_dropout)

    def _optimizer(self):
        if self.solver not in OPTIMIZERS:
            raise ValueError(f"solver={self.solver!r}: expected one of {', '.join(OPTIMIZERS)}")
        cls = OPTIMIZERS[self.solver]
        values = {
            "lr": self.learning_rate_init,
            "momentum": self.momentum,
            "nesterov": self.nesterovs_momentum,
            "beta1": self.beta_1,
            "beta2": self.beta_2,
            "eps": self.epsilon,
            "lambda": self.l2,
            "max_norm": self.max_norm,
        }
        return self._checked(cls(**arguments(cls, values), schedule=self._schedule()))

    def _batch_size(self, n_rows):
        """``batch_size``, clipped to the training rows with a warning, as scikit-learn's MLPClassifier
        does (the train stage does the same: docs/reliability.md says why)."""
        if isinstance(self.batch_size, int) and self.batch_size > n_rows:
            warnings.warn(
                f"batch_size={self.batch_size} is larger than the {n_rows} training rows: clipped", stacklevel=3
            )
            return n_rows
        return self.batch_size

    @staticmethod
    def _checked(obj):
        """``obj`` if its fields keep to what its class declares (the same bounds params.yaml has)."""
        try:
            check(obj)
        except Invalid as e:
            raise ValueError(str(e)) from None
        return obj

    def _schedule(self):
        if self.schedule not in SCHEDULES or self.schedule == "step":
            raise ValueError(f"schedule={self.schedule!r}: expected 'none' or 'cosine'")
        return SCHEDULES[self.schedule]()

    def _log(self, record):
        print(f"Iteration {record['epoch']}, loss = {record['train_loss']:.8f}")
