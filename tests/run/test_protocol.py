"""The report protocol of `fresh run` and its failure handling, with real
children: reports and the final loss, lines that are not reports, huge
output, a last line without its newline, unreadable reports, NaN, exit 0
without a loss, crashes; placeholders, inactive parameters, {config}."""
import json
import math
import os

from conftest import PY, SOURCE, SPACE_COND

SH_REPORT = 'echo "fresh-report step=$FRESH_BUDGET loss=$(awk "BEGIN{print ($FRESH_PARAM_x - 0.3)^2 + 1/$FRESH_BUDGET}")"'


def completed(jobs):
    return [j for j in jobs if j["status"] == "completed"]


def test_reports_and_final_loss(work):
    script = work.script("train.py", """
import sys
import fresh_report as fr
x = float(sys.argv[1])
b = fr.budget()
for e in range(int(fr.resume_from()) + 1, int(b) + 1):
    fr.report(e, (x - 0.3) ** 2 + 1.0 / e)
fr.final(((x - 0.3) ** 2 + 1.0 / b) / 2)
""")
    p = work.run([PY, script, "{x}"])
    assert "incumbent" in p.stdout
    jobs = work.jobs()
    assert len(jobs) >= 9
    for j in completed(jobs):
        # one report per step, and the final line's loss is the job's loss
        steps = [r[0] for r in j["reports"]]
        assert steps == [float(s) for s in range(int(j["resume_from"]) + 1, int(j["budget"]) + 1)]
        assert j["loss"] == j["reports"][-1][1] / 2


def test_other_lines_garbage_and_huge_output(work):
    # 20 MB of output with a 1 MB line, lines that look like reports but are
    # not, binary junk; the report comes last
    script = work.script("noisy.py", r"""
import sys
out = sys.stdout.buffer
out.write(b"epoch 0: warming up\n")
out.write(b"fresh-reporting is not a report\n")
out.write(b"loss=1 step=2 (not a report either)\n")
out.write(b"\x00\xff\xfe binary junk \x1b[31m\n")
out.write(b"y" * (1 << 20) + b"\n")
line = b"x" * 1023 + b"\n"
for _ in range(20 * 1024):
    out.write(line)
sys.stderr.write("a warning on stderr\n")
out.write(b"fresh-report step=%s loss=0.25\n" % sys.argv[1].encode())
""")
    work.run([PY, script, "{budget}"], "--keep-runs", brackets=1, max_budget=1)
    jobs = work.jobs()
    assert jobs and all(j["status"] == "completed" and j["loss"] == 0.25 for j in jobs)
    log = work.path / "s.db.runs" / "config-0" / "job-0.log"
    assert log.stat().st_size > 21 * 1024 * 1024
    with open(log, "rb") as f:
        head = f.read(200)
    assert b"epoch 0: warming up" in head and b"fresh-reporting is not a report" in head
    assert b"a warning on stderr" in log.read_bytes()


def test_last_line_without_newline(work):
    work.run(["sh", "-c", 'printf "fresh-report step=%s loss=0.5" "$FRESH_BUDGET"'])
    jobs = work.jobs()
    assert jobs and all(j["status"] == "completed" and j["loss"] == 0.5 for j in completed(jobs))
    assert len(completed(jobs)) == len(jobs)


def test_unreadable_report_line_fails_the_job(work):
    work.run(["sh", "-c", 'echo "fresh-report step=1 loss=abc"; echo "fresh-report step=1 loss=0.1"'],
             max_budget=1, expect=1)
    jobs = work.jobs()
    assert jobs and all(j["status"] == "failed" for j in jobs)
    assert "unreadable report line 1" in jobs[0]["message"]
    assert "loss=abc" in jobs[0]["message"]
    # the study went on: every configuration of the bracket was tried
    assert len(jobs) == 1 or len({j["config_id"] for j in jobs}) == len(jobs)


def test_nan_loss_fails_the_job(work):
    p = work.run(["sh", "-c", 'echo "fresh-report step=$FRESH_BUDGET loss=nan"'], max_budget=1,
                 expect=1)
    jobs = work.jobs()
    assert all(j["status"] == "failed" and "NaN" in j["message"] for j in jobs)
    assert "every job failed" in p.stderr


