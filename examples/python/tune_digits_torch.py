#!/usr/bin/python3
"""Tunes a PyTorch network on the handwritten digits with fresh, in-process.

The objective is a Python function that fresh's worker pool calls: it trains
a configuration up to `trial.budget` epochs, reports the validation error
after each epoch (fresh stops hopeless configurations early), and saves the
model, the optimizer and its random state as a checkpoint so that a promoted
job continues exactly where the previous one stopped.

    /usr/bin/python3 examples/python/tune_digits_torch.py                  # 27 epochs, 10 MBE, 2 workers
    /usr/bin/python3 examples/python/tune_digits_torch.py --max-budget 81 --budget 20 \\
        --storage digits.db          # Ctrl-C, then add --resume to continue

Needs the `fresh` package (`make python`, then PYTHONPATH=build/python, or
`pip install ./python`; docs/python.md) and Debian's python3-torch.
Data: the UCI digits (1797 8x8 images) of bench/data/digits.csv.gz, or
scikit-learn's copy; 1200 rows train, 597 validate, split with a fixed seed.
"""
import argparse
import io
import os
import sys
import time

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
try:
    import fresh
except ImportError:  # run from the source tree after `make python`
    sys.path.insert(0, os.path.join(HERE, "..", "..", "build", "python"))
    import fresh

from digits_torch import N_TRAIN, build, load_digits  # noqa: E402 (beside this file)

# The space of docs/digits.md, in the short dict form (a dict value is a
# parameter of fresh's JSON format without its name).
SPACE = {
    "lr": (1e-4, 1.0, "log"),
    "batch_size": (16, 256, "log"),
    "hidden": (16, 256, "log"),
    "layers": (1, 3),
    "dropout": (0.0, 0.5),
    "weight_decay": (1e-6, 1e-2, "log"),
    "optimizer": ["sgd", "adam"],
    "momentum": {"type": "float", "low": 0.0, "high": 0.99,
                 "condition": {"parent": "optimizer", "equals": "sgd"}},
    "activation": ["relu", "tanh"],
}
DEFAULT = {"lr": 0.01, "batch_size": 64, "hidden": 32, "layers": 1, "dropout": 0.0,
           "weight_decay": 1e-5, "optimizer": "sgd", "momentum": 0.0, "activation": "relu"}


class Trainer:
    """Trains one configuration epoch by epoch; its state fits in bytes."""

    def __init__(self, data, p, seed, state=None):
        self.data, self.p = data, p
        self.model, self.opt = build(p, seed)
        self.shuffle = torch.Generator().manual_seed(seed)
        self.epoch = 0
        if state is not None:
            s = torch.load(io.BytesIO(state))
            self.model.load_state_dict(s["model"])
            self.opt.load_state_dict(s["opt"])
            self.shuffle.set_state(s["shuffle"])
            self.epoch = s["epoch"]

    def train_epoch(self):
        """One epoch; returns the validation error rate (NaN if it diverged)."""
        xtr, ytr, xva, yva = self.data
        loss_fn = nn.CrossEntropyLoss()
        self.model.train()
        perm = torch.randperm(N_TRAIN, generator=self.shuffle)
        for i in range(0, N_TRAIN, self.p["batch_size"]):
            idx = perm[i:i + self.p["batch_size"]]
            self.opt.zero_grad()
            loss_fn(self.model(xtr[idx]), ytr[idx]).backward()
            self.opt.step()
        self.epoch += 1
        self.model.eval()
        with torch.no_grad():
            out = self.model(xva)
            if not torch.isfinite(out).all():
                return float("nan")
            return (out.argmax(1) != yva).float().mean().item()

    def state(self):
        buf = io.BytesIO()
        torch.save({"model": self.model.state_dict(), "opt": self.opt.state_dict(),
                    "shuffle": self.shuffle.get_state(), "epoch": self.epoch}, buf)
        return buf.getvalue()


def make_objective(data):
    """The fresh objective over `data`."""
    def objective(trial):
        seed = trial.seed + 1000003 * trial.config_id
        net = Trainer(data, trial.params, seed, trial.checkpoint)   # continues a promotion
        assert net.epoch == int(trial.resume_from)
        err = float("nan")
        while net.epoch < trial.budget:
            err = net.train_epoch()
            if not trial.report(net.epoch, err):   # stopped early, or NaN: failed
                break
        trial.save_checkpoint(net.state())
        return err
    return objective


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--min-budget", type=float, default=1)
    ap.add_argument("--max-budget", type=float, default=27, help="epochs (default 27)")
    ap.add_argument("--budget", type=float, default=10,
                    help="total budget in max-budget trainings (default 10)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sampler", default="bohb")
    ap.add_argument("--storage", help="a study file (continue it with --resume)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--no-baseline", action="store_true",
                    help="skip training the untuned default configuration")
    args = ap.parse_args()
    torch.set_num_threads(1)  # one job per worker: the workers use the cores

    data = load_digits()
    space = fresh.Space(SPACE)
    study = fresh.Study(space, min_budget=args.min_budget, max_budget=args.max_budget, eta=3,
                        sampler=args.sampler, workers=args.workers, seed=args.seed,
                        storage=args.storage, resume=args.resume)

    def progress(study, job):
        if job["status"] == "failed":
            print(f"job {job['job_id']} failed: {job['message']}")
        elif job["budget"] == args.max_budget and job["status"] == "completed":
            print(f"job {job['job_id']}: error {job['loss']:.4f} at {job['budget']:g} epochs "
                  f"({study.stats['used_mbe']:.1f} of {args.budget:g} MBE)")

    t0 = time.time()
    why = study.optimize(make_objective(data), budget=args.budget, callbacks=[progress])
    st = study.stats
    print(f"{why}: {st['jobs_finished']} jobs, {st['used_mbe']:.2f} MBE in {time.time() - t0:.1f} s "
          f"({st['jobs_stopped']} stopped early, {st['jobs_failed']} failed, "
          f"utilization {st['utilization']:.2f})")
    best = study.best or study.best_any_budget
    if best:
        print(f"best: validation error {best['loss']:.4f} at {best['budget']:g} epochs with {best['params']}")
    if not args.no_baseline:
        net = Trainer(data, DEFAULT, args.seed)
        err = float("nan")
        for _ in range(int(args.max_budget)):
            err = net.train_epoch()
        print(f"untuned default configuration: validation error {err:.4f} at {args.max_budget:g} epochs")
    return 0 if best else 1


if __name__ == "__main__":
    sys.exit(main())
