"""The copies econsim.cadcad leaves out are ones cadCAD's results cannot show: models whose functions
change, keep or re-read what they are given still get cadCAD's own table, on the in-place loop (one
block, no function reads the history), the row loops and the pass-through lookups alike."""

from __future__ import annotations

import numpy as np
import pytest
from cadcad_reference import assert_same_table, run_cadcad

from econsim import cadcad
from econsim.cadcad import simulate
from econsim.cadcad.spec import make_model


def _model(policies, variables, state, timesteps=5, runs=2, params=None):
    return {
        "initial_state": state,
        "partial_state_update_blocks": [{"policies": policies, "variables": variables}],
        "params": params or {"k": [1.0, 2.0]},
        "runs": runs,
        "timesteps": timesteps,
    }


def _same_as_cadcad(model, **kw):
    theirs = run_cadcad([model])
    ours = cadcad.run(**model, seed=1, **kw)
    assert_same_table(ours, theirs)
    return ours


# --------------------------------------------------------------------------- functions that change their state


def p_overwrite(params, substep, sH, s):
    s["x"] = s["x"] * 10  # writes into the state it was given: later functions of the step see it
    return {"dx": params["k"]}


def u_y_reads_x(params, substep, sH, s, _input):
    return "y", s["x"] + _input["dx"]


def u_z(params, substep, sH, s, _input):
    return "z", s["z"] + 1


def test_a_policy_writing_into_its_state_gives_cadcads_table():
    # x is never updated: cadCAD carries the overwritten value of its copy into the new row
    model = _model({"p": p_overwrite}, {"y": u_y_reads_x, "z": u_z}, {"x": 1.0, "y": 0.0, "z": 0})
    assert simulate.in_place_plan(make_model(model["initial_state"], model["partial_state_update_blocks"]))
    ours = _same_as_cadcad(model)
    assert ours["x"].tolist()[:3] == [1.0, 10.0, 100.0]


def p_append(params, substep, sH, s):
    s["ledger"].append(s["timestep"])  # changes a list inside the state, in place
    return {"n": len(s["ledger"])}


def u_count(params, substep, sH, s, _input):
    return "count", _input["n"]


def test_a_policy_changing_a_list_in_its_state_gives_cadcads_table_without_deepcopy():
    model = _model({"append": p_append}, {"count": u_count}, {"ledger": [], "count": 0})
    ours = _same_as_cadcad(model)
    assert ours["ledger"].tolist()[:4] == [[], [0], [0, 1], [0, 1, 2]]


_kept: list[dict] = []


def p_keep(params, substep, sH, s):
    _kept.append(s)  # keeps the dict it was given and reads an old one later
    first = _kept[0]
    return {"seen": first["x"] + s["x"]}


def u_x(params, substep, sH, s, _input):
    return "x", s["x"] + params["k"]


def u_seen(params, substep, sH, s, _input):
    return "seen", _input["seen"]


def test_a_function_keeping_the_state_it_was_given_sees_that_state_later():
    model = _model({"keep": p_keep}, {"x": u_x, "seen": u_seen}, {"x": 0.0, "seen": 0.0}, runs=1)
    _kept.clear()
    theirs = run_cadcad([model])
    kept_by_cadcad = [dict(s) for s in _kept]
    _kept.clear()
    ours = cadcad.run(**model, seed=1)
    assert_same_table(ours, theirs)
    assert [dict(s) for s in _kept] == kept_by_cadcad  # each kept dict is still the state it was given


def u_late_list(params, substep, sH, s, _input):
    # a number for two timesteps, then a list
    return "bag", s["bag"] + 1 if s["timestep"] < 2 else [s["timestep"]]


def p_grow_bag(params, substep, sH, s):
    if isinstance(s["bag"], list):
        s["bag"].append(-1)  # changes the list the previous row holds, unless it was copied
    return {"d": 1}


def u_n(params, substep, sH, s, _input):
    return "n", s["n"] + _input["d"]


def test_a_mutable_value_that_appears_late_is_still_copied():
    model = _model({"grow": p_grow_bag}, {"bag": u_late_list, "n": u_n}, {"bag": 0, "n": 0}, timesteps=6)
    ours = _same_as_cadcad(model)
    assert ours["bag"].tolist()[2:5] == [2, [2], [3]]


def u_late_array(params, substep, sH, s, _input):
    # a number for two timesteps, then a 0-d array (numpy reads a column of them as numbers)
    return "bag", s["bag"] + 1 if s["timestep"] < 2 else np.array(float(s["timestep"]))


def p_grow_array(params, substep, sH, s):
    if isinstance(s["bag"], np.ndarray):
        s["bag"][()] += 100.0  # changes the array the previous row holds, unless it was copied
    return {"d": 1}


def test_a_zero_dimensional_array_that_appears_late_is_still_copied():
    model = _model({"grow": p_grow_array}, {"bag": u_late_array, "n": u_n}, {"bag": 0, "n": 0}, timesteps=6)
    ours = _same_as_cadcad(model)
    # each row keeps the value it was written with: 2 and 3 as returned, not the 100s added to them later
    assert [float(v) for v in ours["bag"].tolist()[2:5]] == [2.0, 2.0, 3.0]


def p_pop_y(params, substep, sH, s):
    return {"y": s.pop("y")}  # takes a variable out of the state it was given; an update puts it back


def u_y_back(params, substep, sH, s, _input):
    return "y", _input["y"] + 1.0


