"""The PyTorch reference network, for bench and compare: the same MLP, loss and optimizers in torch.

PyTorch is optional (`make setup-bench`); nothing in the library imports this module.
"""
import numpy as np


def torch_mlp(model):
    """A torch.nn.Sequential holding the same weights as ``model`` (W transposed), ReLU between layers."""
    import torch
    layers = []
    for i in range(model.n_layers):
        linear = torch.nn.Linear(model.sizes[i], model.sizes[i + 1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(model.params[2 * i].T.copy()))
            linear.bias.copy_(torch.from_numpy(model.params[2 * i + 1]))
        layers += [linear, torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def torch_optimizer(net, train):
    """The torch optimizer that ``train.optimizer`` names, with L2 = ``train.lam`` on weights only.

    torch's ``weight_decay`` adds lambda * W to the gradient, as scratchnet's L2 term does;
    biases go in a group without decay.
    """
    import torch
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    groups = [{"params": [m.weight for m in linears], "weight_decay": train.lam},
              {"params": [m.bias for m in linears], "weight_decay": 0.0}]
    makers = {
        "sgd": lambda: torch.optim.SGD(groups, lr=train.lr),
        "momentum": lambda: torch.optim.SGD(groups, lr=train.lr, momentum=train.momentum, nesterov=train.nesterov),
        "adam": lambda: torch.optim.Adam(groups, lr=train.lr, betas=(train.beta1, train.beta2), eps=train.eps),
    }
    return makers[train.optimizer]()


def torch_epoch(net, optimizer, X, y, order, batch_size):
    """One pass of mini-batch training over the rows of X (torch tensors) in ``order`` (NumPy indices)."""
    import torch
    for first in range(0, len(order), batch_size):
        rows = torch.from_numpy(np.ascontiguousarray(order[first:first + batch_size]))
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(X[rows]), y[rows]).backward()
        optimizer.step()
