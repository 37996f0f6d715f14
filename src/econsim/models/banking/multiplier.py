"""Within-step clearing by the Keynesian multiplier (``clearing: multiplier``): Godley–Lavoie model SIM.

Firms produce whatever is demanded at a price of one and pay all their revenue out as wages; households
spend c_h = α1·YD_h + α2·M_h (M_h their money at the start of the step) and pay the flat tax θ on wages.
Output then solves Y = C + G with C = α1·(1 − θ)·Y + α2·M:

    Y = (G + α2·M) / (1 − α1·(1 − θ))

With G = 20, θ = 0.2, α1 = 0.6, α2 = 0.4 and no money at the start, the first step's output is
20/0.52 = 38.46; the government's deficit G − θY adds to households' money each step, and output converges
to the steady state G/θ = 100, where the budget balances. Wages are shared equally by the households.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.models.banking import accounts
from econsim.models.banking.firms import col


def multiplier_clearing(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    if p.clearing != "multiplier":
        return {}
    f, h = s.firms, s.households
    led = accounts.books(s, p)
    B, n_h = h.wage.shape
    n_f = f.price.shape[1]
    money_h = led.stock_of("households", "deposits").copy()
    theta, a1, a2 = col(p.tax_rate)[:, 0], col(p.alpha1)[:, 0], col(p.alpha2)[:, 0]
    share = col(p.government_spending) + col(p.stimulus) * 0.0
    g = np.where(
        col(p.government_spending_level)[:, 0] > 0,
        col(p.government_spending_level)[:, 0],
        share[:, 0] * s.initial_output,
    )
    output = (g + a2 * money_h.sum(axis=1)) / (1 - a1 * (1 - theta))
    wage_h = np.broadcast_to((output / n_h)[:, None], (B, n_h)).copy()
    tax_h = theta[:, None] * wage_h
    spend_h = a1[:, None] * (wage_h - tax_h) + a2[:, None] * money_h
    household_n, firm_n = np.arange(n_h), np.arange(n_f)
    employer_h = household_n % n_f  # each household works for (and buys from) one firm
    runs = np.arange(B)[:, None]
    wage_bill_f = np.zeros((B, n_f))
    np.add.at(wage_bill_f, (np.broadcast_to(runs, (B, n_h)), np.broadcast_to(employer_h, (B, n_h))), wage_h)
    # each firm sells what its workers are paid: its share of consumption and of government purchases
    revenue_f = wage_bill_f
    g_f = revenue_f * (g / np.maximum(output, 1e-300))[:, None]
    accounts.pay(
        led,
        "wages",
        ("firms", employer_h, f.bank[:, employer_h]),
        ("households", household_n, h.bank),
        wage_h,
    )
    accounts.pay(led, "income_tax", ("households", household_n, h.bank), ("government", None, None), tax_h)
    accounts.pay(led, "government_purchases", ("government", None, None), ("firms", firm_n, f.bank), g_f)
    # households' purchases go to the firms in proportion to what is left of their revenue
    c_f = revenue_f - g_f
    weights_f = c_f / np.maximum(c_f.sum(axis=1, keepdims=True), 1e-300)
    accounts.pay(
        led,
        "consumption",
        ("households", np.repeat(household_n, n_f), np.repeat(h.bank, n_f, axis=1)),
        ("firms", np.tile(firm_n, n_h), np.tile(f.bank, (1, n_h))),
        (spend_h[:, :, None] * weights_f[:, None, :]).reshape(B, -1),
    )
    return {
        "households.wage": wage_h,
        "households.tax": tax_h,
        "households.disposable": wage_h - tax_h,
        "households.spending": spend_h,
        "firms.revenue": revenue_f,
        "firms.wage_bill": wage_bill_f,
        "firms.output": revenue_f,
        "firms.sales": revenue_f,
        "gdp": output,
        "gdp_nominal": output,
        "consumption": spend_h.sum(axis=1),
        "government_purchases": g,
        **accounts.updates(led),
    }
