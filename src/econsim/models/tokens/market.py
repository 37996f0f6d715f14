"""The market stages: the fundamental value, order execution on the venues, and arbitrage.

    fundamental   V_t = base_t·(1 + A·sin(2πt/T)),  base_{t+1} = base_t·exp(σ_V·z − σ_V²/2)
                  (the exogenous venue's price is V itself)
    trade         a share ``amm_share`` of every order goes to the AMM, the rest to the primary venue
                  (``venue``: bonding_curve | call_auction | tatonnement | exogenous | resource)
    arbitrage     arbitrageurs close the gap between the primary venue and the AMM (see ``arbitrage``)
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.mechanisms import ConstantProductPool, swap, swap_output
from econsim.models.tokens import resources, venues
from econsim.models.tokens.population import ARBITRAGE

_BISECTIONS = 20  # halvings of the arbitrage amount: the gap left is ~1e-6 of the arbitrageurs' cash


def _col(x) -> np.ndarray:
    return np.asarray(x)[:, None]


def fundamental(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    t = s.t + 1
    sigma = p.value_vol
    base = s.base_value * np.exp(sigma * rng("value").standard_normal() - 0.5 * sigma**2)
    value = base * (1.0 + p.cycle_amplitude * np.sin(2 * np.pi * t / p.cycle_period))
    out = {"t": t, "base_value": base, "value": value, "prev_price": s.price}
    exo = p.venue == "exogenous"
    if exo.any():
        out["price"] = np.where(exo, value, s.price)
    return out


def _merge(out: dict, part: dict, mask_b: np.ndarray, s: Arrays) -> None:
    for key, value in part.items():
        old = out.get(key, s[key])
        m = mask_b.reshape(mask_b.shape + (1,) * (np.ndim(value) - 1))
        out[key] = np.where(m, value, old)


def trade(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Execute the step's orders on the primary venue, then the AMM share on the AMM."""
    out: dict[str, np.ndarray] = {}
    for venue in np.unique(p.venue):
        mask = p.venue == venue
        part = resources.allocate(s, p, rng) if venue == "resource" else _trade_tokens(s, p, rng, str(venue))
        _merge(out, part, mask, s)
    return out


def _trade_tokens(s: Arrays, p: Arrays, rng: RandomStreams, venue: str) -> dict[str, np.ndarray]:
    arb = s.strategy == ARBITRAGE
    buy_cash, sell_tok = s.buy_frac * s.cash, s.sell_frac * s.tokens
    routed = _col(np.where(venue == "exogenous", 0.0, p.amm_share))
    primary_buy, primary_sell = (1 - routed) * buy_cash, (1 - routed) * sell_tok
    if venue == "bonding_curve":
        out = venues.bonding_curve(s, p, primary_buy, primary_sell)
    elif venue == "exogenous":
        out = venues.exogenous(s, p, primary_buy, primary_sell)
    elif venue == "tatonnement":
        out = venues.tatonnement(s, p, primary_buy, primary_sell)
    else:
        # limit prices: a random slack per order; arbitrageurs quote around the AMM's price, net of fee
        slack = rng("orders").random(s.cash.shape[1:]) * _col(p.max_slack)
        price, amm_price = _col(s.price), _col(s.pool_cash / s.pool_tokens)
        buy_limit = np.where(arb, amm_price * (1 - _col(p.amm_fee)) ** 2, price * (1 + slack))
        sell_limit = np.where(arb, amm_price / (1 - _col(p.amm_fee)) ** 2, price * (1 - slack))
        phi = _col(p.trade_fraction)
        primary_buy = np.where(arb, phi * s.cash, primary_buy)
        primary_sell = np.where(arb, phi * s.tokens, primary_sell)
        out = venues.call_auction(s, p, primary_buy, primary_sell, buy_limit, sell_limit)
    if venue != "exogenous":
        pool = venues.amm(s, p, routed * buy_cash * ~arb, routed * sell_tok * ~arb, out["cash"], out["tokens"])
        out["cash"], out["tokens"] = pool.pop("cash"), pool.pop("tokens")
        out["fill"] = out["fill"] + pool.pop("amm_fill")
        out["volume"] = out["volume"] + pool.pop("amm_volume")
        out.update(pool)
    if venue == "bonding_curve":
        out["price"] = venues.curve_price(p, out["supply"])
    return out


