"""The BAM economy's step compiled (Delli Gatti et al. 2011, ch. 3): the whole quarter of one run in two
numba kernels, mapped over the batch (``engine.per_run``), with numpy's ``tanh`` and ``**`` between them.

``plan`` (one run): the books opened for the step (a copy of the ledger, the sectors' opening stocks), the
production decisions, the firings down to the desired labour, the minimum wage and wage offers, the labour
market, the credit market and its loans booked, the firings of firms still short, production, the
contracts' tick, and the households' savings ratio S/S̄. numpy then computes tanh(S/S̄)^β: its SIMD
``tanh`` and ``power`` differ from the C library's (numba's) in the last bit for a third of arguments, and
these are the bits of the stages the kernels replaced. ``settle`` (one run): the goods market, debt
service or default, dividends, every payment of the step booked, exit and entry, the banks' rescue, the
end-of-step settlement (government overdraft into bonds, banks' advances) and the step's aggregates.

Every amount is computed by the operations of the numpy code it replaced, in its order: sums over firms or
households are numpy's pairwise sums (``_pairwise``), sums by bank its ``bincount`` (in member order),
the sectors' opening stocks its ``add.reduceat``; each booking is a leg of ``Ledger.book_net`` applied in
its order, member by member (``_leg``: stock, net worth, transactions-flow, turnover and volume as the
ledger's own kernel moves them). So the results are those bits, whatever the batch.

Random words. The step uses one block of 32-bit words of the run's stream ``bam`` laid out by purpose
(``layout``): a word w stands for the uniform w·2⁻³². Much of the block is never looked at — the labour
market's words belong to the unemployed, the firing words to the workers fired — so the kernels compute
only the Philox blocks of the words they read (``_fill``), from the stream's position
(``Stream.deferred_words``): the same words, and the same position afterwards, as drawing the block.

Sampling k of n partners without replacement uses Floyd's algorithm (k uniforms, every k-subset equally
likely); a random order of m agents is a Fisher–Yates shuffle (m uniforms).

The market kernels (also mapped over a batch as ``fire``, ``labour_market``, ``credit_market`` and
``shop``, on explicit word arrays):

``_fire``: firms shed workers chosen at random — a given number (``mode`` 0: labour above the desired
level), or until the wages shed cover a financing gap (``mode`` 1: the credit market left the wage bill
unfunded).

``_labour``: each unemployed worker samples M firms, ranks them by wage offer (a worker whose contract
just expired puts its last employer first), and sends one application per round; in each of M rounds the
applications are served in a fresh random order, a firm hiring while it has vacancies.

``_credit``: each firm with a financing gap samples H of the banks that can lend, ranked by their rate; in
each of H rounds a bank serves its applicants from the least to the most fragile, lending
min(gap, cap·net worth) while its credit supply lasts, at r̄·(1 + φ_k·min(fragility, ℓ_max)).

``_shop``: households, in a random order, visit Z firms — the largest producer of their last visit among
them (loyalty) — cheapest first, buying until their budget or the stocks run out.

``_tick`` and ``_lay_off``: contracts run down after production (an expired worker leaves, remembering its
employer), and the workers of failed firms lose their jobs.

This module imports numba: ``bam`` loads it at the first BAM step.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from econsim.engine import per_run
from econsim.engine.jit import njit
from econsim.mechanisms.ledger import _FINANCIAL, _FLOW

EPS = 1e-9
U32 = 2.0**-32  # a random 32-bit word w is the uniform w·2⁻³² on [0, 1)
TRIM = 0.05  # the survivors' means that size an entrant leave out 5 % at either end

#: accounts the step books, in the rows of the ``codes`` table (kind, instrument or flow index, TFM row)
ACCOUNTS = (
    "deposits", "reserves", "loans", "bonds", "advances", "wages", "consumption", "loan_interest",
    "dividends", "write_offs", "capital_transfers",
)  # fmt: skip
DEP, RES, LOANS, BONDS, ADV, WAGES, CONS, INT, DIV, WOFF, CAPT = range(11)
#: sectors, in the rows of the ``offsets`` (first holder) and ``sectors`` (TFM column) tables
HH, FIRM, BANK, CB, GOV = range(5)
SECTORS = ("households", "firms", "banks", "central_bank", "government")
#: per-run parameters, in the columns of ``par``
PARAMS = (
    "productivity", "bam_quantity_shock", "bam_price_shock", "bam_wage_shock", "bam_rate_shock",
    "capital_requirement", "rate_base", "bam_max_fragility", "bam_loan_cap", "payout", "bam_entrant_size",
    "bam_entrant_output", "bam_entrant_wage", "bam_entrant_markup", "bam_bank_equity", "expectation_gain",
)  # fmt: skip
PHI, QSHOCK, PSHOCK, WSHOCK, RSHOCK, CAPREQ, RBASE, MAXFRAG, LCAP, PAYOUT = range(10)
ESIZE, EOUTPUT, EWAGE, EMARKUP, BEQUITY, GAIN = range(10, 16)
#: per-run numbers ``plan`` hands to ``settle`` (``carry``) and the step's aggregates (``agg``)
C_WMIN, C_PNEW = range(2)
AGGREGATES = (
    "price_index", "inflation", "expected_inflation", "unemployment", "vacancy_rate", "wage_index",
    "potential", "deficit", "average_price", "minimum_wage", "loans_granted", "gdp", "gdp_nominal",
    "consumption", "firm_bankruptcies", "bank_defaults",
)  # fmt: skip


@njit(error_model="numpy")
def layout(n_f, n_h, n_k, m, h_max, z):
    """Where each purpose's 32-bit words start in the step's block, then their total: (firms, banks,
    fire, apply, rounds, credit, visit, shop, total) — the firms' three shocks (ρ, η, ξ; 3·F), the banks'
    two (φ and the pick of a failed bank's model; 2·K), two firing words per household, M application
    and M ordering words per household, H bank picks per firm, Z visits and one shopping-order word per
    household."""
    firms = 0
    banks = firms + 3 * n_f
    fire = banks + 2 * n_k
    apply = fire + 2 * n_h
    rounds = apply + n_h * m
    credit = rounds + n_h * m
    visit = credit + n_f * h_max
    shop = visit + n_h * z
    return (firms, banks, fire, apply, rounds, credit, visit, shop, shop + n_h)


# --- random words -----------------------------------------------------------------------------------
@intrinsic
def _mul128(typingctx, a, b):
    """(hi, lo) of the 128-bit product of two uint64."""
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        wide = ir.IntType(128)
        product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        hi = builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), ir.IntType(64))
        lo = builder.trunc(product, ir.IntType(64))
        return context.make_tuple(builder, signature.return_type, (hi, lo))

    return sig, codegen


@njit(error_model="numpy", inline="always")
def _philox(k0, k1, counter):
    """The four words of the Philox4x64-10 block of ``counter`` under the key (k0, k1), as
    ``streams.philox_words`` computes them (its 128-bit products here by an LLVM intrinsic)."""
    m0 = np.uint64(0xD2E7470EE14C6C93)
    m1 = np.uint64(0xCA5A826395121157)
    w0 = np.uint64(0x9E3779B97F4A7C15)
    w1 = np.uint64(0xBB67AE8584CAA73B)
    x0, x1, x2, x3 = counter, np.uint64(0), np.uint64(0), np.uint64(0)
    for i in range(10):
        if i:
            k0 += w0
            k1 += w1
        hi0, lo0 = _mul128(m0, x0)
        hi1, lo1 = _mul128(m1, x2)
        x0, x1, x2, x3 = hi1 ^ x1 ^ k0, lo1, hi0 ^ x3 ^ k1, lo0
    return x0, x1, x2, x3


@njit(error_model="numpy")
def _fill(keys, head, block, base, width, rows, out):
    """out[r·width + c] ← 32-bit word base + r·width + c of the step's block, for every row r with
    ``rows[r]`` and c < width (the other entries are left as they are): word j is 64-bit word j // 2's
    low (j even) or high half; 64-bit word q is head[q] while q < len(head), else word (q − len(head))
    mod 4 of the Philox block of counter block + (q − len(head)) // 4, computed once per run of reads
    inside it."""
    k0, k1 = keys[0], keys[1]
    n_head = head.shape[0]
    current = -1
    x0 = x1 = x2 = x3 = np.uint64(0)
    for r in range(rows.shape[0]):
        if not rows[r]:
            continue
        for c in range(width):
            j = base + r * width + c
            q = j >> 1
            if q < n_head:
                w = head[q]
            else:
                m = q - n_head
                blk = m >> 2
                if blk != current:
                    x0, x1, x2, x3 = _philox(k0, k1, np.uint64(block + blk))
                    current = blk
                e = m & 3
                w = x0 if e == 0 else (x1 if e == 1 else (x2 if e == 2 else x3))
            half = w >> np.uint64(32) if j & 1 else w & np.uint64(0xFFFFFFFF)
            out[r * width + c] = np.uint32(half)


# --- sums as numpy makes them -----------------------------------------------------------------------
@njit(error_model="numpy")
def _block_sum(a, lo, n, stride):
    """numpy's sum of at most 128 terms: in order below 8, else in eight interleaved partial sums."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i * stride]
        return res
    r0 = a[lo]
    r1 = a[lo + stride]
    r2 = a[lo + 2 * stride]
    r3 = a[lo + 3 * stride]
    r4 = a[lo + 4 * stride]
    r5 = a[lo + 5 * stride]
    r6 = a[lo + 6 * stride]
    r7 = a[lo + 7 * stride]
    i = 8
    while i < n - (n % 8):
        j = lo + i * stride
        r0 += a[j]
        r1 += a[j + stride]
        r2 += a[j + 2 * stride]
        r3 += a[j + 3 * stride]
        r4 += a[j + 4 * stride]
        r5 += a[j + 5 * stride]
        r6 += a[j + 6 * stride]
        r7 += a[j + 7 * stride]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i * stride]
        i += 1
    return res


