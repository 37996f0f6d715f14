"""Goods markets: household budgets, consumer purchases, government purchases, capital goods.

Budgets (c: spending on goods before sales tax τ_s; YD disposable income; D deposits; m the archetype's
multiplier), never more than the deposits allow, c·(1 + τ_s) ≤ D:

    buffer_stock     c = m·(a_y·YD + a_w·max(0, D − s*·YD))
    spending_model   c = m·k·ĉ(x)/q            ĉ: the CE-trained model's quarterly spending for the household's
                                              survey attributes x with its current annual income, q steps
                                              per quarter; k set at the first step so that Σ c = a·Σ YD
    sim              c = α1·YD + α2·D₋₁         (Godley–Lavoie SIM)

Households then visit ``visits_goods`` consumption-goods firms and buy from the cheapest with stock; the
government buys ``government_spending`` × initial output (indexed to the price level; plus any stimulus)
from every firm in proportion to its stock, less a fiscal rule's correction when its debt is off target; consumption-goods firms buy the capital they planned from
capital-goods firms the same way households shop.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.models.banking import accounts
from econsim.models.banking.firms import capital_goods_price, col
from econsim.models.banking.labour import queue_order, random_order
from econsim.models.banking.markets import shop, tally


def household_budget(
    s: Arrays, p, deposits_bh: np.ndarray, spending_scale_b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(goods budget before tax, the spending-model scale) for every household."""
    h = s.households
    yd = h.disposable
    rule = p.consumption_rule
    scale = spending_scale_b
    if rule == "sim":
        budget = col(p.alpha1) * yd + col(p.alpha2) * (deposits_bh - yd)
    elif rule == "spending_model":
        from econsim.models.banking.spending import default_model

        model = default_model()
        income = p.steps_per_year * (h.wage + h.benefit + h.other_income)
        features = {
            "AGE_REF": h.age,
            "FAM_SIZE": h.fam_size,
            "NO_EARNR": h.earners,
            "FINCBTAX": income,
            "EDUC_REF": h.education,
            "REGION": h.region,
            "CUTENURE": h.tenure,
        }
        per_step = model.predict(features) * (4.0 / p.steps_per_year)
        first = scale <= 0
        if first.any():  # level: Σ c = a·Σ YD at the first step; the model sets who spends how much
            wanted = col(p.spending_propensity)[:, 0] * yd.sum(axis=1)
            scale = np.where(first, wanted / np.maximum((h.propensity * per_step).sum(axis=1), 1e-12), scale)
        budget = h.propensity * per_step * scale[:, None]
    else:
        target = col(p.wealth_target) * np.maximum(yd, 0.0)
        budget = h.propensity * (
            col(p.propensity_income) * np.maximum(yd, 0.0)
            + col(p.propensity_wealth) * np.maximum(deposits_bh - target, 0.0)
        )
    affordable = np.maximum(deposits_bh, 0.0) * (1 - 1e-12) / (1 + col(p.sales_tax))
    return np.clip(budget, 0.0, affordable), scale


