"""Shared helpers of the pytest suite of the `fresh` Python package.

ctest runs it with PYTHONPATH pointing at the build tree's package
(build/python) and FRESH_SOURCE_DIR / FRESH_C_REFERENCE / FRESH_CLI set
(tests/python/CMakeLists.txt); nothing needs to be installed.
"""
import os
import sys

import pytest

SOURCE_DIR = os.environ.get("FRESH_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import fresh  # noqa: E402


def small_space():
    """The space of c_reference.c: two floats, an int, a categorical."""
    space = fresh.Space()
    space.add_float("x", -5, 10)
    space.add_float("y", 0, 15)
    space.add_int("n", 1, 8)
    space.add_categorical("k", ["a", "b", "c"])
    return space


def loss_at(p, step):
    """c_reference.c's loss_at: the same operations in the same order."""
    a = p["x"] - 1.0
    b = p["y"] - 2.0
    return a * a + 0.1 * (b * b) + 0.01 * float(p["n"]) + (0.0 if p["k"] == "b" else 0.5) + 10.0 / step


def epochs_objective(trial):
    """Reports every epoch from resume_from + 1 to budget, stops when told."""
    loss = 0.0
    e = trial.resume_from + 1
    while e <= trial.budget:
        loss = loss_at(trial.params, e)
        if not trial.report(e, loss):
            break
        e += 1
    return loss


def job_key(j):
    """A job without its times and worker (what must be identical between runs)."""
    return (j["job_id"], j["config_id"], j["bracket"], j["stage"], j["budget"], j["resume_from"],
            j["reached"], j["loss"], j["status"], tuple(sorted(j["params"].items())),
            tuple(j["reports"]))


@pytest.fixture
def space():
    return small_space()
