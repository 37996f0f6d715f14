"""Run models written for cadCAD, unchanged, on econsim's executors.

    from econsim import cadcad
    df = cadcad.run(initial_state=genesis_states, partial_state_update_blocks=psubs,
                    params=params, runs=10, timesteps=120, seed=1, executor="process")

``df`` has cadCAD 0.5.3's rows and columns. A configured ``cadCAD.configuration.Experiment`` or a radCAD
``Experiment`` can be passed instead: ``cadcad.run(exp)``. ``econsim cadcad FILE.py`` does the same
from the command line.
"""

from econsim.cadcad.runner import load, make_spec, run
from econsim.cadcad.simulate import StateMutationError
from econsim.cadcad.spec import sweep_points

__all__ = ["StateMutationError", "load", "make_spec", "run", "sweep_points"]
