"""The tokens model: conservation of every token, reserve and money on every venue with one and
several tokens, arbitrage that profits from and closes price gaps in every market mode, the order
book, a regression against the single-token implementation, bounds, learning that improves its own
reward, replicator shares on the simplex, and every scenario config running."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from econsim.engine import ConfigError
from econsim.engine.simulation import Simulation
from econsim.engine.state import Arrays
from econsim.engine.streams import RandomStreams
from econsim.experiment.runner import run
from econsim.mechanisms import BUY, LIMIT, SELL, ConstantProductPool, LimitOrderBook, order_book, swap
from econsim.models.registry import get_model
from econsim.models.tokens import learning, market, venues
from econsim.models.tokens.population import STRATEGIES, K, assign_strategies, counts_bk, gini_b

CONFIGS = sorted((Path(__file__).parents[2] / "configs" / "tokens").glob("*.yaml"))
ONLY_LEARNERS = {"population": "custom", **{f"share_{k}": 0.0 for k in STRATEGIES}, "share_learning": 1.0}


def simulate_tokens(steps: int = 120, runs: int = 3, seed: int = 7, overrides=None, **params):
    """Step the model directly; return (params, initial state copy, final state)."""
    sim = Simulation(get_model("tokens"), {"N": 60, "shock_step": steps // 2, **params}, runs=runs, seed=seed)
    s = sim.state
    for name, fn in (overrides or {}).items():
        s[name] = fn(s)
    start = Arrays({k: v.copy() for k, v in s.items()})
    sim.run(steps)
    return sim.params, start, s


def held_tokens(s):
    """Every token's units held by agents, AMM pools and the outside account: (B, J)."""
    return s.tokens.sum(1) + s.pool_tokens + s.outside_tokens


def money(s):
    """All cash: agents', the AMM pools', the curves' reserves, the outside account and the treasury."""
    return s.cash.sum(-1) + s.pool_cash.sum(-1) + s.reserve.sum(-1) + s.outside_cash + s.treasury


@pytest.mark.parametrize("n_tokens", [1, 3])
@pytest.mark.parametrize("curve", venues.CURVES)
def test_bonding_curve_conserves_tokens_reserve_and_money(curve, n_tokens):
    p, s0, s = simulate_tokens(venue="bonding_curve", curve=curve, n_tokens=n_tokens)
    assert s.tokens.shape == (3, 60, n_tokens) and s.price.shape == (3, n_tokens)
    # every token is held by an agent or its AMM; each curve's reserve backs exactly its supply
    np.testing.assert_allclose(s.tokens.sum(1) + s.pool_tokens, s.supply, rtol=1e-10)
    np.testing.assert_allclose(s.reserve, venues.curve_reserve(p, s.supply), rtol=1e-9)
    np.testing.assert_allclose(money(s), money(s0), rtol=1e-10)
    assert (s.supply != s0["supply"]).all()  # every curve did mint and burn


@pytest.mark.parametrize("n_tokens", [1, 3])
@pytest.mark.parametrize("venue", ["call_auction", "tatonnement", "order_book"])
def test_market_clearing_conserves_every_token_and_money(venue, n_tokens):
    _p, s0, s = simulate_tokens(venue=venue, n_tokens=n_tokens, steps=60)
    np.testing.assert_allclose(held_tokens(s), held_tokens(s0), rtol=1e-10)
    np.testing.assert_allclose(money(s), money(s0), rtol=1e-10)
    assert (s.price != s0["price"]).all()
    assert (s.cash >= -1e-9).all() and (s.tokens >= -1e-9).all()


@pytest.mark.parametrize("n_tokens", [1, 2])
def test_exogenous_venue_conserves_against_the_outside_account(n_tokens):
    _p, s0, s = simulate_tokens(venue="exogenous", n_tokens=n_tokens)
    np.testing.assert_allclose(s.cash.sum(-1) + s.outside_cash, s0["cash"].sum(-1), rtol=1e-10)
    np.testing.assert_allclose(s.tokens.sum(1) + s.outside_tokens, s0["tokens"].sum(1), rtol=1e-10)


@pytest.mark.parametrize("allocation", ["proportional", "priority", "auction"])
def test_resource_economy_conserves_money_and_respects_capacity(allocation):
    _p, s0, s = simulate_tokens(venue="resource", allocation=allocation, capacity=0.5)
    np.testing.assert_allclose(s.cash.sum(-1) + s.treasury, s0["cash"].sum(-1), rtol=1e-10)
    assert (s.fill[..., 0].sum(-1) <= 0.5 * 60 * (1 + 1e-12)).all()
    assert ((s.useful_utilization >= 0) & (s.useful_utilization <= s.utilization + 1e-12)).all()
    assert (s.utilization <= 1 + 1e-12).all()


