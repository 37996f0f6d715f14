"""A radCAD Experiment handed to econsim.cadcad gives radCAD's own rows (deterministic model)."""

import numpy as np
import pandas as pd
import pytest

from econsim import cadcad

radcad = pytest.importorskip("radcad", reason="radCAD is installed by .ci/run (pip install --no-deps radcad)")


def test_radcad_experiment_runs_unchanged(peers):
    from radcad import Backend, Engine, Experiment, Model, Simulation

    nb = peers.load_model()
    params = peers.normalize_params(
        peers.notebook_params(
            p_variance=[0.0], throttle=[0.002, 0.03], target_reserve_ratio=[0.1, 0.3], growth=[0.01]
        )
    )
    model = Model(
        initial_state=dict(nb.genesis_states),
        state_update_blocks=nb.partial_state_update_blocks,
        params=params,
    )
    simulation = Simulation(model=model, timesteps=60, runs=2)
    simulation.engine = Engine(backend=Backend.SINGLE_PROCESS, deepcopy=False)
    theirs = pd.DataFrame(simulation.run()).sort_values(["subset", "run", "timestep"]).reset_index(drop=True)

    ours = cadcad.run(Experiment([Simulation(model=model, timesteps=60, runs=2)]), seed=1)
    ours = ours.sort_values(["subset", "run", "timestep"]).reset_index(drop=True)
    assert len(ours) == len(theirs) == 2 * 2 * 61
    for column in ("subset", "run", "timestep"):
        np.testing.assert_array_equal(ours[column], theirs[column])
    for name in nb.genesis_states:
        np.testing.assert_allclose(
            ours[name].astype(float), theirs[name].astype(float), rtol=1e-9, err_msg=name
        )
