"""With 1 worker and a fixed seed, the Python study equals the C study bit
for bit: c_reference.c runs the same space, objective and parameters through
the C API and prints every job with 17 significant digits; this prints the
Python study the same way and compares the text. The study files of both
runs must also export the same jobs."""
import json
import os
import subprocess

import fresh
from conftest import small_space, epochs_objective

C_REFERENCE = os.environ.get("FRESH_C_REFERENCE")


def g(v):
    return format(v, ".17g")


def python_text(storage=None, seed=7):
    study = fresh.Study(small_space(), min_budget=1, max_budget=27, eta=3, seed=seed, workers=1,
                        budget=12, storage=storage)
    end = study.optimize(epochs_objective)
    status = {"pending": 0, "completed": 1, "stopped": 2, "failed": 3}
    out = [f"end {end}"]
    for j in study.jobs:
        p = j["params"]
        out.append(f"job {j['job_id']} config {j['config_id']} bracket {j['bracket']} stage {j['stage']} "
                   f"budget {g(j['budget'])} from {g(j['resume_from'])} reached {g(j['reached'])} "
                   f"loss {g(j['loss'])} status {status[j['status']]} reports {len(j['reports'])} "
                   f"x {g(p['x'])} y {g(p['y'])} n {p['n']} k {p['k']}")
    b = study.best
    out.append(f"best {b['config_id']} {g(b['loss'])} {g(b['budget'])}")
    st = study.stats
    out.append(f"used {g(st['used_mbe'])} configs {st['configs']} model {st['proposals_model']}")
    return "\n".join(out) + "\n"


def strip_times(path):
    rows = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            for k in ("start_s", "end_s"):
                r.pop(k, None)
            rows.append(r)
    return rows


def test_python_study_equals_c_study_bit_for_bit(tmp_path):
    assert C_REFERENCE and os.path.exists(C_REFERENCE), "FRESH_C_REFERENCE not built"
    c = subprocess.run([C_REFERENCE, str(tmp_path / "c.db")], capture_output=True, text=True, check=True)
    py = python_text(str(tmp_path / "py.db"))
    assert c.stdout.count("\njob ") > 50            # a real study: several brackets
    assert "stage 3" in c.stdout and "model 0" not in c.stdout   # the model was used
    assert py == c.stdout
    # the study files hold the same jobs too
    fresh.Study.load(str(tmp_path / "c.db"), snapshot=True).export(str(tmp_path / "c.jsonl"))
    fresh.Study.load(str(tmp_path / "py.db"), snapshot=True).export(str(tmp_path / "py.jsonl"))
    assert strip_times(tmp_path / "c.jsonl") == strip_times(tmp_path / "py.jsonl")


def test_the_comparison_sees_a_different_seed():
    c = subprocess.run([C_REFERENCE], capture_output=True, text=True, check=True)
    assert python_text(seed=8) != c.stdout
