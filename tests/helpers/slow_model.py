"""A deliberately slow model for tests that interrupt a running experiment: each step sleeps, so an
experiment lasts seconds however fast the machine, and a signal always lands mid-run."""

import time

from econsim.engine import Model, Param, Var


def wander(s, p, rng):
    """x' = x + σ·z, after a pause of ``pause`` seconds."""
    time.sleep(p.pause[0])
    return {"x": s.x + p.sigma * rng("walk").standard_normal()}


model = Model(
    name="slow",
    doc="a random walk that sleeps every step (for interrupt tests)",
    params=[
        Param("sigma", 1.0, "step size", bounds=(0, None)),
        Param("pause", 0.002, "seconds slept per step", bounds=(0, 1)),
    ],
    state=[Var("x", 0.0, "position")],
    step=[wander],
)
