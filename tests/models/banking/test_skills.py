"""Labour in depth: a CES skill mix in production, wage multipliers per skill that answer each skill's
shortage, and households that invest in education when the present value of the wage gain exceeds its
cost — closed forms and strict runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from econsim.engine import Simulation
from econsim.models.banking import accounts, education, model, skills
from econsim.models.banking.markets import SKILL_WEIGHT

SMALL = {"n_households": 120, "n_firms": 12, "n_banks": 3}


def test_the_ces_aggregate_equals_the_units_at_the_wanted_mix_and_less_away_from_it():
    theta = np.array([[0.5, 0.5, 0.0]])
    at_mix = skills.effective_units(np.array([[[1.0, 1.0, 0.0]]]), theta, 2.0)
    assert at_mix[0, 0] == pytest.approx(2.0, rel=1e-14)  # (2·√0.5·√1)² = 2 = U
    lopsided = skills.effective_units(np.array([[[2.0, 0.0, 0.0]]]), theta, 2.0)
    assert lopsided[0, 0] == pytest.approx(1.0, rel=1e-14)  # (√0.5·√2)² = 1 < 2
    theta3 = np.array([[0.4, 0.35, 0.25]])
    u = 6.0 * theta3[:, None, :]
    assert skills.effective_units(u, theta3, 3.0)[0, 0] == pytest.approx(6.0, rel=1e-13)


def test_wage_multipliers_answer_each_skills_tightness():
    theta = np.array([[0.4, 0.35, 0.25]])
    # E = 9 units employed of each level; v = (0, 1, 19) vacancies, u = (9, 1, 0) unemployed
    t = skills.tightness(np.full((1, 3), 9.0), np.array([[0.0, 1.0, 19.0]]), np.array([[9.0, 1.0, 0.0]]))
    np.testing.assert_allclose(t[0], [10 / 19, 1.0, 29 / 10], rtol=1e-15)
    m = skills.update_multipliers(np.ones((1, 3)), theta, t, 0.1, 2.0)
    log_t = np.log(t[0])
    raw = np.exp(0.1 * (log_t - (theta[0] * log_t).sum()) / 2.0)
    np.testing.assert_allclose(m[0], raw / (theta[0] * raw).sum(), rtol=1e-13)
    assert m[0, 2] > 1 > m[0, 0]  # the short skill up, the one in surplus down
    assert (theta * m).sum() == pytest.approx(1.0, rel=1e-14)  # the level stays the offers'
    # a persistent tightness settles at the marginal-product ratio exp((ln T − Σθ ln T)/ε), normalised
    settled = np.ones((1, 3))
    for _ in range(2000):
        settled = skills.update_multipliers(settled, theta, t, 0.1, 2.0)
    target = np.exp((log_t - (theta[0] * log_t).sum()) / 2.0)
    np.testing.assert_allclose(settled[0], target / (theta[0] * target).sum(), rtol=1e-9)
    # the floor: a highly skilled worker never earns less than an unskilled one (σ_s·m_s non-decreasing)
    low = skills.update_multipliers(np.array([[2.0, 1.0, 0.3]]), theta, np.ones((1, 3)), 0.0, 2.0)
    assert (np.diff(SKILL_WEIGHT * low[0]) >= -1e-12).all()
    premium = skills.skill_premium(
        np.array([[100.0, 300.0, 0.0]]), np.array([[0, 2, 0]]), np.array([[True, True, False]])
    )
    assert premium[0] == pytest.approx(3.0)  # mean of the employed unskilled: 100 (the idle one excluded)


def test_a_shortage_of_the_highly_skilled_raises_their_premium_and_every_wage_is_offer_times_weight():
    params = {**SMALL, "skill_mix": True, "skill_share_high": 0.6, "skill_share_unskilled": 0.1,
              "skill_share_skilled": 0.3, "skill_wage_step": 0.02}  # fmt: skip
    sim = Simulation(model, params, runs=2, seed=3, strict=True)  # strict: no firm pays beyond its deposits
    cols = sim.run(8).columns
    assert (cols["skill_wage_high"][-1] > 1.0).all() and (cols["skill_wage_unskilled"][-1] < 1.0).all()
    assert (cols["skill_tightness_high"][1:] > 1).all()  # the highly skilled are short
    assert (cols["skill_premium"][-1] > 2.2 * 1.01).all()  # above σ_2/σ_0 = 2.2, the premium without it
    s = sim.state
    employed = s["households.employer"] >= 0
    runs = np.arange(2)[:, None]
    assert (s["households.wage"][employed] > 0).all()
    # every worker's wage is its employer's offer × σ_s·m_s, with the multipliers in force in this step's
    # market (last step's: the market moves them after clearing)
    prev = np.stack([cols[f"skill_wage_{n}"][-2] for n in skills.LEVELS], axis=1)
    offer = s["firms.offer"][runs, np.where(employed, s["households.employer"], 0)]
    expected = offer * SKILL_WEIGHT[s["households.skill"]] * prev[runs, s["households.skill"]]
    np.testing.assert_allclose(s["households.wage"][employed], expected[employed], rtol=1e-12)
    baseline = Simulation(model, SMALL, runs=1, seed=3).run(3).columns
    # off: σ_2/σ_0 = 2.2, up to the spread of the firms' offers
    np.testing.assert_allclose(baseline["skill_premium"][1:], 2.2, rtol=1e-3)


def test_the_present_values_of_education_are_the_discounted_sums():
    r, D, T = 0.004, 6, 40
    gain, cost = education.present_values(np.array([100.0]), np.array([50.0]), r, D, float(T))
    beta = 1 / (1 + r)
    assert gain[0] == pytest.approx(sum(100 * beta**t for t in range(D + 1, D + T + 1)), rel=1e-12)
    assert cost[0] == pytest.approx(sum(50 * beta**t for t in range(1, D + 1)), rel=1e-12)


def test_students_leave_the_labour_force_pay_tuition_and_graduate_a_level_up():
    params = {**SMALL, "skill_mix": True, "education_choice": True, "education_rate": 0.5,
              "education_steps": 3, "education_max_age": 120.0, "skill_share_high": 0.5,
              "skill_share_unskilled": 0.2, "skill_share_skilled": 0.3}  # fmt: skip
    sim = Simulation(model, params, runs=1, seed=3, strict=True)
    sim.run(2)
    skill0 = sim.state["households.skill"].copy()
    s = sim.state
    out = education.education(s, sim.params, sim.rng)
    enrol = (out["households.studying"] == 3)[0]
    assert enrol.sum() >= 3
    led = sim.params.ledger_template.load(out, prefix=accounts.PREFIX)
    gov = accounts.SECTORS.index("government")
    before = sim.params.ledger_template.load(s, prefix=accounts.PREFIX)  # the step's flows so far
    row = accounts.FLOWS.index("tuition")
    tuition = led.flow[0, row, gov] - before.flow[0, row, gov]
    employed = s["households.employer"] >= 0
    mean_wage = (s["households.wage"] * employed).sum() / employed.sum()
    assert tuition == pytest.approx(0.2 * mean_wage * (out["households.studying"] > 0).sum(), rel=1e-9)
    assert (out["households.employer"][0, enrol] == -1).all()
    sim.state.update(out)
    for _ in range(3):
        sim.step()
        st = sim.state
        student = st["households.studying"][0] > 0
        assert (st["households.employer"][0, student] == -1).all()  # never hired
        assert (st["households.benefit"][0, student] == 0).all()  # no benefit
    # three steps on, the first course is done: each of its students is one level up
    first = enrol & (skill0[0] < 2)
    np.testing.assert_array_equal(sim.state["households.skill"][0, first], skill0[0, first] + 1)
    cols = sim.records.columns
    assert cols["graduates"].sum() >= first.sum() and cols["education_share"].max() > 0


def test_every_new_feature_together_keeps_a_run_independent_of_its_batch():
    import econsim

    fixed = {**SMALL, "n_households": 60, "n_firms": 8, "housing": True, "skill_mix": True,
             "education_choice": True, "education_rate": 0.3, "expectation_switching": True,
             "skill_share_high": 0.5, "skill_share_unskilled": 0.2, "skill_share_skilled": 0.3}  # fmt: skip
    zipped = {"peer_effect": [0.3, 0.1], "mortgage_ltv": [0.8, 0.5], "skill_wage_step": [0.02, 0.05],
              "tuition": [0.2, 0.4], "forecast_intensity": [0.5, 2.0]}  # fmt: skip
    base = {"model": "banking", "runs": 2, "steps": 3, "seed": 4}
    swept = econsim.run({**base, "params": fixed, "sweep": {"zip": zipped}}).to_pandas()
    for i in range(2):
        point = {k: v[i] for k, v in zipped.items()}
        alone = econsim.run({**base, "params": {**fixed, **point}}).to_pandas().drop(columns="subset")
        mine = swept[swept.subset == i][alone.columns].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone.reset_index(drop=True), check_exact=True, check_dtype=False)
    assert swept["education_share"].max() > 0 and swept["heuristic_share_trend"].std() > 0