def test_resource_economy_has_one_resource():
    with pytest.raises(ConfigError, match="n_tokens"):
        simulate_tokens(venue="resource", n_tokens=2, steps=1)


@pytest.mark.parametrize(
    "venue", ["bonding_curve", "call_auction", "tatonnement", "order_book", "exogenous", "resource"]
)
def test_bounds(venue):
    n_tokens = 1 if venue == "resource" else 2
    _p, _, s = simulate_tokens(venue=venue, selection=20.0, evolve_every=10, n_tokens=n_tokens, steps=80)
    assert (s.cash >= -1e-9).all() and (s.tokens >= -1e-9).all()
    assert (s.price > 0).all() and (s.pool_tokens >= 0).all()
    assert ((s.max_drawdown >= 0) & (s.max_drawdown <= 1)).all()
    np.testing.assert_allclose(s.shares.sum(-1), 1.0, rtol=1e-12)
    assert ((s.strategy >= 0) & (s.strategy < K)).all()


def test_population_counts_follow_the_mix():
    p = get_model("tokens").param_arrays({"N": 101, "population": "strategic"}, 2)
    from econsim.models.tokens.population import mix_bk

    shares = mix_bk(p)
    np.testing.assert_allclose(shares.sum(-1), 1.0)
    counts = counts_bk(shares, 101)
    assert (counts.sum(-1) == 101).all() and (np.abs(counts - 101 * shares) < 1).all()
    strategy = assign_strategies(shares, 101, RandomStreams(1, np.arange(2)[:, None]))
    for k in range(K):
        assert ((strategy == k).sum(-1) == counts[:, k]).all()


def test_gini_closed_forms():
    assert gini_b(np.full((1, 10), 3.0))[0] == pytest.approx(0.0)
    one_has_all = np.zeros((1, 10))
    one_has_all[0, 3] = 5.0
    assert gini_b(one_has_all)[0] == pytest.approx(0.9)  # (n − 1)/n


def test_q_update_is_the_bellman_step():
    q = np.zeros((2, learning.N_STATES, learning.N_ACTIONS))
    q[:, 5] = [1.0, 4.0, 2.0]
    new = learning.q_update(
        q,
        np.array([0, 3]),
        np.array([2, 1]),
        np.array([1.0, -1.0]),
        np.array([5, 5]),
        np.array([0.5, 0.1]),
        np.array([0.9, 0.0]),
    )
    assert new[0, 0, 2] == pytest.approx(0.5 * (1.0 + 0.9 * 4.0))
    assert new[1, 3, 1] == pytest.approx(0.1 * -1.0)
    assert (q[:, 0] == 0).all()  # the input table is untouched


def test_replicator_stays_on_the_simplex_and_favours_the_fitter():
    shares = np.array([[0.5, 0.3, 0.2, 0.0]])
    fitness = np.array([[0.1, -0.2, 0.3, 9.0]])
    new = learning.replicator(shares, fitness, np.array([5.0]))
    assert new.sum() == pytest.approx(1.0)
    assert new[0, 3] == 0.0  # an extinct strategy stays extinct
    assert new[0, 2] > shares[0, 2] and new[0, 1] < shares[0, 1]
    u = np.random.default_rng(0).random((1, 20000))
    drawn = learning.draw_from_shares(new, u)
    np.testing.assert_allclose(np.bincount(drawn[0], minlength=4) / 20000, new[0], atol=0.015)


def test_learning_agents_improve_their_own_reward_in_a_fixed_environment():
    """Q-learners alone against an exogenous price cycle: their mean return per step rises."""
    params = {
        **ONLY_LEARNERS,
        "N": 60,
        "venue": "exogenous",
        "value_vol": 0.0,
        "cycle_amplitude": 0.2,
        "cycle_period": 16.0,
        "trade_fraction": 1.0,
        "epsilon": 0.05,
    }
    results = run({"model": "tokens", "params": params, "runs": 2, "steps": 700, "seed": 5}, progress=False)
    reward = results.stacked("learner_reward")
    early, late = reward[:, 2:100].mean(), reward[:, 500:].mean()
    assert late > early + 0.2, (early, late)


