"""The one-block fast loop of ``simulate_run`` gives exactly the rows of the general loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from econsim.cadcad.simulate import simulate_run
from econsim.cadcad.spec import RunSpec, make_model
from econsim.experiment.results import Results


def p_a(params, substep, sH, s):
    return {"flow": params["k"] * s["x"], "seen": (s["substep"], len(sH))}


def p_b(params, substep, sH, s):
    return {"flow": 1.0 + sH[-1][-1]["x"] * 0.01}  # the same label as p_a: summed


def u_x(params, substep, sH, s, _input):
    return "x", s["x"] + _input["flow"] + np.random.normal()  # noqa: NPY002 - as cadCAD users write it


def u_log(params, substep, sH, s, _input, extra):  # six arguments: cadCAD passes None as the sixth
    return "log", f"{_input['seen']}|{s['timestep']}|{extra}"


def _rows(check: bool):
    model = make_model(
        {"x": 1.0, "log": ""}, [{"policies": {"a": p_a, "b": p_b}, "variables": {"x": u_x, "log": u_log}}]
    )
    run = RunSpec(simulation=0, subset=0, run=1, model=0, point=0, time_seq=tuple(range(1, 9)))
    np.random.seed(5)  # noqa: NPY002
    history = simulate_run(model, {"k": 0.3}, run, check=check)
    return [dict(row) for rows in history for row in rows]


def test_fast_loop_matches_the_general_loop_row_for_row():
    fast, general = _rows(check=False), _rows(check=True)  # check=True runs the general loop
    assert fast == general
    assert [r["timestep"] for r in fast] == list(range(9))
    assert [r["substep"] for r in fast] == [0] + [1] * 8
    # the policies saw substep 0 and the history so far; the six-argument update got None
    assert fast[3]["log"] == "(0, 3)|2|None"


def test_to_arrow_sorts_only_when_needed():
    rows = {"subset": [0, 0, 1, 1], "run": [0, 0, 0, 0], "timestep": [0, 1, 0, 1], "v": [1.0, 2.0, 3.0, 4.0]}
    ordered = pa.table(rows)
    shuffled = ordered.take([2, 0, 3, 1])
    manifest = {"model": "honey", "subsets": [{}, {}], "runs": 1, "steps": 1, "swept": []}
    a = Results(manifest, tables=[ordered]).to_pandas()
    b = Results(manifest, tables=[shuffled.slice(0, 2), shuffled.slice(2)]).to_pandas()
    pd.testing.assert_frame_equal(a, b)
    assert a["v"].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_a_batch_pauses_the_garbage_collector_and_resumes_it():
    import gc

    from econsim import cadcad

    seen = []

    def watch(params, substep, sH, s):
        seen.append(gc.isenabled())
        return {}

    model = {
        "initial_state": {"x": 0.0},
        "partial_state_update_blocks": [
            {"policies": {"watch": watch}, "variables": {"x": lambda p, i, h, s, u: ("x", s["x"] + 1)}}
        ],
    }
    assert gc.isenabled()
    df = cadcad.run(**model, runs=2, timesteps=3, seed=1)
    assert seen == [False] * 6 and gc.isenabled()
    assert df["x"].tolist() == [0.0, 1.0, 2.0, 3.0] * 2
    gc.disable()
    try:
        cadcad.run(**model, runs=1, timesteps=2, seed=1)
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
