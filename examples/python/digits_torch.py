"""The data and the network shared by the PyTorch digits examples:
train_digits_torch.py (a program for `fresh run`) and tune_digits_torch.py
(an in-process objective of the fresh package).

Data: the UCI digits (1797 8x8 images) from the project's
bench/data/digits.csv.gz, or scikit-learn's copy (Debian python3-sklearn);
1200 rows train, 597 validate, split with a fixed seed.
"""
import gzip
import os

import numpy as np
import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
SPLIT_SEED = 1998
N_TRAIN = 1200


def load_digits():
    """(x_train, y_train, x_valid, y_valid) as tensors."""
    path = os.path.join(HERE, "..", "..", "bench", "data", "digits.csv.gz")
    if os.path.exists(path):
        with gzip.open(path, "rt") as f:
            data = np.loadtxt(f, delimiter=",", dtype=np.float32)
        x, y = data[:, :64] / 16.0, data[:, 64].astype(np.int64)
    else:
        from sklearn.datasets import load_digits as sk_digits
        d = sk_digits()
        x, y = d.data.astype(np.float32) / 16.0, d.target.astype(np.int64)
    order = np.random.RandomState(SPLIT_SEED).permutation(len(y))
    x, y = torch.from_numpy(x[order]), torch.from_numpy(y[order])
    return x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]


def build(p, seed):
    """The network and its optimizer for configuration p (a dict: lr, hidden,
    layers, dropout, weight_decay, optimizer, momentum for sgd, activation),
    initialised from seed."""
    torch.manual_seed(seed)
    layers, width = [], 64
    act = nn.ReLU if p["activation"] == "relu" else nn.Tanh
    for _ in range(p["layers"]):
        layers += [nn.Linear(width, p["hidden"]), act(), nn.Dropout(p["dropout"])]
        width = p["hidden"]
    layers.append(nn.Linear(width, 10))
    model = nn.Sequential(*layers)
    if p["optimizer"] == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=p["lr"], weight_decay=p["weight_decay"])
    else:
        opt = torch.optim.SGD(model.parameters(), lr=p["lr"], momentum=p.get("momentum", 0.0),
                              weight_decay=p["weight_decay"])
    return model, opt
