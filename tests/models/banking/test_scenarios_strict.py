"""Every scenario under configs/banking/ runs in strict mode — the ledger's identities (balance-sheet and
transactions-flow matrices, deposits owed, no negative stocks, the bond register) checked after every
step — at a small size with its events moved early so that each one happens inside the short run; the
slow tier runs each scenario at its own size for half its steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from econsim.engine import Simulation
from econsim.models.registry import get_model

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "banking"
SCENARIOS = sorted(p.stem for p in CONFIGS.glob("*.yaml"))
#: bam.yaml runs the BAM economy in one compiled stage (40 s to compile here): its strict identities are
#: checked in the batch-independence case and, at its own size, in the slow tier below
FAST = [name for name in SCENARIOS if name != "bam"]
SMALL = {"n_households": 60, "n_firms": 8, "n_banks": 3}
#: each event's first step, moved to step 2 in the short runs (its length kept short too)
EARLY = {
    "qe_start": 2,
    "qe_steps": 2,
    "qe_taper_steps": 2,
    "chain_shock_step": 2,
    "chain_shock_steps": 3,
    "loan_loss_step": 2,
    "run_rumour_step": 2,
}

#: a column that is positive in some step when the scenario's mechanism ran inside the short run
ACTIVE = {
    "qe": "qe_purchases",
    "sovereign_debt": "bond_volume",
    "bank_run": "run_withdrawals",
    "interbank_contagion": "loan_losses",
    "supply_chain_shock": "chain_payments",
    "equity_bubble": "equity_volume",
}


def _params(name: str) -> tuple[dict, dict]:
    cfg = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    return cfg, dict(cfg.get("params", {}))


def test_every_banking_scenario_is_listed():
    assert {"interbank_contagion", "bank_run", "qe", "equity_bubble", "supply_chain_shock"} <= set(SCENARIOS)
    assert "sovereign_debt" in SCENARIOS


@pytest.mark.parametrize("name", FAST)
def test_scenario_keeps_every_identity_in_strict_mode(name):
    cfg, params = _params(name)
    params.update(SMALL)
    params.update({k: v for k, v in EARLY.items() if k in params})
    steps = 6
    sim = Simulation(get_model(cfg.get("model", "banking")), params, runs=1, seed=cfg["seed"], strict=True)
    cols = sim.run(steps).columns  # strict: raises on the first step any identity breaks
    assert cols["gdp"].shape == (steps + 1, 1) and np.isfinite(cols["gdp"]).all()
    if name in ACTIVE:
        assert cols[ACTIVE[name]].max() > 0


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_at_full_size_keeps_every_identity(name):
    cfg, params = _params(name)
    steps = max(int(cfg["steps"]) // 2, 12)
    sim = Simulation(get_model(cfg.get("model", "banking")), params, runs=1, seed=cfg["seed"], strict=True)
    cols = sim.run(steps).columns
    assert np.isfinite(cols["gdp"]).all()