def arbitrage(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Arbitrageurs trade the primary venue against the AMM.

    Bonding curve: if the AMM's price net of fee exceeds the curve's, spend cash x on the curve and
    sell the minted tokens on the AMM; if it is below, buy on the AMM and burn on the curve. x is
    found by bisection so that the two marginal prices meet (or all the arbitrageurs' cash is used).
    Market clearing: the tokens arbitrageurs bought in the auction are sold on the AMM and the cash
    from their auction sales buys tokens back there. Each leg is shared pro rata.
    """
    arb = s.strategy == ARBITRAGE
    if not arb.any():
        return {}
    out: dict[str, np.ndarray] = {}
    curve = p.venue == "bonding_curve"
    if curve.any():
        _merge(out, _arbitrage_curve(s, p, arb), curve, s)
    auction = p.venue == "call_auction"
    if auction.any():
        _merge(out, _arbitrage_auction(s, p, arb), auction, s)
    return out


def _arbitrage_curve(s: Arrays, p: Arrays, arb: np.ndarray) -> dict[str, np.ndarray]:
    fee = p.amm_fee
    cash_arb = np.where(arb, s.cash, 0.0)
    budget_b = cash_arb.sum(axis=-1)
    x_pool, y_pool = s.pool_tokens, s.pool_cash
    # direction +1: buy on the curve, sell on the AMM; −1: buy on the AMM, sell to the curve
    direction = np.where((1 - fee) * y_pool / x_pool > s.price, 1.0,
                         np.where(y_pool / x_pool / (1 - fee) < s.price, -1.0, 0.0))

    def legs(x):
        minted = venues.curve_mint(p, s.supply, np.where(direction > 0, x, 0.0))
        amm_tokens = swap_output(y_pool, x_pool, np.where(direction < 0, x, 0.0), fee)
        tokens = np.where(direction > 0, minted, amm_tokens)
        curve_supply = s.supply + np.where(direction > 0, minted, -amm_tokens)
        pool_x = x_pool + np.where(direction > 0, tokens, -tokens)
        pool_y = np.where(direction > 0, y_pool * x_pool / (x_pool + (1 - fee) * tokens), y_pool + x)
        gap = np.where(direction > 0, (1 - fee) * pool_y / pool_x - venues.curve_price(p, curve_supply),
                       venues.curve_price(p, curve_supply) - pool_y / pool_x / (1 - fee))
        return tokens, gap

    lo, hi = np.zeros_like(budget_b), budget_b.copy()
    _, gap_hi = legs(hi)
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        _, gap = legs(mid)
        lo, hi = np.where(gap > 0, mid, lo), np.where(gap > 0, hi, mid)
    x = np.where(direction == 0, 0.0, np.where(gap_hi > 0, budget_b, lo))

    pool = ConstantProductPool(x_pool, y_pool, np.ones_like(x_pool))
    minted = venues.curve_mint(p, s.supply, np.where(direction > 0, x, 0.0))
    sold = swap(pool, minted, fee, x_to_y=True)
    bought = swap(pool, np.where(direction < 0, x, 0.0), fee, x_to_y=False)
    burn = bought.amount_out
    refund = venues.curve_refund(p, s.supply, burn)
    up = direction > 0
    proceeds = np.where(up, sold.amount_out, refund)
    new_pool = np.where(up, sold.pool.reserve_x, np.where(direction < 0, bought.pool.reserve_x, x_pool))
    new_pool_cash = np.where(up, sold.pool.reserve_y, np.where(direction < 0, bought.pool.reserve_y, y_pool))
    supply = s.supply + np.where(up, minted, -burn)
    weight = venues._share(budget_b, cash_arb, proceeds - x)
    return {
        "cash": s.cash + weight,
        "pool_tokens": new_pool,
        "pool_cash": new_pool_cash,
        "supply": supply,
        "reserve": s.reserve + np.where(up, x, -refund),
        "price": venues.curve_price(p, supply),
        "arb_volume": np.where(up, minted, burn),
    }


def _arbitrage_auction(s: Arrays, p: Arrays, arb: np.ndarray) -> dict[str, np.ndarray]:
    got = np.where(arb, np.maximum(s.fill, 0.0), 0.0)
    gave = np.where(arb, np.maximum(-s.fill, 0.0), 0.0)
    cash_in = gave * _col(s.price)  # what the auction paid them for the tokens they sold
    pool = ConstantProductPool(s.pool_tokens, s.pool_cash, np.ones_like(s.pool_cash))
    sold = swap(pool, got.sum(axis=-1), p.amm_fee, x_to_y=True)
    bought = swap(sold.pool, cash_in.sum(axis=-1), p.amm_fee, x_to_y=False)
    return {
        "cash": s.cash + venues._share(got.sum(axis=-1), got, sold.amount_out) - cash_in,
        "tokens": s.tokens - got + venues._share(cash_in.sum(axis=-1), cash_in, bought.amount_out),
        "pool_tokens": bought.pool.reserve_x,
        "pool_cash": bought.pool.reserve_y,
        "arb_volume": got.sum(axis=-1) + bought.amount_out,
    }
