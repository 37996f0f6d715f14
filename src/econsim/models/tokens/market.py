"""The market stages: the fundamental values, order execution on the venues, and arbitrage.

Every token j has its own value, primary venue and AMM pool; markets are (run, token) pairs.

    fundamental   V_jt = base_jt·(1 + A·sin(2πt/T + 2πj/J)),  base_{j,t+1} = base_jt·exp(σ_V·z_jt − σ_V²/2)
                  (independent shocks per token; the cycles of the J tokens are spread over the period;
                  the exogenous venue's price is V itself)
    trade         an agent's orders over all tokens spend at most its cash (buy fractions that add up
                  to more than one are scaled down); a share ``amm_share`` of every order goes to the
                  token's AMM, the rest to its primary venue
                  (``venue``: bonding_curve | call_auction | tatonnement | order_book | exogenous | resource)
    arbitrage     arbitrageurs close the gap between each token's primary venue and its AMM, in every
                  market mode (see ``arbitrage``)
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.mechanisms import ConstantProductPool, swap, swap_output
from econsim.models.tokens import resources, venues
from econsim.models.tokens.population import ARBITRAGE

_BISECTIONS = 20  # halvings of the arbitrage amount: the gap left is ~1e-6 of the arbitrageurs' cash


_col = venues.col
_agents = venues.agents
CLEARING = ("call_auction", "tatonnement", "order_book")  # venues whose arbitrage unwinds on the AMM
LIMIT_VENUES = ("call_auction", "order_book")  # venues of limit orders (a random slack per order)


def fundamental(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    t = s.t + 1
    n_j = s.value.shape[1]
    sigma = _col(p.value_vol)
    base = s.base_value * np.exp(sigma * rng("value").standard_normal((n_j,)) - 0.5 * sigma**2)
    phase = 2 * np.pi * np.arange(n_j) / n_j
    value = base * (
        1.0 + _col(p.cycle_amplitude) * np.sin(2 * np.pi * _col(t) / _col(p.cycle_period) + phase)
    )
    out = {"t": t, "base_value": base, "value": value, "prev_price": s.price}
    exo = p.venue == "exogenous"
    if exo.any():
        out["price"] = np.where(_col(exo), value, s.price)
    return out


def _merge(out: dict, part: dict, mask_b: np.ndarray, s: Arrays) -> None:
    for key, value in part.items():
        old = out.get(key, s[key])
        m = mask_b.reshape(mask_b.shape + (1,) * (np.ndim(value) - 1))
        out[key] = np.where(m, value, old)


def trade(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Execute the step's orders on the primary venue, then the AMM share on the AMM."""
    out: dict[str, np.ndarray] = {}
    kinds = np.unique(p.venue)
    # the limit-price slack is drawn once per step for the whole batch, so each run's draws are the
    # same whichever other venues share its batch (one draw per venue would hand a run the second)
    slack_u = rng("orders").random(s.tokens.shape[1:]) if np.isin(kinds, LIMIT_VENUES).any() else None
    for venue in kinds:
        mask = p.venue == venue
        if venue == "resource":
            part = resources.allocate(s, p, rng)
        else:
            part = _trade_tokens(s, p, rng, str(venue), slack_u)
        _merge(out, part, mask, s)
    return out


def orders(s: Arrays, p: Arrays) -> tuple[np.ndarray, np.ndarray]:
    """Cash to spend on and tokens to sell of each token (B, N, J): b_i·β_ij / max(1, Σ_j β_ij) and
    H_ij·σ_ij — so the buys over all tokens never exceed the agent's cash."""
    total = s.buy_frac.sum(axis=-1, keepdims=True)
    buy_cash = s.cash[:, :, None] * s.buy_frac / np.maximum(total, 1.0)
    return buy_cash, s.sell_frac * s.tokens


def gap_orders(s: Arrays, p: Arrays) -> tuple[np.ndarray, np.ndarray]:
    """The trades on the AMM that close its gap to the primary price P (closed forms of the v2 pool).

    ``swap`` keeps the whole input, fee included, in the pool. Selling dx tokens into a pool (x, y)
    with g = 1 − f leaves x' = x + dx, y' = x·y/(x + g·dx), and a marginal bid g·y'/x'; it equals P
    where (x + dx)(x + g·dx) = g·x·y/P, the positive root of g·dx² + (1 + g)·x·dx + x² − g·x·y/P = 0:
        dx = 2x·(g·y/P − x) / ((1 + g)·x + √((1 − g)²·x² + 4g²·x·y/P))
    (rationalised, so the root keeps its digits for small gaps and at g = 1). Spending dy cash moves
    the marginal ask y'/(g·x') to P where (y + dy)(y + g·dy) = g·x·y·P:
        dy = 2y·(g·x·P − y) / ((1 + g)·y + √((1 − g)²·y² + 4g²·x·y·P))
    Returns (tokens to buy on the primary venue and sell on the AMM, cash to raise on the primary
    venue and spend on the AMM), each (B, J) and ≥ 0.
    """
    x, y, price, g = s.pool_tokens, s.pool_cash, s.price, 1.0 - _col(p.amm_fee)
    to_sell = (
        2 * x * (g * y / price - x) / ((1 + g) * x + np.sqrt(((1 - g) * x) ** 2 + 4 * g * g * x * y / price))
    )
    to_spend = (
        2 * y * (g * x * price - y) / ((1 + g) * y + np.sqrt(((1 - g) * y) ** 2 + 4 * g * g * x * y * price))
    )
    return np.maximum(to_sell, 0.0), np.maximum(to_spend, 0.0)