def test_shock_is_measured():
    _p, _, s = simulate_tokens(venue="bonding_curve", steps=200, shock_size=0.5)
    assert (s.shock_drawdown > 0.05).all()
    assert (s.recovery_time > 0).all()


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_scenario_configs_run_with_their_figures(config, tmp_path):
    results = run(config, steps=12, runs=1, params={"N": 30}, out=str(tmp_path / "out"), progress=False)
    assert results.complete
    figures = list((tmp_path / "out" / "figures").glob("*.png"))
    assert len(figures) >= 2
    assert "summary" in results.reports


# The single-token implementation's output (commit 47987ae, before holdings became (B, N, J)), computed
# by running that code with these exact arguments: simulate_tokens(steps=80, runs=2, seed=11, **case).
# The J-token model with n_tokens = 1 must reproduce it (it does bit for bit; the tolerance only
# allows for another platform's libm). The clearing venues use a population without arbitrageurs,
# because their arbitrage changed on purpose: the old code's arbitrageurs did nothing in tâtonnement
# and quoted at the AMM's price in the call auction (so they paid their own limit and lost).
SINGLE_TOKEN_RESULTS = {
    "bonding_curve": (
        {"venue": "bonding_curve"},
        {
            "price": [1.1588325516762354, 1.1969752721180134],
            "cash": [750.8189700565587, 721.5210125346771],
            "volatility": [0.027436980727611502, 0.026991651117089153],
            "exploitation": [-0.00014191693209911882, 0.00018292331259936025],
        },
    ),
    "call_auction": (
        {"venue": "call_auction", "population": "learning"},
        {
            "price": [1.2535604009512513, 1.2405389750525528],
            "cash": [722.2210337004988, 724.1189559451801],
            "volatility": [0.0070585602800134145, 0.006876378724910601],
            "exploitation": [0.006254845516878313, 0.0037062605920302433],
        },
    ),
    "tatonnement": (
        {"venue": "tatonnement", "population": "learning"},
        {"price": [1.04876153390926, 1.0328552277603449], "cash": [700.8897637263592, 705.2263138416444]},
    ),
}


@pytest.mark.parametrize("case", SINGLE_TOKEN_RESULTS)
def test_one_token_reproduces_the_single_token_implementation(case):
    params, expected = SINGLE_TOKEN_RESULTS[case]
    p, _, s = simulate_tokens(steps=80, runs=2, seed=11, **params)
    observed = get_model("tokens").observe(s, p)
    got = {
        "price": s.price[:, 0],
        "cash": s.cash.sum(-1),
        **{k: observed[k] for k in ("volatility", "exploitation")},
    }
    for name, values in expected.items():
        np.testing.assert_allclose(got[name], values, rtol=1e-12, err_msg=name)


ARBITRAGE_MODES = ["bonding_curve", "call_auction", "tatonnement", "order_book"]
ARBS_AND_NOISE = {
    "population": "custom",
    **{f"share_{k}": 0.0 for k in STRATEGIES},
    "share_arbitrage": 0.3,
    "share_noise": 0.7,
}


def _gap(s):
    return np.abs(np.log(s.pool_cash / s.pool_tokens / s.price))


@pytest.mark.parametrize("venue", ARBITRAGE_MODES)
def test_arbitrage_profits_from_a_price_gap_and_closes_it(venue):
    """AMM 25% above the primary price for token 0 and 20% below for token 1; only arbitrageurs use
    the AMM. After one step each gap is smaller and the arbitrageurs gained."""
    skew = {"pool_cash": lambda s: s.pool_tokens * s.price * np.array([1.25, 0.8])}
    _p, s0, s = simulate_tokens(
        steps=1,
        runs=4,
        venue=venue,
        n_tokens=2,
        amm_share=0.0,
        shock_step=0,
        overrides=skew,
        **ARBS_AND_NOISE,
    )
    assert (_gap(s) < 0.8 * _gap(s0)).all(), (_gap(s0), _gap(s))
    assert (s.arb_profit > 0).all() and (s.arb_gain == s.arb_profit).all()
    # the arbitrageurs bought token 0 where it is cheap and token 1 on the AMM where it is cheap
    arb = s.strategy == STRATEGIES.index("arbitrage")
    assert (np.where(arb[..., None], s.arb_volume[:, None, :], 0).sum(1) > 0).all()


