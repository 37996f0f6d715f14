"""An equity market of fundamentalists and trend-followers switching by past performance (Brock–Hommes).

The asset is a claim on the economy's firms: its fundamental is a real dividend stream discounted at the
policy rate plus an equity premium ρ,

    F_t = 100 · (P_t / P_0) · (r* + π* + ρ) / (i_t + ρ)     (P the consumer price index, P_0 its start)

so monetary policy moves it. Traders forecast the deviation x_t = 100·(p_t/F_t − 1) (per cent):
fundamentalists expect it to vanish (f_F = 0, at an information cost C a step), trend-followers expect it
to continue (f_C = g·x_{t−1} + b). With R = 1 + (i + ρ)Δ the market-clearing deviation is (Brock and
Hommes 1998, with the fundamentalists' pull growing with the mispricing as in Gaunersdorfer and Hommes
2007)

    x_t = ñ_C · f_C / R + σ ε_t,      ñ_C = n_C · exp(−x²_{t−1} / α)

and the fractions follow the realised profits of last step's forecasts, discrete choice with intensity β:

    U_h = (x_t − R x_{t−1}) · (f_h − R x_{t−1}) − C_h,      n_C = 1 / (1 + exp(−β (U_C − U_F)))

ε from the ``asset_noise`` stream. Strong trend-following (g > R) starts bubbles; the growing
mispricing hands the market to the fundamentalists and the bubble bursts back to the fundamental.
Recorded: ``asset_price``, ``asset_fundamental``, ``price_to_fundamental`` and ``speculator_share`` (ñ_C).

Trades on the ledger. The speculators are the households, trading the shares of the firm they own (firm
h mod F) with its other owners. Each step a household follows the trend with probability ñ_C (a draw
from the ``asset_types`` stream: the discrete choice of each trader) and otherwise the fundamental; its
expected excess return is e_h = f_h − R x_t (per cent), and it offers to buy shares worth
``equity_demand``·e_h/100 of its holding's market value (within its deposits) when e_h > 0, or to sell
that part of its shares when e_h < 0. Among each firm's owners the buy and sell orders (in paid-in value)
clear by proportional rationing: the traded volume T_f = min(bids, offers), each bid filled T_f/bids and
each offer T_f/offers. The shares move at their paid-in value against deposits at the market price
π = p_t/100 per unit (the price is 100 at the start, where the market values the shares at what was paid
in): the paid-in part moves with the shares and (π − 1) per unit is ``capital_gains``; deposits move
between the traders' banks with reserves. Dividends and a bankrupt firm's losses then follow the shares
each owner holds. Recorded: ``equity_volume`` (paid-in value traded) and ``equity_turnover`` (money paid).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from econsim.engine import Arrays, Param, RandomStreams, Var
from econsim.models.banking import accounts
from econsim.models.banking.firms import col

PARAMS: list[Param] = [
    Param(
        "asset_market",
        False,
        "an equity market of fundamentalists and trend-followers",
        kind="bool",
        per_batch=True,
    ),
    Param("trend_strength", 1.4, "trend-followers' extrapolation g", bounds=(0.0, 5.0)),
    Param(
        "trend_bias", 0.0, "trend-followers' optimism b (per cent of the fundamental)", bounds=(-10.0, 10.0)
    ),
    Param("switching_intensity", 1.0, "intensity of choice β", bounds=(0.0, 100.0)),
    Param("fundamentalist_cost", 1.0, "fundamentalists' information cost C per step", bounds=(0.0, 100.0)),
    Param(
        "mispricing_scale",
        1500.0,
        "α: the squared mispricing (per cent²) at which the speculators' weight falls by e",
        bounds=(1.0, None),
    ),
    Param("asset_noise", 1.0, "sd σ of the price's noise (per cent of the fundamental)", bounds=(0.0, 100.0)),
    Param("equity_premium", 0.04, "equity premium ρ over the policy rate (annual)", bounds=(0.0, 1.0)),
    Param(
        "equity_demand",
        0.5,
        "share of its holding's value a speculator trades per percentage point of expected excess return",
        bounds=(0.0, 100.0),
    ),
]

STATE: list[Var] = [
    Var("asset_price", 100.0, "equity price"),
    Var("asset_fundamental", 100.0, "equity fundamental F"),
    Var("price_to_fundamental", 1.0, "price / fundamental"),
    Var("asset_deviation", 0.0, "x_t = 100 (p/F − 1)"),
    Var("asset_deviation_prev", 0.0, "x_{t−1}"),
    Var("trend_fraction", 0.5, "n_C before the mispricing's pull"),
    Var("speculator_share", 0.5, "share of trend-followers trading this step, ñ_C"),
    Var("equity_volume", 0.0, "paid-in value of the shares traded this step"),
    Var("equity_turnover", 0.0, "money paid for the shares traded this step"),
]


def asset_market(s: Arrays, p: Any, rng: RandomStreams) -> dict[str, np.ndarray]:
    """One step of the Brock–Hommes market (see the module docstring)."""
    eps = rng("asset_noise").standard_normal(())
    if not p.asset_market:
        return {}
    rho = col(p.equity_premium)[:, 0]
    neutral = col(p.neutral_rate)[:, 0] + col(p.inflation_target)[:, 0] + rho
    level = s.price_index / np.maximum(s.base_price_c, 1e-300)
    fundamental = 100.0 * level * neutral / np.maximum(s.policy_rate + rho, 1e-6)
    R = 1.0 + (s.policy_rate + rho) / p.steps_per_year
    x1, x2 = s.asset_deviation, s.asset_deviation_prev
    g, b = col(p.trend_strength)[:, 0], col(p.trend_bias)[:, 0]
    n_c = s.trend_fraction * np.exp(-(x1**2) / col(p.mispricing_scale)[:, 0])
    x = np.maximum(n_c * (g * x1 + b) / R + col(p.asset_noise)[:, 0] * eps, -99.0)
    # last step's forecasts of x_t (made from x_{t−2}) against what happened
    excess = x - R * x1
    u_c = excess * (g * x2 + b - R * x1)
    u_f = excess * (-R * x1) - col(p.fundamentalist_cost)[:, 0]
    z = np.clip(col(p.switching_intensity)[:, 0] * (u_c - u_f), -50.0, 50.0)
    price = fundamental * (1.0 + x / 100.0)
    chartist = rng("asset_types").random((s["households.bank"].shape[1],)) < n_c[:, None]  # (B, H)
    expected = np.where(chartist, (g * x + b)[:, None], 0.0) - (R * x)[:, None]
    trades = trade_shares(s, p, expected, price / 100.0)
    return {
        **trades,
        "asset_price": price,
        "asset_fundamental": fundamental,
        "price_to_fundamental": price / fundamental,
        "asset_deviation": x,
        "asset_deviation_prev": x1,
        "trend_fraction": 1.0 / (1.0 + np.exp(-z)),
        "speculator_share": n_c,
    }


def trade_shares(s: Arrays, p: Any, expected_bh: np.ndarray, price_b: np.ndarray) -> dict[str, np.ndarray]:
    """The owners of each firm trade its shares at ``price_b`` per unit of paid-in value, from each one's
    expected excess return ``expected_bh`` (per cent), rationed proportionally (module docstring)."""
    led = accounts.books(s, p)
    owner_h = p.firm_owner_h
    n_f = led.sizes[1]
    held = np.maximum(led.stock_of("households", "equity"), 0.0)
    deposits = np.maximum(led.stock_of("households", "deposits"), 0.0)
    size = col(p.equity_demand) * np.abs(expected_bh) / 100.0
    px = np.maximum(price_b, 1e-12)[:, None]
    bid = np.where(expected_bh > 0, np.minimum(size * held * px, deposits) / px, 0.0)  # paid-in value
    offer = np.where(expected_bh < 0, np.minimum(size, 1.0) * held, 0.0)
    bids_f, offers_f = accounts.sum_by(owner_h, bid, n_f), accounts.sum_by(owner_h, offer, n_f)
    traded_f = np.minimum(bids_f, offers_f)
    fill_bid = np.divide(traded_f, bids_f, out=np.zeros_like(traded_f), where=bids_f > 0)[:, owner_h]
    fill_offer = np.divide(traded_f, offers_f, out=np.zeros_like(traded_f), where=offers_f > 0)[:, owner_h]
    bought, sold = bid * fill_bid, offer * fill_offer
    gain = (px - 1.0) * (bought - sold)  # > 0: paid above the paid-in value
    bank_h, household_n = s["households.bank"], np.arange(held.shape[1])
    debit: list[Any] = [("households", "equity", household_n, bought)]
    credit: list[Any] = [("households", "equity", household_n, sold)]
    legs = (
        (bought, True, None),
        (sold, False, None),
        (np.maximum(gain, 0.0), True, "debit"),
        (np.maximum(-gain, 0.0), False, "credit"),
    )
    for amount, pays, flow_side in legs:
        d, c = accounts.deposit_legs("households", household_n, bank_h, amount, pays)
        debit.extend(d)
        credit.extend(c)
        if flow_side:
            (debit if flow_side == "debit" else credit).append(
                ("households", "capital_gains", household_n, amount)
            )
    led.book_net(debit=debit, credit=credit)
    volume = bought.sum(axis=1)
    return {
        "equity_volume": volume,
        "equity_turnover": volume * price_b,
        **accounts.updates(led),
    }
