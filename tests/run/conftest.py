"""Helpers for the `fresh run` tests: run the fresh binary on small spaces
with real child processes (sh, python3) and read the study back with
`fresh export`. FRESH_BIN names the binary (set by ctest)."""
import json
import os
import subprocess
import time
import uuid

import pytest

FRESH = os.environ.get("FRESH_BIN", "fresh")
PY = os.environ.get("FRESH_PYTHON", "/usr/bin/python3")
SOURCE = os.environ.get("FRESH_SOURCE_DIR",
                        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

SPACE_X = {"parameters": [{"name": "x", "type": "float", "low": 0, "high": 1}]}
SPACE_COND = {"parameters": [
    {"name": "x", "type": "float", "low": 0, "high": 1},
    {"name": "opt", "type": "categorical", "choices": ["adam", "sgd"]},
    {"name": "momentum", "type": "float", "low": 0, "high": 0.99,
     "condition": {"parent": "opt", "equals": "sgd"}},
]}


@pytest.fixture
def work(tmp_path):
    return Work(tmp_path)


class Work:
    def __init__(self, path):
        self.path = path
        self.marker = "fresh-test-" + uuid.uuid4().hex[:12]

    def file(self, name, text):
        p = self.path / name
        p.write_text(text)
        return str(p)

    def space(self, space=SPACE_X, name="space.json"):
        return self.file(name, json.dumps(space))

    def script(self, name, text):
        return self.file(name, text)

    def args(self, cmd, *opts, space=None, max_budget=9, brackets=1, storage="s.db", quiet=True):
        a = [FRESH, "run", "--space", space or self.space(), "--min-budget", "1",
             "--max-budget", str(max_budget), "--eta", "3", "--seed", "3"]
        if quiet:
            a.append("--quiet")
        if brackets:
            a += ["--brackets", str(brackets)]
        if storage:
            a += ["--storage", str(self.path / storage)]
        return a + list(opts) + ["--"] + list(cmd)

    def run(self, cmd, *opts, timeout=120, expect=0, env=None, **kw):
        p = subprocess.run(self.args(cmd, *opts, **kw), cwd=self.path, capture_output=True,
                           text=True, timeout=timeout, env=env)
        if expect is not None:
            assert p.returncode == expect, "exit %d\nstdout:\n%s\nstderr:\n%s" % (
                p.returncode, p.stdout, p.stderr)
        return p

    def start(self, cmd, *opts, **kw):
        return subprocess.Popen(self.args(cmd, *opts, **kw), cwd=self.path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def jobs(self, storage="s.db"):
        p = subprocess.run([FRESH, "export", str(self.path / storage), "--format", "jsonl"],
                           capture_output=True, text=True, check=True)
        return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]

    def leftovers(self):
        """Processes whose command line holds this test's marker."""
        p = subprocess.run(["pgrep", "-f", self.marker], capture_output=True, text=True)
        return [int(x) for x in p.stdout.split()]

    def wait_no_leftovers(self, seconds):
        end = time.time() + seconds
        while time.time() < end:
            if not self.leftovers():
                return True
            time.sleep(0.1)
        return not self.leftovers()

    def wait_for(self, pred, seconds):
        end = time.time() + seconds
        while time.time() < end:
            if pred():
                return True
            time.sleep(0.05)
        return pred()
