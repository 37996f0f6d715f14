"""The BAM economy (``clearing: bam``, preset configs/banking/bam.yaml): it runs through ``econsim run`` with
every ledger identity holding each step, shows BAM's known behaviour in numbers, follows its rules where
they have closed forms, and its market kernels do what they say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import econsim
from econsim.cli import app
from econsim.engine import Simulation
from econsim.models.banking import accounts, model
from econsim.models.banking.bam_markets import fire, labour_market, shop, trimmed_mean

ROOT = Path(__file__).resolve().parents[3]
PRESET = yaml.safe_load((ROOT / "configs/banking/bam.yaml").read_text())["params"]
HALF = {**PRESET, "n_firms": 50, "n_households": 250, "n_banks": 5}


@pytest.fixture(scope="module")
def economy():
    """Three runs of half the preset's economy, 240 quarters (the identities are checked every step by
    the run through ``econsim run``; here they are not, to keep the test fast)."""
    sim = Simulation(model, HALF, runs=3, seed=7, strict=False)
    sim.run(100)
    sizes = []
    for _ in range(14):  # firm sizes every 10 quarters after the burn-in
        sim.run(10)
        sizes.append(sim.state["firms.output"].copy())
    sim.sizes = np.concatenate(sizes, axis=1)
    return sim, sim.records


@pytest.mark.slow  # the full preset for 16 s; the strict identities of BAM also hold in the
# batch-independence case banking/bam (slow tier too)
def test_the_preset_runs_through_econsim_run_with_every_identity_holding(tmp_path):
    raw = yaml.safe_load((ROOT / "configs/banking/bam.yaml").read_text())
    raw["figures"] = []  # drawing is tested elsewhere; this is about the run
    config = tmp_path / "bam.yaml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True))
    out = tmp_path / "bam"
    result = CliRunner().invoke(app, ["run", str(config), "--steps", "12", "--runs", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output  # strict by default: an identity failing stops the run
    df = econsim.load(out).to_pandas()
    assert len(df) == 2 * 13 and (df[df.timestep > 0].gdp > 0).all()
    assert (df[df.timestep > 0].unemployment < 1).all()


@pytest.mark.slow  # compiling the BAM step's two kernels takes about 35 s in a fresh clone: every test that
# runs a BAM step is in the slow tier (CI runs it), the pure functions' tests stay in the default one
def test_bam_unemployment_cycles_and_firm_sizes_are_those_of_the_book(economy):
    """After a burn-in: unemployment in a plausible band (bamengine's defaults give about 18 %), GDP growth
    with a nonzero variance (endogenous cycles, no exogenous shock to aggregates), firms failing and
    entering, positive mean inflation, and a right-skewed firm-size distribution."""
    sim, rec = economy
    c = rec.columns
    burn = slice(101, None)
    u = c["unemployment"][burn]
    assert ((u.mean(axis=0) > 0.04) & (u.mean(axis=0) < 0.35)).all(), u.mean(axis=0)
    growth = np.diff(np.log(c["gdp"][burn]), axis=0)
    assert (growth.std(axis=0) > 1e-3).all() and (growth.std(axis=0) < 0.1).all(), growth.std(axis=0)
    assert (c["firm_bankruptcies"][burn].mean(axis=0) > 0.05).all()
    price = c["average_price"][burn]
    yoy = price[4:] / price[:-4] - 1
    assert (yoy.mean(axis=0) > 0).all() and (yoy.mean(axis=0) < 0.05).all(), yoy.mean(axis=0)
    sizes = sim.sizes  # (runs, firms × 14 snapshots)
    assert (sizes.mean(axis=1) > np.median(sizes, axis=1)).all()  # right-skewed in every run
    skew = ((sizes - sizes.mean(axis=1, keepdims=True)) ** 3).mean(axis=1) / sizes.std(axis=1) ** 3
    assert (skew > 0).all(), skew


@pytest.mark.slow  # compiling the BAM step's two kernels takes about 35 s in a fresh clone: every test that
# runs a BAM step is in the slow tier (CI runs it), the pure functions' tests stay in the default one
def test_the_minimum_wage_moves_only_at_its_revisions_by_last_years_inflation(economy):
    _, rec = economy
    c = rec.columns
    w, p = c["minimum_wage"], c["average_price"]
    t = rec.times
    moved = np.flatnonzero(np.any(np.abs(np.diff(w, axis=0)) > 0, axis=1)) + 1  # record index of a change
    assert set(t[moved]) <= set(range(5, 241, 4))
    assert len(moved) > 40
    for i in (9, 13, 101):  # w_min,t = w_min,t−1 · P̄_{t−1}/P̄_{t−5}
        np.testing.assert_allclose(w[i], w[i - 1] * p[i - 1] / p[i - 5], rtol=1e-12)
    # every employed worker is paid at least the minimum wage
    sim, _ = economy
    employed = sim.state["households.employer"] >= 0
    wage = sim.state["households.wage"]
    assert (wage[employed] >= np.repeat(w[-1][:, None], wage.shape[1], axis=1)[employed] - 1e-12).all()


@pytest.mark.slow  # compiling the BAM step's two kernels takes about 35 s in a fresh clone: every test that
# runs a BAM step is in the slow tier (CI runs it), the pure functions' tests stay in the default one
def test_loans_last_one_step_and_dividends_are_shared_equally(economy):
    """At the end of a step every loan is repaid or written off; the dividends of the step reach every
    household in equal shares; households and firms never hold negative deposits."""
    sim, rec = economy
    led = sim.params.ledger_template.load(sim.state, prefix=accounts.PREFIX)
    assert np.abs(led.stock_of("firms", "loans")).max() < 1e-12
    assert np.abs(led.stock_of("banks", "loans")).max() < 1e-12
    assert (rec.columns["loans_granted"][1:] > 0).mean() > 0.25
    div = sim.state["households.other_income"]
    np.testing.assert_allclose(div, np.broadcast_to(div.mean(axis=1, keepdims=True), div.shape), rtol=1e-9)
    assert (led.stock_of("households", "deposits") >= -1e-12).all()
    assert (led.stock_of("firms", "deposits") >= -1e-12).all()
    # the transactions-flow matrix of the last step: firms' wages, households' consumption, both non-zero
    tfm = led.transactions_flow().frame(0)
    assert tfm.loc["wages", "households"] > 0 and tfm.loc["consumption", "households"] < 0


def test_the_preset_starts_from_bamengines_initial_conditions():
    sim = Simulation(model, PRESET, runs=1, seed=1)
    s = sim.state
    np.testing.assert_array_equal(s["firms.price"], 0.5)
    np.testing.assert_array_equal(s["firms.output"], 500 * 0.5 / 100)  # n_h·φ/n_f
    np.testing.assert_array_equal(s["firms.offer"], 0.5 / 3)
    np.testing.assert_array_equal(s["households.employer"], -1)
    led = sim.params.ledger_template.load(s, prefix=accounts.PREFIX)
    np.testing.assert_allclose(led.net_worth[0, led.holders("firms")], 2.5 * 0.5 * 6.0)
    np.testing.assert_allclose(led.net_worth[0, led.holders("banks")], 5.0)
    np.testing.assert_allclose(led.stock_of("households", "deposits"), 1.0)
    assert s["minimum_wage"][0] == pytest.approx(0.5 / 3 * 0.5)


@pytest.mark.slow  # compiling the BAM step's two kernels takes about 35 s in a fresh clone: every test that
# runs a BAM step is in the slow tier (CI runs it), the pure functions' tests stay in the default one
def test_every_firm_makes_the_one_good_whatever_the_capital_goods_share():
    a = econsim.run(
        {"model": "banking", "params": {**HALF, "capital_firm_share": 0.3}, "steps": 6, "seed": 2}
    )
    b = econsim.run({"model": "banking", "params": HALF, "steps": 6, "seed": 2})
    pd.testing.assert_frame_equal(
        a.to_pandas().drop(columns="capital_firm_share", errors="ignore"),
        b.to_pandas().drop(columns="capital_firm_share", errors="ignore"),
    )


# --- the kernels -----------------------------------------------------------------------------------------
def test_fire_sheds_a_count_or_until_the_gap_is_covered():
    employer = np.array([[0, 0, 0, 1, 1, -1]])
    wage = np.array([[1.0, 2.0, 3.0, 1.0, 1.0, 0.0]])
    previous, fired, contract, expired = (np.zeros((1, 6), dtype=np.int64) for _ in range(4))
    units = np.array([[3, 2]])
    bill = np.array([[6.0, 2.0]])
    u = np.random.default_rng(1).integers(0, 2**32, (1, 6), dtype=np.uint32)
    e = employer.copy()
    fire(
        e,
        wage.copy(),
        previous,
        fired,
        contract,
        expired,
        units,
        np.array([[2, 0]]),
        np.zeros((1, 2)),
        bill,
        u,
        0,
    )
    assert units.tolist() == [[1, 2]] and fired.sum() == 2 and (previous[0, :3][e[0, :3] < 0] == 0).all()
    assert bill[0, 0] == pytest.approx(wage[0, :3][e[0, :3] >= 0].sum()) and bill[0, 1] == 2.0
    e, w, bill = employer.copy(), wage.copy(), np.array([[6.0, 2.0]])
    gap = np.array([[2.5, 0.0]])
    units = np.array([[3, 2]])
    fire(e, w, previous, fired, contract, expired, units, np.zeros((1, 2), dtype=np.int64), gap, bill, u, 1)
    shed = wage[0, :3][e[0, :3] < 0].sum()
    assert shed >= 2.5 and gap[0, 0] == 0.0 and (e[0, 3:5] == 1).all()
    assert shed - wage[0, :3][e[0, :3] < 0].max() < 2.5  # the last one fired was needed
    assert bill[0, 0] == pytest.approx(6.0 - shed)


def test_labour_market_fills_vacancies_and_puts_the_last_employer_first():
    n_h, n_f, m = 6, 3, 2
    employer = np.full((1, n_h), -1)
    wage = np.zeros((1, n_h))
    previous = np.array([[2, -1, -1, -1, -1, -1]])
    fired = np.zeros((1, n_h), dtype=np.int64)
    contract = np.zeros((1, n_h), dtype=np.int64)
    expired = np.array([[1, 0, 0, 0, 0, 0]])
    units = np.zeros((1, n_f), dtype=np.int64)
    vacancies = np.array([[1, 1, 1]])
    offer = np.array([[1.0, 2.0, 0.5]])
    bill = np.zeros((1, n_f))
    rng = np.random.default_rng(2)
    pick, order = (rng.integers(0, 2**32, (1, n_h, m), dtype=np.uint32) for _ in range(2))
    labour_market(
        employer, wage, previous, fired, contract, expired, units, vacancies, offer, pick, order, 8, bill
    )
    assert employer[0, 0] == 2  # loyal to its last employer, which had a vacancy
    assert vacancies.sum() == 0 and units.tolist() == [[1, 1, 1]]
    hired = employer[0] >= 0
    np.testing.assert_array_equal(wage[0, hired], offer[0, employer[0, hired]])
    assert (contract[0, hired] == 8).all() and expired.sum() == 0
    np.testing.assert_allclose(bill, offer)  # one worker each at its offer


def test_shop_buys_cheapest_first_and_never_overdraws():
    n_h, n_f, z = 40, 5, 2
    rng = np.random.default_rng(3)
    budget = rng.random((1, n_h))
    price = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    stock = np.full((1, n_f), 2.0)
    output = np.array([[1.0, 5.0, 2.0, 2.0, 2.0]])
    favourite = np.full((1, n_h), -1)
    revenue, sold = np.zeros((1, n_f)), np.zeros((1, n_f))
    left = budget.copy()
    words = rng.integers(0, 2**32, (1, n_h, z + 1), dtype=np.uint32)
    visit, order = np.ascontiguousarray(words[:, :, :z]), np.ascontiguousarray(words[:, :, z])
    shop(left, favourite, price, stock, output, visit, order, revenue, sold)
    assert (left >= 0).all() and (stock >= -1e-12).all()
    np.testing.assert_allclose(revenue.sum() + left.sum(), budget.sum(), rtol=1e-12)  # money is kept
    np.testing.assert_allclose(stock + sold, 2.0)
    np.testing.assert_allclose(revenue, sold * price)
    # the cheapest firm sells out first: dearer ones sell only once it has
    assert stock[0, 0] <= 1e-12 or sold[0, 1:].sum() == 0
    assert ((favourite >= 0) & (favourite < n_f)).all()
    # a household visiting two of five firms remembers the larger producer of its pair
    assert (output[0, favourite[0]] >= 2.0).all()


def test_trimmed_mean_drops_five_percent_at_each_end():
    values = np.arange(40, dtype=float)[None, :]
    mask = np.ones((1, 40), dtype=bool)
    out = np.zeros((1, 1))
    trimmed_mean(values, mask, 0.05, out)
    assert out[0, 0] == pytest.approx(np.arange(2, 38).mean())
    mask[0, 20:] = False
    trimmed_mean(values, mask, 0.05, out)
    assert out[0, 0] == pytest.approx(np.arange(1, 19).mean())


def test_the_step_reads_the_words_of_its_block_as_drawing_the_whole_block_would():
    """``Stream.deferred_words`` with ``_fill`` gives the words ``Stream.words`` draws, any rows of them,
    and leaves the stream where drawing them leaves it (the next draws agree)."""
    from econsim.engine.streams import RandomStreams
    from econsim.models.banking.bam_markets import _fill

    # a fetch of 256 words or more, a short one, one the buffer holds
    for n, before in ((1000, 3), (301, 0), (100, 1), (7, 2)):
        drawn, lazy = RandomStreams(5, np.arange(3)[:, None]), RandomStreams(5, np.arange(3)[:, None])
        drawn("bam").words(before)
        lazy("bam").words(before)
        expected = drawn("bam").words(n).view(np.uint32)
        head, block = lazy("bam").deferred_words(n)
        rows = np.arange(2 * n // 5) % 3 != 1  # rows of five words, every third one skipped
        for b in range(3):
            out = np.zeros(2 * n, dtype=np.uint32)
            _fill(lazy("bam").keys[b], np.ascontiguousarray(head[b]), block, 0, 5, rows, out)
            kept = np.repeat(rows, 5)
            np.testing.assert_array_equal(out[: kept.size][kept], expected[b, : kept.size][kept])
            assert not out[: kept.size][~kept].any()
        np.testing.assert_array_equal(drawn("bam").words(300), lazy("bam").words(300))


def test_sums_are_numpys_pairwise_sums():
    from econsim.models.banking.bam_markets import _column_sums, _pairwise, _sum

    rng = np.random.default_rng(4)
    for n in (0, 1, 7, 8, 9, 127, 128, 129, 1000, 4099):
        x = rng.standard_normal(n) * 10.0 ** rng.uniform(-6, 6, n)
        assert _sum(x) == x.sum()
        y = rng.standard_normal((max(n, 1), 3))
        assert _pairwise(y.ravel(), 2, max(n, 1), 3) == y[:, 2].sum()
        z = rng.standard_normal((n + 2, 4)) * 10.0 ** rng.uniform(-6, 6, (n + 2, 4))
        out = np.empty(4)
        _column_sums(z, 1, n, out)  # a sector's members after its first: add.reduceat's order
        np.testing.assert_array_equal(z[0] + out, np.add.reduceat(z, [0, n + 1], axis=0)[0])
