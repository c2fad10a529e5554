/* report.js - draws the charts of a `fresh report` page from the JSON in
 * #fresh-data (cli/cmd_report.c writes both) with Chart.js. Each chart, once
 * drawn, marks its canvas with data-drawn="1" and data-pixels (painted
 * pixels), and the page ends with <body data-status="ok|error"
 * data-charts="N">: the browser test (tests/report/) reads these. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("fresh-data").textContent);
  var COLORS = { completed: "#2f6fdf", stopped: "#f08c00", failed: "#d62828", running: "#7d8597" };
  var BASE = "#8a2be2";
  Chart.defaults.animation = false;
  Chart.defaults.font.size = 12;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.plugins.legend.labels.boxWidth = 14;

  function $(id) { return document.getElementById(id); }
  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) return "n/a";
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
    return String(Number(v.toPrecision(4)));
  }
  function tick(v) { /* axis tick labels: short and exact enough */
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return Number(v).toExponential(0);
    return String(Number(Number(v).toPrecision(3)));
  }
  function duration(s) {
    if (!isFinite(s)) return "n/a";
    if (s < 120) return fmt(s) + " s";
    if (s < 7200) return fmt(s / 60) + " min";
    return fmt(s / 3600) + " h";
  }
  function esc(s) {
    return String(s).replace(/[&<>"]/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c];
    });
  }
  var LOSS = D.loss_name, UNIT = D.budget_unit, MAXB = D.plan.max_budget;

  /* A log axis for losses when they are all positive and span a factor of 10 or more. */
  var finiteLosses = D.jobs.map(function (j) { return j.loss; })
    .filter(function (l) { return l !== null && isFinite(l); });
  if (D.baseline) finiteLosses.push(D.baseline.loss);
  var lossMin = Math.min.apply(null, finiteLosses), lossMax = Math.max.apply(null, finiteLosses);
  var logLoss = finiteLosses.length > 0 && lossMin > 0 && lossMax / lossMin >= 10;
  function lossAxis(title) {
    return { type: logLoss ? "logarithmic" : "linear",
             title: { display: true, text: title || LOSS + (logLoss ? " (log scale)" : "") },
             ticks: { callback: function (v) {
               if (!logLoss) return tick(v);
               /* a log axis: label 1, 2 and 5 times a power of ten, so labels never crowd */
               var m = v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9));
               return [1, 2, 5].some(function (k) { return Math.abs(m - k) < 1e-6; }) ? tick(v) : "";
             }, autoSkip: false } };
  }
  function linAxis(title, extra) {
    var a = { type: "linear", title: { display: true, text: title },
              ticks: { callback: function (v) { return tick(v); } } };
    for (var k in extra || {}) a[k] = extra[k];
    return a;
  }
  function budgetAxis() { /* the rung budgets as ticks: they are the budgets jobs run at */
    var rungs = D.plan.rungs;
    var log = rungs.length > 2 && rungs[rungs.length - 1] / rungs[0] >= 8;
    return { type: log ? "logarithmic" : "linear",
             min: rungs[0] / (log ? 1.25 : 1), max: MAXB * (log ? 1.25 : 1.02),
             title: { display: true, text: "budget (" + UNIT + ")" + (log ? ", log scale" : "") },
             afterBuildTicks: function (ax) { ax.ticks = rungs.map(function (r) { return { value: r }; }); },
             ticks: { callback: function (v) { return tick(v); } } };
  }
  function baselineSet(x0, x1, label) {
    if (!D.baseline) return null;
    return { type: "line", label: label || "untuned default: " + fmt(D.baseline.loss),
             data: [{ x: x0, y: D.baseline.loss }, { x: x1, y: D.baseline.loss }],
             borderColor: BASE, borderDash: [6, 4], borderWidth: 2, pointRadius: 0, fill: false };
  }

  var drawn = 0;
  function chart(id, config, caption) {
    var canvas = $(id);
    try {
      var c = new Chart(canvas.getContext("2d"), config);
      c.update("none");
      var ctx = canvas.getContext("2d");
      var img = ctx.getImageData(0, 0, canvas.width, canvas.height).data, n = 0;
      for (var i = 3; i < img.length; i += 4) if (img[i] !== 0) n++;
      canvas.setAttribute("data-drawn", "1");
      canvas.setAttribute("data-pixels", String(n));
      canvas.setAttribute("data-datasets", String(config.data.datasets.length));
      drawn++;
    } catch (e) {
      window.freshNote("chart " + id + ": " + (e && e.stack ? e.stack : e));
    }
    var cap = $(id.replace(/^c-/, "cap-"));
    if (cap && caption) cap.innerHTML = caption;
  }

  /* ---- header ---- */
  var st = D.stats;
  /* A snapshot has no wall time of its own (only the process that runs the
     study measures it): take the span of the jobs' times, and the
     utilization from the jobs' busy time over the workers seen. */
  (function () {
    var span = 0, busy = 0, seen = {};
    D.jobs.forEach(function (j) {
      if (j.start === null || j.end === null) return;
      span = Math.max(span, j.end);
      busy += j.end - j.start;
      seen[j.worker] = true;
    });
    var nw = Math.max(st.workers || 0, Object.keys(seen).length);
    if (!(st.wall_time > 0)) st.wall_time = span;
    if (!(st.utilization > 0) && span > 0 && nw > 0) st.utilization = busy / (nw * span);
  })();
  $("title").textContent = "fresh report: " + D.file;
  $("subtitle").innerHTML = (D.running
      ? '<span class="running">running: a snapshot of ' + esc(D.generated) + "</span>" +
        (D.watch ? " (this page reloads every " + fmt(D.watch) + " s)" : "")
      : "written " + esc(D.generated)) +
    " &middot; budgets " + fmt(D.plan.min_budget) + " to " + fmt(MAXB) + " " + esc(UNIT) +
    ", eta " + fmt(D.plan.eta) + " &middot; fresh " + esc(D.fresh_version);
  var facts = [
    [D.incumbent ? fmt(D.incumbent.loss) : "none yet",
     "incumbent " + LOSS + (D.incumbent ? " (budget " + fmt(D.incumbent.budget) + ")" : "")],
    [D.baseline ? fmt(D.baseline.loss) : "unknown", "untuned default"],
    [fmt(st.used_mbe), "budget spent (max-budget equivalents)"],
    [String(st.jobs_finished), "jobs finished (" + st.jobs_completed + " completed, " +
      st.jobs_stopped + " stopped early, " + st.jobs_failed + " failed)"],
    [String(st.jobs_running), D.running ? "jobs running now" : "jobs cut short (rerun on resume)"],
    [String(st.configs), "configurations (" + st.proposals_model + " from the model)"],
    [String(st.brackets_finished) + "/" + String(st.brackets_opened), "brackets finished/opened"],
    [duration(st.wall_time), "wall time (" + st.workers + " workers)"]];
  $("facts").innerHTML = facts.map(function (f) {
    return '<div class="fact"><b>' + esc(f[0]) + "</b><span>" + esc(f[1]) + "</span></div>";
  }).join("");

  /* ---- incumbent against budget and wall time ---- */
  function incumbentSeries(xkey) {
    /* the incumbent (best at the max budget) and, for the start of a study,
       the best at the largest budget completed so far */
    var inc = [], any = [];
    D.trajectory.forEach(function (p) {
      if (p.loss !== null) inc.push({ x: p[xkey], y: p.loss });
      if (p.best_any_loss !== null) any.push({ x: p[xkey], y: p.best_any_loss });
    });
    return { inc: inc, any: any };
  }
  function incumbentChart(id, xkey, xtitle, caption) {
    var s = incumbentSeries(xkey);
    var xmax = D.trajectory.length ? D.trajectory[D.trajectory.length - 1][xkey] : 1;
    var sets = [
      { label: "incumbent: best " + LOSS + " at the max budget (" + fmt(MAXB) + " " + UNIT + ")",
        data: s.inc, stepped: "before", borderColor: COLORS.completed, backgroundColor: COLORS.completed,
        borderWidth: 2.5, pointRadius: 0 },
      { label: "best at the largest budget completed so far", data: s.any, stepped: "before",
        borderColor: "#9aa5b8", borderDash: [3, 3], borderWidth: 1.5, pointRadius: 0 }];
    var b = baselineSet(0, xmax);
    if (b) sets.push(b);
    chart(id, { type: "line", data: { datasets: sets },
      options: { parsing: false, scales: { x: linAxis(xtitle, { min: 0 }), y: lossAxis() },
                 plugins: { legend: { position: "top" } } } }, caption);
  }
  incumbentChart("c-incumbent-budget", "mbe",
    "budget spent (max-budget equivalents: 1 = one training at " + fmt(MAXB) + " " + UNIT + ")",
    "Each step is a job that improved the incumbent. Continuation is charged once: a promoted " +
    "job costs only its budget beyond the checkpoint it resumes from.");
  incumbentChart("c-incumbent-wall", "wall", "wall time (seconds since the study started)",
    "Wall time of the process that ran the study (a resumed study counts each run's own time).");

  /* ---- every evaluation ---- */
  (function () {
    var by = { completed: [], stopped: [], failed: [] };
    var top = logLoss ? lossMax * 1.5 : lossMax + 0.05 * (lossMax - lossMin + 1e-12);
    D.jobs.forEach(function (j, i) {
      if (j.status === "running") return;
      var jitter = 1 + 0.06 * (((i * 2654435761) % 1000) / 1000 - 0.5);
      var x = (j.status === "stopped" ? j.reached : j.budget) * jitter;
      if (!(x > 0)) x = j.budget * jitter;
      var y = j.status === "failed" || j.loss === null ? top : j.loss;
      by[j.status].push({ x: x, y: y, job: j.id, config: j.config });
    });
    var sets = [
      { type: "scatter", label: "completed (" + by.completed.length + ")", data: by.completed,
        backgroundColor: COLORS.completed + "88", borderColor: COLORS.completed, pointRadius: 2.5 },
      { type: "scatter", label: "stopped early, at the budget reached (" + by.stopped.length + ")",
        data: by.stopped, backgroundColor: COLORS.stopped + "88", borderColor: COLORS.stopped,
        pointStyle: "triangle", pointRadius: 3 },
      { type: "scatter", label: "failed, drawn at the top (" + by.failed.length + ")", data: by.failed,
        backgroundColor: COLORS.failed, borderColor: COLORS.failed, pointStyle: "crossRot", pointRadius: 5 }];
    var b = baselineSet(D.plan.rungs[0] / 1.25, MAXB * 1.25);
    if (b) sets.push(b);
    chart("c-evaluations", { type: "scatter", data: { datasets: sets },
      options: { parsing: false, scales: { x: budgetAxis(), y: lossAxis() },
        plugins: { tooltip: { callbacks: { label: function (c) {
          var r = c.raw; return r.job !== undefined ? "job " + r.job + ", config " + r.config +
            ": " + fmt(r.y) : fmt(r.y); } } } } } },
      "One point per job, at its budget (slightly jittered so that points do not hide each " +
      "other). Hyperband runs many configurations at the low budgets and few at the top.");
  })();

  /* ---- learning curves with promotions ---- */
  (function () {
    var byConfig = {}, reach = {};
    D.jobs.forEach(function (j) {
      (byConfig[j.config] = byConfig[j.config] || []).push(j);
      reach[j.config] = Math.max(reach[j.config] || 0, j.reached || j.budget);
    });
    var ids = Object.keys(byConfig).sort(function (a, b) { return reach[b] - reach[a] || a - b; });
    var LIMIT = 120, shown = ids.slice(0, LIMIT), sets = [], promo = [], stops = [];
    shown.forEach(function (id, k) {
      var pts = [];
      byConfig[id].forEach(function (j) {
        j.steps.forEach(function (s, i) {
          if (j.losses[i] !== null) pts.push({ x: s, y: j.losses[i] });
        });
        if (j.resume_from > 0 && j.steps.length && j.losses[0] !== null)
          promo.push({ x: j.steps[0], y: j.losses[0], config: +id });
        if (j.status === "stopped" && j.steps.length && j.losses[j.steps.length - 1] !== null)
          stops.push({ x: j.steps[j.steps.length - 1], y: j.losses[j.steps.length - 1], config: +id });
      });
      pts.sort(function (a, b) { return a.x - b.x; });
      var hue = Math.round(360 * ((k * 0.618034) % 1));
      sets.push({ label: "config " + id, data: pts, borderColor: "hsla(" + hue + ",65%,45%,0.55)",
                  borderWidth: 1.2, pointRadius: 0, showLine: true, fill: false });
    });
    sets.push({ type: "scatter", label: "promoted: continues from its checkpoint", data: promo,
                backgroundColor: "#111", pointStyle: "triangle", pointRadius: 4 });
    sets.push({ type: "scatter", label: "stopped early", data: stops,
                backgroundColor: COLORS.stopped, pointStyle: "crossRot", pointRadius: 4,
                borderColor: COLORS.stopped });
    var b = baselineSet(D.plan.rungs[0] / 1.25, MAXB * 1.25);
    if (b) sets.push(b);
    chart("c-curves", { type: "line", data: { datasets: sets },
      options: { parsing: false, scales: { x: budgetAxis(), y: lossAxis() },
        plugins: { legend: { labels: { filter: function (item) {
          return !/^config /.test(item.text); } } } } } },
      "The reported " + LOSS + " of each configuration over its jobs (the " +
      Math.min(LIMIT, ids.length) + " of " + ids.length + " configurations that went furthest). " +
      "A triangle is a promotion: the configuration continued to a higher budget from its checkpoint.");
  })();

  /* ---- rank agreement (Kendall's tau, the adaptive rule's measure) ---- */
  (function () {
    var R = D.rank_agreement, rule = D.adaptive_rule;
    var labels = R.map(function (r) { return fmt(r.budget) + " (" + r.pairs + " pairs)"; });
    var colors = R.map(function (r) {
      return r.tau === null || r.pairs < rule.min_pairs ? "#b8c0cc"
        : r.tau < rule.min_tau ? COLORS.stopped : COLORS.completed; });
    var sets = [{ type: "bar", label: "Kendall's tau against the max budget", data:
                  R.map(function (r) { return r.tau === null ? 0 : r.tau; }), backgroundColor: colors },
                { type: "line", label: "the adaptive rule's threshold (" + rule.min_tau + ")",
                  data: R.map(function () { return rule.min_tau; }), borderColor: "#d62828",
                  borderDash: [6, 4], pointRadius: 0, borderWidth: 2 }];
    chart("c-rank", { type: "bar", data: { labels: labels, datasets: sets },
      options: { scales: { x: { title: { display: true, text: "budget of the lower rung (" + UNIT +
                 "), with the number of configuration pairs" } },
                 y: linAxis("Kendall's tau (1 = the same ranking)", { min: -1, max: 1 }) } } },
      "For each rung budget: Kendall's tau-b between the " + LOSS + " a job reported at that " +
      "budget and its final " + LOSS + " at the max budget, over the jobs that trained from scratch " +
      "to the max budget (no promotion chose them, so the pairs are unbiased; the " + rule.keep +
      " most recent, as the adaptive scheduler keeps them). Grey: fewer than " + rule.min_pairs +
      " pairs; orange: below the threshold, so the adaptive scheduler skips brackets that start there.");
  })();

  /* ---- parameter importance ---- */
  (function () {
    var I = D.importance;
    if (!I.params.length) {
      chart("c-importance", { type: "bar", data: { labels: ["(not enough results yet)"],
        datasets: [{ label: "eta squared", data: [0] }] },
        options: { scales: { y: linAxis("eta squared", { min: 0, max: 1 }) } } },
        "Needs at least max(8, 2 x parameters) configurations completed at one budget.");
      return;
    }
    var ps = I.params.slice().sort(function (a, b) { return b.eta2 - a.eta2; });
    chart("c-importance", { type: "bar", data: { labels: ps.map(function (p) { return p.name; }),
      datasets: [{ label: "eta squared: share of the loss-rank variance explained",
                   data: ps.map(function (p) { return p.eta2; }), backgroundColor: COLORS.completed },
                 { label: "expected with no effect ((groups - 1) / (n - 1))",
                   data: ps.map(function (p) { return p.chance; }), backgroundColor: "#c3cad6" }] },
      options: { indexAxis: "y", scales: { x: linAxis("eta squared (0 to 1)", { min: 0, max: 1 }) } } },
      "Measure: the correlation ratio eta&sup2; of the " + esc(LOSS) + " ranks on each parameter, " +
      "over the " + I.n + " configurations completed at budget " + fmt(I.budget) + " " + esc(UNIT) +
      " (the largest budget with enough of them). Groups: the levels of a categorical parameter, " +
      "five equal-count bins of a numeric one, inactive as a group of its own. A main-effect " +
      "measure like fANOVA's first-order terms, on ranks so that a few diverged runs do not " +
      "dominate; interactions are not shown. Compare each bar with the grey one: small samples " +
      "give some eta&sup2; by chance.");
  })();

  /* ---- worker timeline ---- */
  (function () {
    var workers = {}, by = { completed: [], stopped: [], failed: [] };
    D.jobs.forEach(function (j) {
      if (j.start === null || j.end === null) return;
      var w = j.worker < 0 ? "ask/tell" : "worker " + j.worker;
      workers[w] = true;
      by[j.status].push({ x: [j.start, Math.max(j.end, j.start + 1e-6)], y: w, job: j.id, budget: j.budget });
    });
    var names = Object.keys(workers).sort(function (a, b) {
      return (parseInt(a.replace(/\D/g, ""), 10) || 0) - (parseInt(b.replace(/\D/g, ""), 10) || 0); });
    $("plot-timeline").style.height = Math.max(160, 60 + 26 * names.length) + "px";
    var sets = ["completed", "stopped", "failed"].map(function (s) {
      return { label: s + " (" + by[s].length + ")", data: by[s], backgroundColor: COLORS[s],
               borderColor: "#fff", borderWidth: { left: 1, right: 1 }, borderSkipped: false,
               barPercentage: 0.8, categoryPercentage: 1, grouped: false };
    });
    chart("c-timeline", { type: "bar", data: { labels: names, datasets: sets },
      options: { indexAxis: "y", parsing: { xAxisKey: "x", yAxisKey: "y" },
        scales: { x: linAxis("seconds since the study started", { min: 0 }),
                  y: { type: "category", labels: names } },
        plugins: { tooltip: { callbacks: { label: function (c) { var r = c.raw;
          return "job " + r.job + " (budget " + fmt(r.budget) + "): " + fmt(r.x[0]) + " to " +
            fmt(r.x[1]) + " s"; } } } } } },
      "One bar per job on the worker that ran it. Utilization (busy time / (workers x wall time)): " +
      fmt(st.utilization) + "; optimizer time on the owner thread: " + duration(st.overhead_time) +
      ". Gaps are workers waiting at a stage barrier or for the optimizer.");
  })();

  /* ---- parallel coordinates ---- */
  (function () {
    var names = D.space.map(function (p) {
      var range = p.levels ? p.levels.join("/") : fmt(p.low) + ".." + fmt(p.high) + (p.log ? " log" : "");
      return [p.name, range];
    });
    names.push([LOSS, "best at the top"]);
    var best = D.best.slice(0, 20);
    var ls = best.map(function (b) { return b.loss; });
    var lo = Math.min.apply(null, ls), hi = Math.max.apply(null, ls);
    function lossPos(l) { return hi > lo ? 1 - (l - lo) / (hi - lo) : 0.5; }
    var sets = best.map(function (b, k) {
      var t = best.length > 1 ? k / (best.length - 1) : 0;
      var col = "hsl(" + Math.round(220 - 200 * t) + ",70%," + Math.round(35 + 20 * t) + "%)";
      return { label: "#" + (k + 1) + " config " + b.config + ": " + fmt(b.loss) + " at " + fmt(b.budget),
               data: b.unit.concat([lossPos(b.loss)]), borderColor: col, backgroundColor: col,
               borderWidth: k === 0 ? 3.5 : 1.5, pointRadius: 3, spanGaps: false, raw: b };
    });
    if (D["default"]) sets.push({ label: "the space's default configuration", data: D["default"].unit.concat([
        D.baseline ? lossPos(D.baseline.loss) : null]), borderColor: BASE, borderDash: [6, 4],
        borderWidth: 2, pointRadius: 3 });
    chart("c-parallel", { type: "line", data: { labels: names, datasets: sets },
      options: { scales: { y: { min: -0.05, max: 1.05, title: { display: true,
        text: "position in the range (0 = low, 1 = high)" },
        ticks: { callback: function (v) { return v === 0 ? "low" : v === 1 ? "high" : v === 0.5 ? "mid" : ""; } } },
        x: { ticks: { autoSkip: false } } },
        plugins: { legend: { display: false }, tooltip: { callbacks: { label: function (c) {
          var b = c.dataset.raw, i = c.dataIndex;
          if (!b) return c.dataset.label;
          if (i >= D.space.length) return c.dataset.label;
          var v = b.values[i], p = D.space[i];
          return c.dataset.label + ": " + p.name + " = " + (v === null ? "inactive" : p.levels ? p.levels[v] : fmt(v));
        } } } } } },
      "The " + best.length + " best configurations (at the largest budget each completed; the best " +
      "is the thickest, blue = better). Each axis spans the parameter's range (on a log scale where " +
      "the space says log); a gap is an inactive parameter. The last axis is the " + esc(LOSS) +
      " from " + fmt(hi) + " (bottom) to " + fmt(lo) + " (top).");
  })();

  /* ---- table of the best configurations ---- */
  (function () {
    var head = "<tr><th>#</th><th>config</th><th>" + esc(LOSS) + "</th><th>budget</th>" +
      D.space.map(function (p) { return "<th>" + esc(p.name) + "</th>"; }).join("") + "</tr>";
    function row(rank, cfg, loss, budget, values, cls) {
      return "<tr" + (cls ? ' class="' + cls + '"' : "") + "><td>" + rank + "</td><td>" + cfg +
        '</td><td class="num">' + fmt(loss) + '</td><td class="num">' + fmt(budget) + "</td>" +
        values.map(function (v, i) {
          var p = D.space[i];
          return '<td class="num">' + (v === null ? "&ndash;" : p.levels ? esc(p.levels[v]) : fmt(v)) + "</td>";
        }).join("") + "</tr>";
    }
    var rows = D.best.map(function (b, k) { return row(k + 1, b.config, b.loss, b.budget, b.values); });
    if (D.baseline)
      rows.push(row("", "untuned default", D.baseline.loss, MAXB,
                    D["default"] ? D["default"].values : D.space.map(function () { return null; }), "default"));
    $("best").innerHTML = "<table id=\"best-table\">" + head + rows.join("") + "</table>";
    $("cap-best").innerHTML = "Each configuration's best " + esc(LOSS) + " at the largest budget it " +
      "completed, ranked by that budget, then by " + esc(LOSS) + "." +
      (D.baseline ? " Untuned default: " + esc(D.baseline.source) + "." : "");
  })();

  document.body.setAttribute("data-charts", String(drawn));
  document.body.setAttribute("data-status", window.freshErrors.length ? "error" : "ok");
})();
