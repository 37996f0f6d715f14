"""The per-fix attribution of scripts/atp_fix_attribution.py on a small H1 world: the dominant effects keep
their direction (the README's table gives the numbers at N = 200 000)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "atp_fix_attribution.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("atp_fix_attribution", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def h1(script):
    labels = ["defaults (all fixes)", "15 dead price floor", "1 ageing backwards", "all reverted"]
    return script.attribution(script.SCENARIOS["H1"], 2000, (0, 10, 100, 199), labels=labels)


def test_every_variant_is_a_known_switch_or_key(script):
    from econsim.models.registry import get_model

    names = {p.name for p in get_model("atp").params}
    for label, overrides in script.variants().items():
        assert set(overrides) <= names, label
    assert script.variants()["all reverted"]["legacy_price_floor"] is True


def test_the_price_floor_raises_early_gdp_and_prices_and_keeps_the_sink_unsaturated(h1):
    fixed, dead = h1["defaults (all fixes)"], h1["15 dead price floor"]
    assert fixed["GDP"][1] > 10 * dead["GDP"][1]  # step 10
    assert fixed["price"][1] > 2 * dead["price"][1]
    assert fixed["util"][2] < 0.5 * dead["util"][2]  # step 100: the dearer final goods sell less
    # reverting every fix leaves the price floor's effect nearly whole
    assert h1["all reverted"]["GDP"][1] < 2 * dead["GDP"][1]


def test_forward_ageing_keeps_the_population_flatter(h1):
    def drift(variant):
        pop = h1[variant]["population"]
        return abs(pop[-1] / pop[0] - 1.0)

    assert drift("defaults (all fixes)") < 0.5 * drift("1 ageing backwards")
    assert h1["1 ageing backwards"]["population"][-1] < h1["defaults (all fixes)"]["population"][-1]


def test_the_table_has_a_row_per_variant(script, h1):
    text = script.markdown("H1", h1, (0, 10, 100, 199), 2000)
    assert text.count("\n| ") == 1 + len(h1)
    assert "| 15 dead price floor |" in text
