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
from econsim.models.banking.bam_markets import (
    EPS,
    U32,
    credit_market,
    fire,
    labour_market,
    lay_off,
    shop,
    tick_contracts,
    trimmed_mean,
)
from econsim.models.banking.firms import col

UNIT = (0.0, 1.0)
TRIM = 0.05  # the survivors' means that size an entrant leave out 5 % at either end

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


def _sum_by(index_bn: np.ndarray, weight_bn: np.ndarray, n: int) -> np.ndarray:
    """Per run, Σ of ``weight`` over entries with each ``index`` (−1 ignored): (B, n), each bin summed in
    entry order within its own run."""
    B = index_bn.shape[0]
    keep = index_bn >= 0
    flat = (np.arange(B)[:, None] * n + np.where(keep, index_bn, 0)).ravel()
    return np.bincount(flat, np.where(keep, weight_bn, 0.0).ravel(), minlength=B * n).reshape(B, n)


def _pay(led: Any, flow: str, payer: tuple[str, Any, Any, Any], payee: tuple[str, Any, Any, Any]) -> None:
    """Payments for ``flow`` from one side to the other, each side (sector, members, their banks,
    amounts) listing every party once, booked as one ``Ledger.book_net``: a household's or firm's
    deposit moves and, as a deferred net settlement system clears a market, each bank's deposit liability
    and reserves move by its customers' net inflow; the government pays from its account at the central
    bank, a bank from its reserves."""
    n_k = led.sizes[2]
    debit: list[tuple[Any, ...]] = []
    credit: list[tuple[Any, ...]] = []
    net_k = None
    for (sector, member, bank, amount), out in ((payer, True), (payee, False)):
        uses, gives = (debit, credit) if out else (credit, debit)
        if sector == "government":
            amount = amount.sum(axis=1) if np.ndim(amount) == 2 else amount
        uses.append((sector, flow, member, amount))
        if sector in ("households", "firms"):
            gives.append((sector, "deposits", member, amount))
            inflow = _sum_by(np.broadcast_to(bank, np.shape(amount)), amount, n_k)
            net_k = (-inflow if out else inflow) + (0.0 if net_k is None else net_k)
        else:
            gives.append((sector, "reserves", member, amount))
    if net_k is not None:
        bank_k = np.arange(n_k)
        debit.append(("banks", "reserves", bank_k, net_k))
        credit.append(("banks", "deposits", bank_k, net_k))
    led.book_net(debit=debit, credit=credit)


