"""Agents rebalance against each chain's constant-product pools (§4.2), in integer base units.

Agent i's risk target on chain c for asset a is w_ica = clip(μ_i1 · exp(s_ca), 0, 1), with the chain's
sentiment s_ca an Ornstein–Uhlenbeck walk (s' = (1 − κ_s)·s + σ_s·z). With V_ic the agent's value on the
chain and the risk measure Λ(H + r) = ½λ·(value_a + r − w·V/A)² and cost C(r) = ½κ·r², the rebalancing

    r_ica = argmin_r Λ + C = φ · (w_ica·V_ic/A − H_ica·P_ca),      φ = λ / (λ + κ)

is a buy (numeraire in) when positive, a sale (tokens in) when negative; buys are scaled to the cash
the agent holds, sales to the tokens. Orders below ``min_trade`` are dropped. Each pool executes the
chain's sales then its buys as two batched swaps — the project's AMM closed form
dy = y·a(1 − f)/(x + a(1 − f)) (``mechanisms.amm.swap_output``), floored — and every trader gets its
pro-rata share, floored; the undistributed units stay in the pool, so no unit is created or lost. A
share depends only on its own order and the pool's totals (integer sums), never on the other traders'
order of filling, so agents may be filled block by block.
"""

from __future__ import annotations

import numpy as np
from numba import prange

from econsim.engine import Arrays, RandomStreams, per_run
from econsim.engine.jit import njit
from econsim.engine.kernels import jit
from econsim.models.network.prefetch import BLOCKS
from econsim.models.network.state import UNIT


def rebalance_fraction(risk_aversion, trade_cost):
    """φ = λ/(λ + κ): the share of the gap to target closed in one step."""
    return np.asarray(risk_aversion, float) / (
        np.asarray(risk_aversion, float) + np.asarray(trade_cost, float)
    )


def _orders_one(holdings, mu, sentiment, pool_cash, pool_asset, phi, min_trade, orders, sells, buys):
    """Each agent's orders (base units: + numeraire in, − tokens in), and the chain's totals."""
    price, tilt = _quotes(sentiment, pool_cash, pool_asset)
    _orders_rows(
        0, holdings.shape[0], holdings, mu, tilt, price, phi, int(min_trade * UNIT), orders, sells, buys
    )


def _orders_threads_one(
    holdings, mu, sentiment, pool_cash, pool_asset, phi, min_trade, orders, sells_k, buys_k
):
    """``_orders`` over agent blocks spread over threads; block k's totals in sells_k[k], buys_k[k]."""
    price, tilt = _quotes(sentiment, pool_cash, pool_asset)
    n, blocks = holdings.shape[0], sells_k.shape[0]
    size = (n + blocks - 1) // blocks
    for k in prange(blocks):
        lo, hi = min(n, k * size), min(n, (k + 1) * size)
        _orders_rows(
            lo, hi, holdings, mu, tilt, price, phi, int(min_trade * UNIT), orders, sells_k[k], buys_k[k]
        )


@njit(inline="always")
def _quotes(sentiment, pool_cash, pool_asset):
    C, A = pool_cash.shape
    price = np.empty((C, A))
    for c in range(C):
        for a in range(A):
            price[c, a] = pool_cash[c, a] / pool_asset[c, a]
    return price, np.exp(sentiment)


@njit(inline="always")
def _orders_rows(lo, hi, holdings, mu, tilt, price, phi, floor_units, orders, sells, buys):
    C, K = holdings.shape[1], holdings.shape[2]
    A = K - 1
    for i in range(lo, hi):
        for c in range(C):
            value = float(holdings[i, c, 0])
            for a in range(A):
                value += holdings[i, c, a + 1] * price[c, a]
            wanted = 0.0
            for a in range(A):
                w = min(max(mu[i, 1] * tilt[c, a], 0.0), 1.0)
                r = phi * (w * value / A - holdings[i, c, a + 1] * price[c, a])
                if r > 0.0:
                    orders[i, c, a] = int(r)
                    wanted += orders[i, c, a]
                else:
                    orders[i, c, a] = -min(int(-r / price[c, a]), holdings[i, c, a + 1])
            cash = holdings[i, c, 0]
            scale = cash / wanted if wanted > cash else 1.0
            for a in range(A):
                o = orders[i, c, a]
                if o > 0:
                    o = int(o * scale)
                    if o < floor_units:
                        o = 0
                    buys[c, a] += o
                elif -o * price[c, a] < floor_units:
                    o = 0
                else:
                    sells[c, a] -= o
                orders[i, c, a] = o


