"""The interbank overnight market and its contagion in the banking model: the exposure network ties to the
ledger every step (strict mode), overnight loans replace central-bank advances inside the corridor, and in
the interbank_contagion scenario the hit bank defaults on its overnight loans and its creditor's write-off
makes a second, solvent bank insolvent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from econsim.engine import Simulation
from econsim.models.registry import get_model

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "banking"


def scenario(name: str) -> dict:
    return yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())


def test_interbank_contagion_scenario_defaults_a_bank_downstream():
    cfg = scenario("interbank_contagion")
    sim = Simulation(get_model("banking"), cfg["params"], runs=1, seed=cfg["seed"], strict=True)
    cols = sim.run(cfg["params"]["loan_loss_step"] + 1).columns
    shock = cfg["params"]["loan_loss_step"]
    volume, rate = cols["interbank_volume"][:, 0], cols["interbank_rate"][:, 0]
    assert (volume[1:shock] > 0).all()  # reserves are pooled overnight every step before the shock
    dep, lend = cols["policy_rate"][1:, 0] - 0.005, cols["policy_rate"][1:, 0] + 0.005
    assert (rate[1:] >= np.maximum(dep, 0.0) - 1e-12).all() and (rate[1:] <= lend + 1e-12).all()
    assert cols["loan_losses"][shock, 0] > 0
    assert cols["interbank_defaults"][shock, 0] == 1  # the hit bank cannot repay in full
    assert cols["contagion_failures"][shock, 0] >= 1  # a creditor that was solvent is pushed under
    assert cols["bank_defaults"][shock, 0] >= 2  # both are failed and recapitalised
    assert cols["contagion_losses"][shock, 0] > 0
    rounds, pushed = sim.state["bank_cascade_round"][0], sim.state["bank_pushed_under"][0]
    assert rounds.max() == 1 and (rounds > 0).sum() == 1
    assert pushed[rounds == 0].sum() >= 1
    # the network at the default: the hit bank owed its overnight creditors
    due = sim.state["interbank_at_default"][0]
    hit = int(np.argmax(rounds))
    assert due[hit].sum() > 0
    assert cols["systemic_risk"][1:shock, 0].max() > 0


def test_interbank_off_leaves_the_network_empty():
    params = {"n_households": 80, "n_firms": 10, "n_banks": 3}
    sim = Simulation(get_model("banking"), params, runs=1, seed=1, strict=True)
    cols = sim.run(4).columns
    assert np.all(sim.state["interbank_kk"] == 0)
    assert np.all(cols["interbank_volume"] == 0) and np.all(cols["systemic_risk"] == 0)
