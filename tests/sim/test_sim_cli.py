#!/usr/bin/python3
"""`fresh bench NAME --simulate-workers N` (issue 14): what it prints, that a
seed fixes the simulated run, that the trajectory ends at the reported
regret, the horizon, and the options it refuses."""
import json
import subprocess
import sys
import unittest

FRESH = sys.argv.pop(1) if len(sys.argv) > 1 else "fresh"
REAL_TIME_KEYS = {"wall_s", "overhead_s", "ask_mean_us", "ask_p99_us", "tell_mean_us",
                  "tell_p99_us", "owner_load", "real_s"}


def run(*args):
    p = subprocess.run([FRESH, "bench", *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def runs(*args):
    rc, out, err = run(*args, "--json")
    assert rc == 0, err
    return [json.loads(line) for line in out.splitlines()]


def strip_real(d):
    if isinstance(d, dict):
        return {k: strip_real(v) for k, v in d.items() if k not in REAL_TIME_KEYS}
    return d


class SimCli(unittest.TestCase):
    def test_budget_run(self):
        args = ("branin_mf", "--simulate-workers", "8", "--budget", "6", "--seed", "3",
                "--sim-spread", "0.5", "--sim-failure-rate", "0.1")
        a = runs(*args)[0]
        b = runs(*args)[0]
        self.assertEqual(strip_real(a), strip_real(b))  # the seed fixes everything simulated
        s = a["simulated"]
        self.assertEqual(s["workers"], 8)
        self.assertEqual(a["status"], "BUDGET_REACHED")
        self.assertGreater(s["failed"], 0)
        self.assertEqual(s["failed"], a["failed"])
        self.assertEqual(s["jobs"], a["evaluations"])
        self.assertEqual(s["running_at_end"], 0)
        self.assertTrue(0 < s["utilization"] <= 1)
        self.assertAlmostEqual(s["busy"], s["utilization"] * 8 * s["makespan"], places=6)
        traj = s["trajectory"]
        self.assertGreater(len(traj), 0)
        times = [t for t, _ in traj]
        self.assertEqual(times, sorted(times))
        self.assertTrue(all(t <= s["makespan"] for t in times))
        self.assertAlmostEqual(traj[-1][1], a["regret"], places=9)
        for key in ("ask_mean_us", "ask_p99_us", "tell_mean_us", "tell_p99_us"):
            self.assertGreater(s[key], 0)
        rc, out, _ = run(*args)
        self.assertEqual(rc, 0)
        self.assertIn("simulated 8 workers: makespan", out)

    def test_horizon(self):
        a = runs("lc_mixed", "--simulate-workers", "16", "--sim-horizon", "300",
                 "--scheduler", "hyperband", "--sampler", "random")[0]
        s = a["simulated"]
        self.assertEqual(a["status"], "TIME_REACHED")
        self.assertEqual(s["makespan"], 300)
        self.assertEqual(a["budget_mbe"], 0)  # the horizon is the criterion
        self.assertGreater(s["running_at_end"], 0)
        self.assertGreater(s["utilization"], 0.9)  # Hyperband fills idle workers with brackets
        # another seed, another run; a median line after the seeds
        lines = runs("lc_mixed", "--simulate-workers", "16", "--sim-horizon", "300",
                     "--sampler", "random", "--seeds", "2")
        self.assertEqual(len(lines), 3)
        self.assertNotEqual(lines[0]["simulated"]["trajectory"], lines[1]["simulated"]["trajectory"])
        self.assertIn("median_regret", lines[2])

    def test_refused(self):
        for args, words in [
            (("--sim-spread", "1"), "need '--simulate-workers"),
            (("--simulate-workers", "0"), "1..1048576"),
            (("--simulate-workers", "4", "--workers", "2"), "does not go with --workers"),
            (("--simulate-workers", "4", "--sleep-per-budget", "1"), "--sleep-per-budget"),
            (("--simulate-workers", "4", "--sim-failure-rate", "1"), "[0, 1)"),
            (("--simulate-workers", "4", "--sim-horizon", "-5"), "must be > 0"),
        ]:
            rc, _, err = run("branin_mf", *args)
            self.assertEqual(rc, 2, (args, err))
            self.assertIn(words, err, args)
        rc, _, err = run("digits_mlp", "--simulate-workers", "4")
        self.assertEqual(rc, 2)
        self.assertIn("digits_mlp", err)


if __name__ == "__main__":
    unittest.main()
