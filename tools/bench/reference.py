"""The PyTorch reference: the same MLP, loss and optimizer in torch, shaped so that scratchnet's own
``fit`` trains it (same shuffle, distortions, early stopping and best-weight restore).

``TorchMLP`` is a model as ``fit`` needs one (``params`` it can copy and restore, ``evaluate``),
holding the same He-initialized weights as a scratchnet MLP; ``TorchStep`` is an optimizer as
``fit`` needs one, built from a scratchnet optimizer's own declaration of its PyTorch
equivalent (``torch_name``, ``torch_arguments``), so a new optimizer needs no table here.
PyTorch is optional (`make setup-bench`); the library never imports this module.
"""

from __future__ import annotations

import contextlib

import numpy as np

from scratchnet.base.errors import ParamsError


def require_torch():
    try:
        import torch
    except ImportError:
        raise ParamsError(
            "PyTorch is not installed; `make setup-bench` installs it (pip install -e '.[bench]')"
        ) from None
    return torch


def dropout_mask(rng, shape, rate):
    """Inverted dropout's mask as scratchnet's MLP draws it from the same generator (float32 uniforms,
    kept where >= rate, times 1 / (1 - rate)), so both sides drop the same units."""
    kept = rng.random(shape, dtype=np.float32) >= np.float32(rate)
    return kept.astype(np.float32) * np.float32(1.0 / (1.0 - rate))


class TorchMLP:
    """A torch.nn.Sequential holding the weights of a scratchnet ``model`` (W transposed) and ReLU;
    in training, the model's input and hidden dropout with scratchnet's masks (``dropout_mask``,
    drawn in the order scratchnet draws them: the inputs', then each hidden layer's)."""

    def __init__(self, model, threads=1):
        torch = require_torch()
        torch.set_num_threads(threads)
        layers = []
        for i in range(model.n_layers):
            linear = torch.nn.Linear(model.sizes[i], model.sizes[i + 1])
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(model.params[2 * i].T.copy()))
                linear.bias.copy_(torch.from_numpy(model.params[2 * i + 1]))
            layers += [linear, torch.nn.ReLU()]
        self.net = torch.nn.Sequential(*layers[:-1])
        self.dropout, self.input_dropout = model.dropout, model.input_dropout
        self.linears = [m for m in self.net if isinstance(m, torch.nn.Linear)]
        # NumPy views of the parameters' memory: fit copies and restores the best weights through them
        self.params = [a for m in self.linears for a in (m.weight.detach().numpy(), m.bias.detach().numpy())]
        self.dtype = self.params[0].dtype

    def train_step(self, X, y, optimizer, rng=None):
        """One batch with ``optimizer`` (a TorchStep): (summed loss, correct count), as MLP.train_step."""
        return optimizer.step(self, X, y, rng)

    def train_logits(self, X, rng=None):
        """The training forward pass (dropout from ``rng``, if given, as scratchnet's train_step)."""
        torch = require_torch()
        a = torch.from_numpy(X)
        if rng is None or not (self.dropout or self.input_dropout):
            return self.net(a)
        if self.input_dropout:
            a = a * torch.from_numpy(dropout_mask(rng, a.shape, self.input_dropout))
        for i, linear in enumerate(self.linears):
            a = linear(a)
            if i < len(self.linears) - 1:
                a = torch.relu(a)
                if self.dropout:
                    a = a * torch.from_numpy(dropout_mask(rng, a.shape, self.dropout))
        return a

    @property
    def weights(self):
        """The weight matrices in scratchnet's layout (fan_in, fan_out)."""
        return [m.weight.detach().numpy().T for m in self.linears]

    def logits(self, X):
        torch = require_torch()
        self.net.eval()
        with torch.no_grad():
            return self.net(torch.from_numpy(np.ascontiguousarray(X))).numpy()

    def predict(self, X):
        return self.logits(X).argmax(axis=1)

    def evaluate(self, X, y):
        torch = require_torch()
        logits = torch.from_numpy(self.logits(X))
        loss = torch.nn.functional.cross_entropy(logits.double(), torch.from_numpy(y.astype(np.int64)))
        return float(loss), float(np.mean(logits.numpy().argmax(axis=1) == y))


class TorchStep:
    """torch.optim's counterpart of the scratchnet ``optimizer`` (which it reads, and never steps):
    its learning rate and schedule, and its weight decay on the weights only (torch's
    ``weight_decay`` adds lambda * W to the gradient, as scratchnet's optimizers do), and its
    max-norm on the hidden layers (torch.renorm of each unit's incoming weights after the step)."""

    def __init__(self, optimizer, net):
        torch = require_torch()
        if not optimizer.torch_name:
            raise ParamsError(f"{type(optimizer).__name__} declares no PyTorch equivalent (torch_name)")
        self.base_lr, self.schedule, self.net = optimizer.lr, optimizer.schedule, net
        self.max_norm = optimizer.max_norm
        groups = [
            {"params": [m.weight for m in net.linears], "weight_decay": optimizer.weight_decay},
            {"params": [m.bias for m in net.linears], "weight_decay": 0.0},
        ]
        self.optimizer = getattr(torch.optim, optimizer.torch_name)(groups, **optimizer.torch_arguments())
        self._factor = 1.0

    def start_epoch(self, epoch, epochs):  # fit sets each epoch's learning rate
        self._factor = self.schedule(epoch, epochs)
        for group in self.optimizer.param_groups:
            group["lr"] = self.base_lr * self._factor

    @property
    def current_lr(self):
        return self.base_lr * self._factor

    def epoch(self, model):
        return contextlib.nullcontext()

    def state(self):
        return {}

    def step(self, model, X, y, rng=None):
        """One batch: (summed loss, correct count), as scratchnet's optimizers return them."""
        torch = require_torch()
        model.net.train()
        self.optimizer.zero_grad()
        logits = model.train_logits(X, rng)
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y).long())
        if not torch.isfinite(loss):
            return float(loss), 0
        loss.backward()
        self.optimizer.step()
        if self.max_norm:
            with torch.no_grad():
                for linear in model.linears[:-1]:  # a row of torch's weight is a unit's incoming weights
                    linear.weight.copy_(torch.renorm(linear.weight, 2, 0, self.max_norm))
        return float(loss.detach()) * len(X), int((logits.detach().argmax(1).numpy() == y).sum())
