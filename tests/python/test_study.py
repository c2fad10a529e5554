"""Study.optimize with 1 and 4 workers, reports and early stopping,
checkpoints across promotions, exceptions in the objective, callbacks,
ask/tell, storage, export, warm start, continuing after a stop."""
import json
import threading
import time

import pytest

import fresh
from conftest import epochs_objective, job_key, small_space


def make(space, **kw):
    args = dict(min_budget=1, max_budget=9, eta=3, seed=11)
    args.update(kw)
    return fresh.Study(space, **args)


@pytest.mark.parametrize("workers", [1, 4])
def test_optimize_runs_every_job_once(space, workers):
    study = make(space, workers=workers)
    assert study.optimize(epochs_objective, budget=8) == "BUDGET_REACHED"
    st = study.stats
    jobs = study.jobs
    assert st["workers"] == workers and st["jobs_running"] == 0
    assert len(jobs) == st["jobs_finished"] > 10
    assert st["jobs_completed"] + st["jobs_stopped"] == len(jobs) and st["jobs_failed"] == 0
    assert st["used_mbe"] >= 8
    assert {j["worker"] for j in jobs} <= set(range(workers))
    best = study.best
    assert best["budget"] == 9.0
    assert best["loss"] == min(j["loss"] for j in jobs if j["budget"] == 9 and j["status"] == "completed")
    assert study.config(best["config_id"]) == best["params"]
    # the trajectory ends at the incumbent
    assert study.trajectory[-1]["best"]["loss"] == best["loss"]
    assert study.trajectory[0]["best"] is None and study.trajectory[0]["best_any_budget"]["budget"] == 1


def test_workers_overlap_when_the_objective_releases_the_gil(space):
    running, peak, lock = [0], [0], threading.Lock()

    def objective(trial):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)  # releases the GIL, like NumPy or PyTorch kernels
        with lock:
            running[0] -= 1
        return trial.params["x"] ** 2

    study = make(space, workers=4)
    study.optimize(objective, budget=3)
    assert peak[0] >= 2


def test_reports_and_early_stopping(space):
    said_stop = []

    def objective(trial):
        loss = 0.0
        assert trial.rungs == [r for r in rungs if trial.resume_from < r <= trial.budget]
        assert trial.next_rung(trial.budget) is None
        for e in range(int(trial.resume_from) + 1, int(trial.budget) + 1):
            loss = (trial.params["x"] - 1) ** 2 + 1.0 / e
            if not trial.report(e, loss):
                said_stop.append(trial.job_id)
                assert trial.should_stop
                break
        return loss

    study = make(space, max_budget=27, workers=1, early_stopping=True)
    rungs = study.rungs
    assert rungs == [1.0, 3.0, 9.0, 27.0]
    study.optimize(objective, budget=10)
    stopped = [j for j in study.jobs if j["status"] == "stopped"]
    assert stopped and len(said_stop) == len(stopped)
    for j in stopped:
        assert j["reached"] < j["budget"] and j["reports"][-1][0] == j["reached"]
    for j in study.jobs:
        steps = [s for s, _ in j["reports"]]
        assert steps == list(range(int(j["resume_from"]) + 1, int(j["reached"]) + 1))


def test_checkpoints_follow_promotions(space):
    seen = []

    def objective(trial):
        ck = trial.checkpoint
        if trial.resume_from == 0:
            assert ck is None
        else:
            state = json.loads(ck)
            assert state == {"config": trial.config_id, "epoch": trial.resume_from}
            seen.append(trial.job_id)
        loss = 0.0
        e = trial.resume_from
        while e < trial.budget:
            e += 1
            loss = trial.params["x"] ** 2 + 1.0 / e
            if not trial.report(e, loss):
                break
        trial.save_checkpoint(json.dumps({"config": trial.config_id, "epoch": e}).encode())
        return loss

    study = make(space, workers=2)
    study.optimize(objective, budget=6)
    promoted = [j for j in study.jobs if j["resume_from"] > 0]
    assert promoted and len(seen) == len(promoted)


def test_exceptions_fail_the_job_and_the_study_goes_on(space):
    def objective(trial):
        if trial.params["k"] == "a":
            raise ValueError("boom on a")
        if trial.params["k"] == "c":
            return "not a loss"
        return epochs_objective(trial)

    study = make(space, workers=2)
    assert study.optimize(objective, budget=6) == "BUDGET_REACHED"
    failed = [j for j in study.jobs if j["status"] == "failed"]
    assert failed and study.stats["jobs_completed"] > 0
    for j in failed:
        assert j["error"] == "EOBJECTIVE"
        if j["params"]["k"] == "a":
            assert j["message"].startswith("ValueError at test_study.py:")
            assert j["message"].endswith("in objective: boom on a")
            assert j["loss"] == float("inf")
        else:
            assert "objective returned str, not a number" in j["message"]


