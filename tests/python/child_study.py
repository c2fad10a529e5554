"""A child Python process for test_process.py: runs a study with storage,
so that the parent can interrupt it (SIGINT) or kill it (SIGKILL).

usage: child_study.py MODE DB PROGRESS
  MODE sigint: 2 workers, slow epochs; catches KeyboardInterrupt and prints
               a JSON summary of what the study looked like afterwards.
  MODE kill:   1 worker; a callback appends a line to PROGRESS after each job
               (the job is committed by then); runs until killed.
"""
import json
import os
import sys
import time

import fresh
from conftest import small_space, epochs_objective

mode, db, progress = sys.argv[1:4]

if mode == "sigint":
    said_false = []

    def objective(trial):
        loss = 0.0
        for e in range(int(trial.resume_from) + 1, int(trial.budget) + 1):
            time.sleep(0.05)
            loss = trial.params["x"] ** 2 + 1.0 / e
            if not os.path.exists(progress):
                with open(progress, "w") as f:
                    f.write("started\n")
            if not trial.report(e, loss):
                said_false.append(trial.job_id)
                break
        return loss

    study = fresh.Study(small_space(), min_budget=9, max_budget=27, eta=3, seed=3, workers=2,
                        storage=db)
    t0 = time.time()
    try:
        study.optimize(objective, budget=1000)
        print(json.dumps({"interrupted": False}))
        sys.exit(0)
    except KeyboardInterrupt:
        waited = time.time() - t0
    st = study.stats
    jobs = study.jobs
    cut = [j["job_id"] for j in jobs if j["status"] == "pending"]
    snap = fresh.Study.load(db, snapshot=True)
    summary = {
        "interrupted": True, "seconds": waited, "jobs": len(jobs),
        "running": st["jobs_running"], "cut_short": st["jobs_interrupted"],
        "said_false": len(said_false), "pending": len(cut),
        "file_jobs": len(snap.jobs), "file_running": snap.stats["jobs_running"],
        "status": study.status,
    }
    del snap
    # the study goes on: the jobs Ctrl-C cut short run first, from their start
    study.optimize(lambda t: t.params["x"] ** 2, budget=st["used_mbe"] + 0.5)
    summary["rerun"] = all(study.jobs[i]["status"] != "pending" for i in cut)
    summary["after"] = study.stats["jobs_interrupted"]
    print(json.dumps(summary))
elif mode == "kill":
    def log(study, job):
        with open(progress, "a") as f:
            f.write(f"{job['job_id']}\n")

    def objective(trial):
        time.sleep(0.01)
        return epochs_objective(trial)

    study = fresh.Study(small_space(), min_budget=1, max_budget=27, eta=3, seed=9, workers=1,
                        storage=db)
    study.optimize(objective, budget=8, callbacks=[log])
    print("finished before the kill")
