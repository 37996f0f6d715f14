"""The BAM economy (Delli Gatti, Desiderio, Gaffeo, Cirillo and Gallegati 2011, *Macroeconomics from the
Bottom-up*, ch. 3) as a setting of the banking economy: ``clearing: bam`` (preset ``configs/banking/bam.yaml``,
with the parameter values of the ``bamengine`` package, so that the two can be compared on one economy).

Firms make one homogeneous good with labour alone, Y = φ·L (φ ``productivity``); unsold goods perish at
the end of the step. One step is a quarter, in the book's order:

1. Planning (P̄ the market price, production-weighted; S the firm's unsold stock; ρ ~ U(0, h_ρ),
   η ~ U(0, h_η) per firm and step):

       Y^d = Y₋₁·(1 + ρ)  if S = 0 and p ≥ P̄;    Y₋₁·(1 − ρ)  if S > 0 and p < P̄;    Y₋₁ otherwise
       p   = max(p·(1 + η), p_b)  if S = 0 and p < P̄;    max(p·(1 − η), p_b)  if S > 0 and p ≥ P̄
       p_b = (W₋₁ + interest₋₁) / Y^d           (break-even price on last step's costs)
       L^d = ⌈Y^d / φ⌉,   vacancies = max(L^d − L, 0),  L − L^d workers fired at random if positive

2. Labour: every ``bam_min_wage_period`` steps the minimum wage follows the year-on-year inflation of P̄
   (w_min ← w_min·(1 + π), wages below it raised); hiring firms raise their offer, w = max(w_min,
   w·(1 + ξ)), ξ ~ U(0, h_ξ); the unemployed apply to M firms (``visits_labour``, loyalty to the last
   employer after a contract expires) in M rounds; a hire is paid the offer for ``bam_contract`` steps.
3. Credit: bank k lends at most E_k/v (v ``capital_requirement``) at r̄·(1 + φ_k·ℓ), φ_k ~ U(0, h_φ),
   ℓ = min(B/A, ℓ_max) the firm's fragility (gap B over net worth A); firms with a gap W − A > 0 apply
   to H banks (``visits_credit``), least fragile served first, each loan at most ``bam_loan_cap``·A; a firm
   still short fires random workers until its wage bill is funded. Loans last one step.
4. Production: wages paid, Y = φ·L, P̄ updated; contracts tick, expired workers leave after producing.
5. Goods: household j spends c_j·(S_j + W_j) with c_j = 1/(1 + tanh(S_j/S̄)^β) (S savings, W this step's
   wage, β ``bam_propensity_exponent``), visiting Z firms (``visits_goods``) cheapest first, loyal to the
   largest producer of its last visit.
6. Revenue: a firm repays principal and interest if it can; one that cannot hands its deposits to its
   lenders pro rata and the rest is written off against their equity. A share δ (``payout``) of positive
   profit is paid as dividends, pooled and shared equally by all households.
7. Exit and entry: a firm with net worth ≤ 0 or no output, or a bank with equity ≤ 0, fails; the firm's
   workers are laid off and an entrant takes its slot with a share of the survivors' trimmed (5 %) mean
   net worth (``bam_entrant_size``) and output (``bam_entrant_output``), a wage offer of a share of the
   mean wage (``bam_entrant_wage``, at least w_min) and the price P̄·``bam_entrant_markup``; a failed bank
   is replaced by a copy of the equity of a random surviving bank.

Everything is booked on the banking economy's double-entry ledger, and its strict identities hold every
step: a loan creates the borrower's deposit and repayment destroys it; payments between customers of
two banks settle in reserves (net, per bank and market); defaults are written off; an exit's remaining
cash goes to the government, which endows entrants and recapitalises failed banks
(``capital_transfers``), its overdraft turned into bonds the central bank holds — where ``bamengine``
lets that money appear and vanish. There is no government spending, tax or interest on deposits,
reserves or bonds, as in the book. Sequential matching runs in the compiled per-run kernels of
``bam_markets``; every draw comes from the engine's streams. Under ``clearing: bam`` the other stages of
the banking economy do nothing (``skipped_under_bam``); ``capital_firm_share`` does not act.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from econsim.engine import Arrays, Block, Param, RandomStreams, Var
from econsim.models.banking import accounts
from econsim.models.banking.firms import col

UNIT = (0.0, 1.0)

PARAMS: list[Param] = [
    Param("bam_quantity_shock", 0.10, "BAM h_ρ: largest relative change of planned output", bounds=UNIT),
    Param("bam_price_shock", 0.10, "BAM h_η: largest relative price change", bounds=UNIT),
    Param(
        "bam_wage_shock", 0.05, "BAM h_ξ: largest relative rise of a hiring firm's wage offer", bounds=UNIT
    ),
    Param(
        "bam_rate_shock",
        0.10,
        "BAM h_φ: largest bank-specific loan-rate markup per unit of fragility",
        bounds=UNIT,
    ),
    Param(
        "bam_base_rate", 0.08, "BAM r̄: annual base loan rate (per step: r̄/steps_per_year)", bounds=(0.0, 1.0)
    ),
    Param(
        "bam_contract",
        8,
        "BAM θ: steps a labour contract lasts",
        bounds=(1, 1000),
        kind="int",
        per_batch=True,
    ),
    Param(
        "bam_min_wage_period",
        4,
        "BAM: steps between revisions of the minimum wage",
        bounds=(1, 1000),
        kind="int",
        per_batch=True,
    ),
    Param("bam_min_wage_ratio", 0.5, "BAM: initial minimum wage / initial wage offer", bounds=UNIT),
    Param("bam_propensity_exponent", 2.5, "BAM β in c = 1/(1 + tanh(S/S̄)^β)", bounds=(0.0, 100.0)),
    Param(
        "bam_initial_price",
        0.5,
        "BAM: price at t = 0 (the initial wage offer is a third of it)",
        bounds=(1e-9, None),
    ),
    Param(
        "bam_net_worth_ratio",
        6.0,
        "BAM: firms' initial net worth in steps of their initial revenue",
        bounds=(0.0, None),
    ),
    Param("bam_bank_equity", 5.0, "BAM: each bank's equity at t = 0", bounds=(1e-9, None)),
    Param("bam_entrant_size", 0.5, "BAM: entrant's net worth / survivors' mean", bounds=(0.0, 10.0)),
    Param("bam_entrant_output", 0.5, "BAM: entrant's last output / survivors' mean", bounds=(0.0, 10.0)),
    Param("bam_entrant_wage", 0.5, "BAM: entrant's wage offer / mean wage", bounds=(0.0, 10.0)),
    Param("bam_entrant_markup", 1.2, "BAM: entrant's price / market price", bounds=(0.0, 10.0)),
    Param("bam_loan_cap", 2.0, "BAM: largest loan / borrower's net worth (0: no cap)", bounds=(0.0, 100.0)),
    Param(
        "bam_max_fragility",
        10.0,
        "BAM ℓ_max: fragility cap in the loan rate, and the fragility of a firm without net worth",
        bounds=(1e-9, 1000.0),
    ),
]

I64 = np.int64
HOUSEHOLD_VARS = [
    Var("previous_employer", -1, "BAM: last employer (−1 none or after its bankruptcy)", dtype=I64),
    Var("contract_left", 0, "BAM: steps left on the labour contract", dtype=I64),
    Var(
        "contract_expired",
        0,
        "BAM: 1 when the contract just expired (the worker applies there first)",
        dtype=I64,
    ),
    Var("was_fired", 0, "BAM: 1 when just fired", dtype=I64),
    Var("favourite", -1, "BAM: largest producer of the last shopping visit (−1 none)", dtype=I64),
]
AGGREGATE_VARS = [
    Var("average_price", 0.0, "BAM market price P̄: production-weighted mean price"),
    Var("minimum_wage", 0.0, "BAM minimum wage"),
    Var("price_history", 0.0, "BAM: P̄ of the last five steps, oldest first", (5,)),
    Var("loans_granted", 0.0, "BAM: loans granted this step (repaid or written off within it)"),
]


# --- setting up and gating -----------------------------------------------------------------------------
def initial(s: Arrays, p: Any, rng: RandomStreams) -> dict[str, np.ndarray]:
    """t = 0 as in ``bamengine``: everyone unemployed, firms with last output n_h·φ/n_f at the price p₀, a
    wage offer p₀/3, net worth ``bam_net_worth_ratio`` × revenue; households with ``initial_deposits``;
    banks with ``bam_bank_equity`` held as reserves (the central bank holding government bonds)."""
    B = p.n_runs
    n_h, n_f, n_k = int(p.n_households), int(p.n_firms), int(p.n_banks)
    bank_h = np.minimum((rng("setup").random((n_h,)) * n_k).astype(I64), n_k - 1)
    bank_f = np.broadcast_to(np.arange(n_f) % n_k, (B, n_f)).copy()
    price0 = col(p.bam_initial_price) * np.ones((B, n_f))
    output0 = n_h * col(p.productivity) / n_f * np.ones((B, n_f))
    worth0 = output0 * price0 * col(p.bam_net_worth_ratio)
    deposits_h = col(np.asarray(p.initial_deposits, dtype=float)) * np.ones((B, n_h))
    led = accounts.opening_balances(
        p.ledger_template, deposits_h, bank_h, worth0, np.zeros((B, n_f)), np.zeros((B, n_f)), bank_f, 0.0
    )
    equity_k = col(p.bam_bank_equity) * np.ones((B, n_k))
    bank_k = np.arange(n_k)
    # the banks' equity is paid in as reserves; the central bank funds them by buying government bonds
    accounts.pay(led, "capital_transfers", ("government", None, None), ("banks", bank_k, None), equity_k)
    led.book(
        debit=[("central_bank", "bonds"), ("government", "reserves")],
        credit=[("central_bank", "reserves"), ("government", "bonds")],
        amount=equity_k.sum(axis=1),
    )
    led.flow = np.zeros_like(led.flow)
    led.turnover = np.zeros_like(led.turnover)
    if led.volume is not None:
        led.volume = np.zeros_like(led.volume)
    led.opening = led.sector_stock()
    led.check()
    offer0 = price0 / 3.0
    p_avg = price0.mean(axis=1)
    h_int = lambda v: np.full((B, n_h), v, dtype=I64)  # noqa: E731
    return {
        "households.skill": h_int(0),
        "households.employer": h_int(-1),
        "households.bank": bank_h,
        "households.previous_employer": h_int(-1),
        "households.favourite": h_int(-1),
        "firms.bank": bank_f,
        "firms.price": price0,
        "firms.output": output0,
        "firms.expected_sales": output0.copy(),
        "firms.offer": offer0,
        "banks.equity": led.net_worth[:, led.holders("banks")],
        "average_price": p_avg,
        "price_history": np.repeat(p_avg[:, None], 5, axis=1),
        "minimum_wage": offer0[:, 0] * np.asarray(p.bam_min_wage_ratio, dtype=float) * np.ones(B),
        "policy_rate": np.asarray(p.bam_base_rate, dtype=float) * np.ones(B),
        "base_price_c": p_avg.copy(),
        "base_price_k": p_avg.copy(),
        "price_index": p_avg.copy(),
        "gdp": (output0 * price0).sum(axis=1),
        "potential": (output0 * price0).sum(axis=1),
        "initial_output": (output0 * price0).sum(axis=1),
        **accounts.updates(led),
    }


def with_bam_initial(base):
    """The model's init: BAM's t = 0 under ``clearing: bam``, ``base`` otherwise."""

    @functools.wraps(base)
    def init(s: Arrays, p: Any, rng: RandomStreams) -> dict[str, np.ndarray]:
        return initial(s, p, rng) if p.clearing == "bam" else base(s, p, rng)

    return init


def with_bam_static(base):
    """The model's static data; under ``clearing: bam`` every firm makes the one good (BAM has no
    capital goods, so ``capital_firm_share`` does not act)."""

    @functools.wraps(base)
    def static(p: Any) -> dict[str, Any]:
        out = base(p)
        if p.clearing == "bam":
            n_f = int(p.n_firms)
            out.update(
                firm_kind_f=np.zeros(n_f, dtype=I64),
                consumer_firms=np.arange(n_f),
                capital_firms=np.zeros(0, dtype=I64),
            )
        return out

    return static


def skipped_under_bam(stage):
    """A stage (or block) of the other settings, doing nothing under ``clearing: bam``."""
    if isinstance(stage, Block):
        return Block(
            *(skipped_under_bam(s) for s in stage.stages),
            name=stage.name,
            every=stage.every,
            offset=stage.offset,
            at=stage.at,
        )

    @functools.wraps(stage)
    def run(s: Arrays, p: Any, rng: RandomStreams) -> dict[str, np.ndarray]:
        return {} if p.clearing == "bam" else stage(s, p, rng)

    return run


# --- one step ------------------------------------------------------------------------------------------
def _tables(led: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ledger's layout for the kernels: each sector's first holder (and the end), each sector's TFM
    column, and (kind, index, TFM row) of each account the step books (``bam_markets.ACCOUNTS``)."""
    from econsim.models.banking.bam_markets import ACCOUNTS, SECTORS

    offsets = np.array([led.offsets[led._sector(name)] for name in SECTORS] + [led.n_holders], dtype=I64)
    sectors = np.array([led._sector(name) for name in SECTORS], dtype=I64)
    codes = np.array([led._account(name) for name in ACCOUNTS], dtype=I64)
    return offsets, sectors, codes


