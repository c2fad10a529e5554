"""The examples of docs/run.md run as shipped, with tiny budgets: the shell
trainer, the scikit-learn partial_fit trainer and the PyTorch network (CI
runs this one too: a few jobs of 1 and 3 epochs)."""
import os

from conftest import PY, SOURCE

EX = os.path.join(SOURCE, "examples")


def test_shell_example(work):
    work.run(["sh", os.path.join(EX, "shell", "train.sh")], "--keep-runs",
             space=os.path.join(EX, "shell", "space.json"), max_budget=9, brackets=1)
    jobs = work.jobs()
    assert all(j["status"] in ("completed", "stopped") for j in jobs), jobs
    promoted = [j for j in jobs if j["resume_from"] > 0 and j["status"] == "completed"]
    assert promoted
    for j in promoted:
        log = (work.path / "s.db.runs" / ("config-%d" % j["config_id"]) /
               ("job-%d.log" % j["job"])).read_text()
        assert "continuing at step %d" % j["resume_from"] in log


def test_sklearn_example(work):
    work.run([PY, os.path.join(EX, "python", "train_digits_sklearn.py"), "{config}"],
             "--keep-runs", space=os.path.join(EX, "python", "digits_sklearn_space.json"),
             max_budget=3, brackets=1, timeout=240)
    jobs = work.jobs()
    assert all(j["status"] in ("completed", "stopped") for j in jobs), jobs
    assert min(j["loss"] for j in jobs) < 0.2  # a real classifier, not chance (0.9)


def test_torch_example(work):
    work.run([PY, os.path.join(EX, "python", "train_digits_torch.py"), "--lr", "{lr}",
              "--batch-size", "{batch_size}", "--hidden", "{hidden}", "--layers", "{layers}",
              "--dropout", "{dropout}", "--weight-decay", "{weight_decay}", "--optimizer",
              "{optimizer}", "--momentum", "{momentum}", "--activation", "{activation}",
              "--epochs", "{budget}"], "--keep-runs", "--workers", "2",
             space=os.path.join(EX, "python", "digits_torch_space.json"), max_budget=3,
             brackets=1, timeout=280)
    jobs = work.jobs()
    assert all(j["status"] in ("completed", "stopped") for j in jobs), jobs
    assert min(j["loss"] for j in jobs) < 0.5
    # the promoted job continued from its torch.save checkpoint
    for j in jobs:
        if j["resume_from"] > 0:
            log = (work.path / "s.db.runs" / ("config-%d" % j["config_id"]) /
                   ("job-%d.log" % j["job"])).read_text()
            assert "continuing from the checkpoint at epoch %d" % j["resume_from"] in log
