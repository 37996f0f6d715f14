"""Bank runs: the Diamond–Dybvig threshold f* = (R − r1)/(r1·(R − 1)) against the patient depositor's
payoff, the bank_run scenario emptying the rumoured bank through the whole funding ladder (reserves,
overnight loans, the central bank's facility, fire sales) with every identity holding, and deposit
insurance keeping the insured depositors in place."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from econsim.engine import Simulation
from econsim.engine.errors import ConfigError
from econsim.models.banking.bank_runs import patient_payoff, run_threshold
from econsim.models.registry import get_model

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "banking"


def test_diamond_dybvig_threshold():
    """R = 1.5, r1 = 1.1: f* = 0.4 / (1.1 · 0.5) = 8/11. At f* the patient depositor gets exactly r1:
    (1 − (8/11)·1.1)·1.5 / (3/11) = 0.2 · 1.5 · 11/3 = 1.1; more withdrawals and waiting pays less."""
    f_star = run_threshold(1.5, 1.1)
    assert f_star == pytest.approx(8 / 11, rel=1e-14)
    assert patient_payoff(f_star, 1.5, 1.1) == pytest.approx(1.1, rel=1e-13)
    assert patient_payoff(f_star + 0.01, 1.5, 1.1) < 1.1 < patient_payoff(f_star - 0.01, 1.5, 1.1)
    R, r1 = np.array([1.2, 2.0, 3.0]), np.array([1.05, 1.5, 1.01])
    np.testing.assert_allclose(patient_payoff(run_threshold(R, r1), R, r1), r1, rtol=1e-12)
    with pytest.raises(ConfigError, match="1 < r1 < R"):
        run_threshold(1.1, 1.2)


def _run(params, steps):
    sim = Simulation(get_model("banking"), params, runs=1, seed=3, strict=True)
    return sim.run(steps).columns


def test_bank_run_scenario_empties_the_rumoured_bank():
    cfg = yaml.safe_load((CONFIGS / "bank_run.yaml").read_text())
    start = cfg["params"]["run_rumour_step"]
    cols = _run(cfg["params"], start + 3)
    deposits = cols["deposits_by_bank"][:, 0]  # (steps, banks)
    withdrawn = cols["withdrawals_by_bank"][:, 0]
    assert withdrawn[:start].sum() == 0  # nobody runs before the rumour
    assert withdrawn[start:, 0].sum() > 0.5 * deposits[start - 1, 0]
    assert deposits[-1, 0] < 0.4 * deposits[start - 1, 0]  # the bank is emptied of most deposits
    assert withdrawn[:, 1:].sum() == 0  # only the rumoured bank is run on
    # the whole ladder: overnight loans, the central bank's facility and fire sales all used
    during = slice(start, start + 3)
    assert cols["run_interbank"][during, 0].sum() > 0
    assert cols["run_facility"][during, 0].sum() > 0
    assert cols["run_fire_sales"][during, 0].sum() > 0
    # the deposits went to other banks: the system's deposits are unchanged by the run itself
    total = deposits.sum(axis=1)
    assert abs(total[start] - total[start - 1]) < 0.05 * total[start - 1]


@pytest.mark.slow
def test_deposit_insurance_stops_most_of_the_run():
    cfg = yaml.safe_load((CONFIGS / "bank_run.yaml").read_text())
    start = cfg["params"]["run_rumour_step"]
    plain = _run(cfg["params"], start + 3)["run_withdrawals"][:, 0].sum()
    insured = _run({**cfg["params"], "deposit_insurance": True}, start + 3)["run_withdrawals"][:, 0].sum()
    assert insured < 0.25 * plain
