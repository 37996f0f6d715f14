"""Every built-in model: a run's results depend only on its parameters, the seed and its identity —
never on the runs that share its batch, the batch size, the memory budget, the executor or the
recording schedule. Bit for bit.

Sweeps: for EVERY parameter, its current value and a second valid one (``other_values``: chosen from
the Param declaration — another choice, the other bool, a neighbouring int, a float scaled within its
bounds) are swept together with every other parameter's second value in one zip sweep, so each run
shares its batch with runs that differ in other parameters; each sweep point must equal the same run
made alone. A parameter is swept in a context where it acts (``CONTEXTS``: the order-book settings
under ``venue: order_book`` …); ``EXCLUDED`` lists the few values that would make a model invalid.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

import econsim
from econsim.engine import Param
from econsim.models.banking.bam import PARAMS as BAM_PARAMS
from econsim.models.registry import get_model

SEED = 4
#: the BAM economy as a setting of the banking model (configs/banking/bam.yaml's switches)
BAM: dict[str, Any] = {"clearing": "bam", "capital_firm_share": 0.0, "steps_per_year": 4, "visits_goods": 2}
#: credit in depth (models/banking/collateral.py), with a covenant tight enough to be breached in 4 steps
COLLATERAL: dict[str, Any] = {"collateral_credit": True, "covenant_debt_equity": 0.3}
#: small worlds: (fixed parameters, Monte Carlo runs, steps)
CASES: dict[str, tuple[dict[str, Any], int, int]] = {
    "honey": ({}, 2, 12),
    "atp": ({"N": 300, "R": 3, "G": 6, "J": 4, "k_neighbors": 2, "n_resources": 2}, 1, 3),
    "tokens": ({"N": 24}, 2, 6),
    "banking": ({"n_households": 60, "n_firms": 10, "n_banks": 2}, 2, 4),
    "network": ({"n_agents": 60, "mean_degree": 6, "cluster_every": 2}, 2, 4),
    # a preset of a model ("model/preset"): the batching tests below run it too; its parameters are swept
    # in the model's context of the same name (CONTEXTS)
    "banking/bam": ({"n_households": 60, "n_firms": 10, "n_banks": 2, **BAM}, 2, 6),
    "banking/collateral": ({"n_households": 60, "n_firms": 10, "n_banks": 2, **COLLATERAL}, 2, 4),
}

#: cases whose first use compiles kernels for half a minute in a fresh clone (the BAM step): slow tier
SLOW_CASES = {"banking/bam", ("banking", "bam")}


def _marked(cases):
    """The cases as pytest parameters, the SLOW_CASES marked slow."""
    return [
        pytest.param(*(c if isinstance(c, tuple) else (c,)), marks=pytest.mark.slow) if c in SLOW_CASES else c
        for c in cases
    ]


#: (model, context) → fixed parameters under which the listed parameters act
CONTEXTS: dict[tuple[str, str], tuple[dict[str, Any], tuple[str, ...]]] = {
    ("atp", "migration"): ({"migration_rate_annual": 0.5}, ("migration_kappa",)),
    ("tokens", "order_book"): ({"venue": "order_book"}, ("tick_size", "book_range", "lot_size")),
    ("banking", "sim"): (
        {
            "clearing": "multiplier",
            "consumption_rule": "sim",
            "government_spending_level": 20.0,
            "tax_rate": 0.2,
        },
        ("alpha1", "alpha2"),
    ),
    ("banking", "bam"): (
        {"n_households": 60, "n_firms": 10, "n_banks": 2, **BAM},
        tuple(p.name for p in BAM_PARAMS),  # the banking parameters BAM reuses are swept in "default"
    ),
    ("banking", "collateral"): (
        {"n_households": 60, "n_firms": 10, "n_banks": 2, **COLLATERAL},
        ("loan_to_value", "collateral_pledge", "covenant_debt_equity", "covenant_action", "covenant_penalty"),
    ),
    ("banking", "markets"): (  # bonds traded by households, the equity market and the chain on the ledger
        {
            "n_households": 60,
            "n_firms": 10,
            "n_banks": 2,
            "term_issuance": 1.0,
            "government_spending": 0.3,
            "debt_response": 0.0,
            "asset_market": True,
            "supply_chain": True,
        },
        ("household_bonds", "equity_demand", "chain_value"),
    ),
    ("tokens", "call_auction"): ({"venue": "call_auction"}, ("max_slack",)),
    ("tokens", "tatonnement"): ({"venue": "tatonnement"}, ("adjust_speed",)),
    (
        "tokens",
        "resource",
    ): ({"venue": "resource"}, ("capacity", "need_mean", "valuation_mean", "income_rate", "allocation")),
    ("tokens", "exponential"): ({"curve": "exponential"}, ("curve_scale", "curve_growth")),
    ("tokens", "sigmoid"): ({"curve": "sigmoid"}, ("curve_max_price", "curve_steepness", "curve_midpoint")),
    ("tokens", "power"): ({"curve": "power"}, ("reserve_ratio",)),
    ("tokens", "learning"): ({"population": "learning"}, ("learning_rate", "discount", "epsilon")),
    ("tokens", "evolution"): ({"selection": 5.0, "evolve_every": 2}, ("revise_rate",)),
    ("tokens", "shock"): ({"shock_step": 2}, ("shock_size", "recovery_tolerance")),
    (
        "tokens",
        "custom",
    ): (
        {"population": "custom"},
        tuple(f"share_{k}" for k in ("threshold", "noise", "arbitrage", "learning")),
    ),
}

#: (model, parameter) → why its second value is left out
EXCLUDED: dict[tuple[str, str], str] = {}


def other_values(param: Param, current: Any) -> list[Any]:
    """Valid values of ``param`` other than ``current``: every other choice, the other bool, the
    neighbouring int inside the bounds, or the float scaled by 1.5 (else 0.5, else moved by 0.1)."""
    if param.kind == "choice":
        return [c for c in param.choices if c != current]
    if param.kind == "bool":
        return [not current]
    if param.kind == "text":  # a file name: another value is another file (tested beside its model)
        return []
    low, high = param.bounds
    inside = lambda v: (low is None or v >= low) and (high is None or v <= high)  # noqa: E731
    if param.kind == "int":
        return [next(v for v in (current + 1, current - 1) if inside(v))]
    candidates = [current * 1.5, current * 0.5] if current else [0.1, 0.5, 1.0]
    candidates += [current + 0.1, current - 0.1]
    if low is not None and high is not None:
        candidates.append((low + high) / 2)
    return [next(v for v in candidates if inside(v) and v != current and math.isfinite(v))]


def model_of(case: str) -> str:
    """The model of a CASES key ("model" or "model/preset")."""
    return case.split("/")[0]


def groups(model_name: str) -> list[tuple[str, dict[str, Any], list[str]]]:
    """(context name, fixed parameters, swept names): every parameter of the model exactly once."""
    model = get_model(model_name)
    base, _, _ = CASES[model_name]
    placed = {n for (m, _), (_, names) in CONTEXTS.items() if m == model_name for n in names}
    out = [
        (ctx, {**base, **fixed}, list(names))
        for (m, ctx), (fixed, names) in CONTEXTS.items()
        if m == model_name
    ]
    out.append(("default", dict(base), [p.name for p in model.params if p.name not in placed]))
    return out


def zip_sweep(model_name: str, fixed: dict[str, Any], names: list[str], ctx: str) -> dict[str, list[Any]]:
    """One zip sweep: point 0 at the current values, then one point per other value of each name."""
    model = get_model(model_name)
    current = {**model.defaults(), **fixed}
    points: list[dict[str, Any]] = [{}]
    for name in names:
        if (model_name, f"{name}@{ctx}") in EXCLUDED:
            continue
        for value in other_values(model.param(name), current[name]):
            points.append({name: value})
    swept = [n for n in names if any(n in pt for pt in points)]
    return {n: [pt.get(n, current[n]) for pt in points] for n in swept}


@functools.cache
def _alone(model_name: str, params: tuple) -> pd.DataFrame:
    _, runs, steps = CASES[model_name]
    cfg = {"model": model_name, "params": dict(params), "runs": runs, "steps": steps, "seed": SEED}
    return econsim.run(cfg).to_pandas().drop(columns="subset")


def _same(mine: pd.DataFrame, alone: pd.DataFrame) -> bool:
    mine = mine[alone.columns].reset_index(drop=True)
    try:
        pd.testing.assert_frame_equal(mine, alone.reset_index(drop=True), check_exact=True, check_dtype=False)
    except AssertionError:
        return False
    return True


@pytest.mark.parametrize(
    ("model_name", "ctx"),
    _marked([(m, ctx) for m in CASES if "/" not in m for ctx, _, _ in groups(m)]),
)
def test_every_swept_parameter_value_equals_the_same_run_made_alone(model_name, ctx):
    (fixed, names) = next((f, n) for c, f, n in groups(model_name) if c == ctx)
    zipped = zip_sweep(model_name, fixed, names, ctx)
    # names both fixed (the small world) and swept are taken out of the fixed ones
    fixed = {k: v for k, v in fixed.items() if k not in zipped}
    _, runs, steps = CASES[model_name]
    cfg = {
        "model": model_name,
        "params": fixed,
        "sweep": {"zip": zipped},
        "runs": runs,
        "steps": steps,
        "seed": SEED,
    }
    swept = econsim.run(cfg).to_pandas()
    n_points = len(next(iter(zipped.values())))
    assert swept["subset"].nunique() == n_points
    wrong = []
    for i in range(n_points):
        point = {k: v[i] for k, v in zipped.items()}
        alone = _alone(model_name, tuple(sorted({**fixed, **point}.items())))
        if not _same(swept[swept.subset == i], alone):
            changed = {k: v for k, v in point.items() if v != zipped[k][0]} or "current values"
            wrong.append(changed)
    assert not wrong, f"{model_name} ({ctx}): swept runs differ from the same runs alone at {wrong}"


def test_the_issues_cases_differ_from_the_first_point_so_the_comparison_has_teeth():
    """The values the issue found broken (working_age, K_latent, group_size) change the results."""
    for model_name, name, values in [
        ("atp", "working_age", [18, 40]),
        ("atp", "K_latent", [2, 6]),
        ("tokens", "group_size", [1, 10]),
    ]:
        base, runs, steps = CASES[model_name]
        df = econsim.run(
            {
                "model": model_name,
                "params": base,
                "sweep": {"grid": {name: values}},
                "runs": runs,
                "steps": steps,
                "seed": SEED,
            }
        ).to_pandas()
        a, b = (df[df.subset == i].drop(columns=["subset", name]).reset_index(drop=True) for i in (0, 1))
        numeric = a.select_dtypes("number").columns.difference(["run", "timestep"])
        assert not np.allclose(a[numeric].to_numpy(float), b[numeric].to_numpy(float), equal_nan=True), name
        alone = _alone(model_name, tuple(sorted({**base, name: values[1]}.items())))
        assert _same(df[df.subset == 1], alone), name


# --- batching, executors, recording -----------------------------------------------------------------

#: a sweep over a per-batch and a per-run parameter for each model
SWEEPS: dict[str, dict[str, list[Any]]] = {
    "honey": {"price_walk": ["notebook", "positive"], "throttle": [0.004, 0.02]},
    "atp": {"working_age": [18, 30], "tau": [0.15, 0.3]},
    "tokens": {"group_size": [1, 10], "venue": ["bonding_curve", "call_auction"]},
    "banking": {"visits_goods": [2, 3], "tax_low": [0.1, 0.15]},
    "network": {"bridge_delay": [1, 2], "pay_rate": [0.02, 0.05]},
    "banking/bam": {"bam_contract": [2, 8], "bam_price_shock": [0.1, 0.2]},
    "banking/collateral": {"covenant_action": ["reprice", "accelerate"], "loan_to_value": [0.5, 0.8]},
}


def sweep_config(model_name: str, **overrides: Any) -> dict[str, Any]:
    base, _, steps = CASES[model_name]
    return {
        "model": model_of(model_name),
        "params": base,
        "sweep": {"grid": SWEEPS[model_name]},
        "runs": 3,
        "steps": steps,
        "seed": SEED,
        "common_random_numbers": False,
        **overrides,
    }


@functools.cache
def reference(model_name: str) -> pd.DataFrame:
    return econsim.run(sweep_config(model_name)).to_pandas()


@pytest.mark.parametrize("model_name", _marked(CASES))
@pytest.mark.parametrize("budget_mb", [1e-4, 0.05])
def test_batch_size_and_memory_budget_do_not_change_results(model_name, budget_mb):
    res = econsim.run(sweep_config(model_name, memory_budget_mb=budget_mb))
    pd.testing.assert_frame_equal(res.to_pandas(), reference(model_name), check_exact=True)


def test_a_tiny_budget_gives_one_run_per_batch():
    from econsim.experiment.config import load_config
    from econsim.experiment.plan import make_plan

    for model_name in CASES:
        plan = make_plan(load_config(sweep_config(model_name, memory_budget_mb=1e-4)))
        assert all(stop - start == 1 for start, stop in plan.batches)


@pytest.mark.parametrize("model_name", _marked(CASES))
@pytest.mark.parametrize("workers", [1, 2, pytest.param(3, marks=pytest.mark.slow)])
def test_the_process_executor_with_any_worker_count_gives_identical_results(model_name, workers, tmp_path):
    res = econsim.run(sweep_config(model_name, executor="process", workers=workers, out=str(tmp_path / "r")))
    pd.testing.assert_frame_equal(res.to_pandas(), reference(model_name), check_exact=True)


@pytest.mark.parametrize("model_name", _marked(CASES))
def test_record_every_records_the_same_values_at_fewer_steps(model_name):
    _, _, steps = CASES[model_name]
    sparse = econsim.run(sweep_config(model_name, record_every=4)).to_pandas()
    ref = reference(model_name)
    kept = ref[(ref.timestep % 4 == 0) | (ref.timestep == steps)].reset_index(drop=True)
    assert sorted(sparse.timestep.unique()) == sorted(kept.timestep.unique())
    pd.testing.assert_frame_equal(sparse, kept, check_exact=True)


def test_every_built_in_model_has_a_case_here():
    """A new built-in model gets these properties too: give it a small world in CASES."""
    from econsim.models import registry

    # the package's own models (tests may register others)
    built_in = set(registry.builtin_model_names())
    assert {model_of(case) for case in CASES} == built_in