def _settle(led: Any) -> None:
    """The end of a step: the government's overdraft at the central bank becomes bonds the central bank
    holds (a surplus redeems them), and a bank short of reserves borrows advances (one long repays)."""
    account = led.stock_of("government", "reserves")[:, 0]
    held = led.stock_of("central_bank", "bonds")[:, 0]
    issue = np.where(account < 0, -account, -np.minimum(account, np.maximum(held, 0.0)))
    led.book_net(
        debit=[("central_bank", "bonds", None, issue), ("government", "reserves", None, issue)],
        credit=[("central_bank", "reserves", None, issue), ("government", "bonds", None, issue)],
    )
    reserves = led.stock_of("banks", "reserves")
    advances = -led.stock_of("banks", "advances")
    borrow = np.maximum(-reserves, 0.0) - np.minimum(np.maximum(reserves, 0.0), advances)
    accounts.between_banks_and_cb(led, None, "reserves", np.arange(led.sizes[2]), borrow)


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
class _Draws:
    """The step's random 32-bit words (a word w is the uniform w·2⁻³²), from one block of the run's stream
    ``rng("bam")`` (one refill per step, each 64-bit word giving two), handed out in order, one array per
    purpose."""

    def __init__(self, rng: RandomStreams, shapes: dict[str, tuple[int, ...]]) -> None:
        sizes = {name: int(np.prod(shape)) for name, shape in shapes.items()}
        total = sum(sizes.values())
        words = rng("bam").words((total + 1) // 2).view(np.uint32)
        self.arrays: dict[str, np.ndarray] = {}
        at = 0
        for name, shape in shapes.items():
            piece = words[:, at : at + sizes[name]]
            self.arrays[name] = np.ascontiguousarray(piece).reshape(words.shape[0], *shape)
            at += sizes[name]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def uniform(self, name: str) -> np.ndarray:
        return self.arrays[name] * U32


def bam_step(s: Arrays, p: Any, rng: RandomStreams) -> dict[str, np.ndarray]:
    """One BAM step (the module docstring gives its rules), booked on the ledger."""
    if p.clearing != "bam":
        return {}
    f, h = s.firms, s.households
    led = accounts.books(s, p)
    led.new_step()  # the clock's work (its stage does nothing under bam: one copy of the books a step)
    t = s.step + 1
    B, n_f = f.price.shape
    n_h = h.employer.shape[1]
    n_k = led.sizes[2]
    firm_n, household_n, bank_k = np.arange(n_f), np.arange(n_h), np.arange(n_k)
    phi = col(p.productivity)
    m, h_max, z = int(p.visits_labour), int(p.visits_credit), int(p.visits_goods)
    draws = _Draws(
        rng,
        {
            "firms": (3, n_f),
            "banks": (2, n_k),
            "fire": (2, n_h),
            "apply": (n_h, m),
            "rounds": (n_h, m),
            "credit": (n_f, h_max),
            "visit": (n_h, z),
            "shop": (n_h,),
        },
    )

    # households' worker state (copies: the kernels write in place)
    employer, wage = h.employer.copy(), h.wage.copy()
    previous, contract = h.previous_employer.copy(), h.contract_left.copy()
    expired, fired = h.contract_expired.copy(), h.was_fired.copy()
    units = np.rint(f.units).astype(I64)

    # 1. planning
    u_f = draws.uniform("firms")
    p_avg = col(s.average_price)
    sold_out = f.inventory <= 0.0
    price = f.price
    rho = col(p.bam_quantity_shock) * u_f[:, 0]
    grow = np.where(sold_out & (price >= p_avg), 1 + rho, np.where(~sold_out & (price < p_avg), 1 - rho, 1.0))
    planned = f.output * grow
    breakeven = (f.wage_bill + f.interest_paid) / np.maximum(planned, EPS)
    eta = col(p.bam_price_shock) * u_f[:, 1]
    moved = np.where(sold_out, price * (1 + eta), price * (1 - eta))
    adjust = np.where(sold_out, price < p_avg, price >= p_avg)
    price = np.where(adjust, np.maximum(moved, breakeven), price)
    desired = np.ceil(planned / phi).astype(I64)
    vacancies = np.maximum(desired - units, 0)
    u_fire = draws["fire"]
    wage_bill = np.zeros((B, n_f))
    fire(
        employer,
        wage,
        previous,
        fired,
        contract,
        expired,
        units,
        units - desired,
        np.zeros((B, n_f)),
        wage_bill,
        np.ascontiguousarray(u_fire[:, 0]),
        0,
    )

    # 2. labour: the minimum wage, wage offers, matching
    history = s.price_history
    revise = (t > int(p.bam_min_wage_period)) & ((t - 1) % int(p.bam_min_wage_period) == 0)
    inflation_yoy = history[:, 4] / np.maximum(history[:, 0], 1e-300) - 1.0
    w_min = np.where(revise, s.minimum_wage * (1 + inflation_yoy), s.minimum_wage)
    wage = np.where((employer >= 0) & (wage < w_min[:, None]), w_min[:, None], wage)
    xi = np.where(vacancies > 0, col(p.bam_wage_shock) * u_f[:, 2], 0.0)
    offer = np.maximum(f.offer * (1 + xi), w_min[:, None])
    labour_market(
        employer,
        wage,
        previous,
        fired,
        contract,
        expired,
        units,
        vacancies,
        offer,
        draws["apply"],
        draws["rounds"],
        int(p.bam_contract),
        wage_bill,
    )

    # 3. credit: one-step loans, booked per firm and per bank
    equity = led.net_worth[:, led.holders("banks")]
    supply = np.maximum(equity / col(p.capital_requirement), 0.0)
    u_k = draws.uniform("banks")
    spread = col(p.bam_rate_shock) * u_k[:, 0]
    deposits_f = led.stock_of("firms", "deposits")
    worth = np.ascontiguousarray(led.net_worth[:, led.holders("firms")])
    demand = np.maximum(wage_bill - deposits_f, 0.0)
    fragility = np.where(worth > 0, demand / np.where(worth > 0, worth, 1.0), col(p.bam_max_fragility))
    loan = np.zeros((B, n_f, h_max))
    lender = np.zeros((B, n_f, h_max), dtype=I64)
    rate = np.zeros((B, n_f, h_max))
    per_run = lambda x: np.ascontiguousarray(np.broadcast_to(np.asarray(x, dtype=float), (B,)))  # noqa: E731
    credit_market(
        demand.copy(),
        worth,
        fragility,
        supply,
        spread,
        draws["credit"],
        per_run(np.asarray(p.bam_base_rate, dtype=float) / p.steps_per_year),
        per_run(p.bam_max_fragility),
        per_run(p.bam_loan_cap),
        loan,
        lender,
        rate,
    )
    loan_f = loan.sum(axis=2)
    lender_m = lender.reshape(B, -1)
    by_bank = lambda x: _sum_by(lender_m, x.reshape(B, -1), n_k)  # noqa: E731
    lent_k = by_bank(loan)
    led.book_net(
        debit=[
            ("banks", "loans", bank_k, lent_k),
            ("firms", "deposits", firm_n, loan_f),
            ("banks", "reserves", f.bank, loan_f),
        ],
        credit=[
            ("firms", "loans", firm_n, loan_f),
            ("banks", "deposits", f.bank, loan_f),
            ("banks", "reserves", bank_k, lent_k),
        ],
    )
    gap = np.maximum(wage_bill - led.stock_of("firms", "deposits"), 0.0)
    fire(
        employer,
        wage,
        previous,
        fired,
        contract,
        expired,
        units,
        np.zeros((B, n_f), dtype=I64),
        gap,
        wage_bill,
        np.ascontiguousarray(u_fire[:, 1]),
        1,
    )

    # 4.–6. production, goods and revenue: wages, sales, debt service and dividends are computed in
    # order, then booked together (one settlement of the banks' net customer flows)
    employed = employer >= 0
    paid = np.where(employed, wage, 0.0)
    savings = np.maximum(led.stock_of("households", "deposits"), 0.0)
    funds = led.stock_of("firms", "deposits") - wage_bill  # after wages
    made = phi * units
    weights = np.where(made >= 1e-3, made, 0.0)
    total_out = weights.sum(axis=1)
    p_new = np.where(
        total_out > 0, (price * weights).sum(axis=1) / np.maximum(total_out, 1e-300), s.average_price
    )
    history = np.concatenate([history[:, 1:], p_new[:, None]], axis=1)
    tick_contracts(employer, wage, previous, contract, expired, fired, units)
    wage_after = wage  # the wages of those still employed

    # 5. goods
    ratio = savings / np.maximum(savings.mean(axis=1, keepdims=True), EPS)
    budget = (savings + paid) / (1.0 + np.tanh(ratio) ** col(p.bam_propensity_exponent))
    stock = made.copy()
    favourite = h.favourite.copy()
    left = budget.copy()
    revenue, sold = np.zeros((B, n_f)), np.zeros((B, n_f))
    shop(left, favourite, price, stock, made, draws["visit"], draws["shop"], revenue, sold)
    spent = budget - left
    funds = funds + revenue

    # 6. revenue: debt service or default, dividends
    interest_due = loan * rate
    due_f = interest_due.sum(axis=2)
    solvent = funds - (loan_f + due_f) >= -EPS
    cash = np.maximum(funds, 0.0)
    principal_f = np.where(solvent, loan_f, np.minimum(cash, loan_f))
    interest_f = np.where(solvent, due_f, np.minimum(np.maximum(cash - principal_f, 0.0), due_f))
    written_f = loan_f - principal_f
    # what each lender gets: its share of the firm's principal and interest
    p_share = np.where(loan_f > 0, principal_f / np.maximum(loan_f, 1e-300), 0.0)
    i_share = np.where(due_f > 0, interest_f / np.maximum(due_f, 1e-300), 0.0)
    principal_k = by_bank(loan * p_share[:, :, None])
    interest_k = by_bank(interest_due * i_share[:, :, None])
    profit = revenue - wage_bill - due_f
    dividend = np.where(solvent, col(p.payout) * np.maximum(profit, 0.0), 0.0)
    share_h = np.broadcast_to(dividend.sum(axis=1, keepdims=True) / n_h, (B, n_h))
    # each party's deposit moves by its net receipts; each bank settles its customers' net flow in
    # reserves, a lender receives principal and interest and writes off the rest of its loans
    inflow_h = paid + share_h - spent
    outflow_f = wage_bill - revenue + principal_f + interest_f + dividend
    net_k = _sum_by(h.bank, inflow_h, n_k) - _sum_by(f.bank, outflow_f, n_k)
    led.book_net(
        debit=[
            ("firms", "wages", firm_n, wage_bill),
            ("households", "consumption", household_n, spent),
            ("firms", "loan_interest", firm_n, interest_f),
            ("firms", "dividends", firm_n, dividend),
            ("households", "deposits", household_n, inflow_h),
            ("firms", "loans", firm_n, loan_f),
            ("banks", "reserves", bank_k, principal_k + interest_k + net_k),
            ("banks", "write_offs", bank_k, lent_k - principal_k),
        ],
        credit=[
            ("households", "wages", household_n, paid),
            ("firms", "consumption", firm_n, revenue),
            ("banks", "loan_interest", bank_k, interest_k),
            ("households", "dividends", household_n, share_h),
            ("firms", "deposits", firm_n, outflow_f),
            ("banks", "loans", bank_k, lent_k),
            ("banks", "deposits", bank_k, net_k),
            ("firms", "write_offs", firm_n, written_f),
        ],
    )

    # 7. exit and entry
    worth = led.net_worth[:, led.holders("firms")]
    bankrupt = (worth < EPS) | (made <= EPS)
    lay_off(employer, wage_after, previous, contract, expired, fired, bankrupt)
    units = np.where(bankrupt, 0, units)
    output, price_made = made, price
    if bankrupt.any():
        survivors = ~bankrupt
        survivors = np.where(survivors.any(axis=1, keepdims=True), survivors, True)
        mean_worth, mean_output, mean_wage = np.zeros((B, 1)), np.zeros((B, 1)), np.zeros((B, 1))
        trimmed_mean(np.ascontiguousarray(worth), survivors, TRIM, mean_worth)
        trimmed_mean(made, survivors, TRIM, mean_output)
        trimmed_mean(wage_after, employer >= 0, TRIM, mean_wage)
        # the government takes over what cash an exit leaves and endows its entrant
        target = col(p.bam_entrant_size) * mean_worth
        grant = np.where(bankrupt, target - led.stock_of("firms", "deposits"), 0.0)
        _pay(led, "capital_transfers", ("government", None, None, grant), ("firms", firm_n, f.bank, grant))
        output = np.where(bankrupt, col(p.bam_entrant_output) * mean_output, made)
        price = np.where(bankrupt, p_new[:, None] * col(p.bam_entrant_markup), price)
        offer = np.where(bankrupt, np.maximum(col(p.bam_entrant_wage) * mean_wage, w_min[:, None]), offer)
    equity = led.net_worth[:, led.holders("banks")]
    failed = equity < EPS
    if failed.any():
        alive_k = ~failed
        n_alive = alive_k.sum(axis=1, keepdims=True)
        # a random surviving bank (the j-th alive one) gives its equity to the replacement
        j = np.minimum((u_k[:, 1] * np.maximum(n_alive, 1)).astype(I64), np.maximum(n_alive - 1, 0))
        rank = np.cumsum(alive_k, axis=1) - 1
        pick_k = np.argmax(alive_k[:, None, :] & (rank[:, None, :] == j[:, :, None]), axis=2)
        copied = np.take_along_axis(equity, pick_k, axis=1)
        target_k = np.where(n_alive > 0, copied, col(p.bam_bank_equity))
        rescue = np.where(failed, np.maximum(target_k - equity, 0.0), 0.0)
        _pay(led, "capital_transfers", ("government", None, None, rescue), ("banks", bank_k, None, rescue))
    _settle(led)
    # the economy's aggregates, as ``macro.macro`` defines them
    base = col(s.base_price_c)
    gdp = made.sum(axis=1) * base[:, 0]
    units_sold = sold.sum(axis=1)
    price_index = np.where(
        units_sold > 0, revenue.sum(axis=1) / np.maximum(units_sold, 1e-300), s.price_index
    )
    inflation = price_index / np.maximum(s.price_index, 1e-300) - 1.0
    staff = employer >= 0
    n_staff = staff.sum(axis=1)
    open_positions = np.where(bankrupt, 0, vacancies).sum(axis=1)
    gov = led._sector("government")
    return {
        "step": t,
        "price_index": price_index,
        "inflation": inflation,
        "expected_inflation": s.expected_inflation
        + np.asarray(p.expectation_gain) * (inflation - s.expected_inflation),
        "unemployment": 1.0 - staff.mean(axis=1),
        "vacancy_rate": open_positions / np.maximum(open_positions + n_staff, 1),
        "wage_index": (wage_after * staff).sum(axis=1) / np.maximum(n_staff, 1),
        "potential": 0.98 * s.potential + 0.02 * gdp,
        "deficit": -led.flow[:, :, gov].sum(axis=1),
        "households.employer": employer,
        "households.wage": wage_after,
        "households.previous_employer": previous,
        "households.contract_left": contract,
        "households.contract_expired": expired,
        "households.was_fired": fired,
        "households.favourite": favourite,
        "households.spending": spent,
        "households.disposable": paid,
        "households.other_income": np.ascontiguousarray(share_h),
        "firms.price": price,
        "firms.output": output,
        "firms.inventory": np.where(bankrupt, 0.0, stock),
        "firms.expected_sales": planned,
        "firms.labour_target": desired.astype(float),
        "firms.offer": offer,
        "firms.units": units.astype(float),
        "firms.vacancies": np.where(bankrupt, 0, vacancies),
        "firms.unfilled": np.where(bankrupt, 0, vacancies),
        "firms.wage_bill": np.where(bankrupt, 0.0, wage_bill),
        "firms.interest_paid": np.where(bankrupt, 0.0, due_f),
        "firms.revenue": revenue,
        "firms.sales": sold,
        "firms.profit": profit,
        "firms.defaults": f.defaults + bankrupt,
        "banks.defaults": s.banks.defaults + failed,
        "banks.equity": led.net_worth[:, led.holders("banks")],
        "average_price": p_new,
        "price_history": history,
        "minimum_wage": w_min,
        "loans_granted": loan_f.sum(axis=1),
        "gdp": gdp,
        "gdp_nominal": (made * price_made).sum(axis=1),
        "consumption": sold.sum(axis=1) * base[:, 0],
        "investment": np.zeros(B),
        "government_purchases": np.zeros(B),
        "firm_bankruptcies": bankrupt.sum(axis=1).astype(float),
        "bank_defaults": failed.sum(axis=1).astype(float),
        **accounts.updates(led),
    }