def _execute_one(pool_cash, pool_asset, sells, buys, pool_fee, cash_out, asset_out, rate, out):
    """Each pool's two batched swaps (sales, then buys) and the pro-rata rates (0: sales, 1: buys)."""
    C, A = pool_cash.shape
    volume = 0.0
    for c in range(C):
        for a in range(A):
            x, y = pool_asset[c, a], pool_cash[c, a]
            price = y / x
            cash_out[c, a], asset_out[c, a] = 0, 0
            if sells[c, a] > 0:
                net = sells[c, a] * (1.0 - pool_fee)
                cash_out[c, a] = max(0, min(int(net * y / (x + net)), y - 1))
                x += sells[c, a]
                y -= cash_out[c, a]
            if buys[c, a] > 0:
                net = buys[c, a] * (1.0 - pool_fee)
                asset_out[c, a] = max(0, min(int(net * x / (y + net)), x - 1))
                y += buys[c, a]
                x -= asset_out[c, a]
            pool_asset[c, a], pool_cash[c, a] = x, y
            volume += (sells[c, a] * price + buys[c, a]) / UNIT
            # pro-rata shares, floored; (1 − 1e-12) keeps float rounding from handing out more than there is
            rate[0, c, a] = cash_out[c, a] / sells[c, a] * (1.0 - 1e-12) if sells[c, a] > 0 else 0.0
            rate[1, c, a] = asset_out[c, a] / buys[c, a] * (1.0 - 1e-12) if buys[c, a] > 0 else 0.0
    out[0] = volume


def _fill_one(holdings, orders, rate, cash_out, asset_out, traded, paid):
    """Every trader's pro-rata share, floored (each share depends on its own order only, so agents can
    be filled in any order or place); ``paid`` (2, C, A) counts what left the pools' outputs."""
    _fill_rows(0, holdings.shape[0], holdings, orders, rate, cash_out, asset_out, traded, paid)


def _fill_threads_one(holdings, orders, rate, cash_out, asset_out, traded, paid_k):
    """``_fill`` over agent blocks spread over threads; block k's counts in paid_k[k]."""
    n, blocks = holdings.shape[0], paid_k.shape[0]
    size = (n + blocks - 1) // blocks
    for k in prange(blocks):
        lo, hi = min(n, k * size), min(n, (k + 1) * size)
        _fill_rows(lo, hi, holdings, orders, rate, cash_out, asset_out, traded, paid_k[k])


@njit(inline="always")
def _fill_rows(lo, hi, holdings, orders, rate, cash_out, asset_out, traded, paid):
    C, K = holdings.shape[1], holdings.shape[2]
    for i in range(lo, hi):
        traded[i] = 0.0
        for c in range(C):
            for a in range(K - 1):
                o = orders[i, c, a]
                if o < 0:
                    got = min(int(-o * rate[0, c, a]), cash_out[c, a])
                    paid[0, c, a] += got
                    holdings[i, c, a + 1] += o
                    holdings[i, c, 0] += got
                    traded[i] += got / UNIT
                elif o > 0:
                    got = min(int(o * rate[1, c, a]), asset_out[c, a])
                    paid[1, c, a] += got
                    holdings[i, c, 0] -= o
                    holdings[i, c, a + 1] += got
                    traded[i] += o / UNIT


