"""The HP filter and the stylized-facts statistics against closed forms and constructed series."""

from __future__ import annotations

import numpy as np
import pytest

from econsim.analysis.filters import aggregate, hp_filter
from econsim.analysis.stylized_facts import (
    PUBLISHED,
    autocorr,
    excess_kurtosis,
    facts_table,
    hill_tail_index,
    slope,
    stylized_facts,
)


def dense_hp(y: np.ndarray, lam: float) -> np.ndarray:
    """The HP trend by the textbook dense solve (I + λ DᵀD)⁻¹ y."""
    n = len(y)
    d = np.zeros((n - 2, n))
    for i in range(n - 2):
        d[i, i : i + 3] = (1.0, -2.0, 1.0)
    return np.linalg.solve(np.eye(n) + lam * d.T @ d, y)


def test_hp_filter_equals_the_dense_solve_for_every_run():
    y_rt = np.random.default_rng(1).normal(size=(4, 60)).cumsum(axis=1)
    trend, cycle = hp_filter(y_rt, 1600.0)
    for r in range(4):
        np.testing.assert_allclose(trend[r], dense_hp(y_rt[r], 1600.0), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(trend + cycle, y_rt)


def test_hp_filter_keeps_a_linear_trend_and_lambda_zero_keeps_the_series():
    t = np.arange(40, dtype=float)
    _, cycle = hp_filter(3.0 + 0.5 * t, 1e5)
    np.testing.assert_allclose(cycle, 0.0, atol=1e-8)  # Δ²τ = 0 costs nothing
    y = np.sin(t)
    np.testing.assert_allclose(hp_filter(y, 0.0)[0][0], y)


def test_aggregate_sums_flows_and_averages_stocks():
    y = np.arange(1, 8, dtype=float)[None, :]  # 7 months: the incomplete third quarter is dropped
    np.testing.assert_array_equal(aggregate(y, 3, "sum"), [[6.0, 15.0]])
    np.testing.assert_array_equal(aggregate(y, 3, "mean"), [[2.0, 5.0]])


def test_autocorrelation_of_an_ar1_recovers_rho():
    rng = np.random.default_rng(2)
    rho, n = 0.7, 20_000
    x = np.zeros((3, n))
    e = rng.normal(size=(3, n))
    for t in range(1, n):
        x[:, t] = rho * x[:, t - 1] + e[:, t]
    np.testing.assert_allclose(autocorr(x), rho, atol=0.02)


def test_slope_recovers_an_okun_coefficient():
    rng = np.random.default_rng(3)
    g = rng.normal(0.5, 1.0, size=(2, 500))
    du = 0.2 - 0.4 * g + rng.normal(0, 0.05, size=g.shape)
    np.testing.assert_allclose(slope(du, g), -0.4, atol=0.01)


def test_hill_estimator_recovers_a_pareto_exponent():
    alpha = 1.06
    sizes = (1.0 - np.random.default_rng(4).random(200_000)) ** (-1.0 / alpha)  # Pareto(α), x_min = 1
    assert hill_tail_index(sizes, top=0.1) == pytest.approx(alpha, rel=0.03)


def test_excess_kurtosis_of_normal_and_laplace():
    rng = np.random.default_rng(5)
    assert abs(excess_kurtosis(rng.normal(size=400_000))) < 0.05
    assert excess_kurtosis(rng.laplace(size=400_000)) == pytest.approx(3.0, abs=0.15)


def constructed_economy(n_runs: int = 6, n_months: int = 900, seed: int = 6) -> dict[str, np.ndarray]:
    """Monthly series built to have the textbook signs: a persistent output cycle, consumption smoother
    and investment more volatile than output, unemployment and vacancies moving against each other."""
    rng = np.random.default_rng(seed)
    z = np.zeros((n_runs, n_months))
    shocks = rng.laplace(0, 0.004, size=z.shape)
    for t in range(1, n_months):
        z[:, t] = 0.97 * z[:, t - 1] + shocks[:, t]
    trend = 0.002 * np.arange(n_months)
    gdp = 100 * np.exp(trend + z)
    u = np.clip(0.06 - 0.5 * z + rng.normal(0, 0.001, z.shape), 0.01, 0.3)
    return {
        "gdp": gdp,
        "consumption": 60 * np.exp(trend + 0.7 * z + rng.normal(0, 0.001, z.shape)),
        "investment": 20 * np.exp(trend + 3.0 * z + rng.normal(0, 0.002, z.shape)),
        "unemployment": u,
        "vacancy_rate": np.clip(0.05 + 0.4 * z + rng.normal(0, 0.001, z.shape), 0.001, 0.3),
        "inflation": 0.002 - 0.05 * (u - 0.06) + rng.normal(0, 0.0005, z.shape),
        "credit": 80 * np.exp(trend + 1.5 * z),
    }


def test_constructed_economy_passes_every_fact_and_reports_its_construction():
    series = constructed_economy()
    sizes = (1.0 - np.random.default_rng(7).random(5_000)) ** (-1.0 / 1.1)
    facts = {f.name: f for f in stylized_facts(series, firm_sizes=sizes, steps_per_quarter=3, burn_in=60)}
    assert set(facts) == set(PUBLISHED)
    # the construction's own ratios come back: consumption at 0.7 and investment at 3 times output's cycle
    assert facts["rel_vol_consumption"].value == pytest.approx(0.7, abs=0.05)
    assert facts["rel_vol_investment"].value == pytest.approx(3.0, abs=0.15)
    assert facts["corr_unemployment_gdp"].value < -0.9
    assert facts["beveridge_corr"].value < -0.9
    failed = [name for name, f in facts.items() if not f.passed]
    assert not failed, failed
    table = facts_table(list(facts.values()))
    assert set(table.result) == {"PASS"} and len(table) == len(PUBLISHED)


def test_a_fact_outside_its_band_fails():
    series = constructed_economy()
    series["consumption"] = series["gdp"] ** 2 / 100  # twice as volatile as output: outside [0.4, 1.2]
    facts = {f.name: f for f in stylized_facts(series, steps_per_quarter=3, burn_in=60)}
    assert facts["rel_vol_consumption"].value == pytest.approx(2.0, rel=0.01)
    assert not facts["rel_vol_consumption"].passed


def test_figure_has_the_three_curves_and_the_moments(tmp_path):
    from econsim.plotting.stylized_facts import stylized_facts_figure

    series = constructed_economy(n_runs=2, n_months=300)
    facts = stylized_facts(series, steps_per_quarter=3)
    fig = stylized_facts_figure(facts, series)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:3] == ["Okun's law", "Phillips curve", "Beveridge curve"]
    assert titles[3].startswith("moments:") and f"of {len(facts)} pass" in titles[3]
    okun_slope = float(fig.axes[0].get_legend().get_texts()[0].get_text().split()[-1])
    assert okun_slope < 0
    fig.savefig(tmp_path / "facts.png", dpi=60)
    assert (tmp_path / "facts.png").stat().st_size > 10_000
