"""Child Python processes: Ctrl-C (SIGINT) stops a study cleanly and raises
KeyboardInterrupt; SIGKILL loses nothing: the study file resumes to the
same results as an uninterrupted run."""
import json
import os
import signal
import subprocess
import sys
import time

import fresh
from conftest import HERE, small_space, epochs_objective, job_key

CHILD = os.path.join(HERE, "child_study.py")


def start(mode, db, progress):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([HERE, env.get("PYTHONPATH", "")])
    return subprocess.Popen([sys.executable, CHILD, mode, db, progress], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def wait_for(pred, seconds=60):
    t = time.time()
    while not pred():
        if time.time() - t > seconds:
            raise AssertionError("timed out")
        time.sleep(0.02)


def test_sigint_stops_cleanly_and_raises_keyboard_interrupt(tmp_path):
    db, progress = str(tmp_path / "s.db"), str(tmp_path / "progress")
    child = start("sigint", db, progress)
    wait_for(lambda: os.path.exists(progress))
    time.sleep(0.3)  # a few epochs into the first jobs of both workers
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    r = json.loads(out)
    assert r["interrupted"] and r["status"] == "STOPPED"
    assert r["said_false"] >= 1                  # running objectives saw report() -> False
    # jobs it cut short are not recorded with a partial result: they wait,
    # in memory and in the file alike, and run again from their start
    assert r["cut_short"] >= 1 and r["pending"] == r["running"] == r["cut_short"]
    assert r["file_jobs"] == r["jobs"] and r["file_running"] == r["cut_short"]
    assert r["rerun"] and r["after"] == 0
    assert r["seconds"] < 20
    assert not fresh.file_in_use(db)


def test_sigkill_then_resume_loses_nothing(tmp_path):
    # the uninterrupted run
    ref = fresh.Study(small_space(), min_budget=1, max_budget=27, eta=3, seed=9, workers=1)
    ref.optimize(epochs_objective, budget=8)
    expected = [job_key(j) for j in ref.jobs]

    db, progress = str(tmp_path / "k.db"), str(tmp_path / "progress")
    child = start("kill", db, progress)

    def done_jobs():
        try:
            with open(progress) as f:
                return len(f.read().split())
        except FileNotFoundError:
            return 0
    wait_for(lambda: done_jobs() >= 30)
    os.kill(child.pid, signal.SIGKILL)
    child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    told = done_jobs()
    assert told < len(expected)                  # killed in the middle

    # what was committed before the kill is in the file, as it was
    snap = fresh.Study.load(db, snapshot=True)
    finished = [j for j in snap.jobs if j["status"] != "pending"]
    assert len(finished) >= told
    assert [job_key(j) for j in finished] == expected[:len(finished)]

    resumed = fresh.Study(small_space(), min_budget=1, max_budget=27, eta=3, seed=9, workers=1,
                          storage=db, resume=True)
    assert resumed.stats["jobs_replayed"] >= told
    assert resumed.optimize(epochs_objective, budget=8) == "BUDGET_REACHED"
    assert [job_key(j) for j in resumed.jobs] == expected
