"""The supply chain: at rest it produces the Leontief flows x = (I − A)⁻¹ d; an iron-ore capacity shock
reaches steel, parts and cars one stage after another through proportional rationing, and the Metzler
inventory rule overshoots when the shock ends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from econsim.engine import Simulation
from econsim.models.banking.supply_chain import INPUT_COEFFICIENTS, steady_flows
from econsim.models.registry import get_model

CONFIGS = Path(__file__).resolve().parents[3] / "configs" / "banking"


def test_leontief_flows():
    """Cars 1 → parts 1 → steel 1 → ore 1; energy 0.2 + 0.2 + 0.3 + 0.1 = 0.8 for one car."""
    x = steady_flows(1.0)
    np.testing.assert_allclose(x, [0.8, 1.0, 1.0, 1.0, 1.0], rtol=1e-14)
    np.testing.assert_allclose(x - INPUT_COEFFICIENTS @ x, [0, 0, 0, 0, 1.0], atol=1e-14)


def test_an_ore_shock_ripples_downstream():
    cfg = yaml.safe_load((CONFIGS / "supply_chain_shock.yaml").read_text())
    params = {**cfg["params"], "n_households": 200, "n_firms": 20, "n_banks": 2}
    sim = Simulation(get_model("banking"), params, runs=1, seed=cfg["seed"], strict=True)
    start, length = params["chain_shock_step"], params["chain_shock_steps"]
    cols = sim.run(start + length + 8).columns
    out, fill = cols["chain_output"][:, 0], cols["chain_fill"][:, 0]  # (steps, sectors)
    before = out[start - 1]
    hit = [int(np.argmax(out[start:, s] < 0.6 * before[s])) + start for s in (1, 2, 3, 4)]
    assert all(out[t, s] < 0.6 * before[s] for t, s in zip(hit, (1, 2, 3, 4), strict=True))
    assert hit[0] == start and hit[0] < hit[1] < hit[2] < hit[3]  # ore, then steel, parts, cars
    assert fill[start : start + length, 2].min() < 0.6 and fill[start : start + length, 3].min() < 0.6
    assert fill[:start, 1:].min() > 0.999  # no rationing before the shock
    # after the shock the ore firms rebuild their stocks: output above its pre-shock level
    assert out[start + length : start + length + 4, 1].max() > 1.2 * before[1]
