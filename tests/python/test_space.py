"""Spaces from Python: dicts (three forms), files, ConfigSpace JSON, the
add_* builders, and bad input raising fresh.Error with the C message."""
import json
import os

import pytest

import fresh
from conftest import SOURCE_DIR

MLP = os.path.join(SOURCE_DIR, "examples", "spaces", "mlp.json")
CS = os.path.join(SOURCE_DIR, "examples", "spaces", "configspace_example.json")


def test_shorthand_dict():
    s = fresh.Space({"lr": (1e-4, 1.0, "log"), "layers": (1, 4), "opt": ["adam", "sgd"],
                     "width": {"type": "ordinal", "levels": [16, 32, 64]}})
    assert s.names == ("lr", "layers", "opt", "width")
    p = {d["name"]: d for d in s.params}
    assert p["lr"]["type"] == "float" and p["lr"]["log"] is True and p["lr"]["low"] == 1e-4
    assert p["layers"]["type"] == "int" and p["layers"]["high"] == 4
    assert p["opt"]["choices"] == ["adam", "sgd"]
    assert p["width"]["levels"] == [16, 32, 64]
    assert len(s) == 4


def test_fresh_format_dict_and_file_agree():
    with open(MLP) as f:
        doc = json.load(f)
    a = fresh.Space(doc)
    b = fresh.Space.from_file(MLP)
    c = fresh.Space.from_json(json.dumps(doc))
    assert a.to_json() == b.to_json() == c.to_json()
    assert len(b) == 10
    # the canonical text reads back to the same space
    assert fresh.Space.from_json(b.to_json()).to_json() == b.to_json()


def test_configspace_file_and_dict():
    a = fresh.Space.from_file(CS)
    with open(CS) as f:
        b = fresh.Space(json.load(f))
    assert a.to_json() == b.to_json() and len(a) > 0


def test_builders_conditions_forbidden_defaults():
    s = fresh.Space()
    s.add_categorical("opt", ["adam", "sgd"])
    s.add_float("momentum", 0.0, 0.99)
    s.add_condition("momentum", "opt", ["sgd"])
    s.add_ordinal("width", [16, 32, 64])
    s.add_int("layers", 1, 4)
    s.add_forbidden({"width": 16, "layers": [4]})
    s.set_default("opt", "sgd")
    s.set_default("width", 32)
    d = s.default()
    assert d["opt"] == "sgd" and d["width"] == 32 and "momentum" in d
    for i in range(50):
        c = s.sample(seed=3, index=i)
        assert ("momentum" in c) == (c["opt"] == "sgd")
        assert not (c["width"] == 16 and c["layers"] == 4)
    assert s.sample(seed=3, index=7) == s.sample(seed=3, index=7)


def expect_error(name, fragment, fn, *args, **kw):
    with pytest.raises(fresh.Error) as e:
        fn(*args, **kw)
    assert e.value.name == name, (e.value.name, e.value.message)
    assert e.value.status == fresh.statuses()[name]
    assert fragment in e.value.message, e.value.message
    assert fragment in str(e.value)
    return e.value


def test_bad_input_raises_with_the_c_message(tmp_path):
    expect_error("EINVAL", "parameter 'lr': log range needs low > 0, got -1",
                 fresh.Space, {"lr": (-1.0, 1.0, "log")})
    s = fresh.Space()
    s.add_float("a", 0, 1)
    expect_error("EINVAL", "'a'", s.add_float, "a", 0, 1)          # duplicate
    expect_error("EINVAL", "'b'", s.add_int, "b", 5, 2)            # low > high
    expect_error("EIO", "nope.json", fresh.Space.from_file, str(tmp_path / "nope.json"))
    bad = tmp_path / "bad.json"
    bad.write_text('{"parameters": [\n  {"name": "x", "type": "float", "low": 0 "high": 1}]}')
    e = expect_error("EPARSE", "bad.json:2:", fresh.Space.from_file, str(bad))
    assert e.message.startswith(str(bad))
    expect_error("EPARSE", "unknown", fresh.Space,
                 {"parameters": [{"name": "x", "type": "float", "low": 0, "high": 1, "lgo": True}]})
    expect_error("EUNSUPPORTED", "normal_float", fresh.Space,
                 {"hyperparameters": [{"name": "x", "type": "normal_float", "mu": 0, "sigma": 1}]})
    expect_error("EINVAL", "no parameters", fresh.Space, {"parameters": []})
    with pytest.raises(TypeError):
        fresh.Space({"x": 3})
    with pytest.raises(TypeError):
        fresh.Space("space.json")
    with pytest.raises(ValueError):
        fresh.Space({"k": ["u"]}).set_default("k", "v")


def test_study_parameters_are_checked(space):
    expect_error("EINVAL", "eta", fresh.Study, space, eta=1)
    expect_error("EINVAL", "max_wall_time", fresh.Study, space, max_wall_time=-1)
    expect_error("EINVAL", "unknown name 'gp-ucb'", fresh.Study, space, sampler="gp-ucb")
    with pytest.raises(TypeError):
        fresh.Study(space, max_budjet=10)
    expect_error("EINVAL", "no parameters", fresh.Study, fresh.Space())


def test_space_is_frozen_once_used(space):
    fresh.Study(space)
    expect_error("ESTATE", "belongs to a study", space.add_float, "z", 0, 1)


def test_presets_and_every_sampler(space):
    ref = fresh.Study(space, preset="bohb-reference", min_budget=1, max_budget=9).params
    assert ref["scheduler"] == "hyperband" and ref["brackets"] == "floor"
    assert ref["early_stopping"] is False and ref["bandwidth_factor"] == 3
    assert ref["hedge_tau"] < -1 and ref["max_budget"] == 9
    # options after the preset refine it
    assert fresh.Study(space, preset="bohb-reference", early_stopping=True).params["early_stopping"]
    expect_error("ENOTFOUND", "preset: unknown name 'bohb2'", fresh.Study, space, preset="bohb2")
    for name in ("random", "bohb", "tpe", "gp", "auto"):
        assert fresh.Study(space, sampler=name).params["sampler"] in (name, "bohb")


def test_max_paused_is_an_option_of_the_asynchronous_schedulers(space):
    assert fresh.Study(space).params["max_paused"] == 0
    assert fresh.Study(space, scheduler="asha", max_paused=4).params["max_paused"] == 4
    expect_error("EINVAL", "max_paused: scheduler 'adaptive' does not offer it",
                 fresh.Study, space, max_paused=4)
    assert fresh.Study(space, scheduler="asha").params["paper_promotions"] is False
    assert fresh.Study(space, scheduler="asha", paper_promotions=True).params["paper_promotions"]
    expect_error("EINVAL", "paper_promotions: scheduler 'adaptive'",
                 fresh.Study, space, paper_promotions=True)


def test_max_open_brackets_is_an_option_of_the_synchronous_schedulers(space):
    assert fresh.Study(space).params["max_open_brackets"] == 0
    assert fresh.Study(space, max_open_brackets=1).params["max_open_brackets"] == 1
    expect_error("EINVAL", "max_open_brackets: scheduler 'asha' is asynchronous",
                 fresh.Study, space, scheduler="asha", max_open_brackets=1)
