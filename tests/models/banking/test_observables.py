"""Every recorded banking observable is a finite, meaningful number in every preset and scenario of
configs/banking/: a ratio whose denominator can vanish (loans that last one step under BAM, an economy
without lending under SIM) must not print 1e300."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from econsim.engine import Simulation
from econsim.models.banking import model

ROOT = Path(__file__).resolve().parents[3]
PRESETS = sorted((ROOT / "configs/banking").glob("*.yaml"))


def _small(params: dict) -> dict:
    """The preset at a tenth of its size or less (the scenarios keep their banks)."""
    out = dict(params)
    out["n_households"] = min(int(out.get("n_households", 2000)), 120)
    out["n_firms"] = max(2, min(int(out.get("n_firms", 200)), 12))
    return out


@pytest.mark.parametrize(
    "path",
    # bam compiles its step's kernels for ~20 s in a fresh clone: slow tier (as test_bam's runs)
    [pytest.param(p, marks=pytest.mark.slow) if p.stem == "bam" else p for p in PRESETS],
    ids=[p.stem for p in PRESETS],
)
def test_every_observable_is_finite_and_the_bank_equity_ratio_a_share(path):
    config = yaml.safe_load(path.read_text())
    sim = Simulation(model, _small(config.get("params", {})), runs=2, seed=3, strict=True)
    _, rec = sim.run(8)
    for name in model.observables:
        assert np.isfinite(rec[name]).all(), (path.stem, name)
    ratio = rec["bank_equity_ratio"][1:]
    assert ((ratio >= -1.0) & (ratio <= 1.0)).all(), (path.stem, ratio.min(), ratio.max())
