"""fresh itself interrupted: SIGINT stops every child (TERM, grace, KILL) and
exits with a message naming --resume; SIGKILL leaves no child behind after a
few seconds (the watchdog), and --resume finishes the study with nothing
lost, running the interrupted jobs again."""
import os
import signal
import subprocess
import time

from conftest import PY

# 0.15 s per step; counts the jobs it started in a file per configuration
SLOW = """
import os, sys, time
import fresh_report as fr
with open(os.path.join(fr.trial_dir(), "started"), "a") as f:
    f.write("%d\\n" % fr.job_id())
x = float(sys.argv[1])
for e in range(int(fr.resume_from()) + 1, int(fr.budget()) + 1):
    time.sleep(0.15)
    fr.report(e, (x - 0.3) ** 2 + 1.0 / e)
"""


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:  # it ended in the meantime
        return [b""]


def running_children(work):
    """The python children of this test (not fresh or its watchdog)."""
    return [p for p in work.leftovers()
            if b"fresh" not in cmdline(p)[0] and any(b"slow.py" in a for a in cmdline(p))]


def start_and_wait(work, script, via_shell=False):
    cmd = [PY, script, "{x}", work.marker]
    if via_shell:
        # the job is a shell waiting for python: PR_SET_PDEATHSIG reaches the
        # shell only, so python is left to the watchdog's group kill
        cmd = ["sh", "-c", '"$@"; true', "sh"] + cmd
    proc = work.start(cmd, "--workers", "2", "--stop-grace", "1", "--keep-runs", max_budget=9,
                      brackets=2)
    assert work.wait_for(lambda: len(running_children(work)) >= 2, 30), "two jobs never ran"
    time.sleep(0.5)
    return proc


def finish_with_resume(work, script, via_shell=False):
    cmd = [PY, script, "{x}", work.marker]
    if via_shell:
        cmd = ["sh", "-c", '"$@"; true', "sh"] + cmd
    p = work.run(cmd, "--resume", "--workers", "2",
                 "--stop-grace", "1", "--keep-runs", max_budget=9, brackets=2, quiet=False)
    jobs = work.jobs()
    assert all(j["status"] in ("completed", "stopped") for j in jobs), jobs
    # both brackets ran to their end: 9 + 3 + 1 and 3 + 1 jobs (or fewer when
    # a stage promotes less), and the incumbent is at the max budget
    assert "requested number of brackets completed" in p.stdout
    assert max(j["budget"] for j in jobs if j["status"] == "completed") == 9
    return p, jobs


def test_sigint_stops_every_child_and_is_resumable(work):
    script = work.script("slow.py", SLOW)
    proc = start_and_wait(work, script)
    t0 = time.time()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert time.time() - t0 < 15  # grace 1 s; generous for a loaded machine
    # the exact command to resume, with --resume added before the command
    line = err.split("resume with:\n", 1)[1].splitlines()[0].strip()
    assert "fresh run " in line and " --resume -- " in line and work.marker in line
    assert not running_children(work), "children outlived fresh"
    assert work.wait_no_leftovers(3)
    finish_with_resume(work, script)


def job_ids_of(pids):
    ids = set()
    for pid in pids:
        try:
            env = open("/proc/%d/environ" % pid, "rb").read().split(b"\0")
        except OSError:
            continue
        for kv in env:
            if kv.startswith(b"FRESH_JOB_ID="):
                ids.add(int(kv.split(b"=", 1)[1]))
    return ids


def test_sigkill_leaves_no_child_and_resume_loses_nothing(work):
    script = work.script("slow.py", SLOW)
    proc = start_and_wait(work, script, via_shell=True)
    running = set()
    assert work.wait_for(lambda: running.update(job_ids_of(running_children(work))) or running, 10)
    proc.kill()
    proc.wait(timeout=10)
    assert running, "no job was running"
    t0 = time.time()
    assert work.wait_no_leftovers(15), "children left after SIGKILL: %s" % work.leftovers()
    assert time.time() - t0 < 15  # grace 1 s, then SIGKILL
    told = {j["job"] for j in work.jobs()}  # what the study file holds
    p, jobs = finish_with_resume(work, script, via_shell=True)
    import re
    m = re.search(r"(\d+) jobs recorded, (\d+) to run again", p.stderr)
    assert m and int(m.group(2)) >= 1, p.stderr
    ids = sorted(j["job"] for j in jobs)
    assert ids == list(range(len(ids)))  # no job lost, none twice
    assert told <= set(ids)
    # the jobs running at the kill ran again, in their configuration's trial_dir
    by_id = {j["job"]: j for j in jobs}
    for jid in running - told:
        d = work.path / "s.db.runs" / ("config-%d" % by_id[jid]["config_id"])
        assert str(jid) in (d / "started").read_text().split()
