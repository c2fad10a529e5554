#!/usr/bin/env python3
"""What `fresh bench` says to the mistakes a new user makes (issue 16), and
its progress lines when stderr is a pipe.

usage: test_messages.py PATH/TO/fresh
Each case runs the binary in a fresh temporary directory and checks the exit
status and the message: the file names, the option to use, the valid names,
the operating system's reason for a failed write.
"""
import os
import re
import subprocess
import sys
import tempfile
import unittest

FRESH = None


def run(*args, cwd):
    p = subprocess.run([FRESH, *args], cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=100)
    return p.returncode, p.stdout, p.stderr


class Messages(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_resume_of_a_missing_file_is_an_error(self):
        rc, out, err = run("bench", "branin_mf", "--budget", "1", "--storage", "nope.db",
                           "--resume", cwd=self.dir)
        self.assertEqual(rc, 1)
        self.assertIn("--resume: cannot open study file 'nope.db': No such file or directory", err)
        self.assertIn("leave out --resume to start a new study", err)
        self.assertEqual(out, "")
        self.assertFalse(os.path.exists(os.path.join(self.dir, "nope.db")))

    def test_a_file_that_holds_a_study_names_resume(self):
        rc, _, err = run("bench", "branin_mf", "--budget", "1", "--storage", "s.db",
                         "--workers", "1", cwd=self.dir)
        self.assertEqual(rc, 0, err)
        rc, out, err = run("bench", "branin_mf", "--budget", "2", "--storage", "s.db",
                           cwd=self.dir)
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertIn("study file 's.db' already holds a study: add --resume to continue it", err)
        # and --resume continues it
        rc, out, err = run("bench", "branin_mf", "--budget", "2", "--storage", "s.db",
                           "--workers", "1", "--resume", cwd=self.dir)
        self.assertEqual(rc, 0, err)
        self.assertIn("resumed from s.db", out)

    def test_an_empty_file_becomes_a_study(self):
        open(os.path.join(self.dir, "empty.db"), "w").close()
        rc, _, err = run("bench", "branin_mf", "--budget", "1", "--storage", "empty.db",
                         "--workers", "1", cwd=self.dir)
        self.assertEqual(rc, 0, err)

    def test_unknown_sampler_lists_the_valid_names(self):
        rc, _, err = run("bench", "branin_mf", "--sampler", "cmaes", cwd=self.dir)
        self.assertEqual(rc, 2)
        m = re.search(r"unknown sampler 'cmaes' \(valid: ([a-z_, ]+)\)", err)
        self.assertIsNotNone(m, err)
        names = m.group(1).split(", ")
        for name in ("random", "bohb", "tpe"):
            self.assertIn(name, names)
        for name in names:  # every listed name is accepted
            rc, _, err = run("bench", "branin_mf", "--sampler", name, "--budget", "0.5",
                             "--workers", "1", cwd=self.dir)
            self.assertEqual(rc, 0, name + ": " + err)

    def test_unknown_scheduler_lists_the_valid_names(self):
        rc, _, err = run("bench", "branin_mf", "--scheduler", "asha!", cwd=self.dir)
        self.assertEqual(rc, 2)
        m = re.search(r"unknown scheduler 'asha!' \(valid: ([a-z_, -]+)\)", err)
        self.assertIsNotNone(m, err)
        names = m.group(1).split(", ")
        for name in ("adaptive", "hyperband", "sh", "none", "asha", "async-hyperband",
                     "async-adaptive"):
            self.assertIn(name, names)
        for name in names:  # every listed name is accepted
            rc, _, err = run("bench", "branin_mf", "--scheduler", name, "--budget", "0.5",
                             "--workers", "1", cwd=self.dir)
            self.assertEqual(rc, 0, name + ": " + err)

    def test_tpe_is_documented_as_the_bohb_sampler(self):
        rc, out, _ = run("bench", "--help", cwd=self.dir)
        self.assertEqual(rc, 0)
        self.assertIn("tpe (the same sampler", out)
        rc, a, _ = run("bench", "branin_mf", "--sampler", "tpe", "--budget", "2", "--workers",
                       "1", cwd=self.dir)
        rc2, b, _ = run("bench", "branin_mf", "--sampler", "bohb", "--budget", "2", "--workers",
                        "1", cwd=self.dir)
        self.assertEqual((rc, rc2), (0, 0))
        strip = lambda s: re.sub(r"[0-9.]+ s (wall|overhead)|utilization [0-9.]+", "",
                                s).replace("tpe", "bohb")
        self.assertEqual(strip(a), strip(b))  # the same sampler: the same study

    def test_write_failures_give_the_reason(self):
        rc, _, err = run("bench", "branin_mf", "--budget", "1", "--trajectory",
                         "no/such/dir/t.csv", cwd=self.dir)
        self.assertEqual(rc, 1)
        self.assertIn("cannot write 'no/such/dir/t.csv': No such file or directory", err)
        if os.path.exists("/dev/full"):
            rc, _, err = run("bench", "branin_mf", "--budget", "1", "--trajectory", "/dev/full",
                             cwd=self.dir)
            self.assertEqual(rc, 1)
            self.assertIn("error writing '/dev/full': No space left on device", err)
        rc, _, err = run("bench", "branin_mf", "--budget", "1", "--storage", "no/dir/s.db",
                         cwd=self.dir)
        self.assertEqual(rc, 1)
        self.assertIn("No such file or directory", err)
        rc, _, err = run("bench", "branin_mf", "--budget", "1", "--storage", "s.db",
                         "--workers", "1", cwd=self.dir)
        self.assertEqual(rc, 0, err)
        rc, _, err = run("export", "s.db", "--output", "no/dir/x.csv", cwd=self.dir)
        self.assertEqual(rc, 1)
        self.assertIn("cannot write 'no/dir/x.csv': No such file or directory", err)
        if os.path.exists("/dev/full"):
            rc, _, err = run("export", "s.db", "--output", "/dev/full", cwd=self.dir)
            self.assertEqual(rc, 1)
            self.assertIn("error writing '/dev/full': No space left on device", err)

    def test_progress_under_a_pipe_is_plain_lines(self):
        # about 2 s of sleeping objective, a line every 0.25 s
        rc, out, err = run("bench", "branin_mf", "--budget", "1", "--workers", "2",
                           "--sleep-per-budget", "80", "--progress", "0.25", cwd=self.dir)
        self.assertEqual(rc, 0, err)
        self.assertNotIn("\r", err)
        self.assertNotIn("\033", err)
        lines = err.splitlines()
        prog = [l for l in lines if re.match(r"\[ *\d+%\] [0-9.]+/1 MBE, \d+s elapsed", l)]
        self.assertGreaterEqual(len(prog), 3, err)
        pct = [int(re.match(r"\[ *(\d+)%", l).group(1)) for l in prog]
        self.assertEqual(pct, sorted(pct))
        self.assertTrue(any("left;" in l for l in prog), err)
        self.assertRegex(lines[-1], r"^done: [0-9.]+/1 MBE in \d+s; \d+ jobs$")
        # --progress 0: quiet
        rc, _, err = run("bench", "branin_mf", "--budget", "1", "--workers", "2",
                         "--sleep-per-budget", "5", "--progress", "0", cwd=self.dir)
        self.assertEqual(rc, 0)
        self.assertEqual(err, "")


if __name__ == "__main__":
    FRESH = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