@njit(error_model="numpy")
def _pairwise(a, lo, n, stride):
    """numpy's pairwise sum of a[lo], a[lo + stride], …, n of them (``np.sum`` along an axis): blocks of
    at most 128 terms, halves split at a multiple of 8 and added. Its recursion runs on an explicit
    stack (numba's disk cache cannot load a recursive function)."""
    if n <= 128:
        return _block_sum(a, lo, n, stride)
    depth = 64
    at = np.empty(depth, dtype=np.int64)
    size = np.empty(depth, dtype=np.int64)
    stage = np.empty(depth, dtype=np.int64)  # 0 fresh, 1 left half pending, 2 right half pending
    left = np.empty(depth)
    right = np.empty(depth)
    at[0], size[0], stage[0] = lo, n, 0
    top = 0
    result = 0.0
    while top >= 0:
        if size[top] <= 128 or stage[top] == 3:
            done = stage[top] == 3
            value = left[top] + right[top] if done else _block_sum(a, at[top], size[top], stride)
            top -= 1
            if top < 0:
                result = value
            elif stage[top] == 1:
                left[top] = value
            else:
                right[top] = value
            continue
        half = size[top] // 2
        half -= half % 8
        if stage[top] == 0:
            stage[top] = 1
            at[top + 1], size[top + 1], stage[top + 1] = at[top], half, 0
        elif stage[top] == 1:
            stage[top] = 2
            at[top + 1], size[top + 1], stage[top + 1] = at[top] + half * stride, size[top] - half, 0
        else:
            stage[top] = 3
            continue
        top += 1
    return result