def test_a_variable_taken_out_and_written_back_keeps_its_column():
    # the row has its width again but 'y' now comes last: its values must not shift into other columns
    model = _model({"pop": p_pop_y}, {"x": u_x, "y": u_y_back}, {"x": 1.0, "y": 100.0})
    ours = _same_as_cadcad(model)
    assert ours["y"].tolist()[:3] == [100.0, 101.0, 102.0]


def u_new_name(params, substep, sH, s, _input):
    return "added", s["x"] * 2  # a variable the initial state does not have


def test_an_update_adding_a_variable_gives_cadcads_table():
    model = _model({"d": lambda p, i, h, s: {"dx": 1.0}}, {"x": u_x, "new": u_new_name}, {"x": 1.0})
    _same_as_cadcad(model)


# --------------------------------------------------------------------------- pass-through updates


def p_signal(params, substep, sH, s):
    return {"a": s["a"] + params["k"], "b": s["b"] * 0.5 + 1.0}


def u_a(params, substep, sH, s, _input):
    key = "a"
    value = _input["a"]
    return (key, value)


def u_b(params, substep, sH, s, _input):
    return "b", _input["b"]


def u_a_again(params, substep, sH, s, _input):  # returns the name a pass-through writes: the later wins
    return "a", s["a"] - 100.0


def u_b_mutating_input(params, substep, sH, s, _input):
    _input["b"] = -1.0  # changes the policy input: a pass-through after it in the block reads -1
    return "c", s["c"] + 1


@pytest.mark.parametrize(
    "variables",
    [
        {"a": u_a, "b": u_b},
        {"a": u_a, "x": u_a_again, "b": u_b},  # a real update after a pass-through of the same name
        {"x": u_a_again, "a": u_a, "b": u_b},  # ... and before it
        {"a": u_a, "c": u_b_mutating_input, "b": u_b},
        {"b": u_b, "c": u_b_mutating_input, "a": u_a},
    ],
)
def test_pass_through_updates_give_cadcads_table(variables):
    model = _model({"s": p_signal}, variables, {"a": 0.0, "b": 1.0, "c": 0})
    plain = cadcad.run(**model, seed=1, call_all=True)
    assert_same_table(_same_as_cadcad(model), plain)


def test_pass_throughs_are_recognised_only_when_they_do_nothing_else():
    assert simulate.passthrough(u_a) == ("a", "a")
    assert simulate.passthrough(u_b) == ("b", "b")
    assert simulate.passthrough(lambda p, i, h, s, u: ("price", u["target"])) == ("price", "target")
    scale = 2.0
    refused = [
        u_a_again,  # reads the state
        u_b_mutating_input,
        lambda p, i, h, s, u: ("a", u["a"] * 2),  # arithmetic
        lambda p, i, h, s, u: ("a", u["a"] * scale),  # a closure
        lambda p, i, h, s, u: ("a", u[p["label"]]),  # a label from the parameters
        lambda p, i, h, s, u: (np.__name__, u["a"]),  # a global
        lambda p, i, h, s, u, extra: ("a", u["a"]),  # six arguments
        lambda p, i, h, s, u: ("a", u["a"], u["b"]),  # not a pair
        lambda p, i, h, s, u: ("a", u["a"]) if s else ("b", u["b"]),  # a branch
    ]
    assert [simulate.passthrough(f) for f in refused] == [None] * len(refused)


def test_call_all_calls_every_function():
    calls = []

    def u_counted(params, substep, sH, s, _input):
        calls.append(1)
        return "a", _input["a"]

    model = _model({"s": p_signal}, {"a": u_counted, "b": u_b}, {"a": 0.0, "b": 1.0}, runs=1)
    assert_same_table(cadcad.run(**model, seed=1), cadcad.run(**model, seed=1, call_all=True))
    assert len(calls) == 2 * 2 * 5  # the counting update is no pass-through: called in both runs


# --------------------------------------------------------------------------- the state history


def test_reading_the_history_is_seen_in_the_bytecode():
    def no_history(params, substep, sH, s):
        return {"d": s["x"]}

    def reads_history(params, substep, sH, s):
        return {"d": sH[-1][-1]["x"]}

    def in_a_closure(params, substep, sH, s):
        return {"d": (lambda: len(sH))()}

    def through_locals(params, substep, sH, s):
        return {"d": len(locals())}

    assert not simulate.reads_argument(no_history, 2)
    assert [simulate.reads_argument(f, 2) for f in (reads_history, in_a_closure, through_locals)] == [
        True
    ] * 3
    assert simulate.reads_argument(lambda *args: {}, 2)
    assert simulate.reads_argument(len, 2)  # not a plain function: assumed to read everything


def p_history(params, substep, sH, s):
    return {"dx": len(sH) + (sH[-1][-1]["x"] if len(sH) > 1 else 0.0)}


def test_a_model_reading_its_history_gets_it():
    model = _model({"h": p_history}, {"x": u_x_from_input}, {"x": 0.0})
    assert (
        simulate.in_place_plan(make_model(model["initial_state"], model["partial_state_update_blocks"]))
        is None
    )
    _same_as_cadcad(model)


def u_x_from_input(params, substep, sH, s, _input):
    return "x", s["x"] + _input["dx"]


def u_subset(params, substep, sH, s, _input):
    return "subset", s["subset"] + 10 if s["timestep"] == 2 else s["subset"]


def test_an_update_of_the_bookkeeping_columns_shows_as_in_cadcad():
    # the in-place loop knows the index columns it writes; one the model writes is read from the rows
    model = _model({"d": lambda p, i, h, s: {"dx": 1.0}}, {"x": u_x, "subset": u_subset}, {"x": 1.0})
    ours = _same_as_cadcad(model)
    assert sorted(set(ours["subset"])) == [0, 1, 10, 11]
