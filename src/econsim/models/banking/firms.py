"""Firms: plans, production, and their accounts (profit, tax, dividends, depreciation, bankruptcy).

Plans (adaptive expectations, inventories against expected sales):

    x̂' = max(w·x·(1 + β·[sold out]) + (1 − w)·x̂, φ·m)    expected sales (β: demand beyond a stock-out;
                                                           m: the orders per capital-goods firm, or the
                                                           mean expectation of consumption-goods firms)
    Y* = max(0, x̂' + θ_s·(s*·x̂' − inventory))               planned output (s*: target inventory in steps,
                                                           θ_s the share of the gap closed per step)
    L* = (Y* / (A·K^α))^{1/(1−α)}  (consumption goods),  L* = Y*/A_k  (capital goods)   skill units
    μ' = μ·(1 + m·clip((s* − s)/s*, −1, 1)) + ρ·(μ₀ − μ)   markup up when inventories s run short,
                                                           pulled back to the normal markup μ₀
    w' = w·(1 + clip(χ·π^e + ω·[vacancies unfilled] − ω/2·[the firm shrinks], ±5 %))    wage offer
    p̃  = (1 + μ')·w'·L(x̂')/x̂'                              normal-cost price (unit labour cost at x̂')
    p' = clip(p + θ_p·(p̃ − p), ±Δp_max of p)                partial adjustment, menu costs
    I  = max(0, δ·K + speed·(κ·x̂' − K))·clip(1 − 3·(i − π^e − r*), 0, 1)   capital units wanted
                                                           (κ: K/x at t=0; i − π^e the real rate)

Production: Y = A·K^α·L^{1−α} for consumption goods, Y = A_k·L for capital goods, with L the skill units
employed. Accounts: profit = revenue − wages − interest − depreciation; corporate tax on positive profit;
deposits beyond ``cash_buffer`` wage bills and the planned investment first repay the loan, the rest
goes to the owners as dividends (at least a share ``payout`` of profit after tax, never more than the
firm's net worth or the deposits beyond next step's wage bill). A firm whose net worth (its shareholders' funds: assets − loans) turns negative is bankrupt: its
deposits repay its loan, the rest of the loan is written off against the lender's equity, its owners'
shares are written off, and the entrant taking over the plant (free of debt) issues its shares to the
same owners, its workers are laid off, and an
entrant takes over the plant in the same slot (price, expectations and wage offer at their kind's mean).
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.engine.numerics import col
from econsim.models.banking import accounts, collateral


def capital_goods_price(price_bf: np.ndarray, p) -> np.ndarray:
    """Mean price of the capital-goods firms per run (1 without any): a masked row sum, whose order of
    additions is the same whatever the batch (a fancy-indexed ``price[:, idx]`` is not)."""
    mask = p.firm_kind_f == 1
    if not mask.any():
        return np.ones(price_bf.shape[0])
    return (price_bf * mask).sum(axis=1) / mask.sum()


def kind_mean(values_bf: np.ndarray, kind_f: np.ndarray, alive_bf: np.ndarray) -> np.ndarray:
    """Each firm's value replaced by the mean over live firms of its kind: (B, F)."""
    out = values_bf.copy()  # a kind without a live firm keeps each slot's own value
    for kind in (0, 1):
        mask = (kind_f == kind)[None, :] & alive_bf
        n_b = mask.sum(axis=1)
        mean_b = (values_bf * mask).sum(axis=1) / np.maximum(n_b, 1)
        cols = kind_f == kind
        out[:, cols] = np.where((n_b > 0)[:, None], mean_b[:, None], values_bf[:, cols])
    return out


def _labour_for(output, capital, alpha, productivity):
    """Skill units a consumption-goods firm needs for ``output``: L = (Y/(A·K^α))^{1/(1−α)}."""
    return (output / (productivity * np.maximum(capital, 1e-12) ** alpha)) ** (1 / (1 - alpha))