def gap_unwind_prices(s: Arrays, p: Arrays, to_sell: np.ndarray, to_spend: np.ndarray):
    """Mean prices of the gap-closing AMM trades: g·y/(x + g·dx) per token sold, (y + g·dy)/(g·x)
    per token bought (the marginal bid and ask when the trade is 0), each (B, J)."""
    x, y, g = s.pool_tokens, s.pool_cash, 1.0 - _col(p.amm_fee)
    return g * y / (x + g * to_sell), (y + g * to_spend) / (g * x)


def _trade_tokens(
    s: Arrays, p: Arrays, rng: RandomStreams, venue: str, slack_u: np.ndarray | None
) -> dict[str, np.ndarray]:
    n_j = s.tokens.shape[-1]
    arb = (s.strategy == ARBITRAGE)[:, :, None]
    buy_cash, sell_tok = orders(s, p)
    routed = _col(np.where(venue == "exogenous", 0.0, p.amm_share))[:, :, None]
    primary_buy, primary_sell = (1 - routed) * buy_cash, (1 - routed) * sell_tok
    if venue in CLEARING:
        # arbitrageurs take the side of the primary market that closes the AMM's gap, sized by
        # ``gap_orders`` and shared pro rata to their cash (a J-th per token) and holdings
        to_sell, to_spend = gap_orders(s, p)
        arb_cash = np.where(arb, s.cash[:, :, None] / n_j, 0.0) * np.ones((1, 1, n_j))
        arb_tok = np.where(arb, s.tokens, 0.0)
        want_buy = venues._share(arb_cash.sum(axis=1), arb_cash, to_sell * s.price)
        want_sell = venues._share(arb_tok.sum(axis=1), arb_tok, to_spend / s.price)
        primary_buy = np.where(arb, np.minimum(want_buy, arb_cash), primary_buy)
        primary_sell = np.where(arb, np.minimum(want_sell, s.tokens), primary_sell)
    if venue == "bonding_curve":
        out = venues.bonding_curve(s, p, primary_buy, primary_sell)
    elif venue == "exogenous":
        out = venues.exogenous(s, p, primary_buy, primary_sell)
    elif venue == "tatonnement":
        out = venues.tatonnement(s, p, primary_buy, primary_sell)
    else:
        # limit prices: a random slack per order around the price. Arbitrageurs limit at the mean
        # price of their unwind on the AMM, the gap-closing trade's (``gap_unwind_prices``), so a
        # fill at or inside the limit is a gain as long as nobody else moves the pool first
        assert slack_u is not None  # drawn by ``trade`` for every limit-price venue
        slack = slack_u * _col(p.max_slack)[:, :, None]
        price = _agents(s.price)
        unwind_bid, unwind_ask = gap_unwind_prices(s, p, to_sell, to_spend)
        buy_limit = np.where(arb, _agents(unwind_bid), price * (1 + slack))
        sell_limit = np.where(arb, _agents(unwind_ask), price * (1 - slack))
        if venue == "call_auction":
            out = venues.call_auction(s, p, primary_buy, primary_sell, buy_limit, sell_limit)
        else:
            out = venues.order_book(s, p, rng, primary_buy, primary_sell, buy_limit, sell_limit)
    if venue != "exogenous":
        pool = venues.amm(
            s, p, routed * buy_cash * ~arb, routed * sell_tok * ~arb, out["cash"], out["tokens"]
        )
        out["cash"], out["tokens"] = pool.pop("cash"), pool.pop("tokens")
        out["fill"] = out["fill"] + pool.pop("amm_fill")
        out["volume"] = out["volume"] + pool.pop("amm_volume")
        out.update(pool)
    if venue == "bonding_curve":
        out["price"] = venues.curve_price(p, out["supply"])
    return out


