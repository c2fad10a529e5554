#!/usr/bin/python3
"""Tunes a scikit-learn classifier with fresh: SGDClassifier on the digits,
budget = passes over the training data (partial_fit), checkpoints = pickle.

    /usr/bin/python3 examples/python/tune_sklearn.py --max-budget 27 --budget 10

A promoted job unpickles the model of the configuration's previous job and
continues its passes; hopeless configurations are stopped after a few.
Needs the `fresh` package (docs/python.md) and Debian's python3-sklearn.
"""
import argparse
import os
import pickle
import sys
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import fresh
except ImportError:  # run from the source tree after `make python`
    sys.path.insert(0, os.path.join(HERE, "..", "..", "build", "python"))
    import fresh

SPACE = fresh.Space({
    "parameters": [
        {"name": "loss", "type": "categorical", "choices": ["hinge", "log_loss", "modified_huber"]},
        {"name": "alpha", "type": "float", "low": 1e-7, "high": 1e-1, "log": True},
        {"name": "penalty", "type": "categorical", "choices": ["l2", "l1", "elasticnet"]},
        {"name": "l1_ratio", "type": "float", "low": 0.0, "high": 1.0,
         "condition": {"parent": "penalty", "equals": "elasticnet"}},
        {"name": "learning_rate", "type": "categorical", "choices": ["optimal", "invscaling", "adaptive"]},
        {"name": "eta0", "type": "float", "low": 1e-4, "high": 1.0, "log": True,
         "condition": {"parent": "learning_rate", "in": ["invscaling", "adaptive"]}},
    ]
})


def data():
    d = load_digits()
    x = StandardScaler().fit_transform(d.data)
    return train_test_split(x, d.target, train_size=1200, random_state=1998)


def make_objective(xtr, xva, ytr, yva):
    classes = np.unique(ytr)

    def objective(trial):
        if trial.checkpoint:
            model = pickle.loads(trial.checkpoint)          # continue a promoted configuration
        else:
            p = dict(trial.params)
            model = SGDClassifier(random_state=trial.seed + trial.config_id, eta0=p.pop("eta0", 0.01),
                                  **p)
        rng = np.random.RandomState(trial.config_id)
        err = float("nan")
        for epoch in range(int(trial.resume_from) + 1, int(trial.budget) + 1):
            order = rng.permutation(len(ytr))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.partial_fit(xtr[order], ytr[order], classes=classes)
            err = 1.0 - model.score(xva, yva)
            if not trial.report(epoch, err):
                break
        trial.save_checkpoint(pickle.dumps(model))
        return err

    return objective


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max-budget", type=float, default=27, help="passes (default 27)")
    ap.add_argument("--budget", type=float, default=10, help="total, in max-budget runs")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    study = fresh.Study(SPACE, min_budget=1, max_budget=args.max_budget, eta=3,
                        workers=args.workers, seed=args.seed)
    why = study.optimize(make_objective(*data()), budget=args.budget)
    st = study.stats
    print(f"{why}: {st['jobs_finished']} jobs ({st['jobs_stopped']} stopped early), "
          f"{st['used_mbe']:.2f} MBE, {st['wall_time']:.1f} s")
    best = study.best
    print(f"best: validation error {best['loss']:.4f} after {best['budget']:g} passes with {best['params']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