def test_nan_loss_and_fail_record_failed_jobs(space):
    def objective(trial):
        if trial.params["k"] == "a":
            return float("nan")
        if trial.params["k"] == "b":
            trial.fail("diverged")
            return 1.0
        return 1.0

    study = make(space, workers=1)
    study.optimize(objective, budget=3)
    by_k = {}
    for j in study.jobs:
        by_k.setdefault(j["params"]["k"], set()).add(j["status"])
    assert by_k.get("a", {"failed"}) == {"failed"} and by_k.get("b", {"failed"}) == {"failed"}
    assert any(j["message"] == "diverged" for j in study.jobs)


def test_a_base_exception_in_the_objective_stops_and_is_reraised(space):
    def objective(trial):
        if trial.job_id == 3:
            raise SystemExit(3)
        return 1.0

    study = make(space, workers=1)
    with pytest.raises(SystemExit):
        study.optimize(objective, budget=50)
    assert study.stats["jobs_running"] == 0 and len(study.jobs) == 4
    # the study can go on afterwards
    assert study.optimize(lambda t: 1.0, budget=2) == "BUDGET_REACHED"


def test_callbacks_read_the_study_and_can_stop_it(space):
    calls = []

    def cb(study, job):
        calls.append(job["job_id"])
        assert study.stats["jobs_finished"] == len(calls)
        assert study.jobs[job["job_id"]]["loss"] == job["loss"]
        if len(calls) == 7:
            study.stop()

    study = make(space, workers=2)
    assert study.optimize(epochs_objective, budget=100, callbacks=[cb]) == "STOPPED"
    assert len(calls) == len(study.jobs) >= 7
    # an exception in a callback stops the study and reaches the caller
    def bad(study, job):
        raise RuntimeError("callback failed")
    with pytest.raises(RuntimeError, match="callback failed"):
        study.optimize(epochs_objective, budget=100, callbacks=[bad])
    with pytest.raises(TypeError):
        study.optimize(epochs_objective, callbacks=[3])


def test_the_study_is_busy_while_optimize_runs(space):
    errors = []

    def objective(trial):
        try:
            study.jobs
        except fresh.Error as e:
            errors.append(e.name)
        return 1.0

    study = make(space, workers=1)
    study.optimize(objective, budget=1)
    assert errors and set(errors) == {"ESTATE"}


def test_a_trial_is_invalid_after_its_job(space):
    kept = []
    study = make(space, workers=1)
    study.optimize(lambda t: kept.append(t) or 1.0, budget=1)
    with pytest.raises(fresh.Error) as e:
        kept[0].report(1, 1.0)
    assert e.value.name == "ESTATE"
    assert "ended" in repr(kept[0])


def test_ask_tell_equals_optimize_with_one_worker(space):
    a = make(space, workers=1, seed=5)
    a.optimize(epochs_objective, budget=6)
    b = make(small_space(), seed=5, budget=6)
    n = 0
    while True:
        trial = b.ask()
        if trial is None:
            break
        b.tell(trial, epochs_objective(trial))
        n += 1
    assert b.status == "BUDGET_REACHED"
    assert [job_key(j) for j in a.jobs] == [job_key(j) for j in b.jobs]
    assert all(j["worker"] == -1 for j in b.jobs)


def test_ask_tell_errors_and_wait(space):
    # one bracket: its first stage (9 jobs) must be told before stage 1 starts
    s = make(space, seed=5, max_brackets=1)
    trials = []
    while len(trials) < 100:
        t = s.ask()
        if t is None:
            break
        trials.append(t)
    assert s.status == "WAIT" and len(trials) == 9
    with pytest.raises(fresh.Error):
        s.optimize(epochs_objective)          # trials are out
    s.tell(trials[0], error="worker lost")
    with pytest.raises(fresh.Error) as e:
        s.tell(trials[0], 1.0)                # told twice
    assert e.value.name == "ESTATE"
    other = make(small_space())
    with pytest.raises(fresh.Error) as e:
        other.tell(trials[1], 1.0)            # another study's trial
    assert e.value.name == "EINVAL"
    for t in trials[1:]:
        s.tell(t, 1.0)
    assert s.jobs[0]["status"] == "failed" and s.jobs[0]["message"] == "worker lost"


