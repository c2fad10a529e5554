"""Reference counting: 10,000 trials through optimize() and 10,000 through
ask/tell leak no Python object and no memory beyond what the C study keeps
per job. Measured as the Python heap's live blocks (sys.getallocatedblocks)
and the process's resident set size (RSS, /proc/self/statm) between two
points of the same study."""
import gc
import os
import sys

import fresh
from conftest import small_space

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def objective(trial):
    p = trial.params                       # a dict per trial
    trial.report(trial.budget, p["x"] * p["x"])
    trial.save_checkpoint(b"x" * 100)
    _ = trial.checkpoint, trial.rungs, trial["k"]
    return p["x"] * p["x"] + p["y"]


def cb(study, job):
    pass


def cycle(run):
    """One study of 1,000 trials, destroyed afterwards (its C memory is freed)."""
    study = fresh.Study(small_space(), min_budget=1, max_budget=1.0 + 1e-9, eta=3, seed=1,
                        sampler="random", scheduler="none", early_stopping=False)
    run(study, 1000)
    assert study.stats["jobs_finished"] >= 1000
    jobs = study.jobs                      # 1,000 dicts, freed with the list
    assert len(jobs) >= 1000


def measure(run):
    """Live Python blocks and RSS after 2,000 trials, then after 10,000 more
    (10 studies of 1,000 trials each, created and destroyed)."""
    for _ in range(2):
        cycle(run)
    gc.collect()
    b0, r0 = sys.getallocatedblocks(), rss()
    for _ in range(10):
        cycle(run)
    gc.collect()
    return sys.getallocatedblocks() - b0, rss() - r0


def by_optimize(study, n):
    assert study.optimize(objective, budget=n, workers=2, callbacks=[cb]) == "BUDGET_REACHED"


def by_ask_tell(study, n):
    for _ in range(n):
        t = study.ask()
        study.tell(t, objective(t))


def test_no_leak_over_10000_trials_optimize():
    blocks, grown = measure(by_optimize)
    print(f"optimize: {blocks:+d} blocks, RSS {grown / 1e6:+.2f} MB over 10,000 trials")
    assert blocks < 100        # one leaked object per trial would be >= 10,000
    assert grown < 1e6         # a leaked Trial or params dict: ~10 MB; a checkpoint copy: ~1.5 MB


def test_no_leak_over_10000_trials_ask_tell():
    blocks, grown = measure(by_ask_tell)
    print(f"ask/tell: {blocks:+d} blocks, RSS {grown / 1e6:+.2f} MB over 10,000 trials")
    assert blocks < 100
    assert grown < 1e6