@njit(error_model="numpy")
def _column_block(a, lo, n, out):
    """``_block_sum`` of rows lo … lo + n − 1 (n ≤ 128) of every column of ``a``, reading the rows in
    order (one pass over contiguous memory)."""
    n_i = a.shape[1]
    if n < 8:
        for i in range(n_i):
            out[i] = 0.0
        for j in range(n):
            for i in range(n_i):
                out[i] += a[lo + j, i]
        return
    r = np.empty((8, n_i))
    whole = n - (n % 8)
    for j in range(whole):
        e = j % 8
        for i in range(n_i):
            if j < 8:
                r[e, i] = a[lo + j, i]
            else:
                r[e, i] += a[lo + j, i]
    for i in range(n_i):
        out[i] = ((r[0, i] + r[1, i]) + (r[2, i] + r[3, i])) + ((r[4, i] + r[5, i]) + (r[6, i] + r[7, i]))
    for j in range(whole, n):
        for i in range(n_i):
            out[i] += a[lo + j, i]


@njit(error_model="numpy")
def _column_sums(a, lo, n, out):
    """out[i] ← ``_pairwise`` of column i of ``a`` over rows lo … lo + n − 1, every column at once (the
    same tree of blocks and halves, read row by row)."""
    n_i = a.shape[1]
    if n <= 128:
        _column_block(a, lo, n, out)
        return
    depth = 64
    at = np.empty(depth, dtype=np.int64)
    size = np.empty(depth, dtype=np.int64)
    stage = np.empty(depth, dtype=np.int64)  # 0 fresh, 1 left half pending, 2 right half pending
    left = np.empty((depth, n_i))
    right = np.empty((depth, n_i))
    value = np.empty(n_i)
    at[0], size[0], stage[0] = lo, n, 0
    top = 0
    while top >= 0:
        if size[top] <= 128 or stage[top] == 3:
            if stage[top] == 3:
                for i in range(n_i):
                    value[i] = left[top, i] + right[top, i]
            else:
                _column_block(a, at[top], size[top], value)
            top -= 1
            if top < 0:
                for i in range(n_i):
                    out[i] = value[i]
            elif stage[top] == 1:
                for i in range(n_i):
                    left[top, i] = value[i]
            else:
                for i in range(n_i):
                    right[top, i] = value[i]
            continue
        half = size[top] // 2
        half -= half % 8
        if stage[top] == 0:
            stage[top] = 1
            at[top + 1], size[top + 1], stage[top + 1] = at[top], half, 0
        elif stage[top] == 1:
            stage[top] = 2
            at[top + 1], size[top + 1], stage[top + 1] = at[top] + half, size[top] - half, 0
        else:
            stage[top] = 3
            continue
        top += 1


@njit(error_model="numpy")
def _sum(a):
    """``a.sum()`` of a 1-d contiguous array, as numpy adds it."""
    n = a.shape[0]
    zero = n - n  # not a literal 0: one compiled ``_pairwise`` serves every call
    return _pairwise(a, zero, n, zero + 1)


@njit(error_model="numpy")
def _by(index, values, out):
    """out[k] = Σ values[i] where index[i] = k, in entry order (numpy's ``bincount``)."""
    for k in range(out.shape[0]):
        out[k] = 0.0
    for i in range(values.shape[0]):
        out[index[i]] += values[i]


# --- the books ----------------------------------------------------------------------------------------
@njit(error_model="numpy")
def _leg(led, first, column, code, sign, members, amounts):
    """One leg of ``Ledger.book_net`` in one run: amounts[t] booked on holder first + members[t] (a
    sector's first holder and its members; all zeros for the central bank or the government), on the
    account of ``code`` (kind, instrument or flow index, TFM row) in TFM column ``column``; ``sign`` +1 a
    debit, −1 a credit. Stock, net worth, flow, turnover and volume move as the ledger's own kernel moves
    them, member by member."""
    stock, worth, flow, turnover, volume = led
    kind, index, row = code[0], code[1], code[2]
    for t in range(amounts.shape[0]):
        d = sign * amounts[t]
        h = first + members[t]
        volume[h] += abs(d)
        if kind == _FLOW:
            worth[h] -= d
        else:
            stock[h, index] += d
        turnover[row, column] += abs(d)
        if kind != _FINANCIAL:
            flow[row, column] -= d


