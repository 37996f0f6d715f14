"""Decentralised markets, each a compiled kernel written for one run and mapped over the batch.

Every random choice comes in as uniforms drawn from the engine's streams, so a run's matches depend
only on its own draws (never on the other runs of its batch).

Labour (``labour_market``): firms first shed workers they no longer need or cannot pay; then job seekers,
in a random (cyclic, ``labour.queue_order``) order, visit ``M`` random firms with vacancies and take the best wage offer at or above
their reservation wage.

Goods (``shop``): buyers, in a random (for households cyclic) order, visit ``Z`` random sellers, sort them by price and buy from
the cheapest with stock until their budget or the stocks run out. The same kernel serves households
buying consumption goods and firms buying capital goods.

Credit (``credit_market``): firms with a financing gap, in a random order, ask their current lender or
``V`` random banks; a bank offers its rate if the loan fits its lending capacity, and the firm takes the
cheapest offer (partly if the capacity is short).
"""

from __future__ import annotations

import numpy as np

from econsim.engine import per_run

SKILL_WEIGHT = np.array([1.0, 1.5, 2.2])  # effective labour of an unskilled, skilled, highly skilled worker


@per_run(shared=("skill_weight",), cache=True)
def labour_market(
    employer_h,
    skill_h,
    reservation_h,
    wage_h,
    keep_f,
    cap_f,
    offer_f,
    vacancies_f,
    alive_f,
    order_h,
    visit_hm,
    skill_weight,
    hired_f,
):
    """One run. ``keep_f``: skill units each firm wants, ``cap_f`` the most it can pay; a worker of weight
    w fits while the firm's units stay within min(keep + w/2, cap) — the nearest whole worker to its
    target, never more than it can pay — and is fired beyond it; ``vacancies_f`` positions (filled in place); ``wage_h`` set to the employer's offer × skill weight for every employed worker."""
    n_h, n_f = employer_h.shape[0], offer_f.shape[0]
    units_f = np.zeros(n_f)
    for i in range(n_h):  # shed: walk workers in a random order, firing beyond what the firm keeps
        h = order_h[i]
        f = employer_h[h]
        if f < 0:
            continue
        w = skill_weight[skill_h[h]]
        if not alive_f[f] or units_f[f] + w > min(keep_f[f] + 0.5 * w, cap_f[f]) + 1e-9:
            employer_h[h] = -1
            reservation_h[h] = wage_h[h]
            continue
        units_f[f] += w
    open_f = np.zeros(n_f, dtype=np.int64)
    n_open = 0
    for f in range(n_f):
        if alive_f[f] and vacancies_f[f] > 0:
            open_f[n_open] = f
            n_open += 1
    for f in range(n_f):
        hired_f[f] = 0
    if n_open > 0:
        for i in range(n_h):
            h = order_h[i]
            if employer_h[h] >= 0:
                continue
            w = skill_weight[skill_h[h]]
            best, best_wage = -1, -1.0
            for m in range(visit_hm.shape[1]):
                f = open_f[int(visit_hm[h, m] * n_open) % n_open]
                fits = units_f[f] + w <= min(keep_f[f] + 0.5 * w, cap_f[f]) + 1e-9
                if vacancies_f[f] > 0 and fits and offer_f[f] * w > best_wage:
                    best, best_wage = f, offer_f[f] * w
            if best >= 0 and best_wage >= reservation_h[h]:
                employer_h[h] = best
                vacancies_f[best] -= 1
                hired_f[best] += 1
                units_f[best] += w
    for h in range(n_h):
        f = employer_h[h]
        if f >= 0:
            wage_h[h] = offer_f[f] * skill_weight[skill_h[h]]
        else:
            wage_h[h] = 0.0