def test_exit_zero_without_a_loss(work):
    work.run(["sh", "-c", "echo training; echo 'oops, forgot to report' >&2"], max_budget=1,
             expect=1)
    jobs = work.jobs()
    assert jobs and all(j["status"] == "failed" for j in jobs)
    msg = jobs[0]["message"]
    assert "without a loss" in msg and "forgot to report" in msg


def test_crashing_children_fail_with_status_and_stderr(work):
    # even configurations raise, odd ones are killed by SIGSEGV, x > 0.5 succeed
    script = work.script("crash.py", """
import os, signal, sys
import fresh_report as fr
x = float(sys.argv[1])
if x > 0.5:
    fr.report(fr.budget(), x)
elif fr.config_id() % 2 == 0:
    print("line one on stderr", file=sys.stderr)
    raise ZeroDivisionError("the model diverged")
else:
    sys.stderr.write("about to crash\\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGSEGV)
""")
    work.run([PY, script, "{x}"])
    jobs = work.jobs()
    failed = [j for j in jobs if j["status"] == "failed"]
    assert failed and completed(jobs), "the seed must give both kinds"
    for j in failed:
        if j["config_id"] % 2 == 0:
            assert "exit status 1" in j["message"]
            assert "ZeroDivisionError: the model diverged" in j["message"]
        else:
            assert "killed by signal 11" in j["message"]
            assert "about to crash" in j["message"]
    # fresh show names the failures too
    import subprocess
    from conftest import FRESH
    show = subprocess.run([FRESH, "show", str(work.path / "s.db")], capture_output=True, text=True)
    assert show.returncode == 0
    assert "ZeroDivisionError" in show.stdout or "killed by signal 11" in show.stdout
    assert "command: " in show.stdout and "crash.py" in show.stdout


def test_program_not_found_is_a_usage_error(work):
    p = work.run(["no-such-program-xyz", "{x}"], expect=2)
    assert "cannot run 'no-such-program-xyz'" in p.stderr


def test_inactive_parameters_leave_their_words_out(work):
    space = work.space(SPACE_COND)
    script = work.script("args.py", """
import json, os, sys
import fresh_report as fr
with open(os.path.join(fr.trial_dir(), "args-%d.json" % fr.job_id()), "w") as f:
    json.dump({"argv": sys.argv[1:], "env": {k: v for k, v in os.environ.items()
               if k.startswith("FRESH_")}, "config": fr.config()}, f)
fr.report(fr.budget(), 0.5)
""")
    work.run([PY, script, "--opt", "{opt}", "--momentum", "{momentum}", "--m={momentum}",
              "--x={x}", "--literal={{x}}", "${HOME}"], "--keep-runs", space=space)
    jobs = {j["job"]: j for j in work.jobs()}
    seen = set()
    for j in jobs.values():
        d = work.path / "s.db.runs" / ("config-%d" % j["config_id"])
        rec = json.loads((d / ("args-%d.json" % j["job"])).read_text())
        argv, env, params = rec["argv"], rec["env"], j["params"]
        assert rec["config"] == params  # {config} = FRESH_CONFIG = the study's record
        assert argv[:2] == ["--opt", params["opt"]]
        assert "--literal={x}" in argv and "${HOME}" in argv
        assert "--x=%r" % params["x"] in argv
        assert env["FRESH_PARAM_opt"] == params["opt"]
        assert env["FRESH_BUDGET"] == "%g" % j["budget"]
        assert env["FRESH_TRIAL_DIR"].endswith("config-%d" % j["config_id"])
        assert env["FRESH_JOB_ID"] == str(j["job"])
        if params["opt"] == "adam":
            assert "momentum" not in params
            assert "--momentum" not in argv and not any(a.startswith("--m=") for a in argv)
            assert "FRESH_PARAM_momentum" not in env
        else:
            i = argv.index("--momentum")
            assert float(argv[i + 1]) == params["momentum"]
            assert "--m=%r" % params["momentum"] in argv
            assert float(env["FRESH_PARAM_momentum"]) == params["momentum"]
        seen.add(params["opt"])
    assert seen == {"adam", "sgd"}