def firm_plans(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    if p.clearing == "multiplier":
        return {}
    f = s.firms
    consumer = p.firm_kind_f == 0
    w = col(p.expectation_weight)
    # a firm that sold out saw only its stock, not its demand: it reads demand as ``stockout_signal``
    # above its sales (without this, a sold-out firm's expectations can only fall)
    sold_out = (f.inventory <= 1e-9 * np.maximum(f.sales, 1e-300)) & (f.sales > 0)
    observed = f.sales * (1 + col(p.stockout_signal) * sold_out)
    expected = w * observed + (1 - w) * f.expected_sales
    # every firm sees its market: a capital-goods firm the orders of the consumption-goods firms, a
    # consumption-goods firm its rivals' sales, and expects at least ``demand_floor`` of an equal share;
    # otherwise a firm that once sold nothing makes nothing, sells nothing and never returns, and when the
    # last capital-goods firm goes that way investment stops and the capital stock decays to nothing
    capital = p.firm_kind_f == 1
    if capital.any():
        orders = (f.investment_plan * consumer).sum(axis=1) / capital.sum()
        rivals = (f.expected_sales * (consumer & f.alive)).sum(axis=1) / np.maximum(
            (consumer & f.alive).sum(axis=1), 1
        )
        share = np.where(capital, orders[:, None], rivals[:, None])
        expected = np.maximum(expected, col(p.demand_floor) * share)
    target = col(p.inventory_target)
    # production meets expected sales and closes part of the inventory gap (a full correction each step
    # makes the classic inventory cycle: output saw-toothing from one step to the next)
    planned = np.maximum(expected + col(p.inventory_adjustment) * (target * expected - f.inventory), 0.0)
    alpha = col(p.alpha)
    consumer_labour = _labour_for(planned, f.capital, alpha, col(p.productivity))
    labour = np.where(consumer, consumer_labour, planned / col(p.capital_productivity))
    ratio = f.inventory / np.maximum(expected, 1e-12)
    # inventories short of target raise the markup, long ones cut it; competition pulls it back towards
    # the economy's normal markup (without that pull it ratchets up: sold-out firms always raise)
    markup = f.markup * (
        1 + col(p.markup_step) * np.clip((target - ratio) / np.maximum(target, 1e-12), -1, 1)
    )
    markup = np.clip(markup + col(p.markup_reversion) * (col(p.markup) - markup), 0.01, 3)
    shrinking = labour < 0.9 * f.units
    # a share of the expected inflation is passed into wages; a firm that cannot fill its vacancies bids
    # up, one that shrinks bids down; no offer moves by more than 5 % a step
    raise_ = (
        col(p.wage_indexation) * np.maximum(col(s.expected_inflation), 0.0)
        + col(p.wage_step) * (f.unfilled > 0)
        - 0.5 * col(p.wage_step) * shrinking
    )
    offer = f.offer * (1 + np.clip(raise_, -0.05, 0.05))
    # normal-cost pricing: unit labour cost at the expected (not this step's planned) output, so that
    # inventory corrections do not pass into prices; the price closes part of its gap to the markup price
    # and moves at most ``price_step_max`` a step (menu costs)
    normal_labour = np.where(
        consumer,
        _labour_for(expected, f.capital, alpha, col(p.productivity)),
        expected / col(p.capital_productivity),
    )
    unit_cost = np.where(
        expected > 0,
        offer * normal_labour / np.maximum(expected, 1e-12),
        offer * f.units / np.maximum(f.output, 1e-12),
    )
    wanted = (1 + markup) * unit_cost
    step_max = col(p.price_step_max)
    moved = f.price * (1 + col(p.price_adjustment) * (wanted / np.maximum(f.price, 1e-300) - 1))
    price = np.where(
        unit_cost > 0, np.clip(moved, (1 - step_max) * f.price, (1 + step_max) * f.price), f.price
    )
    depreciation = col(p.depreciation) / p.steps_per_year
    # investment answers the real cost of new credit, the policy rate plus the loan spread less the
    # inflation expected over a year, against its neutral level r* + spread: under a nominal brake, or the
    # rate of an old loan, a spell of inflation (rates up with it under the Taylor rule) stops investment
    # for good, the capital stock decays, and output collapses while employment is full
    expected_annual = (1 + np.maximum(col(s.expected_inflation), -0.5)) ** p.steps_per_year - 1
    brake = np.clip(1 - 3 * (col(s.policy_rate) - expected_annual - col(p.neutral_rate)), 0.0, 1.0)
    invest = np.where(
        consumer,
        np.maximum(
            depreciation * f.capital + col(p.investment_speed) * (f.capital_ratio * expected - f.capital), 0
        )
        * brake,
        0.0,
    )
    alive = f.alive
    return {
        "firms.expected_sales": expected,
        "firms.labour_target": np.where(alive, labour, 0.0),
        "firms.markup": markup,
        "firms.offer": offer,
        "firms.price": price,
        "firms.investment_plan": np.where(alive, invest, 0.0),
    }


def production(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    if p.clearing == "multiplier":
        return {}
    f = s.firms
    alpha = col(p.alpha)
    output = (
        np.where(
            p.firm_kind_f == 0,
            col(p.productivity) * np.maximum(f.capital, 0.0) ** alpha * f.units ** (1 - alpha),
            col(p.capital_productivity) * f.units,
        )
        * f.alive
    )
    consumer = p.firm_kind_f == 0
    real = (output * np.where(consumer, col(s.base_price_c), col(s.base_price_k))).sum(axis=1)
    return {
        "firms.output": output,
        "firms.inventory": f.inventory + output,
        "gdp": real,
        "gdp_nominal": (output * f.price).sum(axis=1),
    }


def firm_accounts(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Depreciation, profit, corporate tax, dividends, and bankruptcy with entry in the same slot."""
    if p.clearing == "multiplier":
        return {}
    led = accounts.books(s, p)
    f, h = s.firms, s.households
    B, n_f = f.price.shape
    firm_n = np.arange(n_f)
    capital_value = led.stock_of("firms", "capital")
    depreciation = capital_value * (col(p.depreciation) / p.steps_per_year)
    led.revalue("firms", "capital", -depreciation, firm_n)
    profit = f.revenue - f.wage_bill - f.interest_paid - depreciation
    deposits = led.stock_of("firms", "deposits")
    tax = np.minimum(col(p.corporate_tax) * np.maximum(profit, 0.0), np.maximum(deposits, 0.0))
    accounts.pay(led, "corporate_tax", ("firms", firm_n, f.bank), ("government", None, None), tax)
    deposits = led.stock_of("firms", "deposits")
    # cash beyond the firm's needs (``cash_buffer`` wage bills plus its planned investment) first repays
    # its loan, and what is left is paid out — retained cash piling up would be a leak out of demand, and
    # paying out borrowed money would run the firm's equity down; dividends are at least a share
    # ``payout`` of profit after tax, never more than the firm's positive net worth
    capital_price = capital_goods_price(f.price, p)
    needs = col(p.cash_buffer) * f.wage_bill + f.investment_plan * capital_price[:, None]
    excess = np.maximum(deposits - needs, 0.0)
    early = np.where(f.alive & (f.lender >= 0), np.minimum(excess, -led.stock_of("firms", "loans")), 0.0)
    accounts.repay(led, firm_n, f.bank, np.where(f.lender >= 0, f.lender, 0), early)
    deposits = led.stock_of("firms", "deposits")
    # the shareholders' funds: net worth before the paid-in shares (a liability of the firm on the ledger)
    firm_holders = led.holders("firms")
    equity = np.maximum(led.net_worth[:, firm_holders] - led.stock_of("firms", "equity"), 0.0)
    dividend = np.minimum(
        np.minimum(np.maximum(col(p.payout) * np.maximum(profit - tax, 0.0), excess - early), equity),
        np.maximum(deposits - f.wage_bill, 0.0),
    )
    # traded shares (``asset_market``) carry their dividends and losses with them; else equal parts
    held_h = led.stock_of("households", "equity").copy() if p.asset_market else None
    per_owner_h = accounts.owner_part(dividend, p.firm_owner_h, held_h)
    accounts.transfer(
        led,
        "dividends",
        ("firms", firm_n, f.bank, dividend),
        ("households", np.arange(h.bank.shape[1]), h.bank, per_owner_h),
    )

    # bankruptcy: negative shareholders' funds; the deposits repay what they can, the rest is written off
    own_funds = led.net_worth[:, firm_holders] - led.stock_of("firms", "equity")
    bankrupt = (own_funds < -1e-9 * np.maximum(capital_value, 1.0)) & f.alive
    loans = -led.stock_of("firms", "loans")
    lender = np.where(f.lender >= 0, f.lender, 0)
    deposits = led.stock_of("firms", "deposits")
    repaid = np.where(bankrupt, np.minimum(np.maximum(deposits, 0.0), loans), 0.0)
    accounts.repay(led, firm_n, f.bank, lender, repaid)
    seized, recovered = {}, np.zeros_like(repaid)
    if p.collateral_credit:
        recovered, share = collateral.seize(led, firm_n, lender, bankrupt, loans - repaid, p)
        seized = {**collateral.seizure_record(recovered), "firms.capital": f.capital * (1 - share)}
    lost = np.where(bankrupt, loans - repaid - recovered, 0.0)
    accounts.write_off(led, firm_n, lender, lost)
    shares = -led.stock_of("firms", "equity")
    accounts.reissue_shares(
        led,
        firm_n,
        p.firm_owner_h,
        np.where(bankrupt, shares, 0.0),
        np.where(bankrupt, np.maximum(led.net_worth[:, firm_holders] + shares, 0.0), 0.0),
        held_h,
    )
    laid_off = np.zeros_like(h.employer, dtype=bool)
    if bankrupt.any():
        runs = np.arange(B)[:, None]
        employer = np.where(h.employer >= 0, h.employer, 0)
        laid_off = (h.employer >= 0) & bankrupt[runs, employer]
    kinds, alive = p.firm_kind_f, f.alive
    fresh = {
        name: kind_mean(getattr(f, name), kinds, alive & ~bankrupt)
        for name in ("price", "expected_sales", "offer", "markup")
    }
    # an entrant making capital goods where none survived expects the consumption-goods firms' planned
    # investment (the mean over its kind would be the failed firms' collapsed expectations)
    capital_kind = p.firm_kind_f == 1
    if capital_kind.any():
        wanted = (f.investment_plan * (p.firm_kind_f == 0)).sum(axis=1) / capital_kind.sum()
        fresh["expected_sales"] = np.where(
            capital_kind, np.maximum(fresh["expected_sales"], wanted[:, None]), fresh["expected_sales"]
        )
    out = {
        "firms.depreciation": depreciation,
        "firms.capital": seized.pop("firms.capital", f.capital)
        * (1 - col(p.depreciation) / p.steps_per_year),
        "firms.profit": profit,
        "firms.defaults": f.defaults + bankrupt,
        "firms.lender": np.where(bankrupt | (-led.stock_of("firms", "loans") <= 1e-9), -1, f.lender),
        "firms.inventory": np.where(bankrupt, 0.0, f.inventory),
        "firms.units": np.where(bankrupt, 0.0, f.units),
        "households.employer": np.where(laid_off, -1, h.employer),
        "households.wage": np.where(laid_off, 0.0, h.wage),
        "households.other_income": per_owner_h,
        "firm_bankruptcies": bankrupt.sum(axis=1).astype(float),
        **{f"firms.{name}": np.where(bankrupt, fresh[name], getattr(f, name)) for name in fresh},
        **seized,
        **accounts.updates(led),
    }
    return out