def bam_step(s: Arrays, p: Any, rng: RandomStreams) -> dict[str, np.ndarray]:
    """One BAM step (the module docstring gives its rules), booked on the ledger: the two compiled
    kernels of ``bam_markets`` (``plan``, then ``settle``) with numpy's tanh(S/S̄)^β between them."""
    if p.clearing != "bam":
        return {}
    from econsim.models.banking import bam_markets as kernels  # loads numba

    f, h = s.firms, s.households
    t = s.step + 1
    B, n_f = f.price.shape
    n_h = h.employer.shape[1]
    led = p.ledger_template
    n_k = int(led.sizes[2])
    m, h_max, z = int(p.visits_labour), int(p.visits_credit), int(p.visits_goods)
    total = kernels.layout.py_func(n_f, n_h, n_k, m, h_max, z)[-1]
    head, block = rng("bam").deferred_words((total + 1) // 2)
    keys = rng("bam").keys
    values = {name: p[name] for name in kernels.PARAMS if name != "rate_base"}
    values["rate_base"] = np.asarray(p.bam_base_rate, dtype=float) / p.steps_per_year
    par = np.stack([np.broadcast_to(np.asarray(values[n], dtype=float), (B,)) for n in kernels.PARAMS], 1)
    ints = np.array([block, m, h_max, z, int(p.bam_contract), int(p.bam_min_wage_period)], dtype=I64)
    offsets, sectors, codes = _tables(led)
    stock_in = np.ascontiguousarray(s[f"{accounts.PREFIX}_stock"])
    flow = np.empty(s[f"{accounts.PREFIX}_flow"].shape)
    turnover = np.empty(s[f"{accounts.PREFIX}_turnover"].shape)
    opening = np.empty(s[f"{accounts.PREFIX}_opening"].shape)
    stock, worth, volume = np.empty_like(stock_in), np.empty((B, led.n_holders)), np.empty((B, led.n_holders))
    hh_int = lambda: np.empty((B, n_h), dtype=I64)  # noqa: E731
    f_int = lambda: np.empty((B, n_f), dtype=I64)  # noqa: E731
    hh, fl = (lambda: np.empty((B, n_h))), (lambda: np.empty((B, n_f)))
    employer, previous, contract, expired, fired, favourite = (hh_int() for _ in range(6))
    wage, paid, ratio, spent, share_h = (hh() for _ in range(5))
    price, planned, target, offer, bill, made, funds, loan_f = (fl() for _ in range(8))
    vacancies, units = f_int(), f_int()
    loan_fh, rate_fh = np.empty((B, n_f, h_max)), np.empty((B, n_f, h_max))
    lender_fh = np.empty((B, n_f, h_max), dtype=I64)
    lent_k = np.empty((B, n_k))
    history, carry = np.empty((B, 5)), np.empty((B, 2))
    c = lambda x: np.ascontiguousarray(x)  # noqa: E731
    kernels.plan(
        c(h.employer), c(h.wage), c(h.previous_employer), c(h.contract_left), c(h.contract_expired),
        c(h.was_fired), c(f.price), c(f.inventory), c(f.output), c(f.wage_bill), c(f.interest_paid),
        c(f.units), c(f.offer), c(f.bank), c(s.step), c(s.average_price), c(s.minimum_wage),
        c(s.price_history), stock_in, c(s[f"{accounts.PREFIX}_net_worth"]),
        c(s[f"{accounts.PREFIX}_volume"]), keys, c(head), par, ints, offsets, sectors, codes,
        employer, wage, previous, contract, expired, fired, paid, ratio, price, planned, target, vacancies,
        offer, units, bill, made, funds, loan_fh, lender_fh, rate_fh, loan_f, lent_k, stock, worth, flow,
        opening, turnover, volume, history, carry,
    )  # fmt: skip
    propensity = np.tanh(ratio) ** col(p.bam_propensity_exponent)
    output, inventory, units_out, bill_out, interest_out, revenue, sold, profit = (fl() for _ in range(8))
    vacancies_out, firm_defaults = f_int(), f_int()
    bank_defaults, bank_equity = np.empty((B, n_k), dtype=I64), np.empty((B, n_k))
    agg = np.empty((B, len(kernels.AGGREGATES)))
    kernels.settle(
        c(h.bank), c(f.bank), c(h.favourite), c(f.defaults), c(s.banks.defaults), c(s.base_price_c),
        c(s.price_index), c(s.expected_inflation), c(s.potential), c(s.average_price), keys, c(head), par,
        ints, offsets, sectors, codes, np.ascontiguousarray(propensity, dtype=float),
        employer, wage, previous, contract, expired, fired, paid, price, vacancies, offer, units, bill,
        made, funds, loan_fh, lender_fh, rate_fh, loan_f, lent_k, carry, stock, worth, flow, turnover,
        volume, favourite, spent, share_h, output, inventory, units_out, vacancies_out, bill_out,
        interest_out, revenue, sold, profit, firm_defaults, bank_defaults, bank_equity, agg,
    )  # fmt: skip
    aggregates = dict(zip(kernels.AGGREGATES, agg.T.copy(), strict=True))
    return {
        "step": t,
        **aggregates,
        "investment": np.zeros(B),
        "government_purchases": np.zeros(B),
        "households.employer": employer,
        "households.wage": wage,
        "households.previous_employer": previous,
        "households.contract_left": contract,
        "households.contract_expired": expired,
        "households.was_fired": fired,
        "households.favourite": favourite,
        "households.spending": spent,
        "households.disposable": paid,
        "households.other_income": share_h,
        "firms.price": price,
        "firms.output": output,
        "firms.inventory": inventory,
        "firms.expected_sales": planned,
        "firms.labour_target": target,
        "firms.offer": offer,
        "firms.units": units_out,
        "firms.vacancies": vacancies_out,
        "firms.unfilled": vacancies_out.copy(),
        "firms.wage_bill": bill_out,
        "firms.interest_paid": interest_out,
        "firms.revenue": revenue,
        "firms.sales": sold,
        "firms.profit": profit,
        "firms.defaults": firm_defaults,
        "banks.defaults": bank_defaults,
        "banks.equity": bank_equity,
        "price_history": history,
        f"{accounts.PREFIX}_stock": stock,
        f"{accounts.PREFIX}_net_worth": worth,
        f"{accounts.PREFIX}_flow": flow,
        f"{accounts.PREFIX}_opening": opening,
        f"{accounts.PREFIX}_turnover": turnover,
        f"{accounts.PREFIX}_volume": volume,
    }
