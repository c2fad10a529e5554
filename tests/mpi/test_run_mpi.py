"""`fresh run --mpi` (ctest fresh.mpi.run): a Python training script run by
the evaluating ranks of mpirun, rank 0 scheduling (docs/mpi.md).

MPIEXEC names mpirun, FRESH_BIN the fresh binary; the Open MPI switches for
root and oversubscription come from ctest's environment."""
import json
import os
import signal
import subprocess
import sys

import pytest

FRESH = os.environ.get("FRESH_BIN", "fresh")
MPIEXEC = os.environ.get("MPIEXEC", "mpirun")
PY = os.environ.get("FRESH_PYTHON", "/usr/bin/python3")

# Trains "a model" epoch by epoch: it saves its epoch in the trial directory
# (write, then rename, as docs/run.md advises) and a promoted job must find
# a checkpoint at least as far as the budget it resumes from (else it
# fails); a job cut short may have left one further along: it goes on from
# there. Each job notes the rank that ran it, the GPU it was
# given and its worker number. With KILL_JOB set, the job of that id kills
# the rank that runs it (SIGKILL), once.
TRAIN = r'''
import json, os, signal, sys
x = float(sys.argv[1]); budget = int(float(sys.argv[2])); start = int(float(sys.argv[3]))
d = sys.argv[4]
ck = os.path.join(d, "ckpt.json")
if start > 0:
    with open(ck) as f:
        got = json.load(f)["epoch"]
    assert got >= start, "no checkpoint of epoch %d" % start
    start = got
log = os.path.join(os.path.dirname(os.path.abspath(d)), "..", "ranks.log")
with open(log, "a") as f:
    f.write("%s %s %s %s\n" % (os.environ.get("OMPI_COMM_WORLD_RANK"),
                               os.environ.get("CUDA_VISIBLE_DEVICES"),
                               os.environ["FRESH_WORKER"], os.environ["FRESH_JOB_ID"]))
kill = os.environ.get("KILL_JOB")
flag = os.path.join(os.path.dirname(log), "killed")
for e in range(start + 1, budget + 1):
    if kill and os.environ["FRESH_JOB_ID"] == kill and e == budget and not os.path.exists(flag):
        open(flag, "w").close()
        os.kill(os.getppid(), signal.SIGKILL)
        signal.pause()
    with open(ck + ".tmp", "w") as f:
        json.dump({"epoch": e}, f)
    os.rename(ck + ".tmp", ck)
    print("fresh-report step=%d loss=%.9g" % (e, (x - 0.3) ** 2 + 1.0 / e), flush=True)
'''

SPACE = {"parameters": [{"name": "x", "type": "float", "low": 0, "high": 1}]}


@pytest.fixture
def work(tmp_path):
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "space.json").write_text(json.dumps(SPACE))
    return tmp_path


def fresh_run(work, storage, *opts, ranks=None, brackets=2, resume=False, env=None,
              timeout=180, quiet=True):
    args = [FRESH, "run", "--space", "space.json", "--min-budget", "1", "--max-budget", "9",
            "--eta", "3", "--seed", "3", "--brackets", str(brackets),
            "--storage", storage] + (["--quiet"] if quiet else []) + list(opts)
    if resume:
        args.append("--resume")
    if ranks:
        args = [MPIEXEC, "-n", str(ranks)] + args + ["--mpi"]
    args += ["--", PY, "train.py", "{x}", "{budget}", "{resume_from}", "{trial_dir}"]
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(args, cwd=work, capture_output=True, text=True, timeout=timeout, env=e)


def jobs(work, storage):
    p = subprocess.run([FRESH, "export", str(work / storage), "--format", "jsonl"],
                       capture_output=True, text=True, check=True)
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]


def ranks_log(work):
    return [line.split() for line in (work / "ranks.log").read_text().splitlines()]


def same_study(a, b):
    """Job for job, but the clocks and the worker numbers."""
    drop = ("start_s", "end_s", "worker")
    return [{k: v for k, v in j.items() if k not in drop} for j in a] == \
           [{k: v for k, v in j.items() if k not in drop} for j in b]


def test_ranks_gpus_and_checkpoints(work):
    p = fresh_run(work, "s.db", "--gpus", "a,b", ranks=3)
    assert p.returncode == 0, p.stderr
    # rank 0 alone reports
    assert p.stdout.count("fresh run: requested number of brackets completed") == 1, p.stdout
    js = jobs(work, "s.db")
    assert len(js) > 10 and all(j["status"] != "failed" for j in js), js
    # promoted jobs continued from their checkpoint, whatever rank ran them
    assert any(j["resume_from"] > 0 for j in js)
    log = ranks_log(work)
    assert len(log) == len(js)
    by_rank = {}
    for rank, gpu, worker, _ in log:
        by_rank.setdefault(rank, set()).add((gpu, worker))
    # rank 0 runs no job; each evaluating rank has its GPU and worker number
    assert by_rank == {"1": {("a", "0")}, "2": {("b", "1")}}, by_rank


def test_one_rank_equals_one_worker(work):
    p = fresh_run(work, "mpi.db", ranks=2, brackets=3)
    assert p.returncode == 0, p.stderr
    q = fresh_run(work, "threads.db", "--workers", "1", brackets=3)
    assert q.returncode == 0, q.stderr
    a, b = jobs(work, "mpi.db"), jobs(work, "threads.db")
    assert len(a) > 15
    assert same_study(a, b)


def test_killed_rank_then_resume(work):
    full = fresh_run(work, "full.db", ranks=3, brackets=3)
    assert full.returncode == 0, full.stderr
    n_full = len(jobs(work, "full.db"))
    (work / "ranks.log").unlink()
    p = fresh_run(work, "s.db", ranks=3, brackets=3, env={"KILL_JOB": "6"}, quiet=False)
    assert p.returncode != 0, "mpirun should fail when a rank dies"
    assert (work / "killed").exists()
    before = [j for j in jobs(work, "s.db") if j["status"] != "pending"]
    assert 0 < len(before) < n_full
    r = fresh_run(work, "s.db", ranks=3, brackets=3, resume=True, quiet=False)
    assert r.returncode == 0, r.stderr
    assert "requested number of brackets completed" in r.stdout
    after = jobs(work, "s.db")
    # nothing recorded is lost (the cut-short job ran again), and the study
    # finishes as an uninterrupted one does
    by_id = {j["job"]: j for j in after}
    why = "\nkilled run:\n%s\nresumed run:\n%s" % (p.stderr[-3000:], r.stderr[-3000:])
    changed = [(j, by_id.get(j["job"])) for j in before if by_id.get(j["job"]) != j]
    assert not changed, "recorded jobs changed: %r%s" % (changed[:3], why)
    assert len(after) == n_full, "%d jobs, uninterrupted %d%s" % (len(after), n_full, why)
    failed = [j for j in after if j["status"] == "failed"]
    assert not failed, "failed jobs: %r%s" % (failed[:3], why)


def test_single_process_refused(work):
    p = fresh_run(work, "s.db", "--mpi")
    assert p.returncode == 2, p.stderr
    assert "needs at least 2 ranks" in p.stderr
    assert not (work / "s.db").exists()


def test_workers_refused(work):
    p = fresh_run(work, "s.db", "--workers", "2", ranks=2)
    assert p.returncode != 0
    assert "'--mpi' and '--workers'" in p.stderr


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
