"""fresh_report: report to `fresh run` from a training script.

`fresh run` starts your script once per job and reads lines of the form

    fresh-report step=3 loss=0.412
    fresh-report final loss=0.398      (optional: the job's loss, if not the last report)
    fresh-report fail out of memory    (optional: the job failed, with a reason)

on its standard output; every other line only goes to the job's log. This
module writes those lines (flushed at once) and reads what fresh tells the
job through the environment. It is one standalone, pure-Python file with no
dependency: `fresh run` puts its directory on PYTHONPATH for the jobs it
starts (and names the file in FRESH_REPORT_MODULE), or copy it next to your
script. Outside `fresh run` the functions still work (reports are printed,
the budget comes from the default you give).

    import fresh_report as fr
    start = fr.resume_from()            # epochs this configuration already did
    for epoch in range(int(start) + 1, int(fr.budget()) + 1):
        train_one_epoch()
        if not fr.report(epoch, validation_loss()):
            break                       # never happens: fresh stops jobs by SIGTERM
    fr.final(best_loss)                 # optional

When fresh stops a job early it sends SIGTERM to the job's process group and,
after `--stop-grace` seconds, SIGKILL. Call stop_on_sigterm() to turn SIGTERM
into a flag (stopping()) instead of an immediate exit, e.g. to save a
checkpoint first. See docs/run.md.
"""

import json
import math
import os
import signal
import sys

__all__ = ["report", "final", "fail", "budget", "resume_from", "trial_dir", "config",
           "config_id", "job_id", "seed", "worker", "param", "stop_on_sigterm", "stopping"]

_stream = sys.stdout
_stop_requested = False


def _num(x):
    """A number as text that reads back exactly (repr of a float)."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(x)


def _write(line):
    _stream.write(line + "\n")
    _stream.flush()


def report(step, loss):
    """Reports `loss` reached at `step` (the budget so far, e.g. the epoch).

    NaN or infinite losses fail the job. Returns True (the stop decision
    comes as SIGTERM)."""
    _write("fresh-report step=%s loss=%s" % (_num(step), _num(loss)))
    return not _stop_requested


def final(loss):
    """Sets the job's loss (otherwise the last report's)."""
    _write("fresh-report final loss=%s" % _num(loss))


def fail(message):
    """Marks the job failed with a message (one line), e.g. before exit."""
    text = " ".join(str(message).split())
    _write("fresh-report fail %s" % text)


def _env(name, default=None):
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def budget(default=None):
    """The budget to train up to (FRESH_BUDGET), a float; `default` outside fresh."""
    v = _env("FRESH_BUDGET")
    return float(v) if v is not None else default


def resume_from():
    """The budget this configuration reached in its earlier jobs (0 if new)."""
    return float(_env("FRESH_RESUME_FROM", "0"))


def trial_dir(default="."):
    """The configuration's directory: save checkpoints and artefacts here."""
    return _env("FRESH_TRIAL_DIR", default)


def config():
    """The configuration as a dict (inactive parameters left out); {} outside fresh."""
    path = _env("FRESH_CONFIG")
    if path is None:
        return {}
    with open(path) as f:
        return json.load(f)


def param(name, default=None):
    """One parameter's value as text (FRESH_PARAM_<name>); `default` if inactive."""
    key = "FRESH_PARAM_" + "".join(c if c.isalnum() and c.isascii() else "_" for c in name)
    return _env(key, default)


def config_id():
    return int(_env("FRESH_CONFIG_ID", "0"))


def job_id():
    return int(_env("FRESH_JOB_ID", "0"))


def seed():
    return int(_env("FRESH_SEED", "0"))


def worker():
    """The worker slot running this job (0 .. workers-1)."""
    return int(_env("FRESH_WORKER", "0"))


def stop_on_sigterm():
    """Turns SIGTERM into a request: stopping() becomes True and report()
    returns False, so the script can save a checkpoint and exit. fresh sends
    SIGKILL after --stop-grace seconds anyway."""
    def _handler(signum, frame):
        global _stop_requested
        _stop_requested = True
    signal.signal(signal.SIGTERM, _handler)


def stopping():
    """True once SIGTERM arrived (after stop_on_sigterm())."""
    return _stop_requested
