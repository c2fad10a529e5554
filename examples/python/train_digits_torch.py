#!/usr/bin/python3
"""A PyTorch network on the handwritten digits, tuned by `fresh run`.

The budget is the number of epochs. Each epoch ends with a report of the
validation error; the model, the optimizer and the random state are saved in
the configuration's trial directory, so that a promoted job continues where
the previous one stopped (the continued run trains exactly as an
uninterrupted one would). Run by hand it trains the default configuration:

    /usr/bin/python3 examples/python/train_digits_torch.py --epochs 27

Tuned (see `make demo-torch` and docs/run.md):

    fresh run --space examples/python/digits_torch_space.json \\
        --min-budget 1 --max-budget 27 --budget 10 --workers 2 --storage digits.db -- \\
        /usr/bin/python3 examples/python/train_digits_torch.py --lr {lr} \\
        --batch-size {batch_size} --hidden {hidden} --layers {layers} \\
        --dropout {dropout} --weight-decay {weight_decay} --optimizer {optimizer} \\
        --momentum {momentum} --epochs {budget}

Data: the UCI digits (1797 8x8 images) from the project's
bench/data/digits.csv.gz, or scikit-learn's copy (Debian python3-sklearn);
1200 rows train, 597 validate, split with a fixed seed.
"""
import argparse
import os
import sys

import torch
from torch import nn

try:
    import fresh_report as fr
except ImportError:  # run outside `fresh run`, without the module on the path
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "python"))
    import fresh_report as fr

from digits_torch import N_TRAIN, build, load_digits  # noqa: E402 (beside this file)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--weight-decay", type=float, default=1e-6)
    ap.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    ap.add_argument("--momentum", type=float, default=0.0)  # left out by fresh for adam
    ap.add_argument("--activation", choices=["relu", "tanh"], default="relu")
    ap.add_argument("--epochs", type=float, default=fr.budget(27))
    ap.add_argument("--seed", type=int, default=fr.seed() + 1000003 * fr.config_id())
    ap.add_argument("--config", help="a JSON configuration (fresh's {config} file, or the one "
                    "kept in the incumbent's trial directory): overrides the options")
    args = ap.parse_args()
    if args.config:
        import json
        with open(args.config) as f:
            for k, v in json.load(f).items():
                setattr(args, k, v)
    torch.set_num_threads(1)  # fresh runs one job per worker: no oversubscription

    xtr, ytr, xva, yva = load_digits()
    model, opt = build(vars(args), args.seed)
    shuffle = torch.Generator().manual_seed(args.seed)
    start = 0
    ckpt = os.path.join(fr.trial_dir("."), "checkpoint.pt") if os.environ.get(
        "FRESH_TRIAL_DIR") else None
    if ckpt and os.path.exists(ckpt):
        state = torch.load(ckpt)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        shuffle.set_state(state["shuffle"])
        torch.set_rng_state(state["rng"])
        start = state["epoch"]
        print("continuing from the checkpoint at epoch %d (resume_from %g)"
              % (start, fr.resume_from()))
    loss_fn = nn.CrossEntropyLoss()
    epochs = int(args.epochs)
    err = float("nan")
    for epoch in range(start + 1, epochs + 1):
        model.train()
        perm = torch.randperm(N_TRAIN, generator=shuffle)
        for i in range(0, N_TRAIN, args.batch_size):
            idx = perm[i:i + args.batch_size]
            opt.zero_grad()
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            out = model(xva)
            err = (out.argmax(1) != yva).float().mean().item()
            if not torch.isfinite(out).all():
                err = float("nan")  # diverged: fresh records a failed job
        if ckpt:
            tmp = ckpt + ".tmp"
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch,
                        "shuffle": shuffle.get_state(), "rng": torch.get_rng_state()}, tmp)
            os.replace(tmp, ckpt)
        fr.report(epoch, err)
        if err != err:
            return 1
    print("validation error %.4f after %d epochs" % (err, epochs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
