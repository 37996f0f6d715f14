"""The banking economy's books: one double-entry ledger (``mechanisms.ledger``) of every agent.

Sectors (holders): households h, firms f, banks k, the central bank and the government. Instruments:

    deposits   asset of a household or firm, liability of its bank
    reserves   asset of a bank (and the government's account at the central bank), liability of the CB
    loans      asset of the lending bank, liability of the firm
    bonds      government bonds: asset of banks and the CB, liability of the government
    advances   central-bank lending: asset of the CB, liability of a bank
    capital    real asset of consumption-goods firms, booked at cost (its purchase is ``investment``)

Money is created and destroyed only where it is in a real economy: a loan creates a deposit (the lender
credits the borrower's account, settling reserves with the borrower's bank if that is another bank),
repayment destroys it; reserves are created by the central bank when it lends (advances) or when the
government spends from its account. A deposit payment between customers of two banks moves the deposit
and settles reserves between the banks (``pay``).

The ledger's arrays live in the state as ``ledger_stock`` (B, holders, instruments), ``ledger_net_worth``,
``ledger_flow``, ``ledger_opening`` and ``ledger_turnover``; a stage loads them (``books``), books its
transactions and returns the new arrays (``updates``). The matrices and identities are checked every step
in strict mode (``INVARIANTS``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from econsim.engine import Arrays, Invariant
from econsim.mechanisms.ledger import Ledger

SECTORS = ("households", "firms", "banks", "central_bank", "government")
INSTRUMENTS = ("deposits", "reserves", "loans", "bonds", "advances", "capital")
FLOWS = (
    "consumption", "government_purchases", "investment", "wages", "income_tax", "sales_tax",
    "corporate_tax", "benefits", "loan_interest", "deposit_interest", "reserve_interest", "bond_interest",
    "advance_interest", "dividends", "cb_profit", "write_offs", "capital_transfers",
)  # fmt: skip
REAL = {"capital": "investment"}
PREFIX = "ledger"


def template(n_households: int, n_firms: int, n_banks: int) -> Ledger:
    """The ledger's structure for the given population sizes (one run; ``books`` loads a batch into it)."""
    sizes = {
        "households": n_households,
        "firms": n_firms,
        "banks": n_banks,
        "central_bank": 1,
        "government": 1,
    }
    return Ledger(sizes, INSTRUMENTS, FLOWS, real=REAL, n_runs=1)


def books(s: Arrays, p: Any) -> Ledger:
    """This batch's ledger, holding copies of the state's arrays (stages replace arrays, never mutate)."""
    return p.ledger_template.load(s, prefix=PREFIX, copy=True)


def updates(ledger: Ledger) -> dict[str, np.ndarray]:
    return ledger.arrays(PREFIX)


