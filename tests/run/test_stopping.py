"""Stopping children: early stopping of a child that ignores SIGTERM (killed
after the grace), a hanging child under the job time limit, continuation of
a promoted configuration from its trial directory, one GPU per worker slot."""
import json
import os
import time

from conftest import PY

# Reports one step per 0.1 s; ignores SIGTERM when asked to; writes each step
# to a file so that the test can see how long it went on.
SLOW = """
import os, signal, sys, time
import fresh_report as fr
x = float(sys.argv[1])
termed = []
if sys.argv[2] == "ignore-term":  # SIGTERM is noted and otherwise ignored
    signal.signal(signal.SIGTERM, lambda s, f: termed.append(time.time()))
path = os.path.join(fr.trial_dir(), "steps-%d" % fr.job_id())
start = int(fr.resume_from())
for e in range(start + 1, int(fr.budget()) + 1):
    fr.report(e, x + 1.0 / e)
    with open(path, "a") as f:
        f.write("%d %f\\n" % (e, time.time()))
    time.sleep(0.1)
# told to stop and ignoring it: hang on until SIGKILL
if termed:
    with open(path, "a") as f:
        f.write("term\\n")
    time.sleep(30)
"""


def test_early_stop_of_a_child_that_ignores_sigterm(work):
    script = work.script("slow.py", SLOW)
    work.run([PY, script, "{x}", "ignore-term", work.marker], "--stop-grace", "1", "--keep-runs",
             max_budget=9, brackets=1, timeout=120)
    jobs = work.jobs()
    stopped = [j for j in jobs if j["status"] == "stopped"]
    assert stopped, "the study must stop some jobs early"
    for j in stopped:
        # charged the last step it reported, before the budget
        assert j["reached"] < j["budget"]
        assert j["reached"] == j["reports"][-1][0]
        # it got SIGTERM, ignored it, and ran on until SIGKILL about the grace later
        d = work.path / "s.db.runs" / ("config-%d" % j["config_id"])
        assert "term" in (d / ("steps-%d" % j["job"])).read_text()
        assert 1.0 <= j["end_s"] - j["start_s"] < 20  # not the 30 s it would hang
    assert work.wait_no_leftovers(3), "children left: %s" % work.leftovers()


def test_hanging_child_hits_the_job_time_limit(work):
    # reports once, then hangs in a grandchild (sleep) that holds the pipes
    work.run(["sh", "-c", 'echo "fresh-report step=1 loss=$1"; sleep 300; echo never', "sh", "{x}",
              work.marker], "--job-time-limit", "1", "--stop-grace", "0.5", max_budget=3,
             brackets=1, timeout=120, expect=1)
    jobs = work.jobs()
    assert jobs and all(j["status"] == "failed" for j in jobs)
    assert all("time limit of 1 s" in j["message"] for j in jobs)
    # each job took about limit + grace, not 300 s
    for j in jobs:
        assert j["end_s"] - j["start_s"] < 20  # not 300 s
    assert work.wait_no_leftovers(3), "children left: %s" % work.leftovers()


CKPT = """
import json, os, sys
import fresh_report as fr
x = float(sys.argv[1])
ckpt = os.path.join(fr.trial_dir(), "checkpoint.json")
start = fr.resume_from()
state = {"epoch": 0, "trained": []}
if os.path.exists(ckpt):
    with open(ckpt) as f:
        state = json.load(f)
if state["epoch"] != start:
    fr.fail("checkpoint at epoch %s but resume_from is %s" % (state["epoch"], start))
    sys.exit(3)
if start > 0:
    print("continuing config %d from its checkpoint at epoch %d" % (fr.config_id(), start))
for e in range(int(start) + 1, int(fr.budget()) + 1):
    state["epoch"] = e
    state["trained"].append(e)
    with open(ckpt + ".tmp", "w") as f:
        json.dump(state, f)
    os.replace(ckpt + ".tmp", ckpt)
    fr.report(e, (x - 0.3) ** 2 + 1.0 / e)
"""


def test_promoted_configuration_continues_from_its_trial_dir(work):
    script = work.script("ckpt.py", CKPT)
    work.run([PY, script, "{x}"], "--keep-runs", "--no-early-stopping", max_budget=9, brackets=1)
    jobs = work.jobs()
    assert all(j["status"] == "completed" for j in jobs), [j["message"] for j in jobs]
    promoted = [j for j in jobs if j["resume_from"] > 0]
    assert promoted, "the bracket promotes configurations"
    for j in promoted:
        d = work.path / "s.db.runs" / ("config-%d" % j["config_id"])
        log = (d / ("job-%d.log" % j["job"])).read_text()
        assert "from its checkpoint at epoch %d" % j["resume_from"] in log
        # the checkpoint holds every epoch once: nothing trained twice
    best = max(jobs, key=lambda j: j["budget"])
    state = json.loads((work.path / "s.db.runs" / ("config-%d" % best["config_id"]) /
                        "checkpoint.json").read_text())
    assert state["trained"] == list(range(1, 10))


def test_trial_dirs_of_finished_brackets_are_removed_but_the_incumbents(work):
    script = work.script("ckpt.py", CKPT)
    p = work.run([PY, script, "{x}"], max_budget=9, brackets=2)
    runs = sorted(os.listdir(work.path / "s.db.runs"))
    jobs = work.jobs()
    inc = min((j for j in jobs if j["budget"] == 9 and j["status"] == "completed"),
              key=lambda j: (j["loss"], j["config_id"]))
    assert runs == ["config-%d" % inc["config_id"]]
    assert "config-%d" % inc["config_id"] in p.stdout


def test_gpus_one_slot_each(work):
    script = work.script("gpu.py", """
import json, os, time
import fresh_report as fr
t0 = time.time()
time.sleep(0.2)
with open(os.path.join(fr.trial_dir(), "slot-%d.json" % fr.job_id()), "w") as f:
    json.dump({"gpu": os.environ.get("CUDA_VISIBLE_DEVICES"), "worker": fr.worker(),
               "start": t0, "end": time.time()}, f)
fr.report(fr.budget(), 0.5)
""")
    work.run([PY, script], "--gpus", "7,9", "--keep-runs", "--no-early-stopping", max_budget=3,
             brackets=1)
    recs = []
    for j in work.jobs():
        d = work.path / "s.db.runs" / ("config-%d" % j["config_id"])
        r = json.loads((d / ("slot-%d.json" % j["job"])).read_text())
        assert r["worker"] == j["worker"]
        assert r["gpu"] == {0: "7", 1: "9"}[r["worker"]]
        recs.append(r)
    assert {r["worker"] for r in recs} == {0, 1}
    # two jobs on one GPU never overlap
    for gpu in ("7", "9"):
        spans = sorted((r["start"], r["end"]) for r in recs if r["gpu"] == gpu)
        for a, b in zip(spans, spans[1:]):
            assert a[1] <= b[0]
    p = work.run([PY, script], "--gpus", "0,1", "--workers", "3", expect=2, storage="t.db")
    assert "one entry per worker" in p.stderr
