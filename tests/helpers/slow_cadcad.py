"""A cadCAD model that sleeps every timestep, for tests that interrupt a cadCAD run: 8 Monte Carlo runs
of a random walk over two sweep points, 40 timesteps of 5 ms each (0.2 s a run)."""

import time

import numpy as np


def p_step(params, substep, sH, s):
    time.sleep(params["pause"])
    return {"step": params["size"] * np.random.normal()}  # noqa: NPY002 - as cadCAD models draw


def s_x(params, substep, sH, s, _input):
    return "x", s["x"] + _input["step"]


def s_high(params, substep, sH, s, _input):
    return "high", max(s["high"], s["x"])


initial_state = {"x": 0.0, "high": 0.0}
partial_state_update_blocks = [
    {"policies": {"step": p_step}, "variables": {"x": s_x}},
    {"policies": {}, "variables": {"high": s_high}},
]
sim_config = {"T": range(40), "N": 4, "M": {"size": [1.0, 2.0], "pause": [0.005]}}
