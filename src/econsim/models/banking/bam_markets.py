"""The BAM economy's decentralised markets (Delli Gatti et al. 2011, ch. 3), each a compiled kernel
written for one run and mapped over the batch (``engine.per_run``).

Every random choice comes in as random 32-bit words drawn from the engine's streams (a word w stands
for the uniform w·2⁻³²), one array per purpose, so a run's matches depend only on its own draws.
Sampling k of n partners without replacement uses Floyd's algorithm (k uniforms, every k-subset equally
likely); a random order of m agents is a Fisher–Yates shuffle (m uniforms).

``fire``: firms shed workers chosen at random — a given number (``mode`` 0: labour above the desired
level), or until the wages shed cover a financing gap (``mode`` 1: the credit market left the wage bill
unfunded).

``labour_market``: each unemployed worker samples M firms, ranks them by wage offer (a worker whose
contract just expired puts its last employer first), and sends one application per round; in each of M
rounds the applications are served in a fresh random order, a firm hiring while it has vacancies.

``credit_market``: each firm with a financing gap samples H of the banks that can lend, ranked by their
rate; in each of H rounds a bank serves its applicants from the least to the most fragile, lending
min(gap, cap·net worth) while its credit supply lasts, at r̄·(1 + φ_k·min(fragility, ℓ_max)).

``shop``: households, in a random order, visit Z firms — the largest producer of their last visit
among them (loyalty) — cheapest first, buying until their budget or the stocks run out.

``tick_contracts`` and ``lay_off``: contracts run down after production (an expired worker leaves,
remembering its employer), and the workers of failed firms lose their jobs.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import per_run

EPS = 1e-9
U32 = 2.0**-32  # a random 32-bit word w is the uniform w·2⁻³² on [0, 1)


@per_run(shared=("mode",), cache=True)
def fire(
    employer_h, wage_h, previous_h, fired_h, contract_h, expired_h, units_f, count_f, gap_f, bill_f, u_h, mode
):
    """One run. Buckets the workers by employer, then each firm that must shed draws its workers in a
    random order (partial Fisher–Yates on ``u_h``) and fires them: ``count_f`` of them (mode 0) or until
    the wages fired reach ``gap_f`` (mode 1; all of them if they never do). A fired worker remembers its
    employer; ``units_f`` (workers employed), ``bill_f`` (the wage bill, less the wages shed) and, in
    mode 1, ``gap_f`` (left unfunded) are updated."""
    n_h, n_f = employer_h.shape[0], units_f.shape[0]
    start = np.zeros(n_f + 1, dtype=np.int64)
    for h in range(n_h):
        if employer_h[h] >= 0:
            start[employer_h[h] + 1] += 1
    for f in range(n_f):
        start[f + 1] += start[f]
    fill = start[:n_f].copy()
    bucket = np.empty(max(start[n_f], 1), dtype=np.int64)
    for h in range(n_h):
        f = employer_h[h]
        if f >= 0:
            bucket[fill[f]] = h
            fill[f] += 1
    for f in range(n_f):
        lo, hi = start[f], start[f + 1]
        size = hi - lo
        if size == 0:
            continue
        if mode == 0:
            todo = min(count_f[f], size)
            if todo <= 0:
                continue
        elif gap_f[f] <= EPS:
            continue
        shed = 0.0
        for i in range(size):
            if mode == 0 and i >= todo:
                break
            j = i + int(u_h[bucket[lo + i]] * U32 * (size - i))
            if j >= size:
                j = size - 1
            h = bucket[lo + j]
            bucket[lo + j] = bucket[lo + i]
            bucket[lo + i] = h
            shed += wage_h[h]
            employer_h[h] = -1
            previous_h[h] = f
            wage_h[h] = 0.0
            fired_h[h] = 1
            contract_h[h] = 0
            expired_h[h] = 0
            units_f[f] -= 1
            if mode == 1 and shed >= gap_f[f]:
                break
        bill_f[f] -= shed
        if mode == 1:
            gap_f[f] = max(gap_f[f] - shed, 0.0)


@per_run(shared=("contract",), cache=True)
def labour_market(
    employer_h,
    wage_h,
    previous_h,
    fired_h,
    contract_h,
    expired_h,
    units_f,
    vacancies_f,
    offer_f,
    pick_hm,
    order_hm,
    contract,
    bill_f,
):
    """One run. Unemployed workers sample min(M, F) firms (``pick_hm``), rank them by wage offer, put
    their last employer first if their contract expired (not if they were fired), then apply in M
    rounds, served in a random order each round (``order_hm[:, r]``); a hire takes the firm's offer for
    ``contract`` steps. ``units_f`` and ``vacancies_f`` are updated in place; ``bill_f`` is the wage bill
    of every firm afterwards."""
    n_h, n_f = employer_h.shape[0], units_f.shape[0]
    m = pick_hm.shape[1]
    k = min(m, n_f)
    apps = np.full((n_h, max(k, 1)), -1, dtype=np.int64)
    active = np.empty(n_h, dtype=np.int64)
    n_active = 0
    chosen = np.empty(max(k, 1), dtype=np.int64)
    for h in range(n_h):
        if employer_h[h] >= 0:
            continue
        if k == 0:
            continue
        # Floyd: a uniformly random k-subset of the n_f firms
        for a in range(k):
            j = n_f - k + a
            t = int(pick_hm[h, a] * U32 * (j + 1))
            if t > j:
                t = j
            seen = False
            for c in range(a):
                if chosen[c] == t:
                    seen = True
                    break
            chosen[a] = j if seen else t
        for a in range(1, k):  # highest offer first (insertion sort: k is small)
            c = chosen[a]
            b = a - 1
            while b >= 0 and offer_f[chosen[b]] < offer_f[c]:
                chosen[b + 1] = chosen[b]
                b -= 1
            chosen[b + 1] = c
        prev = previous_h[h]
        if expired_h[h] == 1 and fired_h[h] == 0 and prev >= 0:
            at = k - 1  # not in the sample: the last is dropped
            for a in range(k):
                if chosen[a] == prev:
                    at = a
                    break
            for a in range(at, 0, -1):
                chosen[a] = chosen[a - 1]
            chosen[0] = prev
        for a in range(k):
            apps[h, a] = chosen[a]
        expired_h[h] = 0
        fired_h[h] = 0
        active[n_active] = h
        n_active += 1
    for r in range(k):
        if n_active == 0:
            break
        for i in range(n_active - 1, 0, -1):  # a fresh random order each round
            j = int(order_hm[i, r] * U32 * (i + 1))
            if j > i:
                j = i
            t = active[i]
            active[i] = active[j]
            active[j] = t
        kept = 0
        for i in range(n_active):
            h = active[i]
            f = apps[h, r]
            if vacancies_f[f] > 0:
                vacancies_f[f] -= 1
                units_f[f] += 1
                employer_h[h] = f
                wage_h[h] = offer_f[f]
                contract_h[h] = contract
                expired_h[h] = 0
                fired_h[h] = 0
            else:
                active[kept] = h
                kept += 1
        n_active = kept
    for f in range(n_f):
        bill_f[f] = 0.0
    for h in range(n_h):
        if employer_h[h] >= 0:
            bill_f[employer_h[h]] += wage_h[h]


@per_run(cache=True)
def credit_market(
    demand_f,
    worth_f,
    fragility_f,
    supply_k,
    spread_k,
    pick_fh,
    rate_base,
    max_fragility,
    loan_cap,
    loan_fh,
    lender_fh,
    rate_fh,
):
    """One run. Firms with ``demand_f`` > 0 sample min(H, banks with supply) banks (``pick_fh``), cheapest
    first (bank k asks ``rate_base``·(1 + ``spread_k``)); in round r each bank serves its round-r applicants from the least fragile, lending
    min(demand, ``loan_cap``·net worth) (no cap when ``loan_cap`` ≤ 0) while ``supply_k`` lasts, at
    ``rate_base``·(1 + ``spread_k``·min(fragility, ``max_fragility``)). Outputs the loan of every
    (firm, round): amount, bank (−1 none) and rate; ``demand_f`` and ``supply_k`` are drawn down."""
    n_f, h_max = pick_fh.shape
    n_k = supply_k.shape[0]
    for f in range(n_f):
        for r in range(h_max):
            loan_fh[f, r] = 0.0
            lender_fh[f, r] = -1
            rate_fh[f, r] = 0.0
    lenders = np.empty(n_k, dtype=np.int64)
    n_l = 0
    for b in range(n_k):
        if supply_k[b] > 0.0:
            lenders[n_l] = b
            n_l += 1
    k = min(h_max, n_l)
    if k == 0:
        return
    apps = np.full((n_f, k), -1, dtype=np.int64)
    chosen = np.empty(k, dtype=np.int64)
    for f in range(n_f):
        if demand_f[f] <= 0.0:
            continue
        for a in range(k):
            j = n_l - k + a
            t = int(pick_fh[f, a] * U32 * (j + 1))
            if t > j:
                t = j
            seen = False
            for c in range(a):
                if chosen[c] == t:
                    seen = True
                    break
            chosen[a] = j if seen else t
        for a in range(k):
            chosen[a] = lenders[chosen[a]]
        for a in range(1, k):  # cheapest bank first
            c = chosen[a]
            b = a - 1
            while b >= 0 and spread_k[chosen[b]] > spread_k[c]:
                chosen[b + 1] = chosen[b]
                b -= 1
            chosen[b + 1] = c
        for a in range(k):
            apps[f, a] = chosen[a]
    firms = np.empty(n_f, dtype=np.int64)
    frag = np.empty(n_f)
    for r in range(k):
        n_app = 0
        for f in range(n_f):
            if demand_f[f] > 0.0 and apps[f, r] >= 0 and supply_k[apps[f, r]] > EPS:
                firms[n_app] = f
                frag[n_app] = fragility_f[f]
                n_app += 1
        if n_app == 0:
            continue
        order = np.argsort(frag[:n_app], kind="mergesort")  # least fragile first, ties by firm
        for i in range(n_app):
            f = firms[order[i]]
            b = apps[f, r]
            grant = demand_f[f]
            if loan_cap > 0.0:
                grant = min(grant, loan_cap * worth_f[f])
            grant = min(grant, supply_k[b])
            if grant <= EPS:
                continue
            supply_k[b] -= grant
            demand_f[f] = max(demand_f[f] - grant, 0.0)
            loan_fh[f, r] = grant
            lender_fh[f, r] = b
            rate_fh[f, r] = rate_base * (1.0 + spread_k[b] * min(fragility_f[f], max_fragility))


@per_run(cache=True)
def shop(budget_h, favourite_h, price_f, stock_f, output_f, pick_hz, order_h, revenue_f, sold_f):
    """One run. Each household with a budget samples min(Z, F) firms (``pick_hz``), its favourite (the
    largest producer it saw last time, −1 none) among them, and remembers the largest of this sample;
    then, in a random order (``order_h``), buys from its firms cheapest first: min(budget/price, stock)
    each, until the budget (left in ``budget_h``) or the stocks (``stock_f``, drawn down) run out;
    ``revenue_f`` and ``sold_f`` are each firm's sales in money and units."""
    n_h, z = pick_hz.shape
    n_f = price_f.shape[0]
    k = min(z, n_f)
    visits = np.full((n_h, max(k, 1)), -1, dtype=np.int64)
    buyers = np.empty(n_h, dtype=np.int64)
    n_b = 0
    chosen = np.empty(max(k, 1), dtype=np.int64)
    for f in range(n_f):
        revenue_f[f] = 0.0
        sold_f[f] = 0.0
    for h in range(n_h):
        if budget_h[h] <= EPS or k == 0:
            continue
        if k == n_f:
            for a in range(k):
                chosen[a] = a
        else:
            fav = favourite_h[h]
            forced = 1 if fav >= 0 else 0
            pool = n_f - forced  # the others, sampled without the favourite
            want = k - forced
            n_chosen = 0
            if forced:
                chosen[0] = fav
                n_chosen = 1
            for j in range(pool - want, pool):
                t = int(pick_hz[h, j - (pool - want)] * U32 * (j + 1))
                if t > j:
                    t = j
                seen = False
                for c in range(forced, n_chosen):
                    if chosen[c] == t:
                        seen = True
                        break
                chosen[n_chosen] = j if seen else t
                n_chosen += 1
            if forced:  # indices of the pool skip the favourite
                for a in range(1, k):
                    if chosen[a] >= fav:
                        chosen[a] += 1
        for a in range(1, k):  # cheapest first
            c = chosen[a]
            b = a - 1
            while b >= 0 and price_f[chosen[b]] > price_f[c]:
                chosen[b + 1] = chosen[b]
                b -= 1
            chosen[b + 1] = c
        largest = chosen[0]
        for a in range(k):
            visits[h, a] = chosen[a]
            if output_f[chosen[a]] > output_f[largest]:
                largest = chosen[a]
        favourite_h[h] = largest
        buyers[n_b] = h
        n_b += 1
    for i in range(n_b - 1, 0, -1):
        j = int(order_h[i] * U32 * (i + 1))
        if j > i:
            j = i
        t = buyers[i]
        buyers[i] = buyers[j]
        buyers[j] = t
    for i in range(n_b):
        h = buyers[i]
        budget = budget_h[h]
        for a in range(k):
            if budget <= EPS:
                break
            f = visits[h, a]
            if stock_f[f] <= EPS:
                continue
            q = min(budget / price_f[f], stock_f[f])
            money = q * price_f[f]
            if money > budget:  # rounding never overdraws the buyer
                money = budget
            budget -= money
            stock_f[f] -= q
            revenue_f[f] += money
            sold_f[f] += q
        budget_h[h] = budget


