"""fresh: multi-fidelity hyperparameter optimization (Hyperband + BOHB) from Python.

The same engine and study files as the C library libfresh: the objective is
an in-process Python function that trains a configuration up to a budget
(epochs), reports per epoch and is stopped early when it cannot win.

    import fresh

    space = fresh.Space({"lr": (1e-4, 1.0, "log"), "width": [16, 32, 64],
                         "opt": ["adam", "sgd"]})
    study = fresh.Study(space, min_budget=1, max_budget=27, eta=3, seed=0,
                        storage="study.db")

    def objective(trial):
        for epoch in range(int(trial.resume_from) + 1, int(trial.budget) + 1):
            loss = train_one_epoch(trial.params)
            if not trial.report(epoch, loss):   # stopped early
                break
        return loss

    study.optimize(objective, budget=20, workers=2)
    print(study.best)

See docs/python.md for the whole API; help(fresh.Study), help(fresh.Trial).
"""

import json as _json
import os as _os

from . import _fresh
from ._fresh import Error, Study, Trial, file_in_use, statuses, strerror

__all__ = ["Space", "Study", "Trial", "Error", "file_in_use", "statuses", "strerror",
           "__version__"]
__version__ = _fresh.version
DEFAULT_SEED = _fresh.DEFAULT_SEED


def _shorthand(name, spec):
    """One parameter of the short dict form, as a fresh-format parameter object."""
    if isinstance(spec, dict):
        p = dict(spec)
        p["name"] = name
        return p
    if isinstance(spec, list):
        return {"name": name, "type": "categorical", "choices": list(spec)}
    if isinstance(spec, tuple) and len(spec) in (2, 3):
        low, high = spec[0], spec[1]
        log = False
        if len(spec) == 3:
            if spec[2] != "log":
                raise ValueError(f"parameter '{name}': the third item must be 'log', got {spec[2]!r}")
            log = True
        is_int = all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high))
        p = {"name": name, "type": "int" if is_int else "float", "low": low, "high": high}
        if log:
            p["log"] = True
        return p
    raise TypeError(f"parameter '{name}': expected (low, high[, 'log']), a list of choices "
                    f"or a dict, got {type(spec).__name__}")


class Space(_fresh.Space):
    """A search space: float/int (linear or log), categorical and ordinal
    parameters, conditions and forbidden combinations.

    Space()            an empty space; add parameters with add_float, add_int, ...
    Space(dict)        one of three dict forms:
      - fresh's JSON format:   {"parameters": [{"name": "lr", "type": "float", ...}], ...}
      - ConfigSpace's JSON:    {"hyperparameters": [...], "conditions": [...], ...}
      - short form:            {"lr": (1e-4, 1.0, "log"), "layers": (1, 4),
                                "opt": ["adam", "sgd"],
                                "width": {"type": "ordinal", "levels": [16, 32, 64]}}
        a (low, high) tuple is an int range if both are ints, else a float one;
        a list is a categorical; a dict is a fresh parameter object without "name".
    Space.from_file(path)  either JSON format, told apart by content.
    Space.from_json(text)  fresh's format or ConfigSpace's, from a string.

    Bad input raises fresh.Error with the C library's message, for example
    "<dict>:1:50: parameter 'lr': log range needs low > 0, got -1".
    A space can no longer change once a Study uses it.
    """

    def __init__(self, spec=None):
        super().__init__()
        if spec is None:
            return
        if isinstance(spec, (str, bytes, _os.PathLike)):
            raise TypeError("Space(spec): spec is a dict; use Space.from_file(path) "
                            "or Space.from_json(text)")
        if not isinstance(spec, dict):
            raise TypeError(f"Space(spec): expected a dict, got {type(spec).__name__}")
        if "hyperparameters" in spec:
            self._read("configspace", _json.dumps(spec), "<dict>")
        elif "parameters" in spec:
            self._read("json", _json.dumps(spec), "<dict>")
        else:
            doc = {"parameters": [_shorthand(k, v) for k, v in spec.items()]}
            self._read("json", _json.dumps(doc), "<dict>")

    @classmethod
    def from_file(cls, path):
        """A space from a JSON file in fresh's format or ConfigSpace's."""
        space = cls()
        space._read("file", _os.fspath(path))
        return space

    @classmethod
    def from_json(cls, text, source=None):
        """A space from a JSON string in fresh's format or ConfigSpace's."""
        if isinstance(text, bytes):
            text = text.decode()
        space = cls()
        try:
            is_cs = "hyperparameters" in _json.loads(text)
        except (ValueError, TypeError):
            is_cs = False  # let the C reader say what is wrong, with line and column
        space._read("configspace" if is_cs else "json", text, source)
        return space

    from_configspace = from_json

    def __iter__(self):
        return iter(self.params)


_fresh._set_space_class(Space)


def load_study(path, snapshot=False):
    """Opens a study file (Study.load): to read it, or to continue it with optimize()."""
    return Study.load(path, snapshot=snapshot)


__all__.append("load_study")
