"""The banking economy's books: one double-entry ledger (``mechanisms.ledger``) of every agent.

Sectors (holders): households h, firms f, banks k, the central bank and the government. Instruments:

    deposits   asset of a household or firm, liability of its bank
    reserves   asset of a bank (and the government's account at the central bank), liability of the CB
    loans      asset of the lending bank, liability of the firm or household (``consumer_credit``)
    bonds      government bonds: asset of banks and the CB, liability of the government
    advances   central-bank lending: asset of the CB, liability of a bank
    capital    real asset of consumption-goods firms, booked at cost (its purchase is ``investment``)
    interbank  overnight loans between banks: asset of the lender, liability of the borrower (``interbank``)
    term_bonds government bonds of 2–30 years at face: asset of banks, households and the CB, liability
               of the government (``sovereign``; ``bonds`` are the floating-rate bills)
    equity     shares of a firm at their paid-in value: asset of the firm's owners (household h owns firm
               h mod F, an equal part each), liability of the firm; dividends are paid on them, a
               bankrupt firm's shares are written off and its plant is issued anew to the same owners
    savings    savings (time) deposits: asset of a household, liability of its bank; not money for
               payments (a household moves them into deposits to spend, ``to_savings``), no reserve
               requirement, a higher rate
    housing    houses, a real asset of households (and of a bank that seized one), at market value; they
               secure households' loans (``housing``); a purchase or seizure is in the investment row

Money is created and destroyed only where it is in a real economy: a loan creates a deposit (the lender
credits the borrower's account, settling reserves with the borrower's bank if that is another bank),
repayment destroys it; reserves are created by the central bank when it lends (advances) or when the
government spends from its account. A deposit payment between customers of two banks moves the deposit
and settles reserves between the banks (``pay``).

The ledger's arrays live in the state as ``ledger_stock`` (B, holders, instruments), ``ledger_net_worth``,
``ledger_flow``, ``ledger_opening``, ``ledger_turnover`` and ``ledger_volume`` (each holder's gross amount
booked since the start, the scale of rounding drift); a stage loads them (``books``), books its
transactions and returns the new arrays (``updates``). The matrices and identities are checked every step
in strict mode (``INVARIANTS``).
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from econsim.engine import Arrays, Invariant
from econsim.engine.kernels import jit
from econsim.mechanisms.ledger import Ledger

SECTORS = ("households", "firms", "banks", "central_bank", "government")
INSTRUMENTS = (
    "deposits", "reserves", "loans", "bonds", "advances", "capital", "interbank", "term_bonds", "savings",
    "equity", "housing",
)  # fmt: skip
FLOWS = (
    "consumption", "government_purchases", "investment", "wages", "income_tax", "sales_tax",
    "corporate_tax", "benefits", "loan_interest", "deposit_interest", "reserve_interest", "bond_interest",
    "advance_interest", "dividends", "cb_profit", "write_offs", "capital_transfers", "interbank_interest",
    "capital_gains", "tuition", "intermediate_goods", "durables",
)  # fmt: skip
REAL = {"capital": "investment", "housing": "investment"}
PREFIX = "ledger"
HOLDER_ARRAYS = (f"{PREFIX}_stock", f"{PREFIX}_net_worth", f"{PREFIX}_volume")


def template(n_households: int, n_firms: int, n_banks: int) -> Ledger:
    """The ledger's structure for the given population sizes (one run; ``books`` loads a batch into it)."""
    sizes = {
        "households": n_households,
        "firms": n_firms,
        "banks": n_banks,
        "central_bank": 1,
        "government": 1,
    }
    return Ledger(sizes, INSTRUMENTS, FLOWS, real=REAL, n_runs=1, track_volume=True)


def books(s: Arrays, p: Any) -> Ledger:
    """This batch's ledger for a stage to book into. The first stage of a step gets copies of the state's
    arrays (the state that began the step is never changed: strict mode's ``prev``, a snapshot or a caller
    may hold it); the later stages of the same step book into those copies in place, which are already
    this step's new arrays, rather than copying the ledger (≈ 100 MB at 10⁶ households) once per stage.
    ``close_books``, the step's last stage, ends the step's claim, so a stage called outside a step
    always gets copies."""
    scratch: Scratch = p.ledger_scratch
    if scratch.owns(s):
        p.ledger_checks.forget()  # its residuals may be of these very arrays before this stage's bookings
        led = p.ledger_template.load(s, prefix=PREFIX, copy=False)
        setattr(led, _IN_PLACE, led.arrays(PREFIX))
        return led
    led = p.ledger_template.load(s, prefix=PREFIX, copy=True)
    scratch.claim(led)
    return led


