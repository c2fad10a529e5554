#!/bin/sh
# pip_install.sh PYTHON SOURCE_DIR VENV: installs the package with pip into a
# new venv (--system-site-packages: Debian's NumPy/PyTorch stay visible),
# without network access (--no-index), and runs a small study with it.
set -eu
py=$1 src=$2 venv=$3
rm -rf "$venv"
"$py" -m venv --system-site-packages "$venv"
cd "$src"
"$venv/bin/pip" install --no-index --quiet ./python
cd /
FRESH_SRC="$src" "$venv/bin/python" - <<'PY'
import fresh, os
assert fresh.__file__.startswith(os.environ.get("VIRTUAL_ENV", "") or "/"), fresh.__file__
assert "site-packages" in fresh.__file__, fresh.__file__
s = fresh.Study(fresh.Space({"x": (0.0, 1.0)}), min_budget=1, max_budget=9, seed=1)
assert s.optimize(lambda t: (t.params["x"] - 0.3) ** 2, budget=3) == "BUDGET_REACHED"
try:
    import fresh_report  # the `fresh run` report module, when python/ has it
except ImportError:
    assert not os.path.exists(os.path.join(os.environ["FRESH_SRC"], "python", "fresh_report.py"))
print("installed:", fresh.__file__, s.best["loss"])
PY