@per_run(shared=("sellers",), cache=True)
def shop(budget_n, price_s, stock_s, order_n, visit_nz, sellers, seller_nz, spent_nz, qty_nz):
    """One run. Buyer n visits Z of ``sellers`` (indices into the price/stock arrays) and buys; records per
    visit the seller (−1 none), the money spent and the quantity; ``stock_s`` is drawn down in place."""
    n, z = visit_nz.shape
    n_sellers = sellers.shape[0]
    chosen = np.empty(z, dtype=np.int64)
    for i in range(n):
        b = order_n[i]
        for j in range(z):
            seller_nz[b, j] = -1
            spent_nz[b, j] = 0.0
            qty_nz[b, j] = 0.0
        budget = budget_n[b]
        if budget <= 0.0 or n_sellers == 0:
            continue
        for j in range(z):
            chosen[j] = sellers[int(visit_nz[b, j] * n_sellers) % n_sellers]
        for j in range(1, z):  # insertion sort by price (Z is small)
            c = chosen[j]
            k = j - 1
            while k >= 0 and price_s[chosen[k]] > price_s[c]:
                chosen[k + 1] = chosen[k]
                k -= 1
            chosen[k + 1] = c
        for j in range(z):
            s = chosen[j]
            if j > 0 and s == chosen[j - 1]:
                continue
            if stock_s[s] <= 0.0 or price_s[s] <= 0.0:
                continue
            q = min(stock_s[s], budget / price_s[s] * (1.0 - 1e-12))  # rounding never overdraws the buyer
            if q <= 0.0:
                continue
            stock_s[s] -= q
            money = q * price_s[s]
            budget -= money
            seller_nz[b, j] = s
            spent_nz[b, j] = money
            qty_nz[b, j] = q
            if budget <= 1e-12 * budget_n[b]:
                break


@per_run(cache=True)
def tally(seller_nz, spent_nz, qty_nz, spent_n, sold_s, revenue_s):
    """One run, after ``shop``: each buyer's spending over its visits (for Z < 8 the sum numpy's
    ``spent.sum(axis=-1)`` gives: in visit order) and each seller's units and revenue, added in the order
    of (buyer, visit) as a bincount of the visits adds them — one pass, no index array of N·Z."""
    n, z = seller_nz.shape
    for s in range(sold_s.shape[0]):
        sold_s[s] = 0.0
        revenue_s[s] = 0.0
    for i in range(n):
        if z < 8:
            acc = spent_nz[i, 0]
            for j in range(1, z):
                acc += spent_nz[i, j]
            spent_n[i] = acc
        for j in range(z):
            s = seller_nz[i, j]
            if s >= 0:  # a visit without a sale spent and bought exactly 0: adding it changes no sum
                sold_s[s] += qty_nz[i, j]
                revenue_s[s] += spent_nz[i, j]


@per_run(cache=True)
def credit_market(
    demand_f,
    lender_f,
    policy,
    spread_k,
    premium_f,
    refused_f,
    capacity_k,
    order_f,
    visit_fv,
    granted_f,
    chosen_f,
    rate_f,
):
    """One run. Firm f asks its lender (if it has one) or V random banks; bank k offers f the rate
    (i + spread_k) + premium_f, or refuses (``refused_f``); ``capacity_k`` is drawn down in place; outputs
    the amount, the bank and the rate. Offers are priced as they are asked for: no firms × banks table."""
    n_f, n_k = demand_f.shape[0], capacity_k.shape[0]
    for i in range(n_f):
        f = order_f[i]
        granted_f[f] = 0.0
        chosen_f[f] = -1
        rate_f[f] = 0.0
        if demand_f[f] <= 0.0 or refused_f[f]:
            continue
        best, best_rate = -1, np.inf
        if lender_f[f] >= 0:
            k = lender_f[f]
            offer = (policy + spread_k[k]) + premium_f[f]
            if capacity_k[k] > 0.0 and offer < best_rate:
                best, best_rate = k, offer
        else:
            for v in range(visit_fv.shape[1]):
                k = int(visit_fv[f, v] * n_k) % n_k
                offer = (policy + spread_k[k]) + premium_f[f]
                if capacity_k[k] > 0.0 and offer < best_rate:
                    best, best_rate = k, offer
        if best < 0:
            continue
        amount = min(demand_f[f], capacity_k[best])
        capacity_k[best] -= amount
        granted_f[f] = amount
        chosen_f[f] = best
        rate_f[f] = best_rate