def goods(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    if p.clearing == "multiplier":
        return {}
    f, h = s.firms, s.households
    led = accounts.books(s, p)
    B, n_h = h.wage.shape
    n_f = f.price.shape[1]
    runs = np.arange(B)[:, None]
    household_n = np.arange(n_h)
    # spending plans answer wealth, deposits and savings together; what the plan needs beyond the
    # deposits is drawn from savings first (only deposits pay)
    deposits, savings = led.stock_of("households", "deposits"), led.stock_of("households", "savings")
    wanted, scale = household_budget(s, p, deposits + savings, s.spending_scale)
    draw = np.clip(wanted * (1 + col(p.sales_tax)) / (1 - 1e-12) - deposits, 0.0, np.maximum(savings, 0.0))
    accounts.to_savings(led, household_n, h.bank, -draw)
    affordable = (
        np.maximum(led.stock_of("households", "deposits"), 0.0) * (1 - 1e-12) / (1 + col(p.sales_tax))
    )
    budget = np.clip(wanted, 0.0, affordable)

    draws = rng("goods")
    z = int(p.visits_goods)
    stock = f.inventory.copy()
    seller = np.empty((B, n_h, z), dtype=np.int64)
    spent = np.empty((B, n_h, z))
    qty = np.empty((B, n_h, z))
    shop(
        budget,
        f.price,
        stock,
        queue_order(draws.random((2,)), n_h),
        draws.random((n_h, z)),
        p.consumer_firms,
        seller,
        spent,
        qty,
    )
    spent_h, sold_units, revenue = np.empty((B, n_h)), np.empty((B, n_f)), np.empty((B, n_f))
    tally(seller, spent, qty, spent_h, sold_units, revenue)
    if z >= 8:  # numpy's pairwise row sum, which the kernel does not reproduce
        spent_h = spent.sum(axis=2)
    firm_n = np.arange(n_f)
    # buyers pay what they spent, sellers receive what they sold: one leg per household and per firm
    accounts.transfer(
        led, "consumption", ("households", household_n, h.bank, spent_h), ("firms", firm_n, f.bank, revenue)
    )
    accounts.pay(
        led,
        "sales_tax",
        ("households", household_n, h.bank),
        ("government", None, None),
        col(p.sales_tax) * spent_h,
    )
    # masks, not x[:, idx]: a fancy-indexed copy is laid out so that its row sums depend on B
    consumption_real = (sold_units * (p.firm_kind_f == 0)).sum(axis=1) * s.base_price_c

    # government purchases, pro rata to the value in stock
    share = _fiscal_share(s, p, led) + col(p.stimulus) * _stimulus_on(s, p)[:, None]
    g_nominal = np.where(
        col(p.government_spending_level) > 0,
        col(p.government_spending_level),
        share * col(s.initial_output) * col(s.price_index / s.base_price_c),
    )[:, 0]
    consumer = p.firm_kind_f == 0
    # a sold-out stock can be −1e-16 after rounding: counted as 0, else with every firm sold out its share
    # of a near-zero total would be a large negative purchase
    value = np.where(consumer, np.maximum(stock, 0.0) * f.price, 0.0)
    g_spent = np.minimum(
        g_nominal[:, None] * value / np.maximum(value.sum(axis=1, keepdims=True), 1e-12), value
    )
    g_units = g_spent / np.maximum(f.price, 1e-12)
    stock = stock - g_units
    accounts.pay(led, "government_purchases", ("government", None, None), ("firms", firm_n, f.bank), g_spent)

    # capital goods: consumption-goods firms buy their planned investment from capital-goods firms
    buyers = p.consumer_firms
    capital_price = capital_goods_price(f.price, p)
    deposits_f = led.stock_of("firms", "deposits")
    i_budget = np.minimum(
        f.investment_plan[:, buyers] * capital_price[:, None], np.maximum(deposits_f[:, buyers], 0.0)
    )  # wages are paid already
    zk = max(1, min(int(p.visits_goods), max(1, p.capital_firms.size)))
    k_seller = np.empty((B, buyers.size, zk), dtype=np.int64)
    k_spent = np.empty((B, buyers.size, zk))
    k_qty = np.empty((B, buyers.size, zk))
    shop(
        i_budget,
        f.price,
        stock,
        random_order(draws.random((buyers.size,))),
        draws.random((buyers.size, zk)),
        p.capital_firms,
        k_seller,
        k_spent,
        k_qty,
    )
    ks = np.where(k_seller >= 0, k_seller, 0).reshape(B, -1)
    kb = np.repeat(buyers, zk)
    amount = k_spent.reshape(B, -1)
    led.book_net(
        debit=[
            ("firms", "capital", kb),
            ("firms", "deposits", ks),
            ("banks", "reserves", f.bank[runs, ks]),
            ("banks", "deposits", f.bank[:, kb]),
        ],
        credit=[
            ("firms", "deposits", kb),
            ("firms", "investment", ks),
            ("banks", "deposits", f.bank[runs, ks]),
            ("banks", "reserves", f.bank[:, kb]),
        ],
        amount=amount,
    )
    k_units = k_qty.reshape(B, -1)
    capital_units = f.capital + accounts.sum_by(np.broadcast_to(kb, amount.shape), k_units, n_f)
    sold_units = sold_units + accounts.sum_by(ks, k_units, n_f)
    revenue = revenue + accounts.sum_by(ks, amount, n_f)
    return {
        "households.spending": spent_h * (1 + col(p.sales_tax)),
        "firms.inventory": stock,
        "firms.sales": sold_units + g_units,
        "firms.revenue": revenue + g_spent,
        "firms.capital": capital_units,
        "consumption": consumption_real,
        "investment": k_qty.sum(axis=(1, 2)) * s.base_price_k,
        "government_purchases": g_spent.sum(axis=1),
        "spending_scale": scale,
        **accounts.updates(led),
    }


def _fiscal_share(s: Arrays, p, led) -> np.ndarray:
    """Government purchases as a share of initial output (B, 1), under the fiscal rule
    g = max(0, g₀ − φ_b·(b − b*)), b = bonds outstanding / annual nominal trend output: debt above the
    target cuts purchases, below it raises them, so that b is stationary whenever φ_b exceeds the gap
    between the interest rate and nominal growth (without the rule, φ_b = 0, b drifts without bound)."""
    debt = -led.stock_of("government", "bonds")[:, 0]
    trend = p.steps_per_year * s.potential * s.price_index / np.maximum(s.base_price_c, 1e-300)
    ratio = debt / np.maximum(trend, 1e-300)
    g = col(p.government_spending) - col(p.debt_response) * col(ratio - np.asarray(p.debt_target))
    return np.clip(g, 0.0, 2.0 * col(p.government_spending))


def _stimulus_on(s: Arrays, p) -> np.ndarray:
    start = np.asarray(p.stimulus_start)
    return ((s.step >= start) & (s.step < start + np.asarray(p.stimulus_steps))).astype(float)