def arbitrage(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Arbitrageurs trade each token's primary venue against its AMM, in every market mode.

    Bonding curve: if the AMM's price net of fee exceeds the curve's, spend cash x on the curve and
    sell the minted tokens on the AMM; if it is below, buy on the AMM and burn on the curve. x is
    found by bisection so that the two marginal prices meet (or the arbitrageurs' cash for the token,
    a J-th of it, is used).
    Call auction, tâtonnement, order book: in the trade stage arbitrageurs bought (sold) on the
    primary venue where the AMM's bid (ask) was above (below) the primary price — as much as would
    move the AMM's marginal price to the primary price (``gap_orders``), at limits no worse than the
    mean price of that move; here they sell the tokens they bought on the AMM and spend the cash from
    their sales buying tokens back on it. Each leg is shared pro rata.

    ``arb_profit``: the arbitrageurs' gain this step, cash plus the tokens' net change at the primary
    price; ``arb_gain`` sums it.
    """
    arb = s.strategy == ARBITRAGE
    if not arb.any():
        return {}
    out: dict[str, np.ndarray] = {}
    curve = p.venue == "bonding_curve"
    if curve.any():
        _merge(out, _arbitrage_curve(s, p, arb), curve, s)
    clearing = np.isin(p.venue, CLEARING)
    if clearing.any():
        _merge(out, _arbitrage_clearing(s, p, arb), clearing, s)
    if "arb_profit" in out:
        out["arb_gain"] = s.arb_gain + out["arb_profit"]
    return out


def _arbitrage_curve(s: Arrays, p: Arrays, arb: np.ndarray) -> dict[str, np.ndarray]:
    fee = _col(p.amm_fee)
    n_j = s.tokens.shape[-1]
    cash_arb = np.where(arb, s.cash, 0.0)[:, :, None] / n_j
    budget_bj = np.broadcast_to(cash_arb.sum(axis=1), s.price.shape)
    x_pool, y_pool = s.pool_tokens, s.pool_cash
    # direction +1: buy on the curve, sell on the AMM; −1: buy on the AMM, sell to the curve
    direction = np.where(
        (1 - fee) * y_pool / x_pool > s.price, 1.0, np.where(y_pool / x_pool / (1 - fee) < s.price, -1.0, 0.0)
    )

    def legs(x):
        minted = venues.curve_mint(p, s.supply, np.where(direction > 0, x, 0.0))
        amm_tokens = swap_output(y_pool, x_pool, np.where(direction < 0, x, 0.0), fee)
        tokens = np.where(direction > 0, minted, amm_tokens)
        curve_supply = s.supply + np.where(direction > 0, minted, -amm_tokens)
        pool_x = x_pool + np.where(direction > 0, tokens, -tokens)
        pool_y = np.where(direction > 0, y_pool * x_pool / (x_pool + (1 - fee) * tokens), y_pool + x)
        gap = np.where(
            direction > 0,
            (1 - fee) * pool_y / pool_x - venues.curve_price(p, curve_supply),
            venues.curve_price(p, curve_supply) - pool_y / pool_x / (1 - fee),
        )
        return tokens, gap

    lo, hi = np.zeros_like(budget_bj), budget_bj.copy()
    _, gap_hi = legs(hi)
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        _, gap = legs(mid)
        lo, hi = np.where(gap > 0, mid, lo), np.where(gap > 0, hi, mid)
    x = np.where(direction == 0, 0.0, np.where(gap_hi > 0, budget_bj, lo))

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
    weight = venues._share(budget_bj, cash_arb, proceeds - x)
    return {
        "cash": s.cash + weight.sum(axis=-1),
        "pool_tokens": new_pool,
        "pool_cash": new_pool_cash,
        "supply": supply,
        "reserve": s.reserve + np.where(up, x, -refund),
        "price": venues.curve_price(p, supply),
        "arb_volume": np.where(up, minted, burn),
        "arb_profit": (proceeds - x).sum(axis=-1),
    }


def _arbitrage_clearing(s: Arrays, p: Arrays, arb: np.ndarray) -> dict[str, np.ndarray]:
    is_arb = arb[:, :, None]
    got = np.where(is_arb, np.maximum(s.fill, 0.0), 0.0)
    cash_in = np.where(is_arb, np.maximum(s.fill_cash, 0.0), 0.0)  # what the primary paid for their sales
    cost = np.where(is_arb, np.maximum(-s.fill_cash, 0.0), 0.0)  # what they paid for their buys
    gave = np.where(is_arb, np.maximum(-s.fill, 0.0), 0.0)
    pool = ConstantProductPool(s.pool_tokens, s.pool_cash, np.ones_like(s.pool_cash))
    sold = swap(pool, got.sum(axis=1), _col(p.amm_fee), x_to_y=True)
    bought = swap(sold.pool, cash_in.sum(axis=1), _col(p.amm_fee), x_to_y=False)
    profit_bj = sold.amount_out - cost.sum(axis=1) + (bought.amount_out - gave.sum(axis=1)) * s.price
    return {
        "cash": s.cash
        + venues._share(got.sum(axis=1), got, sold.amount_out).sum(axis=-1)
        - cash_in.sum(axis=-1),
        "tokens": s.tokens - got + venues._share(cash_in.sum(axis=1), cash_in, bought.amount_out),
        "pool_tokens": bought.pool.reserve_x,
        "pool_cash": bought.pool.reserve_y,
        "arb_volume": got.sum(axis=1) + bought.amount_out,
        "arb_profit": profit_bj.sum(axis=-1),
    }