@pytest.mark.slow
@pytest.mark.parametrize("venue", ARBITRAGE_MODES)
def test_arbitrage_gains_in_expectation_and_narrows_the_gap_in_every_mode(venue):
    """The mixed population with two tokens: arbitrageurs gain on average over runs, and the mean gap
    between each token's primary and AMM prices is smaller than with noise traders in their place."""

    def mean_gap(**params):
        sim = Simulation(
            get_model("tokens"), {"N": 60, "venue": venue, "n_tokens": 2, **params}, runs=4, seed=3
        )
        s = sim.state
        gaps = []
        for _ in range(60):
            sim.step()
            gaps.append(_gap(s).mean())
        return np.mean(gaps), s

    with_arbs, s = mean_gap(population="mixed")
    without, _ = mean_gap(
        population="custom",
        **{
            f"share_{k}": v
            for k, v in zip(STRATEGIES, (0.12, 0.12, 0.12, 0.22, 0.12, 0.0, 0.1, 0.2), strict=True)
        },
    )
    assert s.arb_gain.mean() > 0
    assert with_arbs < without, (with_arbs, without)


def test_order_book_matches_within_budgets_and_limits():
    """One order-book step without AMM routing or arbitrageurs: every traded unit has a buyer and a
    seller (Σ fill = 0, Σ cash = 0 per token), and the new price is a limit price within the slack."""
    rule_only = {"population": "rule_based", "amm_share": 0.0, "shock_step": 0, "max_slack": 0.02}
    _p, s0, s = simulate_tokens(steps=1, runs=3, venue="order_book", n_tokens=2, **rule_only)
    np.testing.assert_allclose(s.fill.sum(1), 0.0, atol=1e-9)
    np.testing.assert_allclose(s.fill_cash.sum(1), 0.0, atol=1e-9)
    assert (s.volume > 0).all()
    assert (np.abs(s.price / s0["price"] - 1) <= 0.02 + 1e-4).all()
    bought = np.maximum(s.fill, 0)
    spent = np.maximum(-s.fill_cash, 0).sum(-1)
    assert (spent <= s0["cash"] + 1e-9).all() and (np.maximum(-s.fill, 0) <= s0["tokens"] + 1e-12).all()
    assert (bought.sum() > 0) and (s.tokens.sum(1) == pytest.approx(s0["tokens"].sum(1)))


def test_tokens_are_traded_separately():
    """Two tokens with independent values end at different prices, and agents hold different amounts."""
    _p, _, s = simulate_tokens(venue="call_auction", n_tokens=2, steps=100)
    assert (np.abs(np.log(s.price[:, 0] / s.price[:, 1])) > 1e-3).all()
    assert (s.tokens[..., 0] != s.tokens[..., 1]).any(axis=-1).all()


@settings(max_examples=200, deadline=None)
@given(
    fee=st.sampled_from([0.0, 1e-4, 0.003, 0.01, 0.05, 0.3]),
    x=st.floats(1.0, 1e6),
    y=st.floats(1.0, 1e6),
    log_gap=st.floats(-1.0, 1.0),
)
def test_gap_orders_move_the_amm_exactly_to_the_primary_price(fee, x, y, log_gap):
    """``gap_orders``' closed forms follow ``swap``'s fee accounting (the fee stays in the pool): after
    the trade the AMM's marginal bid (or ask) is the primary price to 1e-12, at every fee. The old
    forms left the fee out of the pool and overshot, by 1.0e-3 of P at a 1 % fee and a 25 % gap."""
    price = y / x * np.exp(log_gap)
    s = Arrays({"pool_tokens": np.array([[x]]), "pool_cash": np.array([[y]]), "price": np.array([[price]])})
    p = Arrays({"amm_fee": np.array([fee])})
    to_sell, to_spend = market.gap_orders(s, p)
    g = 1.0 - fee
    pool = ConstantProductPool(s.pool_tokens, s.pool_cash, np.ones((1, 1)))
    bid, ask = g * y / x, y / x / g
    if bid > price * (1 + 1e-9):
        sold = swap(pool, to_sell, fee, x_to_y=True)
        assert abs(g * sold.pool.reserve_y[0, 0] / sold.pool.reserve_x[0, 0] / price - 1) < 1e-12
        # the exact quadratic: (x + dx)(x + g·dx)·P = g·x·y
        dx, fg = Fraction(to_sell[0, 0]), 1 - Fraction(fee)
        lhs, rhs = (x + dx) * (x + fg * dx) * Fraction(price), fg * Fraction(x) * Fraction(y)
        assert abs(float(lhs / rhs - 1)) < 1e-12
        # the arbitrageurs' limit is the mean price of that sale
        mean_bid, _ = market.gap_unwind_prices(s, p, to_sell, to_spend)
        assert mean_bid[0, 0] == pytest.approx(sold.amount_out[0, 0] / to_sell[0, 0], rel=1e-12)
    else:
        assert to_sell[0, 0] == 0.0 or bid / price - 1 < 1e-8
    if ask < price * (1 - 1e-9):
        bought = swap(pool, to_spend, fee, x_to_y=False)
        assert abs(bought.pool.reserve_y[0, 0] / bought.pool.reserve_x[0, 0] / g / price - 1) < 1e-12
        _, mean_ask = market.gap_unwind_prices(s, p, to_sell, to_spend)
        assert mean_ask[0, 0] == pytest.approx(to_spend[0, 0] / bought.amount_out[0, 0], rel=1e-12)
    else:
        assert to_spend[0, 0] == 0.0 or 1 - ask / price < 1e-8