@per_run(shared=("trim",), cache=True)
def trimmed_mean(values_n, mask_n, trim, out):
    """One run. Mean of ``values_n`` where ``mask_n``, without the round(trim·n) smallest and largest
    (the mean of all of them when that is none; 0 when the mask is empty); ``out`` is a 1-element slice."""
    n = 0
    for i in range(values_n.shape[0]):
        if mask_n[i]:
            n += 1
    if n == 0:
        out[0] = 0.0
        return
    buf = np.empty(n)
    j = 0
    total = 0.0
    for i in range(values_n.shape[0]):
        if mask_n[i]:
            buf[j] = values_n[i]
            total += values_n[i]
            j += 1
    cut = int(np.round(trim * n))
    if cut == 0 or n - 2 * cut <= 0:
        out[0] = total / n
        return
    low = np.partition(buf, cut)
    small = 0.0
    for i in range(cut):
        small += low[i]
    high = np.partition(buf, n - cut - 1)
    large = 0.0
    for i in range(n - cut, n):
        large += high[i]
    out[0] = (total - small - large) / (n - 2 * cut)


@per_run(cache=True)
def tick_contracts(employer_h, wage_h, previous_h, contract_h, expired_h, fired_h, units_f):
    """One run. Every employed worker's contract loses a step (one at 0 — raised to the minimum wage
    without a contract — ends now); a worker whose contract ends leaves its employer (``units_f``),
    which it remembers as the first firm to apply to."""
    for h in range(employer_h.shape[0]):
        f = employer_h[h]
        if f < 0:
            continue
        contract_h[h] = max(contract_h[h], 1) - 1
        if contract_h[h] == 0:
            previous_h[h] = f
            expired_h[h] = 1
            fired_h[h] = 0
            wage_h[h] = 0.0
            employer_h[h] = -1
            units_f[f] -= 1


@per_run(cache=True)
def lay_off(employer_h, wage_h, previous_h, contract_h, expired_h, fired_h, failed_f):
    """One run. The workers of the firms that failed (``failed_f``) lose their jobs and any claim to
    be hired back there."""
    for h in range(employer_h.shape[0]):
        f = employer_h[h]
        if f >= 0 and failed_f[f]:
            employer_h[h] = -1
            previous_h[h] = -1
            wage_h[h] = 0.0
            contract_h[h] = 0
            expired_h[h] = 0
            fired_h[h] = 0
