"""Builds and installs the `fresh` Python package: `pip install ./python`.

The extension fresh._fresh is compiled together with libfresh's C sources
(lib/, schedulers/, kde/, gp/ of this repository), so nothing has to be
installed first; it needs the Debian build dependencies only (build-essential,
python3-dev, libgsl-dev, libsqlite3-dev, libjansson-dev) and no network: there
is deliberately no pyproject.toml, whose isolated build would download
setuptools (docs/python.md).
"""
import glob
import os
import re

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
os.chdir(HERE)  # setuptools wants relative source paths


def rel(path):
    return os.path.relpath(path, HERE)


def version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        m = re.search(r"project\(fresh VERSION ([0-9.]+)", f.read())
    return m.group(1) if m else "0.0.0"


if not os.path.isdir(os.path.join(ROOT, "lib")):
    raise SystemExit("setup.py: build from the fresh repository (python/ beside lib/, include/)")

SOURCES = ["fresh/_fresh.c"]
for d in ("lib", "schedulers", "kde", "gp"):
    SOURCES += sorted(rel(p) for p in glob.glob(os.path.join(ROOT, d, "*.c")))
VERSION = version()

ext = Extension(
    "fresh._fresh",
    sources=SOURCES,
    include_dirs=[rel(os.path.join(ROOT, d)) for d in ("include", "lib", "schedulers", "kde", "gp")]
    + ["/usr/include/jansson"],
    define_macros=[("FRESH_STATIC_DEFINE", None), ("_POSIX_C_SOURCE", "200809L"),
                   ("FRESH_VERSION_STRING", '"%s"' % VERSION)],
    extra_compile_args=["-std=c11", "-fvisibility=hidden", "-O2"],
    libraries=["gsl", "gslcblas", "sqlite3", "jansson", "m", "pthread"],
)

setup(
    name="fresh",
    version=VERSION,
    description="Multi-fidelity hyperparameter optimization (Hyperband + BOHB) over libfresh",
    packages=["fresh"],
    py_modules=["fresh_report"] if os.path.exists(os.path.join(HERE, "fresh_report.py")) else [],
    ext_modules=[ext],
    python_requires=">=3.9",
    zip_safe=False,
)
