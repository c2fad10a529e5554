#!/usr/bin/env python3
"""Tests of `fresh report` (issue 16).

    test_report.py data|browser|running

data     the JSON embedded in the page against the study file, read back with
         `fresh export` and `fresh show`: every job, configuration, report and
         status; the incumbent; the best-configurations table; and the two
         measures recomputed here independently (Kendall's tau of each rung
         against the max budget, the eta^2 parameter importance); --baseline,
         and the untuned default the study evaluated itself.
browser  the page in headless Chromium: it loads with no script or console
         error, every chart draws (its canvas has painted pixels), the table
         is there; a screenshot is kept (OUT_DIR/report-screenshot.png).
running  a report of a study while another process runs it (a snapshot: jobs
         running, the page says so and reloads itself), checked in Chromium;
         --watch rewrites the page until the study ends.

Environment (set by CMakeLists.txt): FRESH, MAKE_STUDY, CHROMIUM, OUT_DIR.
Exit 77 (skipped) when Chromium is not installed.
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

FRESH = os.environ["FRESH"]
MAKE_STUDY = os.environ["MAKE_STUDY"]
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or ""
OUT_DIR = os.environ.get("OUT_DIR", ".")
CHARTS = ["c-incumbent-budget", "c-incumbent-wall", "c-evaluations", "c-curves", "c-rank",
          "c-importance", "c-timeline", "c-parallel"]


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def run(*args, cwd, ok=True):
    p = subprocess.run(list(args), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=120)
    if ok and p.returncode != 0:
        fail("%s -> %d: %s" % (" ".join(args), p.returncode, p.stderr))
    return p


def page_data(path):
    html = open(path, encoding="utf-8").read()
    m = re.search(r'<script type="application/json" id="fresh-data">(.*?)</script>', html, re.S)
    check(m, "no #fresh-data in " + path)
    return html, json.loads(m.group(1))


def close(a, b, tol=1e-12):
    if a is None or b is None:
        return a is b
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


# ------------------------------------------------------------ measures, again

def kendall_tau_b(a, b):
    conc = disc = ta = tb = 0
    n = len(a)
    for i in range(n):
        for j in range(i + 1, n):
            da, db = a[i] - a[j], b[i] - b[j]
            if da == 0 and db == 0:
                continue
            if da == 0:
                ta += 1
            elif db == 0:
                tb += 1
            elif (da > 0) == (db > 0):
                conc += 1
            else:
                disc += 1
    den = math.sqrt((conc + disc + ta) * (conc + disc + tb))
    return (conc - disc) / den if den > 0 else 0.0


def rung_of(rungs, b):
    for j, r in enumerate(rungs):
        if abs(r - b) <= 1e-9 * r:
            return j
    return -1


def expected_rank_agreement(jobs, rungs, keep):
    out = []
    for j in range(len(rungs) - 1):
        pairs = []
        for job in jobs:
            if (job["status"] != "completed" or job["resume_from"] != 0 or
                    rung_of(rungs, job["budget"]) != len(rungs) - 1):
                continue
            for step, loss in job["reports"]:
                if rung_of(rungs, step) == j and loss is not None:
                    pairs.append((job["end_s"], loss, job["loss"]))
                    break
        pairs.sort(key=lambda p: p[0])
        recent = pairs[-keep:]
        tau = kendall_tau_b([p[1] for p in recent], [p[2] for p in recent]) if len(recent) >= 2 else None
        out.append((rungs[j], tau, len(recent), len(pairs)))
    return out


def avg_ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for t in range(i, j + 1):
            r[order[t]] = (i + j) / 2 + 1
        i = j + 1
    return r


def expected_importance(jobs, space, rungs):
    dim = len(space)
    need = max(8, 2 * dim)
    for j in reversed(range(len(rungs))):
        rows = [job for job in jobs if job["status"] == "completed" and job["loss"] is not None
                and rung_of(rungs, job["budget"]) == j]
        if len(rows) < need:
            continue
        r = avg_ranks([row["loss"] for row in rows])
        mean = sum(r) / len(r)
        tot = sum((x - mean) ** 2 for x in r)
        res = {}
        for p in space:
            vals = [row["params"].get(p["name"]) for row in rows]
            if p["levels"] is not None:
                groups = [("inactive" if v is None else v) for v in vals]
            else:
                act = [v for v in vals if v is not None]
                groups = ["inactive" if v is None else
                          sum(1 for w in act if w < v) * 5 // len(act) for v in vals]
            between = 0.0
            for g in set(groups):
                members = [r[i] for i in range(len(r)) if groups[i] == g]
                between += len(members) * (sum(members) / len(members) - mean) ** 2
            ng = len(set(groups))
            res[p["name"]] = (between / tot if tot > 0 else 0.0, (ng - 1) / (len(rows) - 1))
        return rungs[j], len(rows), res
    return None, 0, {}


# ------------------------------------------------------------ the data test

def check_data(d, export, show_text, space_levels):
    jobs = d["jobs"]
    check(len(jobs) == len(export), "jobs: %d in the page, %d in the file" % (len(jobs), len(export)))
    names = [p["name"] for p in d["space"]]
    for pj, ej in zip(jobs, export):
        check(pj["id"] == ej["job"] and pj["config"] == ej["config_id"], "job ids")
        for k in ("bracket", "stage"):
            check(pj[k] == ej[k], "job %d %s" % (pj["id"], k))
        for k in ("budget", "resume_from"):
            check(close(pj[k], ej[k]), "job %d %s" % (pj["id"], k))
        check(pj["status"] == ej["status"], "job %d status %s != %s" % (pj["id"], pj["status"], ej["status"]))
        if ej["status"] in ("completed", "stopped"):
            check(close(pj["loss"], ej["loss"]), "job %d loss" % pj["id"])
            check(close(pj["reached"], ej["reached"]), "job %d reached" % pj["id"])
        if ej["status"] == "failed":
            check(pj["loss"] is None, "a failed job's loss is null")
            check(pj["message"] == ej["message"] and pj["message"], "job %d message" % pj["id"])
        check(pj["worker"] == ej["worker"], "job %d worker" % pj["id"])
        check(close(pj["start"], ej["start_s"]) and close(pj["end"], ej["end_s"]), "job %d times" % pj["id"])
        reps = [[s, l] for s, l in zip(pj["steps"], pj["losses"])]
        check(len(reps) == len(ej["reports"]), "job %d reports" % pj["id"])
        for (s, l), (es, el) in zip(reps, ej["reports"]):
            check(close(s, es) and close(l, el), "job %d report" % pj["id"])
        # the configuration, by name (levels are indices in the page)
        values = d["configs"][pj["config"]]
        for i, name in enumerate(names):
            ev = ej["params"].get(name)
            pv = values[i]
            if space_levels[name] is not None and pv is not None:
                pv = space_levels[name][int(pv)]
            check(pv == ev or (isinstance(pv, float) and close(pv, ev)),
                  "job %d param %s: %r != %r" % (pj["id"], name, pv, ev))
    # the stats against `fresh show`
    st = d["stats"]
    m = re.search(r"jobs: (\d+) finished \((\d+) completed, (\d+) stopped early, (\d+) failed\)", show_text)
    check(m, "fresh show: " + show_text)
    check([st["jobs_finished"], st["jobs_completed"], st["jobs_stopped"], st["jobs_failed"]] ==
          [int(x) for x in m.groups()], "job counts against fresh show")
    m = re.search(r"configurations: (\d+)", show_text)
    check(st["configs"] == int(m.group(1)) == len(d["configs"]), "configurations")
    check(("budget used: %.2f" % st["used_mbe"]) in show_text, "used MBE against fresh show")
    # the incumbent: the best completed loss at the maximum budget
    done = [e for e in export if e["status"] == "completed"]
    top = d["plan"]["max_budget"]
    best = min(e["loss"] for e in done if e["budget"] == top)
    check(d["incumbent"] is not None and close(d["incumbent"]["loss"], best)
          and close(d["incumbent"]["budget"], top), "incumbent")
    check(("incumbent: loss %.6g at budget %g" % (best, top)) in show_text, "incumbent against fresh show")
    # the table of the best configurations: each config's best at its largest completed budget
    per = {}
    for e in done:
        c = e["config_id"]
        if c not in per or e["budget"] > per[c][0] or (e["budget"] == per[c][0] and e["loss"] < per[c][1]):
            per[c] = (e["budget"], e["loss"])
    ranked = sorted(per.items(), key=lambda kv: (-kv[1][0], kv[1][1], kv[0]))
    check(len(d["best"]) == min(20, len(ranked)), "rows of the best table")
    for row, (c, (b, l)) in zip(d["best"], ranked):
        check(row["config"] == c and close(row["budget"], b) and close(row["loss"], l),
              "best table row %r != %r" % (row, (c, b, l)))
    # trajectory: one point per finished job, ending at the incumbent
    check(len(d["trajectory"]) == st["jobs_finished"], "trajectory length")
    check(close(d["trajectory"][-1]["loss"], best), "the trajectory ends at the incumbent")
    # rank agreement
    rule = d["adaptive_rule"]
    exp = expected_rank_agreement(export, d["plan"]["rungs"], rule["keep"])
    check(len(d["rank_agreement"]) == len(exp) == len(d["plan"]["rungs"]) - 1, "rank agreement rungs")
    any_pairs = False
    for got, (b, tau, n, n_all) in zip(d["rank_agreement"], exp):
        check(close(got["budget"], b) and got["pairs"] == n and got["pairs_all"] == n_all,
              "rank agreement pairs at %g: %r vs %r" % (b, got, (tau, n, n_all)))
        check(close(got["tau"], tau, 1e-9), "tau at %g: %r vs %r" % (b, got["tau"], tau))
        any_pairs |= n >= 2
    check(any_pairs, "no rung had pairs: the test study is too small")
    # importance
    b, n, imp = expected_importance(export, d["space"], d["plan"]["rungs"])
    I = d["importance"]
    check(b is not None and close(I["budget"], b) and I["n"] == n, "importance budget/n: %r" % I)
    check([p["name"] for p in I["params"]] == names, "importance params")
    for p in I["params"]:
        e2, chance = imp[p["name"]]
        check(close(p["eta2"], e2, 1e-9) and close(p["chance"], chance, 1e-9),
              "importance of %s: %r vs %r" % (p["name"], (p["eta2"], p["chance"]), (e2, chance)))
        check(0 <= p["eta2"] <= 1, "eta2 in [0, 1]")
    check(d["running"] is False and st["jobs_running"] == 0, "a finished study is not running")


def test_data(tmp):
    # 1. a benchmark function through `fresh bench` (floats, model, brackets)
    run(FRESH, "bench", "hartmann6_mf", "--budget", "30", "--workers", "2", "--seed", "3",
        "--storage", "h.db", "--progress", "0", cwd=tmp)
    run(FRESH, "report", "h.db", "-o", "h.html", "--baseline", "-1.5", "--loss-name", "regret-ish",
        "--budget-unit", "epochs", cwd=tmp)
    _, d = page_data(os.path.join(tmp, "h.html"))
    export = [json.loads(l) for l in run(FRESH, "export", "h.db", "--format", "jsonl", cwd=tmp).stdout.splitlines()]
    show = run(FRESH, "show", "h.db", cwd=tmp).stdout
    check_data(d, export, show, {p["name"]: p["levels"] for p in d["space"]})
    check(d["baseline"] == {"loss": -1.5, "source": "measured outside the study (--baseline)"},
          "baseline: %r" % d["baseline"])
    check(d["loss_name"] == "regret-ish" and d["budget_unit"] == "epochs", "names")
    check(d["default"] is None, "hartmann6_mf's space declares no defaults")
    check(d["plan"]["rungs"] == [1, 3, 9, 27, 81] and d["plan"]["eta"] == 3, "plan")
    # 2. a study with defaults, a conditional parameter, failures, stops
    run(MAKE_STUDY, "m.db", "24", "1", cwd=tmp)
    run(FRESH, "report", "m.db", "-o", "m.html", cwd=tmp)
    _, d = page_data(os.path.join(tmp, "m.html"))
    export = [json.loads(l) for l in run(FRESH, "export", "m.db", "--format", "jsonl", cwd=tmp).stdout.splitlines()]
    show = run(FRESH, "show", "m.db", cwd=tmp).stdout
    check_data(d, export, show, {p["name"]: p["levels"] for p in d["space"]})
    st = d["stats"]
    check(st["jobs_failed"] > 0 and st["jobs_stopped"] > 0, "the study has failed and stopped jobs: %r" % st)
    check(any(j["resume_from"] > 0 for j in d["jobs"]), "the study has promotions")
    check(d["default"]["values"] == [2, 0, 1], "the space's default configuration: %r" % d["default"])
    default_runs = [e["loss"] for e in export if e["status"] == "completed" and e["budget"] == 27 and
                    e["params"] == {"width": 2, "optimizer": "sgd", "damping": 1}]
    check(default_runs, "the test study evaluated its default configuration at the max budget")
    check(close(d["baseline"]["loss"], min(default_runs)) and "evaluated in the study" in d["baseline"]["source"],
          "the untuned default the study knows: %r" % d["baseline"])
    # inactive parameters are null, in the values and on the parallel-coordinates axes
    adam = [b for b in d["best"] if b["values"][1] != 0]
    check(adam and all(b["values"][2] is None and b["unit"][2] is None for b in adam), "inactive damping")
    check(all(0 <= u <= 1 for b in d["best"] for u in b["unit"] if u is not None), "unit positions")
    # usage errors
    p = run(FRESH, "report", "m.db", cwd=tmp, ok=False)
    check(p.returncode == 2 and "missing '-o OUT.html'" in p.stderr, "no -o: " + p.stderr)
    p = run(FRESH, "report", "nothere.db", "-o", "x.html", cwd=tmp, ok=False)
    check(p.returncode == 1 and "nothere.db" in p.stderr and not os.path.exists(os.path.join(tmp, "x.html")),
          "missing study: " + p.stderr)
    p = run(FRESH, "report", "m.db", "-o", "no/dir/x.html", cwd=tmp, ok=False)
    check(p.returncode == 1 and "No such file or directory" in p.stderr, "write failure: " + p.stderr)


# ------------------------------------------------------------ the browser

def chromium(url, tmp, screenshot=None, size="1280,2600"):
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", "--disable-extensions", "--hide-scrollbars",
            "--user-data-dir=" + os.path.join(tmp, "chromium-profile"),
            "--virtual-time-budget=10000", "--window-size=" + size, "--dump-dom"]
    if screenshot:
        args.append("--screenshot=" + screenshot)
    env = dict(os.environ, DBUS_SESSION_BUS_ADDRESS="disabled:")
    p = subprocess.run(args + [url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=150, env=env, cwd=tmp)
    check(p.returncode == 0, "chromium failed (%d): %s" % (p.returncode, p.stderr[-2000:]))
    return p.stdout


def check_dom(dom, what):
    m = re.search(r"<body([^>]*)>", dom)
    check(m, what + ": no body in the DOM dump")
    body = m.group(1)
    errs = re.search(r'<pre id="fresh-errors">(.*?)</pre>', dom, re.S)
    check(errs is not None and errs.group(1).strip() == "",
          what + ": errors in the page: " + (errs.group(1) if errs else "no error element"))
    check('data-status="ok"' in body, what + ": page status: " + body)
    check('data-charts="%d"' % len(CHARTS) in body, what + ": charts drawn: " + body)
    for cid in CHARTS:
        c = re.search(r'<canvas id="%s"([^>]*)>' % cid, dom)
        check(c and 'data-drawn="1"' in c.group(1), what + ": chart %s not drawn" % cid)
        px = int(re.search(r'data-pixels="(\d+)"', c.group(1)).group(1))
        check(px > 2000, what + ": chart %s has %d painted pixels" % (cid, px))
    check('<table id="best-table">' in dom, what + ": no table of the best configurations")


def test_browser(tmp):
    run(MAKE_STUDY, "m.db", "24", "2", cwd=tmp)
    run(FRESH, "report", "m.db", "-o", "m.html", "--loss-name", "validation error",
        "--budget-unit", "epochs", cwd=tmp)
    html, _ = page_data(os.path.join(tmp, "m.html"))
    check("http://" not in html.replace("http://www.w3.org", "") and "https://" not in
          re.sub(r"/\*.*?\*/", "", html, flags=re.S).replace("https://www.chartjs.org", ""),
          "the page must not load anything from the network")
    check('<meta http-equiv="refresh"' not in html, "a finished study's page does not reload")
    shot = os.path.join(OUT_DIR, "report-screenshot.png")
    if os.path.exists(shot):
        os.remove(shot)
    dom = chromium("file://" + os.path.join(tmp, "m.html"), tmp, screenshot=shot)
    check_dom(dom, "finished study")
    with open(shot, "rb") as f:
        head = f.read(8)
    check(head == b"\x89PNG\r\n\x1a\n" and os.path.getsize(shot) > 50000,
          "screenshot %s: %d bytes" % (shot, os.path.getsize(shot)))
    print("screenshot: " + shot)


def test_running_snapshot(tmp):
    study = subprocess.Popen([MAKE_STUDY, "r.db", "14", "2", "15"], cwd=tmp)
    watcher = None
    try:
        deadline = time.time() + 60
        d = None
        while time.time() < deadline:
            time.sleep(0.3)
            if not os.path.exists(os.path.join(tmp, "r.db")):
                continue
            p = run(FRESH, "report", "r.db", "-o", "r.html", cwd=tmp, ok=False)
            if p.returncode != 0:
                continue  # the file exists but holds no study yet
            html, d = page_data(os.path.join(tmp, "r.html"))
            if d["stats"]["jobs_finished"] >= 5 and d["running"]:
                break
        check(d is not None and d["running"], "no report of the running study: %r" %
              (d and d["stats"]))
        st = d["stats"]
        check(st["jobs_running"] > 0 and any(j["status"] == "running" for j in d["jobs"]),
              "jobs running in the snapshot: %r" % st)
        check(study.poll() is None, "the study ended before the snapshot was checked")
        dom = chromium("file://" + os.path.join(tmp, "r.html"), tmp)
        check_dom(dom, "running study")
        check("running: a snapshot of" in dom, "the page says the study is running")
        # --watch: rewrites the page (which reloads itself) until the study ends
        watcher = subprocess.Popen([FRESH, "report", "r.db", "-o", "w.html", "--watch", "0.5"],
                                   cwd=tmp, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        if study.poll() is None:
            html, dw = page_data(os.path.join(tmp, "w.html"))
            check(dw["running"] and '<meta http-equiv="refresh" content="1">' in html,
                  "a watched page of a running study reloads itself")
        study.wait(timeout=120)
        check(study.returncode == 0, "the study failed")
        err = watcher.communicate(timeout=30)[1]
        check(watcher.returncode == 0 and "no more updates" in err, "watch: " + err)
        html, dw = page_data(os.path.join(tmp, "w.html"))
        check(not dw["running"] and '<meta http-equiv="refresh"' not in html,
              "the last page of --watch is the finished study")
        final = [json.loads(l) for l in run(FRESH, "export", "r.db", "--format", "jsonl", cwd=tmp).stdout.splitlines()]
        check(len(dw["jobs"]) == len(final) and dw["stats"]["jobs_running"] == 0, "watch's last page is complete")
        check(len(d["jobs"]) <= len(final), "the snapshot is a prefix")
    finally:
        for proc in (study, watcher):
            if proc and proc.poll() is None:
                proc.kill()
                proc.wait()


def main():
    what = sys.argv[1]
    if what in ("browser", "running") and not CHROMIUM:
        print("chromium is not installed (apt-get install chromium): skipped")
        sys.exit(77)
    tmp = tempfile.mkdtemp(prefix="fresh-report-")
    try:
        {"data": test_data, "browser": test_browser, "running": test_running_snapshot}[what](tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok: " + what)


if __name__ == "__main__":
    main()