def test_config_placeholder_is_a_json_file(work):
    space = work.space(SPACE_COND)
    work.run(["sh", "-c", 'cp "$1" "$FRESH_TRIAL_DIR/copy-$FRESH_JOB_ID.json"; '
              'echo "fresh-report step=$FRESH_BUDGET loss=0.5"', "sh", "{config}"],
             "--keep-runs", space=space, max_budget=1)
    for j in work.jobs():
        d = work.path / "s.db.runs" / ("config-%d" % j["config_id"])
        assert json.loads((d / ("copy-%d.json" % j["job"])).read_text()) == j["params"]


def test_unknown_or_ambiguous_placeholders_are_errors_before_anything_runs(work):
    p = work.run(["sh", "-c", "touch ran", "{lr}"], expect=2)
    assert "unknown placeholder {lr}" in p.stderr
    p = work.run(["awk", "{print}"], expect=2, storage="t.db")
    assert "unknown placeholder {print}" in p.stderr and "{{" in p.stderr
    space = work.space({"parameters": [{"name": "seed", "type": "int", "low": 1, "high": 9}]},
                       name="seed.json")
    p = work.run(["echo", "{seed}"], space=space, expect=2, storage="u.db")
    assert "ambiguous" in p.stderr
    assert not (work.path / "ran").exists()
    assert not (work.path / "s.db").exists()


def test_resume_on_a_missing_file_is_an_error(work):
    p = work.run(["sh", "-c", SH_REPORT], "--resume", storage="typo.db", expect=2)
    assert "no study file" in p.stderr and "typo.db" in p.stderr
    assert not (work.path / "typo.db").exists()


def test_resume_with_another_command_or_space_is_an_error(work):
    work.run(["sh", "-c", SH_REPORT])
    p = work.run(["sh", "-c", SH_REPORT + " # changed"], "--resume", "--brackets", "2", expect=2)
    assert "another command" in p.stderr and "# changed" in p.stderr
    other = work.space({"parameters": [{"name": "x", "type": "float", "low": 0, "high": 2}]},
                       name="other.json")
    p = work.run(["sh", "-c", SH_REPORT], "--resume", "--brackets", "2", space=other, expect=1)
    assert "another search space" in p.stderr
    # without --resume an existing file is refused
    p = work.run(["sh", "-c", SH_REPORT], expect=2)
    assert "--resume" in p.stderr
    # the same command continues; the directories of both finished brackets
    # are gone, the incumbent's excepted (the first bracket's too, though
    # its jobs were replayed from the file)
    work.run(["sh", "-c", SH_REPORT], "--resume", brackets=2)
    jobs = work.jobs()
    assert max(j["bracket"] for j in jobs) == 1
    inc = min((j for j in jobs if j["budget"] == 9 and j["status"] == "completed"),
              key=lambda j: (j["loss"], j["config_id"]))
    assert sorted(os.listdir(work.path / "s.db.runs")) == ["config-%d" % inc["config_id"]]


def test_child_environment_is_the_users(work):
    # the child sees the user's environment plus the FRESH_* variables:
    # nothing fresh sets for itself (OPENBLAS_NUM_THREADS once leaked and
    # held every job's numpy/torch to one BLAS thread)
    script = work.script("env.py", """
import json, os
import fresh_report as fr
with open(os.path.join(fr.trial_dir(), "env-%d.json" % fr.job_id()), "w") as f:
    json.dump(dict(os.environ), f)
fr.report(fr.budget(), 0.5)
""")
    for user_value in (None, "3"):
        env = dict(os.environ)
        env.pop("OPENBLAS_NUM_THREADS", None)
        env["FRESH_TEST_USER_VAR"] = "kept"
        if user_value:
            env["OPENBLAS_NUM_THREADS"] = user_value
        storage = "env-%s.db" % (user_value or "none")
        work.run([PY, script], "--keep-runs", max_budget=1, env=env, storage=storage)
        runs = work.path / (storage + ".runs")
        seen = [json.loads(p.read_text()) for p in runs.glob("config-*/env-*.json")]
        assert seen
        for child in seen:
            assert child.get("FRESH_TEST_USER_VAR") == "kept"
            assert child.get("OPENBLAS_NUM_THREADS") == user_value, child.get("OPENBLAS_NUM_THREADS")
            assert "FRESH_BUDGET" in child