_orders = per_run(_orders_one, cache=True)
_execute = per_run(_execute_one, cache=True)
_fill = per_run(_fill_one, cache=True)
_orders_threads = per_run(jit(_orders_threads_one, cache=True, parallel=True))
_fill_threads = per_run(jit(_fill_threads_one, cache=True, parallel=True))


def settle(pool_cash, pool_asset, cash_out, asset_out, paid):
    """The undistributed units stay in the pools: pool += output − Σ shares (exact integers)."""
    pool_cash += cash_out - paid[..., 0, :, :]
    pool_asset += asset_out - paid[..., 1, :, :]


def _rebalance(
    holdings, mu, sentiment, pool_cash, pool_asset, phi, pool_fee, min_trade, orders, traded, out, threads=1
):
    """The whole rebalancing of a batch, in place: orders, the pools' swaps, the shares, the remainders.

    The totals (``sells``, ``buys``, ``paid``) are integer sums over agents, the same in any order, which
    is what lets a partitioned run compute them block by block (``models.network.partitioned``) and a
    run's agent blocks go to ``threads`` threads."""
    B, _, C, K = holdings.shape
    if threads > 1:
        sells_k, buys_k = np.zeros((B, BLOCKS, C, K - 1), np.int64), np.zeros((B, BLOCKS, C, K - 1), np.int64)
        _orders_threads(
            holdings, mu, sentiment, pool_cash, pool_asset, phi, min_trade, orders, sells_k, buys_k
        )
        sells, buys = sells_k.sum(axis=1), buys_k.sum(axis=1)
    else:
        sells, buys = np.zeros((B, C, K - 1), np.int64), np.zeros((B, C, K - 1), np.int64)
        _orders(holdings, mu, sentiment, pool_cash, pool_asset, phi, min_trade, orders, sells, buys)
    cash_out, asset_out = np.empty_like(sells), np.empty_like(sells)
    rate = np.empty((B, 2, C, K - 1))
    _execute(pool_cash, pool_asset, sells, buys, pool_fee, cash_out, asset_out, rate, out)
    if threads > 1:
        paid_k = np.zeros((B, BLOCKS, 2, C, K - 1), np.int64)
        _fill_threads(holdings, orders, rate, cash_out, asset_out, traded, paid_k)
        paid = paid_k.sum(axis=1)
    else:
        paid = np.zeros((B, 2, C, K - 1), np.int64)
        _fill(holdings, orders, rate, cash_out, asset_out, traded, paid)
    settle(pool_cash, pool_asset, cash_out, asset_out, paid)


def next_sentiment(s: Arrays, p, rng: RandomStreams) -> np.ndarray:
    """s' = (1 − κ_s)·s + σ_s·z per chain and asset: (B, C, A)."""
    z = rng("sentiment").standard_normal(s.sentiment.shape[1:])
    kappa = np.asarray(p.sentiment_reversion, float).reshape(-1, 1, 1)
    sigma = np.asarray(p.sentiment_vol, float).reshape(-1, 1, 1)
    return (1.0 - kappa) * s.sentiment + sigma * z


def rebalance(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Sentiment moves, then every agent rebalances on every chain against the pools."""
    sentiment = next_sentiment(s, p, rng)
    holdings, pool_cash, pool_asset = s.agents.holdings.copy(), s.pool_cash.copy(), s.pool_asset.copy()
    orders = np.empty((*holdings.shape[:3], holdings.shape[3] - 1), np.int64)
    traded = np.empty(holdings.shape[:2])
    out = np.zeros((p.n_runs, 1))
    _rebalance(
        holdings,
        s.agents.mu,
        sentiment,
        pool_cash,
        pool_asset,
        rebalance_fraction(p.risk_aversion, p.trade_cost),
        np.asarray(p.pool_fee, float),
        np.asarray(p.min_trade, float),
        orders,
        traded,
        out,
        int(p.threads),
    )
    return {
        "sentiment": sentiment,
        "agents.holdings": holdings,
        "pool_cash": pool_cash,
        "pool_asset": pool_asset,
        "agents.traded": traded,
        "amm_volume": out[:, 0],
    }