@njit(error_model="numpy")
def _open_books(stock_in, worth_in, volume_in, offsets, stock, worth, flow, opening, turnover, volume):
    """The step's books: copies of the stocks, net worth and volume; the sectors' opening stocks (numpy's
    ``add.reduceat``: a sector's first member plus the pairwise sum of the others); no flows yet."""
    n_i = stock_in.shape[1]
    for h in range(stock_in.shape[0]):
        worth[h] = worth_in[h]
        volume[h] = volume_in[h]
        for i in range(n_i):
            stock[h, i] = stock_in[h, i]
    for r in range(flow.shape[0]):
        for k in range(flow.shape[1]):
            flow[r, k] = 0.0
    for r in range(turnover.shape[0]):
        for k in range(turnover.shape[1]):
            turnover[r, k] = 0.0
    sums = np.empty(n_i)
    for k in range(offsets.shape[0] - 1):
        lo, hi = offsets[k], offsets[k + 1]
        _column_sums(stock_in, lo + 1, hi - lo - 1, sums)
        for i in range(n_i):
            opening[k, i] = stock_in[lo, i] + sums[i]


# --- the markets --------------------------------------------------------------------------------------
@njit(error_model="numpy")
def _fire(
    employer_h, wage_h, previous_h, fired_h, contract_h, expired_h, units_f, count_f, gap_f, bill_f, u_h, mode
):
    """Buckets the workers by employer, then each firm that must shed draws its workers in a
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


@njit(error_model="numpy")
def _labour(
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
    """Unemployed workers sample min(M, F) firms (``pick_hm``), rank them by wage offer, put
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