def updates(ledger: Ledger) -> dict[str, np.ndarray]:
    """The ledger's arrays for a stage's result: those the stage replaced. Arrays it booked into in place
    (``books``) are the state's already, and the engine's finiteness check of them (a pass over ≈ 100 MB
    at 10⁶ households) is left to the step's last stage, ``close_books``."""
    arrays = ledger.arrays(PREFIX)
    loaded = getattr(ledger, _IN_PLACE, None)
    if loaded is None:
        return arrays
    return {name: a for name, a in arrays.items() if a is not loaded[name]}


_IN_PLACE = "_econsim_banking_in_place"  # the state's arrays a ledger of ``books`` books into in place


def open_step(led: Ledger, p: Any) -> None:
    """A new step of ``led`` (from ``books``): the sectors' stocks open it, its flows and turnover start
    at zero (what ``Ledger.new_step`` does, without the closing matrix nobody reads)."""
    led.opening = sector_stock(led.stock, led.offsets)
    led.flow = np.zeros_like(led.flow)
    led.turnover = np.zeros_like(led.turnover)
    p.ledger_scratch.claim(led)  # the step's later stages book into these new arrays too


def close_books(s: Arrays, p: Any, rng: Any) -> dict[str, np.ndarray]:
    """The step's last stage: the ledger arrays of this step are the state's now, no stage books into
    them any more (the next step copies them first). Under ``clearing: bam`` too (its one stage books)."""
    p.ledger_scratch.release(s)
    # returned as they are, for the engine's check that they are finite (strict mode), once a step
    return {f"{PREFIX}_{name}": s[f"{PREFIX}_{name}"] for name in _NAMES}


class Scratch:
    """Which ledger arrays the current step's stages may book into in place: those the step's first
    booking stage copied, until ``close_books``. Held per batch in the static data, keyed by the stock
    array (a thread stepping another batch has its own), by weak references only; a copy (pickled
    static data) starts empty."""

    def __init__(self) -> None:
        self._claims: dict[int, tuple[Any, ...]] = {}

    def _arrays(self, s: Any) -> list[Any]:
        return [s[f"{PREFIX}_{name}"] for name in _NAMES]

    def owns(self, s: Any) -> bool:
        arrays = self._arrays(s)
        refs = self._claims.get(id(arrays[0]))
        return refs is not None and all(r() is a for r, a in zip(refs, arrays, strict=True))

    def claim(self, led: Ledger) -> None:
        arrays = [getattr(led, name) for name in _NAMES]
        # a step that raised never released its claim: drop claims whose arrays are gone
        self._claims = {k: v for k, v in self._claims.items() if v[0]() is not None}
        self._claims[id(arrays[0])] = tuple(weakref.ref(a) for a in arrays)

    def release(self, s: Any) -> None:
        self._claims.pop(id(self._arrays(s)[0]), None)

    def __getstate__(self) -> dict[str, Any]:  # weak references do not pickle
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._claims = {}


_NAMES = ("stock", "net_worth", "flow", "opening", "turnover", "volume")