def test_storage_load_export_and_continue(space, tmp_path):
    db = str(tmp_path / "s.db")
    s = make(space, workers=2, storage=db)
    s.optimize(epochs_objective, budget=5)
    n = len(s.jobs)
    assert fresh.file_in_use(db)
    s.export(str(tmp_path / "jobs.jsonl"))
    s.export(str(tmp_path / "jobs.csv"))
    lines = (tmp_path / "jobs.jsonl").read_text().splitlines()
    assert len(lines) == n and json.loads(lines[0])["job"] == 0
    assert len((tmp_path / "jobs.csv").read_text().splitlines()) == n + 1
    snap = fresh.Study.load(db, snapshot=True)
    assert [job_key(j) for j in snap.jobs] == [job_key(j) for j in s.jobs]
    with pytest.raises(fresh.Error) as e:
        snap.optimize(epochs_objective)
    assert e.value.name == "ESTATE"
    del s, snap
    assert not fresh.file_in_use(db)
    t = fresh.load_study(db)
    assert t.stats["jobs_replayed"] == n and t.params["seed"] == 11
    assert isinstance(t.space, fresh.Space) and t.space.names == ("x", "y", "n", "k")
    assert t.optimize(epochs_objective, budget=8, workers=1) == "BUDGET_REACHED"
    assert len(t.jobs) > n
    with pytest.raises(fresh.Error) as e:
        make(small_space(), storage=db)       # exists, resume not asked
    assert db in e.value.message


def test_warm_start(space, tmp_path):
    db = str(tmp_path / "old.db")
    old = make(space, storage=db, workers=1)
    old.optimize(epochs_objective, budget=5)
    new = make(small_space(), workers=1, seed=12)
    new.warm_start(db)
    assert new.stats["warm_start_observations"] >= len(old.jobs)
    new.optimize(epochs_objective, budget=3)
    with pytest.raises(fresh.Error) as e:
        new.warm_start(db)                    # jobs already asked
    assert e.value.name == "ESTATE"
    with pytest.raises(fresh.Error) as e:
        make(small_space()).warm_start(str(tmp_path / "missing.db"))
    assert e.value.name == "EIO"


def test_optimize_continues_with_new_criteria_and_after_stop(space):
    s = make(space, workers=1)
    s.optimize(epochs_objective, budget=3)
    used = s.stats["used_mbe"]
    assert s.optimize(epochs_objective, budget=3) == "BUDGET_REACHED"
    assert s.stats["used_mbe"] == used         # total budget already spent
    assert s.optimize(epochs_objective, budget=6) == "BUDGET_REACHED"
    assert s.stats["used_mbe"] >= 6
    s.stop()            # a request made between runs stops the next one, which ends it
    n = len(s.jobs)
    assert s.optimize(epochs_objective, budget=100) == "STOPPED" and len(s.jobs) == n
    assert s.optimize(epochs_objective, max_brackets=1, budget=None) in ("BRACKETS_DONE", "BUDGET_REACHED")
    assert s.optimize(epochs_objective, timeout=0.2, budget=0, max_brackets=0) == "TIME_REACHED"


def test_results_views(space):
    s = make(space)
    assert s.best is None and s.jobs == [] and s.rungs == [1.0, 3.0, 9.0]
    assert s.plan["eta"] == 3 and len(s.plan["brackets"]) == 3
    p = s.params
    assert p["max_budget"] == 9 and p["sampler"] == "auto" and p["target_loss"] is None
    s.optimize(epochs_objective, target_loss=100.0)
    assert s.status == "TARGET_REACHED"     # the incumbent at the max budget reached it
    assert s.best["budget"] == 9 and s.best["loss"] <= 100
    assert s.best_any_budget == s.best


def test_an_abandoned_objective_finishes_safely(space):
    """An objective that ignores its time limit is abandoned so optimize
    returns; it keeps running on its worker, its trampoline outlives the
    optimize call, and deleting the study waits for it."""
    done = []

    def objective(trial):
        if trial.job_id == 0:
            time.sleep(2.5)           # no report: it cannot hear the limit
            done.append(trial.job_id)
            return 1.0
        return trial.params["x"] ** 2

    s = make(space, workers=2, job_time_limit=0.3)
    t0 = time.time()
    s.optimize(objective, budget=2)
    assert time.time() - t0 < 2.4 and not done      # returned without job 0
    j0 = s.jobs[0]
    assert j0["status"] == "failed" and j0["error"] == "ETIMEDOUT", j0
    del s                                           # waits for the objective
    assert done == [0]