@njit(error_model="numpy")
def _credit(
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
    """Firms with ``demand_f`` > 0 sample min(H, banks with supply) banks (``pick_fh``), cheapest
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


@njit(error_model="numpy")
def _shop(budget_h, favourite_h, price_f, stock_f, output_f, pick_hz, order_h, revenue_f, sold_f):
    """Each household with a budget samples min(Z, F) firms (``pick_hz``), its favourite (the
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


@njit(error_model="numpy")
def _trimmed(values_n, mask_n, trim):
    """Mean of ``values_n`` where ``mask_n``, without the round(trim·n) smallest and largest (the mean of
    all of them when that is none; 0 when the mask is empty)."""
    n = 0
    for i in range(values_n.shape[0]):
        if mask_n[i]:
            n += 1
    if n == 0:
        return 0.0
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
        return total / n
    low = np.partition(buf, cut)
    small = 0.0
    for i in range(cut):
        small += low[i]
    high = np.partition(buf, n - cut - 1)
    large = 0.0
    for i in range(n - cut, n):
        large += high[i]
    return (total - small - large) / (n - 2 * cut)


@njit(error_model="numpy")
def _tick(employer_h, wage_h, previous_h, contract_h, expired_h, fired_h, units_f):
    """Every employed worker's contract loses a step (one at 0 — raised to the minimum wage without a
    contract — ends now); a worker whose contract ends leaves its employer (``units_f``), which it
    remembers as the first firm to apply to."""
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


@njit(error_model="numpy")
def _lay_off(employer_h, wage_h, previous_h, contract_h, expired_h, fired_h, failed_f):
    """The workers of the firms that failed (``failed_f``) lose their jobs and any claim to be hired back
    there."""
    for h in range(employer_h.shape[0]):
        f = employer_h[h]
        if f >= 0 and failed_f[f]:
            employer_h[h] = -1
            previous_h[h] = -1
            wage_h[h] = 0.0
            contract_h[h] = 0
            expired_h[h] = 0
            fired_h[h] = 0


# --- the step -----------------------------------------------------------------------------------------
@njit(error_model="numpy")
def _plan(
    employer_in, wage_in, previous_in, contract_in, expired_in, fired_in, price_in, inventory_in, output_in,
    bill_in, interest_in, units_in, offer_in, bank_f, step, average_price, minimum_wage, history_in,
    stock_in, worth_in, volume_in, keys, head, par, ints, offsets, sectors, codes,
    employer, wage, previous, contract, expired, fired, paid, ratio, price, planned, target, vacancies,
    offer, units, bill, made, funds, loan_fh, lender_fh, rate_fh, loan_f, lent_k, stock, worth, flow,
    opening, turnover, volume, history, carry,
):  # fmt: skip
    """One run, from the books' opening to the households' savings ratio (the module docstring; the
    rules are ``bam``'s): writes the households' and firms' new arrays, the step's loans (per firm and
    round: amount, lender, rate; their sums per firm and per bank), the books after the credit market,
    P̄'s history and ``carry`` (w_min, P̄)."""
    n_h, n_f, n_k = employer_in.shape[0], price_in.shape[0], lent_k.shape[0]
    block, m, h_max, z, contract_steps, period = ints[0], ints[1], ints[2], ints[3], ints[4], ints[5]
    at = layout(n_f, n_h, n_k, m, h_max, z)
    led = (stock, worth, flow, turnover, volume)
    all_f, all_k = np.arange(n_f), np.arange(n_k)
    whole = np.ones(1, dtype=np.bool_)
    u_f = np.empty(3 * n_f, dtype=np.uint32)
    _fill(keys, head, block, at[0], 3 * n_f, whole, u_f)
    u_k = np.empty(n_k, dtype=np.uint32)
    _fill(keys, head, block, at[1], n_k, whole, u_k)
    _open_books(stock_in, worth_in, volume_in, offsets, stock, worth, flow, opening, turnover, volume)
    for h in range(n_h):
        employer[h] = employer_in[h]
        wage[h] = wage_in[h]
        previous[h] = previous_in[h]
        contract[h] = contract_in[h]
        expired[h] = expired_in[h]
        fired[h] = fired_in[h]
    # 1. planning
    phi = par[PHI]
    p_avg = average_price
    count = np.empty(n_f, dtype=np.int64)
    for f in range(n_f):
        u0 = u_f[f] * U32
        u1 = u_f[n_f + f] * U32
        sold_out = inventory_in[f] <= 0.0
        p = price_in[f]
        rho = par[QSHOCK] * u0
        if sold_out and p >= p_avg:
            grow = 1 + rho
        elif not sold_out and p < p_avg:
            grow = 1 - rho
        else:
            grow = 1.0
        plan = output_in[f] * grow
        breakeven = (bill_in[f] + interest_in[f]) / max(plan, EPS)
        eta = par[PSHOCK] * u1
        moved = p * (1 + eta) if sold_out else p * (1 - eta)
        adjust = p < p_avg if sold_out else p >= p_avg
        if adjust:
            p = moved if moved >= breakeven else breakeven
        price[f] = p
        planned[f] = plan
        desired = np.int64(np.ceil(plan / phi))
        target[f] = desired
        units[f] = np.int64(np.rint(units_in[f]))
        vacancies[f] = max(desired - units[f], 0)
        count[f] = units[f] - desired
        bill[f] = 0.0
    gap = np.zeros(n_f)
    mode = n_f - n_f  # not a literal: one compiled ``_fire`` serves both modes
    # the firing words of the workers of firms that shed (the others are never read)
    u_h = np.empty(n_h, dtype=np.uint32)
    chosen = np.empty(n_h, dtype=np.bool_)
    for h in range(n_h):
        chosen[h] = employer[h] >= 0 and count[employer[h]] > 0
    _fill(keys, head, block, at[2], mode + 1, chosen, u_h)
    _fire(employer, wage, previous, fired, contract, expired, units, count, gap, bill, u_h, mode)
    # 2. labour: the minimum wage, wage offers, matching
    t = step + 1
    revise = t > period and (t - 1) % period == 0
    inflation_yoy = history_in[4] / max(history_in[0], 1e-300) - 1.0
    w_min = minimum_wage * (1 + inflation_yoy) if revise else minimum_wage
    for h in range(n_h):
        if employer[h] >= 0 and wage[h] < w_min:
            wage[h] = w_min
    for f in range(n_f):
        xi = par[WSHOCK] * (u_f[2 * n_f + f] * U32) if vacancies[f] > 0 else 0.0
        o = offer_in[f] * (1 + xi)
        offer[f] = o if o >= w_min else w_min
    # the application words of the unemployed, the ordering words of as many places in the queue
    n_active = 0
    for h in range(n_h):
        chosen[h] = employer[h] < 0
        n_active += chosen[h]
    pick = np.empty(n_h * m, dtype=np.uint32)
    order = np.empty(n_h * m, dtype=np.uint32)
    _fill(keys, head, block, at[3], m, chosen, pick)
    _fill(keys, head, block, at[4], n_active * m, whole, order)
    pick_hm, order_hm = pick.reshape((n_h, m)), order.reshape((n_h, m))
    _labour(employer, wage, previous, fired, contract, expired, units, vacancies, offer, pick_hm, order_hm,
            contract_steps, bill)  # fmt: skip
    # 3. credit: one-step loans, booked per firm and per bank
    supply = np.empty(n_k)
    spread = np.empty(n_k)
    for k in range(n_k):
        supply[k] = max(worth[offsets[BANK] + k] / par[CAPREQ], 0.0)
        spread[k] = par[RSHOCK] * (u_k[k] * U32)
    demand = np.empty(n_f)
    fragility = np.empty(n_f)
    firm_worth = np.empty(n_f)
    for f in range(n_f):
        w = worth[offsets[FIRM] + f]
        firm_worth[f] = w
        demand[f] = max(bill[f] - stock[offsets[FIRM] + f, codes[DEP, 1]], 0.0)
        fragility[f] = demand[f] / w if w > 0 else par[MAXFRAG]
    pick = np.empty(n_f * h_max, dtype=np.uint32)
    _fill(keys, head, block, at[5], n_f * h_max, whole, pick)
    pick_fh = pick.reshape((n_f, h_max))
    _credit(demand, firm_worth, fragility, supply, spread, pick_fh, par[RBASE], par[MAXFRAG], par[LCAP],
            loan_fh, lender_fh, rate_fh)  # fmt: skip
    for f in range(n_f):
        loan_f[f] = _sum(loan_fh[f])
    for k in range(n_k):
        lent_k[k] = 0.0
    for f in range(n_f):
        for r in range(h_max):
            if lender_fh[f, r] >= 0:
                lent_k[lender_fh[f, r]] += loan_fh[f, r]
    _leg(led, offsets[BANK], sectors[BANK], codes[LOANS], 1.0, all_k, lent_k)
    _leg(led, offsets[FIRM], sectors[FIRM], codes[DEP], 1.0, all_f, loan_f)
    _leg(led, offsets[BANK], sectors[BANK], codes[RES], 1.0, bank_f, loan_f)
    _leg(led, offsets[FIRM], sectors[FIRM], codes[LOANS], -1.0, all_f, loan_f)
    _leg(led, offsets[BANK], sectors[BANK], codes[DEP], -1.0, bank_f, loan_f)
    _leg(led, offsets[BANK], sectors[BANK], codes[RES], -1.0, all_k, lent_k)
    dep = codes[DEP, 1]
    for f in range(n_f):
        gap[f] = max(bill[f] - stock[offsets[FIRM] + f, dep], 0.0)
        count[f] = 0
    for h in range(n_h):
        chosen[h] = employer[h] >= 0 and gap[employer[h]] > EPS
    _fill(keys, head, block, at[2] + n_h, mode + 1, chosen, u_h)
    _fire(employer, wage, previous, fired, contract, expired, units, count, gap, bill, u_h, mode + 1)
    # 4. production: wages, output, P̄; contracts tick
    savings = np.empty(n_h)
    for h in range(n_h):
        paid[h] = wage[h] if employer[h] >= 0 else 0.0
        savings[h] = max(stock[offsets[HH] + h, dep], 0.0)
    weights = np.empty(n_f)
    valued = np.empty(n_f)
    for f in range(n_f):
        funds[f] = stock[offsets[FIRM] + f, dep] - bill[f]
        made[f] = phi * units[f]
        weights[f] = made[f] if made[f] >= 1e-3 else 0.0
        valued[f] = price[f] * weights[f]
    total_out = _sum(weights)
    p_new = _sum(valued) / max(total_out, 1e-300) if total_out > 0 else average_price
    for i in range(4):
        history[i] = history_in[i + 1]
    history[4] = p_new
    _tick(employer, wage, previous, contract, expired, fired, units)
    mean = _sum(savings) / n_h
    for h in range(n_h):
        ratio[h] = savings[h] / max(mean, EPS)
    carry[C_WMIN] = w_min
    carry[C_PNEW] = p_new


@njit(error_model="numpy")
def _settle(
    bank_h, bank_f, favourite_in, firm_defaults_in, bank_defaults_in, base_price, price_index_in,
    expected_in, potential_in, average_price, keys, head, par, ints, offsets, sectors, codes, propensity,
    employer, wage, previous, contract, expired, fired, paid, price, vacancies, offer, units, bill, made,
    funds, loan_fh, lender_fh, rate_fh, loan_f, lent_k, carry, stock, worth, flow, turnover, volume,
    favourite, spent, share_h, output, inventory, units_out, vacancies_out, bill_out, interest_out,
    revenue, sold, profit, firm_defaults, bank_defaults, bank_equity, agg,
):  # fmt: skip
    """One run, from the goods market to the step's aggregates (the module docstring; the rules are
    ``bam``'s), on ``plan``'s arrays; ``propensity`` is 1/(1 + tanh(S/S̄)^β)'s tanh(S/S̄)^β."""
    n_h, n_f, n_k = employer.shape[0], price.shape[0], lent_k.shape[0]
    block, m, h_max, z = ints[0], ints[1], ints[2], ints[3]
    at = layout(n_f, n_h, n_k, m, h_max, z)
    led = (stock, worth, flow, turnover, volume)
    whole = np.ones(1, dtype=np.bool_)
    all_h, all_f, all_k = np.arange(n_h), np.arange(n_f), np.arange(n_k)
    zero1, zeros_k = np.zeros(1, dtype=np.int64), np.zeros(n_k, dtype=np.int64)
    dep = codes[DEP, 1]
    w_min, p_new = carry[C_WMIN], carry[C_PNEW]
    # 5. goods
    budget = np.empty(n_h)
    left = np.empty(n_h)
    for h in range(n_h):
        savings = max(stock[offsets[HH] + h, dep], 0.0)
        budget[h] = (savings + paid[h]) / (1.0 + propensity[h])
        left[h] = budget[h]
        favourite[h] = favourite_in[h]
    stock_f = made.copy()
    visit = np.empty(n_h * z, dtype=np.uint32)
    _fill(keys, head, block, at[6], n_h * z, whole, visit)
    order = np.empty(n_h, dtype=np.uint32)
    _fill(keys, head, block, at[7], n_h, whole, order)
    _shop(left, favourite, price, stock_f, made, visit.reshape((n_h, z)), order, revenue, sold)
    for h in range(n_h):
        spent[h] = budget[h] - left[h]
    # 6. revenue: debt service or default, dividends
    interest_f = np.empty(n_f)
    principal_f = np.empty(n_f)
    written_f = np.empty(n_f)
    dividend = np.empty(n_f)
    outflow_f = np.empty(n_f)
    due_f = np.empty(n_f)
    due_fh = np.empty(h_max)
    principal_k = np.zeros(n_k)
    interest_k = np.zeros(n_k)
    for f in range(n_f):
        cash_in = funds[f] + revenue[f]
        for r in range(h_max):
            due_fh[r] = loan_fh[f, r] * rate_fh[f, r]
        due = _pairwise(due_fh, 0, h_max, 1)
        due_f[f] = due
        solvent = cash_in - (loan_f[f] + due) >= -EPS
        cash = max(cash_in, 0.0)
        if solvent:
            principal, interest = loan_f[f], due
        else:
            principal = min(cash, loan_f[f])
            interest = min(max(cash - principal, 0.0), due)
        principal_f[f] = principal
        interest_f[f] = interest
        written_f[f] = loan_f[f] - principal
        p_share = principal / max(loan_f[f], 1e-300) if loan_f[f] > 0 else 0.0
        i_share = interest / max(due, 1e-300) if due > 0 else 0.0
        for r in range(h_max):
            b = lender_fh[f, r]
            if b >= 0:
                principal_k[b] += loan_fh[f, r] * p_share
                interest_k[b] += due_fh[r] * i_share
        profit[f] = revenue[f] - bill[f] - due
        dividend[f] = par[PAYOUT] * max(profit[f], 0.0) if solvent else 0.0
    share = _sum(dividend) / n_h
    inflow_h = np.empty(n_h)
    for h in range(n_h):
        share_h[h] = share
        inflow_h[h] = paid[h] + share - spent[h]
    for f in range(n_f):
        outflow_f[f] = bill[f] - revenue[f] + principal_f[f] + interest_f[f] + dividend[f]
    in_k = np.empty(n_k)
    out_k = np.empty(n_k)
    _by(bank_h, inflow_h, in_k)
    _by(bank_f, outflow_f, out_k)
    net_k = in_k - out_k
    reserves_k = principal_k + interest_k + net_k
    losses_k = lent_k - principal_k
    _leg(led, offsets[FIRM], sectors[FIRM], codes[WAGES], 1.0, all_f, bill)
    _leg(led, offsets[HH], sectors[HH], codes[CONS], 1.0, all_h, spent)
    _leg(led, offsets[FIRM], sectors[FIRM], codes[INT], 1.0, all_f, interest_f)
    _leg(led, offsets[FIRM], sectors[FIRM], codes[DIV], 1.0, all_f, dividend)
    _leg(led, offsets[HH], sectors[HH], codes[DEP], 1.0, all_h, inflow_h)
    _leg(led, offsets[FIRM], sectors[FIRM], codes[LOANS], 1.0, all_f, loan_f)
    _leg(led, offsets[BANK], sectors[BANK], codes[RES], 1.0, all_k, reserves_k)
    _leg(led, offsets[BANK], sectors[BANK], codes[WOFF], 1.0, all_k, losses_k)
    _leg(led, offsets[HH], sectors[HH], codes[WAGES], -1.0, all_h, paid)
    _leg(led, offsets[FIRM], sectors[FIRM], codes[CONS], -1.0, all_f, revenue)
    _leg(led, offsets[BANK], sectors[BANK], codes[INT], -1.0, all_k, interest_k)
    _leg(led, offsets[HH], sectors[HH], codes[DIV], -1.0, all_h, share_h)
    _leg(led, offsets[FIRM], sectors[FIRM], codes[DEP], -1.0, all_f, outflow_f)
    _leg(led, offsets[BANK], sectors[BANK], codes[LOANS], -1.0, all_k, lent_k)
    _leg(led, offsets[BANK], sectors[BANK], codes[DEP], -1.0, all_k, net_k)
    _leg(led, offsets[FIRM], sectors[FIRM], codes[WOFF], -1.0, all_f, written_f)
    # 7. exit and entry
    bankrupt = np.empty(n_f, dtype=np.bool_)
    firm_worth = np.empty(n_f)
    n_bankrupt = 0
    for f in range(n_f):
        firm_worth[f] = worth[offsets[FIRM] + f]
        bankrupt[f] = firm_worth[f] < EPS or made[f] <= EPS
        n_bankrupt += bankrupt[f]
    _lay_off(employer, wage, previous, contract, expired, fired, bankrupt)
    one = np.empty(1)
    nominal = np.empty(n_f)
    for f in range(n_f):
        nominal[f] = made[f] * price[f]
        output[f] = made[f]
        if bankrupt[f]:
            units[f] = 0
    if n_bankrupt:
        survivors = np.empty(n_f, dtype=np.bool_)
        for f in range(n_f):
            survivors[f] = not bankrupt[f] or n_bankrupt == n_f
        staff = np.empty(n_h, dtype=np.bool_)
        for h in range(n_h):
            staff[h] = employer[h] >= 0
        mean_worth = _trimmed(firm_worth, survivors, TRIM)
        mean_output = _trimmed(made, survivors, TRIM)
        mean_wage = _trimmed(wage, staff, TRIM)
        # the government takes over what cash an exit leaves and endows its entrant
        grant = np.zeros(n_f)
        entrant_worth = par[ESIZE] * mean_worth
        for f in range(n_f):
            if bankrupt[f]:
                grant[f] = entrant_worth - stock[offsets[FIRM] + f, dep]
        one[0] = _sum(grant)
        inflow_k = np.empty(n_k)
        _by(bank_f, grant, inflow_k)
        _leg(led, offsets[GOV], sectors[GOV], codes[CAPT], 1.0, zero1, one)
        _leg(led, offsets[FIRM], sectors[FIRM], codes[DEP], 1.0, all_f, grant)
        _leg(led, offsets[BANK], sectors[BANK], codes[RES], 1.0, all_k, inflow_k)
        _leg(led, offsets[GOV], sectors[GOV], codes[RES], -1.0, zero1, one)
        _leg(led, offsets[FIRM], sectors[FIRM], codes[CAPT], -1.0, all_f, grant)
        _leg(led, offsets[BANK], sectors[BANK], codes[DEP], -1.0, all_k, inflow_k)
        entrant_wage = par[EWAGE] * mean_wage
        for f in range(n_f):
            if bankrupt[f]:
                output[f] = par[EOUTPUT] * mean_output
                price[f] = p_new * par[EMARKUP]
                offer[f] = entrant_wage if entrant_wage >= w_min else w_min
    failed = np.empty(n_k, dtype=np.bool_)
    equity = np.empty(n_k)
    n_alive = 0
    for k in range(n_k):
        equity[k] = worth[offsets[BANK] + k]
        failed[k] = equity[k] < EPS
        n_alive += not failed[k]
    if n_alive < n_k:
        # a random surviving bank (the j-th alive one) gives its equity to the replacement
        rescue = np.zeros(n_k)
        u_k = np.empty(n_k, dtype=np.uint32)
        _fill(keys, head, block, at[1] + n_k, n_k, whole, u_k)
        for k in range(n_k):
            if not failed[k]:
                continue
            u = u_k[k] * U32
            j = min(np.int64(u * max(n_alive, 1)), max(n_alive - 1, 0))
            model_equity = par[BEQUITY]
            if n_alive > 0:
                rank = -1
                for c in range(n_k):
                    if not failed[c]:
                        rank += 1
                        if rank == j:
                            model_equity = equity[c]
                            break
            rescue[k] = max(model_equity - equity[k], 0.0)
        one[0] = _sum(rescue)
        _leg(led, offsets[GOV], sectors[GOV], codes[CAPT], 1.0, zero1, one)
        _leg(led, offsets[BANK], sectors[BANK], codes[RES], 1.0, all_k, rescue)
        _leg(led, offsets[GOV], sectors[GOV], codes[RES], -1.0, zero1, one)
        _leg(led, offsets[BANK], sectors[BANK], codes[CAPT], -1.0, all_k, rescue)
    # the end of a step: the government's overdraft at the central bank becomes bonds the central bank
    # holds (a surplus redeems them), and a bank short of reserves borrows advances (one long repays)
    account = stock[offsets[GOV], codes[RES, 1]]
    held = stock[offsets[CB], codes[BONDS, 1]]
    one[0] = -account if account < 0 else -min(account, max(held, 0.0))
    _leg(led, offsets[CB], sectors[CB], codes[BONDS], 1.0, zero1, one)
    _leg(led, offsets[GOV], sectors[GOV], codes[RES], 1.0, zero1, one)
    _leg(led, offsets[CB], sectors[CB], codes[RES], -1.0, zero1, one)
    _leg(led, offsets[GOV], sectors[GOV], codes[BONDS], -1.0, zero1, one)
    borrow = np.empty(n_k)
    for k in range(n_k):
        reserves = stock[offsets[BANK] + k, codes[RES, 1]]
        advances = -stock[offsets[BANK] + k, codes[ADV, 1]]
        borrow[k] = max(-reserves, 0.0) - min(max(reserves, 0.0), advances)
    _leg(led, offsets[BANK], sectors[BANK], codes[RES], 1.0, all_k, borrow)
    _leg(led, offsets[CB], sectors[CB], codes[ADV], 1.0, zeros_k, borrow)
    _leg(led, offsets[BANK], sectors[BANK], codes[ADV], -1.0, all_k, borrow)
    _leg(led, offsets[CB], sectors[CB], codes[RES], -1.0, zeros_k, borrow)
    # the firms' and banks' new arrays, the economy's aggregates (as ``macro.macro`` defines them)
    open_positions = 0
    for f in range(n_f):
        lost = bankrupt[f]
        inventory[f] = 0.0 if lost else stock_f[f]
        units_out[f] = units[f]
        vacancies_out[f] = 0 if lost else vacancies[f]
        open_positions += vacancies_out[f]
        bill_out[f] = 0.0 if lost else bill[f]
        interest_out[f] = 0.0 if lost else due_f[f]
        firm_defaults[f] = firm_defaults_in[f] + lost
    for k in range(n_k):
        bank_defaults[k] = bank_defaults_in[k] + failed[k]
        bank_equity[k] = worth[offsets[BANK] + k]
    n_staff = 0
    paid_staff = np.empty(n_h)
    for h in range(n_h):
        employed = employer[h] >= 0
        n_staff += employed
        paid_staff[h] = wage[h] * employed
    gdp = _sum(made) * base_price
    units_sold = _sum(sold)
    price_index = _sum(revenue) / max(units_sold, 1e-300) if units_sold > 0 else price_index_in
    inflation = price_index / max(price_index_in, 1e-300) - 1.0
    gov = sectors[GOV]
    agg[0] = price_index
    agg[1] = inflation
    agg[2] = expected_in + par[GAIN] * (inflation - expected_in)
    agg[3] = 1.0 - n_staff / n_h
    agg[4] = open_positions / max(open_positions + n_staff, 1)
    agg[5] = _sum(paid_staff) / max(n_staff, 1)
    agg[6] = 0.98 * potential_in + 0.02 * gdp
    agg[7] = -_pairwise(flow.ravel(), gov, flow.shape[0], flow.shape[1])
    agg[8] = p_new
    agg[9] = w_min
    agg[10] = _sum(loan_f)
    agg[11] = gdp
    agg[12] = _sum(nominal)
    agg[13] = units_sold * base_price
    agg[14] = n_bankrupt
    agg[15] = n_k - n_alive


plan = per_run(shared=("ints", "offsets", "sectors", "codes"))(_plan)
settle = per_run(shared=("ints", "offsets", "sectors", "codes"))(_settle)


# --- the market kernels mapped over a batch (one array of 32-bit words per purpose) --------------------
fire = per_run(shared=("mode",))(_fire)
labour_market = per_run(shared=("contract",))(_labour)
credit_market = per_run(_credit)
shop = per_run(_shop)


@njit(error_model="numpy")
def _trimmed_mean(values_n, mask_n, trim, out):
    out[0] = _trimmed(values_n, mask_n, trim)


#: ``_trimmed`` of every run into ``out`` (B, 1)
trimmed_mean = per_run(shared=("trim",))(_trimmed_mean)