def variables(n_households: int = 1, n_firms: int = 2, n_banks: int = 1) -> list[Any]:
    """State declarations of the ledger's arrays: the holder axis is sized by the static ``n_holders``."""
    from econsim.engine import Var

    led = template(n_households, n_firms, n_banks)
    out = []
    for var in led.variables(PREFIX):
        shape = tuple(
            "n_holders" if i == 0 and var.name in (f"{PREFIX}_stock", f"{PREFIX}_net_worth") else d
            for i, d in enumerate(var.shape)
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
    debit: list[tuple[Any, ...]] = [(payer[0], flow, payer[1])]
    credit: list[tuple[Any, ...]] = [(payee[0], flow, payee[1])]
    for side, (sector, member, bank), _sign in ((credit, payer, -1), (debit, payee, 1)):
        if sector in ("households", "firms"):
            side.append((sector, "deposits", member))
            # the bank's deposit liability moves with it, and the bank settles in reserves
            other = debit if side is credit else credit
            other.append(("banks", "deposits", bank))
            side.append(("banks", "reserves", bank))
        elif sector == "banks":
            side.append(("banks", "reserves", member))
        else:
            side.append((sector, "reserves", member))
    led.book(debit=debit, credit=credit, amount=amount)


def lend(led: Ledger, borrower_f: Any, borrower_bank: Any, lender: Any, amount: Any) -> None:
    """Bank ``lender`` lends to firm ``borrower_f``: a loan (its asset) and a deposit at the firm's bank
    (created money); when the firm banks elsewhere the lender pays that bank in reserves."""
    led.book(
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
    led.book(
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
    led.book(
        debit=[("firms", "loans", borrower_f), ("banks", "write_offs", lender)],
        credit=[("banks", "loans", lender), ("firms", "write_offs", borrower_f)],
        amount=amount,
    )


def between_banks_and_cb(led: Ledger, flow: str | None, instrument: str, bank: Any, amount: Any) -> None:
    """Central bank ↔ bank: with ``flow`` an interest payment from the bank to the CB (negative amounts
    reverse it); with ``flow=None`` the bank borrows ``amount`` of advances (negative: repays)."""
    if flow is None:
        led.book(
            debit=[("banks", "reserves", bank), ("central_bank", "advances")],
            credit=[("banks", "advances", bank), ("central_bank", "reserves")],
            amount=amount,
        )
    else:
        led.book(
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
) -> Ledger:
    """Stocks at t = 0 that satisfy every identity: banks hold their customers' deposits and the firms'
    loans, keep equity = ``equity_ratio`` × loans and the rest in reserves (borrowing advances where that
    is negative); the central bank backs the reserves with government bonds; the government owes them."""
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
    out.opening = out.sector_stock()
    out.check()
    return out


# --- invariants (strict mode, every step) --------------------------------------------------------------
def _ledger_residuals(s: Arrays, p: Any) -> dict[str, np.ndarray]:
    led = p.ledger_template.load(s, prefix=PREFIX, copy=False)
    fin = led.stock[:, :, led.financial]
    gross = np.abs(fin).sum(axis=1)
    tfm = led.transactions_flow()
    turnover = np.maximum(led.turnover.sum(axis=(1, 2)), 1.0)
    return {
        "balance_rows": np.abs(fin.sum(axis=1)) / np.maximum(gross, 1.0),
        "net_worth": np.abs(led.stock.sum(axis=2) - led.net_worth)
        / np.maximum(np.abs(led.stock).sum(axis=2) + np.abs(led.net_worth), 1.0),
        "tfm_rows": np.abs(tfm.row_sums()) / turnover[:, None],
        "tfm_columns": np.abs(tfm.column_sums()) / turnover[:, None],
    }


def _bank_deposits_match(s: Arrays, p: Any) -> np.ndarray:
    """Each bank's deposit liability equals its customers' deposits (relative residual per bank)."""
    led = p.ledger_template.load(s, prefix=PREFIX, copy=False)
    B, K = led.n_runs, led.sizes[2]
    held = np.zeros((B, K))
    runs = np.arange(B)[:, None]
    np.add.at(
        held,
        (np.broadcast_to(runs, s["households.bank"].shape), s["households.bank"]),
        led.stock_of("households", "deposits"),
    )
    np.add.at(
        held,
        (np.broadcast_to(runs, s["firms.bank"].shape), s["firms.bank"]),
        led.stock_of("firms", "deposits"),
    )
    owed = -led.stock_of("banks", "deposits")
    return np.abs(held - owed) / np.maximum(np.abs(owed) + np.abs(held), 1.0)


def _no_negative(s: Arrays, p: Any) -> np.ndarray:
    """Stocks that cannot be negative: deposits held, reserves of banks, loans outstanding, capital."""
    led = p.ledger_template.load(s, prefix=PREFIX, copy=False)
    worst = np.zeros(led.n_runs)
    for sector, inst, sign in (
        ("households", "deposits", 1),
        ("firms", "deposits", 1),
        ("banks", "reserves", 1),
        ("banks", "loans", 1),
        ("firms", "loans", -1),
        ("firms", "capital", 1),
    ):
        values = sign * led.stock_of(sector, inst)
        scale = np.maximum(np.abs(values).sum(axis=1), 1.0)
        worst = np.maximum(worst, np.maximum(-values.min(axis=1), 0.0) / scale)
    return worst


INVARIANTS = [
    Invariant(
        "balance-sheet rows sum to zero", lambda s, p, prev: _ledger_residuals(s, p)["balance_rows"], tol=1e-9
    ),
    Invariant(
        "each holder's net worth ties out", lambda s, p, prev: _ledger_residuals(s, p)["net_worth"], tol=1e-9
    ),
    Invariant(
        "transactions-flow rows sum to zero", lambda s, p, prev: _ledger_residuals(s, p)["tfm_rows"], tol=1e-9
    ),
    Invariant(
        "transactions-flow columns sum to zero",
        lambda s, p, prev: _ledger_residuals(s, p)["tfm_columns"],
        tol=1e-9,
    ),
    Invariant(
        "each bank owes exactly its customers' deposits",
        lambda s, p, prev: _bank_deposits_match(s, p),
        tol=1e-9,
    ),
    Invariant(
        "no negative deposits, reserves, loans or capital", lambda s, p, prev: _no_negative(s, p), tol=1e-9
    ),
]
