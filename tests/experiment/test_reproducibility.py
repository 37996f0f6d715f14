"""Bit-identical results whatever the executor, the worker count or the batch size."""

import numpy as np
import pandas as pd
import pytest

import econsim

CONFIG = {
    "model": "honey",
    "sweep": {"grid": {"throttle": [0.002, 0.01, 0.03], "target_reserve_ratio": [0.1, 0.25]}},
    "runs": 7,
    "steps": 60,
    "seed": 123,
}


@pytest.fixture(scope="module")
def reference():
    return econsim.run(CONFIG).to_pandas()


def test_shape_and_columns(reference):
    assert len(reference) == 6 * 7 * 61
    assert list(reference.columns[:3]) == ["subset", "run", "timestep"]
    for name in ("reserve", "price", "saturation", "market_cap", "throttle", "target_reserve_ratio"):
        assert name in reference.columns


@pytest.mark.parametrize("budget_mb", [0.01, 0.05, 1000])
def test_batch_size_does_not_change_results(reference, budget_mb):
    other = econsim.run(CONFIG, memory_budget_mb=budget_mb).to_pandas()
    pd.testing.assert_frame_equal(other, reference, check_exact=True)


@pytest.mark.parametrize("workers", [1, 2])
def test_process_pool_gives_identical_results(reference, tmp_path, workers):
    res = econsim.run(CONFIG, executor="process", workers=workers, out=str(tmp_path / "r"))
    pd.testing.assert_frame_equal(res.to_pandas(), reference, check_exact=True)


def test_same_seed_same_results_other_seed_other_results(reference):
    again = econsim.run(CONFIG).to_pandas()
    pd.testing.assert_frame_equal(again, reference, check_exact=True)
    other = econsim.run(CONFIG, seed=124).to_pandas()
    assert not np.array_equal(other["price"], reference["price"])


def test_run_results_depend_only_on_seed_and_identity(reference):
    """Run 3 of a subset is the same whether or not other runs and subsets exist."""
    alone = econsim.run(
        {**CONFIG, "runs": 4, "sweep": {"grid": {"throttle": [0.03], "target_reserve_ratio": [0.25]}}}
    ).to_pandas()
    mine = alone[alone.run == 3].drop(columns="subset").reset_index(drop=True)
    ref = reference[
        (reference.run == 3) & (reference.throttle == 0.03) & (reference.target_reserve_ratio == 0.25)
    ]
    pd.testing.assert_frame_equal(mine, ref.drop(columns="subset").reset_index(drop=True), check_exact=True)


def test_common_random_numbers_across_sweep_points():
    """Two sweep points with equal parameters share their draws unless common random numbers are off."""
    same = {**CONFIG, "sweep": {"zip": {"throttle": [0.01, 0.01]}}}
    df = econsim.run(same).to_pandas()
    a, b = df[df.subset == 0], df[df.subset == 1]
    np.testing.assert_array_equal(a["price"].to_numpy(), b["price"].to_numpy())
    indep = econsim.run(same, common_random_numbers=False).to_pandas()
    assert not np.array_equal(
        indep[indep.subset == 0]["price"].to_numpy(), indep[indep.subset == 1]["price"].to_numpy()
    )


def test_sweep_over_a_parameter_that_sizes_the_state():
    """Runs of different array shapes never share a batch, and each equals the same run made alone."""
    base = {"model": "tokens", "params": {"N": 40}, "runs": 2, "steps": 15, "seed": 4}
    swept = econsim.run({**base, "sweep": {"grid": {"n_tokens": [1, 3]}}})
    df = swept.to_pandas()
    assert df.groupby("n_tokens").size().to_dict() == {1: 2 * 16, 3: 2 * 16}
    alone = econsim.run({**base, "params": {"N": 40, "n_tokens": 3}}).to_pandas()
    mine = df[df.n_tokens == 3].drop(columns=["subset", "n_tokens"]).dropna(axis=1).reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, alone.drop(columns="subset")[mine.columns], check_exact=True)
    assert df.loc[df.n_tokens == 1, "price_by_token_2"].isna().all()


def test_process_pool_with_a_live_progress_bar(reference, capsys):
    """Workers report step by step through a queue; the bar ends exactly at the total."""
    from econsim.experiment.config import load_config
    from econsim.experiment.executors import ProcessExecutor
    from econsim.experiment.plan import make_plan
    from econsim.experiment.runner import batch_task

    plan = make_plan(load_config(CONFIG, memory_budget_mb=0.05))
    tasks = [batch_task(plan, i, None) for i in range(len(plan.batches))]
    seen = []
    results = list(ProcessExecutor(workers=2).run(tasks, seen.append))
    assert sum(r.run_steps for r in seen) == plan.n_runs_total * CONFIG["steps"]
    assert len(seen) > len(tasks)  # step reports, not only one per batch
    assert sorted(r.index for r in results) == list(range(len(tasks)))
    shown = econsim.run(CONFIG, executor="process", workers=2, progress=True).to_pandas()
    pd.testing.assert_frame_equal(shown, reference, check_exact=True)
