#!/usr/bin/python3
"""scikit-learn under `fresh run`: an MLPClassifier trained with partial_fit,
one epoch per budget unit, pickled to the trial directory after every epoch
so a promoted job continues where the last one stopped.

    fresh run --space examples/python/digits_sklearn_space.json \\
        --min-budget 1 --max-budget 27 --budget 5 --storage sk.db -- \\
        /usr/bin/python3 examples/python/train_digits_sklearn.py {config}

The configuration comes as the JSON file {config} (fresh_report.config()
reads it too), inactive parameters left out.
"""
import json
import os
import pickle
import sys
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.neural_network import MLPClassifier

try:
    import fresh_report as fr
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "python"))
    import fresh_report as fr


def main():
    cfg = {"alpha": 1e-4, "learning_rate_init": 1e-3, "hidden": 32, "batch_size": 64}
    if len(sys.argv) > 1:
        with open(sys.argv[1]) as f:
            cfg.update(json.load(f))
    d = load_digits()
    order = np.random.RandomState(1998).permutation(len(d.target))
    x, y = d.data[order] / 16.0, d.target[order]
    xtr, ytr, xva, yva = x[:1200], y[:1200], x[1200:], y[1200:]
    ckpt = os.path.join(fr.trial_dir("."), "model.pkl")
    start, clf = 0, None
    if os.environ.get("FRESH_TRIAL_DIR") and os.path.exists(ckpt):
        with open(ckpt, "rb") as f:
            start, clf = pickle.load(f)
        print("continuing from epoch %d" % start)
    if clf is None:
        clf = MLPClassifier(hidden_layer_sizes=(int(cfg["hidden"]),), alpha=cfg["alpha"],
                            learning_rate_init=cfg["learning_rate_init"],
                            batch_size=int(cfg["batch_size"]),
                            random_state=fr.seed() + fr.config_id())
    rng = np.random.RandomState(fr.config_id() + 17 * start)
    for epoch in range(start + 1, int(fr.budget(20)) + 1):
        perm = rng.permutation(len(ytr))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.partial_fit(xtr[perm], ytr[perm], classes=np.arange(10))
        if os.environ.get("FRESH_TRIAL_DIR"):
            with open(ckpt + ".tmp", "wb") as f:
                pickle.dump((epoch, clf), f)
            os.replace(ckpt + ".tmp", ckpt)
        fr.report(epoch, 1.0 - clf.score(xva, yva))


if __name__ == "__main__":
    main()
