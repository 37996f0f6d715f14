"""Running the real cadCAD 0.5.3 package, and comparing its table with econsim.cadcad's."""

from __future__ import annotations

import warnings

import pandas as pd


def run_cadcad(models: list[dict], mode: str = "single_mode") -> pd.DataFrame:
    """cadCAD's own table: one ``append_model`` per entry of ``models``, executed in one process.

    Each entry has initial_state, partial_state_update_blocks, params, runs, timesteps and optionally
    policy_ops.
    """
    from cadCAD.engine import ExecutionContext, ExecutionMode, Executor

    exp = experiment(models)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        context = ExecutionContext(getattr(ExecutionMode(), mode))
        raw, _tensor, _sessions = Executor(
            exec_context=context, configs=exp.configs, supress_print=True
        ).execute()
    return pd.DataFrame(raw)


def experiment(models: list[dict]):
    from cadCAD.configuration import Experiment
    from cadCAD.configuration.utils import config_sim

    exp = Experiment()
    for m in models:
        extra = {"policy_ops": m["policy_ops"]} if "policy_ops" in m else {}
        exp.append_model(
            initial_state=m["initial_state"],
            partial_state_update_blocks=m["partial_state_update_blocks"],
            sim_configs=config_sim({"T": range(m["timesteps"]), "N": m["runs"], "M": m["params"]}),
            **extra,
        )
    return exp


def assert_same_table(ours: pd.DataFrame, theirs: pd.DataFrame, atol: float = 0.0) -> None:
    """Same columns in the same order, same rows in the same order, same values (within atol)."""
    assert list(ours.columns) == list(theirs.columns)
    assert len(ours) == len(theirs)
    for c in theirs.columns:
        a, b = ours[c], theirs[c]
        if pd.api.types.is_float_dtype(b) and atol:
            pd.testing.assert_series_equal(a, b, check_exact=False, atol=atol, rtol=0, check_dtype=False)
        else:
            pd.testing.assert_series_equal(
                a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=True
            )