def books_by_python_loop(buy_tick, sell_tick, buy_lots, sell_lots, arrival, price, tick, half, lot):
    """The order-book venue as it was written before it was compiled: one LimitOrderBook per market
    in a Python loop over markets, arrival order by a stable argsort, per-agent sums by bincount."""
    n_m, n_n = buy_lots.shape
    out = np.zeros((4, n_m, n_n))
    new_price, volume = price.copy(), np.zeros(n_m)
    agent = np.arange(n_n)
    for m in range(n_m):
        qty = np.concatenate([buy_lots[m], sell_lots[m]])
        live = qty > 0
        order = np.argsort(np.concatenate([arrival[0, m], arrival[1, m]])[live], kind="stable")
        side = np.concatenate([np.full(n_n, BUY), np.full(n_n, SELL)])[live][order]
        ticks = np.concatenate([buy_tick[m], sell_tick[m]])[live][order]
        owner = np.concatenate([agent, agent])[live][order]
        book = LimitOrderBook(2 * int(half[m]) + 1, capacity=max(int(live.sum()), 1))
        book.submit(np.full(order.size, LIMIT), side, ticks, qty[live][order], owner=owner)
        trades = book.trades()
        if trades.quantity.size == 0:
            continue
        units = trades.quantity * lot[m]
        cash = units * (price[m] + (trades.price - half[m]) * tick[m])
        buyer, seller = book.owner_o[trades.buy_order], book.owner_o[trades.sell_order]
        out[:, m] = [np.bincount(buyer, units, n_n), np.bincount(seller, units, n_n),
                     np.bincount(buyer, cash, n_n), np.bincount(seller, cash, n_n)]  # fmt: skip
        new_price[m] = price[m] + (book.last_price - half[m]) * tick[m]
        volume[m] = units.sum()
    return out, new_price, volume


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_n=st.integers(1, 300), half=st.integers(1, 40))
def test_compiled_order_book_venue_is_bit_identical_to_the_python_loop(seed, n_n, half):
    """venues._books (order_book.day_of_limit_orders mapped over markets by engine.per_run) against
    the per-market LimitOrderBook loop it replaced: every agent's units and cash, the new price and the
    volume agree bit for bit."""
    rng = np.random.default_rng(seed)
    n_m = 3
    buy_tick, sell_tick = (rng.integers(0, 2 * half + 1, (n_m, n_n)) for _ in range(2))
    # some agents without an order on either side (0 lots), some with many lots
    buy_lots, sell_lots = (rng.integers(0, 50, (n_m, n_n)) * (rng.random((n_m, n_n)) < 0.7) for _ in range(2))
    arrival = rng.random((2, n_m, n_n))
    price, tick = 1.0 + rng.random(n_m), 1e-3 * (1.0 + rng.random(n_m))
    halves, lot = np.full(n_m, half), 10.0 ** rng.uniform(-4, 0, n_m)
    expected = books_by_python_loop(
        buy_tick, sell_tick, buy_lots, sell_lots, arrival, price, tick, halves, lot
    )
    agents_m4n, price_volume_m2 = np.zeros((n_m, 4, n_n)), np.stack([price, np.zeros(n_m)], axis=-1)
    venues._books(buy_tick, sell_tick, buy_lots, sell_lots, arrival[0], arrival[1], 2 * halves + 1, halves,
                  price, tick, lot, agents_m4n, price_volume_m2)  # fmt: skip
    np.testing.assert_array_equal(agents_m4n, expected[0].transpose(1, 0, 2))
    np.testing.assert_array_equal(price_volume_m2[:, 0], expected[1])
    np.testing.assert_array_equal(price_volume_m2[:, 1], expected[2])


@settings(max_examples=200, deadline=None)
@given(n=st.integers(0, 3000), seed=st.integers(0, 2**32 - 1))
def test_compiled_pairwise_sum_is_bit_identical_to_numpy(n, seed):
    a = np.random.default_rng(seed).random(n) * 10.0 ** np.random.default_rng(seed + 1).uniform(-8, 8, n)
    assert order_book._pairwise_sum(a) == a.sum()