def sector_stock(stock_bhi: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """(B, K, I): each sector's stocks summed over its members — ``Ledger.sector_stock``'s values bit for
    bit (numpy's pairwise summation, reproduced), in one pass over the holders instead of one per
    instrument column."""
    out = np.empty((stock_bhi.shape[0], offsets.shape[0] - 1, stock_bhi.shape[2]))
    _sector_sums(np.ascontiguousarray(stock_bhi), np.asarray(offsets, dtype=np.int64), out)
    return out


def variables(n_households: int = 1, n_firms: int = 2, n_banks: int = 1) -> list[Any]:
    """State declarations of the ledger's arrays: the holder axis is sized by the static ``n_holders``."""
    from econsim.engine import Var

    led = template(n_households, n_firms, n_banks)
    out = []
    for var in led.variables(PREFIX):
        shape = tuple(
            "n_holders" if i == 0 and var.name in HOLDER_ARRAYS else d for i, d in enumerate(var.shape)
        )
        out.append(Var(var.name, 0.0, var.doc, shape))
    return out


# --- payments ------------------------------------------------------------------------------------------
def pay(
    led: Ledger, flow: str, payer: tuple[str, Any, Any], payee: tuple[str, Any, Any], amount: Any
) -> None:
    """Deposit payments ``payer → payee`` for ``flow``, settled in reserves between their banks.

    ``payer`` and ``payee`` are (sector, member, bank): ``sector`` "households" or "firms" pay from their
    deposits at ``bank``; a party of sector "banks" (member = its own index, bank ignored) pays or receives
    reserves directly; "government" uses its reserves account at the central bank."""
    transfer(led, flow, (*payer, amount), (*payee, amount))


def transfer(
    led: Ledger, flow: str, payer: tuple[str, Any, Any, Any], payee: tuple[str, Any, Any, Any]
) -> None:
    """Payments for ``flow`` booked by their net effect (``Ledger.book_net``): the payer side (sector,
    members, banks, amounts) and the payee side may list different members — a market's buyers once
    each with what they spent, its sellers once per sale — as long as both sides sum to the same total
    in every run. Each party's deposit moves with its bank's deposit liability, and the banks settle in
    reserves (net, as a deferred net settlement system does)."""
    debit: list[tuple[Any, ...]] = []
    credit: list[tuple[Any, ...]] = []
    for (sector, member, bank, amount), out in ((payer, True), (payee, False)):
        gives, gets = (credit, debit) if out else (debit, credit)
        amount = np.asarray(amount, dtype=np.float64)
        if sector in ("government", "central_bank") and amount.ndim == 2:
            amount = amount.sum(axis=1)  # one holder: its side is one leg per run, not one per payment
        gets.append((sector, flow, member, amount))  # the payer's use of funds, the payee's source
        if sector in ("households", "firms"):
            gives.append((sector, "deposits", member, amount))
            gets.append(("banks", "deposits", bank, amount))
            gives.append(("banks", "reserves", bank, amount))
        elif sector == "banks":
            gives.append(("banks", "reserves", member, amount))
        else:
            gives.append((sector, "reserves", member, amount))
    led.book_net(debit=debit, credit=credit)


def owner_part(per_firm_bf: np.ndarray, owner_h: np.ndarray, held_bh: np.ndarray | None = None) -> np.ndarray:
    """(B, H): each owner's part of its firm's amount (every firm has an owner: F ≤ H) — equal parts, or
    with ``held_bh`` (the owners' shares, traded on the equity market) in proportion to the shares each
    holds (equal parts where a firm's owners hold none)."""
    owners_f = np.bincount(owner_h, minlength=per_firm_bf.shape[1])
    equal = per_firm_bf[:, owner_h] / np.maximum(owners_f[owner_h], 1)
    if held_bh is None:
        return equal
    held = np.maximum(held_bh, 0.0)
    total = sum_by(owner_h, held, per_firm_bf.shape[1])[:, owner_h]
    weighted = per_firm_bf[:, owner_h] * held / np.maximum(total, 1e-300)
    return np.where(total > 0, weighted, equal)


def deposit_legs(sector: str, member: Any, bank: Any, amount: Any, pays: bool) -> tuple[list, list]:
    """(debits, credits) of the money side of a purchase (``pays``) or sale of ``amount``: a bank in
    reserves; a household or firm from its deposit, its bank's deposit liability and reserves moving with
    it (a payment between customers of one bank moves no reserves, once the legs are netted)."""
    if sector == "banks":
        legs = [("banks", "reserves", member, amount)]
        return ([], legs) if pays else (legs, [])
    out = [(sector, "deposits", member, amount), ("banks", "reserves", bank, amount)]
    back = [("banks", "deposits", bank, amount)]
    return (back, out) if pays else (out, back)


def to_savings(led: Ledger, household_n: Any, bank_h: Any, amount: Any) -> None:
    """Households move ``amount`` from their deposits into savings at the same bank (negative: back);
    M1 falls and M2 stays."""
    led.book_net(
        debit=[("households", "savings", household_n, amount), ("banks", "deposits", bank_h, amount)],
        credit=[("households", "deposits", household_n, amount), ("banks", "savings", bank_h, amount)],
    )


def reissue_shares(
    led: Ledger, firm_n: Any, owner_h: Any, written_off_f: Any, issued_f: Any, held_bh: Any = None
) -> None:
    """A bankrupt firm's shares are written off (the owners' loss, ``write_offs``); the plant it keeps is
    issued as new shares to the same owners (``capital_transfers``: the entrant is theirs), each in
    proportion to the shares it held (``held_bh``; equal parts without)."""
    n_h = owner_h.shape[0]
    household_n = np.arange(n_h)
    for flow, amount in (("write_offs", written_off_f), ("capital_transfers", -issued_f)):
        per_owner = owner_part(amount, owner_h, held_bh)
        led.book_net(
            debit=[("firms", "equity", firm_n, amount), ("households", flow, household_n, per_owner)],
            credit=[("firms", flow, firm_n, amount), ("households", "equity", household_n, per_owner)],
        )


def lend(led: Ledger, borrower_f: Any, borrower_bank: Any, lender: Any, amount: Any) -> None:
    """Bank ``lender`` lends to firm ``borrower_f``: a loan (its asset) and a deposit at the firm's bank
    (created money); when the firm banks elsewhere the lender pays that bank in reserves."""
    led.book_net(
        debit=[
            ("banks", "loans", lender),
            ("firms", "deposits", borrower_f),
            ("banks", "reserves", borrower_bank),
        ],
        credit=[
            ("firms", "loans", borrower_f),
            ("banks", "deposits", borrower_bank),
            ("banks", "reserves", lender),
        ],
        amount=amount,
    )


def repay(led: Ledger, borrower_f: Any, borrower_bank: Any, lender: Any, amount: Any) -> None:
    """The reverse of ``lend``: the firm's deposit and the loan both vanish (money destroyed)."""
    led.book_net(
        debit=[
            ("firms", "loans", borrower_f),
            ("banks", "deposits", borrower_bank),
            ("banks", "reserves", lender),
        ],
        credit=[
            ("banks", "loans", lender),
            ("firms", "deposits", borrower_f),
            ("banks", "reserves", borrower_bank),
        ],
        amount=amount,
    )


def write_off(led: Ledger, borrower_f: Any, lender: Any, amount: Any) -> None:
    """A defaulted loan leaves both balance sheets: a loss of the bank, a gain of the firm's creditors'
    counterpart (``write_offs`` is a use of the bank, a source of the firm)."""
    led.book_net(
        debit=[("firms", "loans", borrower_f), ("banks", "write_offs", lender)],
        credit=[("banks", "loans", lender), ("firms", "write_offs", borrower_f)],
        amount=amount,
    )


def between_banks_and_cb(led: Ledger, flow: str | None, instrument: str, bank: Any, amount: Any) -> None:
    """Central bank ↔ bank: with ``flow`` an interest payment from the bank to the CB (negative amounts
    reverse it); with ``flow=None`` the bank borrows ``amount`` of advances (negative: repays)."""
    if flow is None:
        led.book_net(
            debit=[("banks", "reserves", bank), ("central_bank", "advances")],
            credit=[("banks", "advances", bank), ("central_bank", "reserves")],
            amount=amount,
        )
    else:
        led.book_net(
            debit=[("banks", flow, bank), ("central_bank", "reserves")],
            credit=[("banks", "reserves", bank), ("central_bank", flow)],
            amount=amount,
        )


# --- initial balance sheets ----------------------------------------------------------------------------
def opening_balances(
    led: Ledger,
    deposits_h: np.ndarray,
    bank_h: np.ndarray,
    deposits_f: np.ndarray,
    loans_f: np.ndarray,
    capital_f: np.ndarray,
    bank_f: np.ndarray,
    equity_ratio: float | np.ndarray,
    shares_f: np.ndarray | None = None,
    owner_h: np.ndarray | None = None,
) -> Ledger:
    """Stocks at t = 0 that satisfy every identity: banks hold their customers' deposits and the firms'
    loans, keep equity = ``equity_ratio`` × loans and the rest in reserves (borrowing advances where that
    is negative); the central bank backs the reserves with government bonds; the government owes them.
    With ``shares_f`` (B, F) and ``owner_h`` (H,) each firm's shares of that paid-in value are held by its
    owners, an equal part each."""
    B, K = deposits_h.shape[0], led.sizes[2]
    runs_h = np.broadcast_to(np.arange(B)[:, None], bank_h.shape)
    runs_f = np.broadcast_to(np.arange(B)[:, None], bank_f.shape)
    dep_k = np.zeros((B, K))
    np.add.at(dep_k, (runs_h, bank_h), deposits_h)
    np.add.at(dep_k, (runs_f, bank_f), deposits_f)
    loans_k = np.zeros((B, K))
    np.add.at(loans_k, (runs_f, bank_f), loans_f)
    equity_k = np.asarray(equity_ratio).reshape(-1, 1) * loans_k
    reserves_k = equity_k + dep_k - loans_k
    advances_k = np.maximum(-reserves_k, 0.0)
    reserves_k = np.maximum(reserves_k, 0.0)
    bonds_cb = reserves_k.sum(axis=1) - advances_k.sum(axis=1)
    idx = {name: i for i, name in enumerate(INSTRUMENTS)}
    stock = np.zeros((B, led.n_holders, len(INSTRUMENTS)))
    h, f, k = (led.holders(n) for n in ("households", "firms", "banks"))
    cb, gov = led.holders("central_bank")[0], led.holders("government")[0]
    stock[:, h, idx["deposits"]] = deposits_h
    stock[:, f, idx["deposits"]] = deposits_f
    stock[:, f, idx["loans"]] = -loans_f
    stock[:, f, idx["capital"]] = capital_f
    stock[:, k, idx["deposits"]] = -dep_k
    stock[:, k, idx["loans"]] = loans_k
    stock[:, k, idx["reserves"]] = reserves_k
    stock[:, k, idx["advances"]] = -advances_k
    if shares_f is not None and owner_h is not None:
        stock[:, f, idx["equity"]] = -shares_f
        stock[:, h, idx["equity"]] = owner_part(shares_f, owner_h)
    stock[:, cb, idx["reserves"]] = -reserves_k.sum(axis=1)
    stock[:, cb, idx["advances"]] = advances_k.sum(axis=1)
    stock[:, cb, idx["bonds"]] = bonds_cb
    stock[:, gov, idx["bonds"]] = -bonds_cb
    out = Ledger.__new__(Ledger)
    out.__dict__.update(led.__dict__)
    out.stock = stock
    out.net_worth = stock.sum(axis=2)
    out.flow = np.zeros((B, *led.flow.shape[1:]))
    out.turnover = np.zeros((B, *led.turnover.shape[1:]))
    out.volume = np.zeros((B, led.n_holders))
    out.opening = out.sector_stock()
    out.check()
    return out


# --- invariants (strict mode, every step) --------------------------------------------------------------
#: rounding drift allowed per unit of gross amount a holder has booked since the start (≈ 4500 ε). The
#: tie-out of net worth drifts where one transaction's legs differ in amount (a deposit debit x + y against
#: flows x and y): over 2 500 steps of the baseline the drift stayed below 5·10⁻¹⁵ of the volume booked,
#: while a relative tolerance of the current stocks alone is crossed near step 2 000. A leak of 10⁻⁶ of a
#: stock is still caught while a holder's volume is below 10⁶ times its stocks (about 4 000 times after
#: 5 000 months for a household).
VOLUME_RTOL = 1e-12
_TOL = 1e-9
_STATE_KEYS = (
    *(f"{PREFIX}_{name}" for name in ("stock", "net_worth", "flow", "opening", "turnover", "volume")),
    "households.bank",
    "firms.bank",
)
#: stocks that cannot be negative: (sector, instrument, sign)
NON_NEGATIVE = (
    ("households", "deposits", 1),
    ("households", "savings", 1),
    ("households", "equity", 1),
    ("households", "term_bonds", 1),
    ("households", "loans", -1),
    ("firms", "equity", -1),
    ("firms", "deposits", 1),
    ("banks", "reserves", 1),
    ("banks", "loans", 1),
    ("firms", "loans", -1),
    ("firms", "capital", 1),
    ("households", "housing", 1),
    ("banks", "housing", 1),
)


class Checks:
    """The ledger identities of one state, computed once and shared by every invariant of the step (each
    would otherwise rebuild the transactions-flow matrix). Held per batch in the static data; it keeps
    weak references to the arrays it was computed from, so a state whose ledger arrays were replaced is
    computed afresh and none is kept alive."""

    def __init__(self) -> None:
        # (weak references to the arrays, their residuals), replaced in one assignment: a thread
        # checking another batch's state never sees one's references with the other's residuals
        self._memo: tuple[tuple[Any, ...], dict[str, np.ndarray]] = ((), {})

    def residuals(self, s: Arrays, p: Any) -> dict[str, np.ndarray]:
        arrays = [s[name] for name in _STATE_KEYS]
        refs, value = self._memo
        if len(refs) == len(arrays) and all(r() is a for r, a in zip(refs, arrays, strict=True)):
            return value
        value = residuals(s, p)
        self._memo = (tuple(weakref.ref(a) for a in arrays), value)
        return value

    def forget(self) -> None:
        """The arrays are about to be booked into in place (``books``): residuals of them are stale."""
        self._memo = ((), {})

    def __getstate__(self) -> dict[str, Any]:  # weak references do not pickle; a copy starts empty
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._memo = ((), {})


def residuals(s: Arrays, p: Any) -> dict[str, np.ndarray]:
    """Relative residuals of every identity, each compared with 10⁻⁹:

    ``balance_rows`` (B, I_fin)   |Σ_h stock_hi| / (Σ_h |stock_hi| + w·Σ_h V_h)
    ``net_worth`` (B, H)          |Σ_i stock_hi − NW_h| / (Σ_i |stock_hi| + |NW_h| + w·V_h)
    ``tfm_rows``, ``tfm_columns`` the step's transactions-flow sums / its turnover
    ``deposits`` (B, K)           each bank's deposit liability against its customers' deposits
    ``negative`` (B,)             the worst negative stock where none may be, relative to the instrument's
                                  gross amount

    V_h is the gross amount h booked since the start and w = VOLUME_RTOL / 10⁻⁹; every scale is at least 1.
    The sums over holders take two compiled passes over the balance sheets (``_holder_totals``,
    ``sector_stock``) and one over the households' and firms' accounts (``_customer_funds``), with no
    temporary of the ledger's size."""
    led = p.ledger_template.load(s, prefix=PREFIX, copy=False)
    stock = np.ascontiguousarray(led.stock)
    B, H, n_inst = stock.shape
    fin = led.financial
    weight = VOLUME_RTOL / _TOL
    volume = led.volume if led.volume is not None else np.zeros(led.net_worth.shape)
    total, gross, worth_sum, worth_abs = (np.empty((B, n_inst)), np.empty((B, n_inst)), *np.empty((2, B, H)))
    _holder_totals(stock, total, gross, worth_sum, worth_abs)
    rows = np.abs(total[:, fin]) / np.maximum(gross[:, fin] + weight * volume.sum(axis=1)[:, None], 1.0)
    worth = np.abs(worth_sum - led.net_worth) / np.maximum(
        worth_abs + np.abs(led.net_worth) + weight * volume, 1.0
    )
    change = (sector_stock(stock, led.offsets) - led.opening)[:, :, fin].transpose(0, 2, 1)
    tfm = np.concatenate([led.flow, -change], axis=1)
    turnover = np.maximum(led.turnover.sum(axis=(1, 2)), 1.0)[:, None]
    return {
        "balance_rows": rows,
        "net_worth": worth,
        "tfm_rows": np.abs(tfm.sum(axis=2)) / turnover,
        "tfm_columns": np.abs(tfm.sum(axis=1)) / turnover,
        "deposits": _bank_deposits_match(s, led, weight),
        "negative": _no_negative(led, gross, weight),
    }


def sum_by(index_bn: np.ndarray, values_bn: np.ndarray, size: int) -> np.ndarray:
    """(B, size): Σ of ``values`` by ``index`` (a bank, a firm) per run — a bincount, whose additions
    run in member order within each run whatever the batch (``np.add.at`` is ordered too, but slow)."""
    B = values_bn.shape[0]
    index = np.broadcast_to(index_bn, values_bn.shape)
    flat = (np.arange(B)[:, None] * size + index).ravel()
    return np.bincount(flat, weights=values_bn.ravel(), minlength=B * size).reshape(B, size)


def _bank_deposits_match(s: Arrays, led: Ledger, weight: float) -> np.ndarray:
    """Each bank's deposit and savings liabilities equal its customers' deposits and savings (relative
    residual per bank, the worse of the two; savings relative to the bank's deposits plus savings; each
    scale includes the bank's rounding allowance w·V_k, as its liabilities are running sums of every
    payment in and out)."""
    n_k = int(led.sizes[2])
    B = led.n_runs
    held, saved = np.zeros((B, n_k)), np.zeros((B, n_k))
    h, f = led._sector("households"), led._sector("firms")
    _customer_funds(
        led.stock,
        np.broadcast_to(s["households.bank"], (B, led.sizes[h])),
        np.broadcast_to(s["firms.bank"], (B, led.sizes[f])),
        int(led.offsets[h]),
        int(led.offsets[f]),
        led._instrument("deposits"),
        led._instrument("savings"),
        held,
        saved,
    )
    owed = -led.stock_of("banks", "deposits")
    owed_savings = -led.stock_of("banks", "savings")
    # both relative to the bank's customer funding: a bank whose savers all left (a run) keeps a
    # round-off of its former savings, 1e-16 of them, that must not count as a mismatch of 1e-9
    funding = np.abs(owed) + np.abs(held) + np.abs(owed_savings) + np.abs(saved)
    k = led._sector("banks")
    allowance = weight * (
        led.volume[:, led.offsets[k] : led.offsets[k + 1]] if led.volume is not None else 0.0
    )
    return np.maximum(
        np.abs(held - owed) / np.maximum(np.abs(owed) + np.abs(held) + allowance, 1.0),
        np.abs(saved - owed_savings) / np.maximum(funding + allowance, 1.0),
    )


def _no_negative(led: Ledger, gross_bi: np.ndarray, weight: float) -> np.ndarray:
    """Stocks that cannot be negative: deposits held, reserves of banks, loans outstanding, capital —
    relative to the instrument's gross amount in the economy, Σ_h |stock_hi| (``gross_bi``), plus the
    holder's rounding allowance w·V_h: a bank whose loans were all repaid holds the rounding residue of
    its loan book, not a negative loan."""
    volume = led.volume if led.volume is not None else np.zeros(led.net_worth.shape)
    spec = np.array(
        [
            (
                led.offsets[led._sector(sector)],
                led.offsets[led._sector(sector) + 1],
                led._instrument(inst),
                sign,
            )
            for sector, inst, sign in NON_NEGATIVE
        ],
        dtype=np.int64,
    )
    worst = np.zeros(led.n_runs)
    _worst_negative(led.stock, np.ascontiguousarray(volume), gross_bi, spec, weight, worst)
    return worst


# --- compiled passes of the checks ---------------------------------------------------------------------
@jit(cache=True)
def _holder_totals(stock_bhi, total_bi, gross_bi, sum_bh, abs_bh):
    """Σ_h stock, Σ_h |stock| per instrument and Σ_i stock, Σ_i |stock| per holder, in one pass."""
    B, H, n_inst = stock_bhi.shape
    for b in range(B):
        for i in range(n_inst):
            total_bi[b, i] = 0.0
            gross_bi[b, i] = 0.0
        for h in range(H):
            row, row_abs = 0.0, 0.0
            for i in range(n_inst):
                x = stock_bhi[b, h, i]
                row += x
                row_abs += abs(x)
                total_bi[b, i] += x
                gross_bi[b, i] += abs(x)
            sum_bh[b, h] = row
            abs_bh[b, h] = row_abs


@jit(cache=True)
def _customer_funds(stock_bhi, bank_bh, bank_bf, h0, f0, dep, sav, held_bk, saved_bk):
    """Per bank: its households' and firms' deposits (``held``) and its households' savings."""
    for b in range(stock_bhi.shape[0]):
        for n in range(bank_bh.shape[1]):
            k = bank_bh[b, n]
            held_bk[b, k] += stock_bhi[b, h0 + n, dep]
            saved_bk[b, k] += stock_bhi[b, h0 + n, sav]
        for n in range(bank_bf.shape[1]):
            held_bk[b, bank_bf[b, n]] += stock_bhi[b, f0 + n, dep]


@jit(cache=True)
def _worst_negative(stock_bhi, volume_bh, gross_bi, spec, weight, worst_b):
    """max over the (first holder, end, instrument, sign) ranges of max(−sign·stock, 0) / scale."""
    for b in range(stock_bhi.shape[0]):
        worst = 0.0
        for r in range(spec.shape[0]):
            lo, hi, i, sign = spec[r, 0], spec[r, 1], spec[r, 2], spec[r, 3]
            for h in range(lo, hi):
                short = -sign * stock_bhi[b, h, i]
                if short > 0.0:
                    worst = max(worst, short / max(gross_bi[b, i] + weight * volume_bh[b, h], 1.0))
        worst_b[b] = worst


@jit(cache=True)
def _sector_sums(stock_bhi, offsets, out_bki):
    """out[b, k] = Σ of rows offsets[k] … offsets[k + 1] − 1 of stock[b], added as numpy adds along a
    strided axis: the first row, plus the pairwise sum of the rest (blocks of ≤ 128 rows summed in 8
    interleaved partial sums, longer ranges halved at a multiple of 8), on an explicit stack."""
    n_inst = stock_bhi.shape[2]
    lo_s = np.empty(128, np.int64)
    n_s = np.empty(128, np.int64)
    phase_s = np.empty(128, np.int64)
    part = np.empty((128, n_inst))
    r = np.empty((8, n_inst))
    for b in range(stock_bhi.shape[0]):
        x = stock_bhi[b]
        for k in range(offsets.shape[0] - 1):
            sp, rp = 1, 0
            lo_s[0], n_s[0], phase_s[0] = offsets[k] + 1, offsets[k + 1] - offsets[k] - 1, 0
            while sp > 0:
                sp -= 1
                lo, n, phase = lo_s[sp], n_s[sp], phase_s[sp]
                if n < 8:
                    for c in range(n_inst):
                        part[rp, c] = -0.0
                    for t in range(n):
                        for c in range(n_inst):
                            part[rp, c] += x[lo + t, c]
                    rp += 1
                elif n <= 128:
                    for j in range(8):
                        for c in range(n_inst):
                            r[j, c] = x[lo + j, c]
                    t = 8
                    end = n - n % 8
                    while t < end:
                        for j in range(8):
                            for c in range(n_inst):
                                r[j, c] += x[lo + t + j, c]
                        t += 8
                    for c in range(n_inst):
                        part[rp, c] = ((r[0, c] + r[1, c]) + (r[2, c] + r[3, c])) + (
                            (r[4, c] + r[5, c]) + (r[6, c] + r[7, c])
                        )
                    while t < n:
                        for c in range(n_inst):
                            part[rp, c] += x[lo + t, c]
                        t += 1
                    rp += 1
                elif phase == 0:
                    half = n // 2
                    half -= half % 8
                    lo_s[sp], n_s[sp], phase_s[sp] = lo, n, 1  # combine once both halves are summed
                    lo_s[sp + 1], n_s[sp + 1], phase_s[sp + 1] = lo + half, n - half, 0
                    lo_s[sp + 2], n_s[sp + 2], phase_s[sp + 2] = lo, half, 0
                    sp += 3
                else:
                    for c in range(n_inst):
                        part[rp - 2, c] = part[rp - 2, c] + part[rp - 1, c]
                    rp -= 1
            for c in range(n_inst):
                out_bki[b, k, c] = x[offsets[k], c] + part[0, c]


def _check(key: str):
    return lambda s, p, prev: p.ledger_checks.residuals(s, p)[key]


INVARIANTS = [
    Invariant("balance-sheet rows sum to zero", _check("balance_rows"), tol=_TOL),
    Invariant("each holder's net worth ties out", _check("net_worth"), tol=_TOL),
    Invariant("transactions-flow rows sum to zero", _check("tfm_rows"), tol=_TOL),
    Invariant("transactions-flow columns sum to zero", _check("tfm_columns"), tol=_TOL),
    Invariant("each bank owes exactly its customers' deposits", _check("deposits"), tol=_TOL),
    Invariant("no negative deposits, reserves, loans or capital", _check("negative"), tol=_TOL),
]