CKPT_SCRIPT = r"""
import os, sys
budget, start, x = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
d = os.environ["FRESH_TRIAL_DIR"]
runs = os.path.dirname(d)
with open(sys.argv[4], "a") as f:  # directories present at this job's start
    f.write("%d\n" % sum(1 for n in os.listdir(runs) if n.startswith("config-")))
ck = os.path.join(d, "ckpt")
if start > 0:
    if not os.path.exists(ck) or float(open(ck).read()) != start:
        sys.exit("checkpoint missing or wrong")
open(ck, "w").write(repr(budget))
print("fresh-report step=%g loss=%.12g" % (budget, (x - 0.3) ** 2 + 1 / budget), flush=True)
"""


def asha_dirs(work, *opts, tag):
    script = work.script("ck.py", CKPT_SCRIPT)
    seen = work.path / ("seen-%s.txt" % tag)
    work.run([PY, script, "{budget}", "{resume_from}", "{x}", str(seen)], "--scheduler", "asha",
             *opts, brackets=6, storage="%s.db" % tag)
    jobs = work.jobs("%s.db" % tag)
    assert all(j["status"] != "failed" for j in jobs), [j for j in jobs if j["status"] == "failed"]
    assert sum(j["resume_from"] > 0 for j in jobs) >= 10  # promotions found their checkpoints
    left = os.listdir(work.path / ("%s.db.runs" % tag))
    return max(int(s) for s in seen.read_text().split()), len(left), jobs


def test_asha_max_paused_bounds_the_trial_directories(work):
    # ASHA as published may promote any paused configuration later, so every
    # directory stays; with --max-paused 2 a rung keeps 2 paused
    # configurations promotable and the others' directories go at once: at
    # a job's start at most 2 x 2 paused (rungs 1 and 3) + the job's own + the
    # incumbent's. 6 groups of 9 configurations, one worker.
    most, left, jobs = asha_dirs(work, tag="all")
    assert len({j["config_id"] for j in jobs}) == 54
    assert most > 20 and left > 20
    most, left, jobs = asha_dirs(work, "--max-paused", "2", tag="mp")
    assert most <= 6, most
    assert left <= 5, left
    p = work.run(["true"], "--max-paused", "2", expect=2, storage="h.db")
    assert "asynchronous schedulers" in p.stderr
    p = work.run(["true"], "--paper-promotions", expect=2, storage="h.db")
    assert "'--paper-promotions' applies to the asynchronous schedulers" in p.stderr
    p = work.run(["true"], "--scheduler", "asha", "--max-paused", "-1", expect=2, storage="h.db")
    assert "--max-paused" in p.stderr
    p = work.run(["true"], "--scheduler", "asha", "--max-open-brackets", "1", expect=2,
                 storage="h.db")
    assert "synchronous schedulers" in p.stderr


def test_max_open_brackets_one_runs_one_bracket_at_a_time(work):
    # textbook Hyperband on 3 workers: a bracket's jobs start after every job
    # of the brackets before it ended (fresh otherwise opens the next one)
    def overlaps(tag, *opts):
        work.run(["sh", "-c", "sleep 0.05; " + SH_REPORT], "--workers", "3", "--scheduler",
                 "hyperband", *opts, brackets=3, storage="%s.db" % tag)
        jobs = work.jobs("%s.db" % tag)
        assert {j["bracket"] for j in jobs} == {0, 1, 2}
        return sum(min(j["start_s"] for j in jobs if j["bracket"] == b) <
                   max(j["end_s"] for j in jobs if j["bracket"] < b) for b in (1, 2))
    assert overlaps("one", "--max-open-brackets", "1") == 0
    assert overlaps("any") > 0
