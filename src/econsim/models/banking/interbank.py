"""The interbank overnight market, its exposure network, and contagion when a bank cannot pay.

**Lending** (``interbank_market``, after the end-of-step settlement). A bank that had to borrow
advances from the central bank to meet its reserve requirement would rather borrow from a bank holding
reserves above its requirement, inside the corridor. Banks also manage their reserves to a
liquidity target τ·deposits (``liquidity_target``, at least the requirement; −1: the system's average
ratio, so that reserves are pooled). Demand is d_i = advances_i +
(τ·deposits_i − reserves_i)⁺ (if bank i's equity covers ``interbank_min_equity``·κ·loans: lenders refuse a
weak bank, which stays at the central bank's facility — the lender of last resort); supply is
s_j = ``interbank_appetite``·(reserves_j − τ·deposits_j)⁺.
The matched volume V = min(Σd, Σs) is spread in proportion to both sides (the maximum-entropy network):

    x_ij = V · (d_i / Σd) · (s_j / Σs)           (bank i owes bank j; L = x is the exposure network)

and the borrowers repay their advances with it. The overnight rate sits inside the corridor by the
market's tightness: r = r_dep + (r_lend − r_dep) · Σd / (Σd + Σs).

**Clearing** (``interbank_clearing``, before the banks' accounts of the next step). The overnight loans
fall due with interest, p̄_i = Σ_j x_ij (1 + r Δ). Depositors and the central bank are senior: what a bank
has for its interbank creditors is e_i = (net worth − interbank claims + interbank debts)⁺. The payments
are the Eisenberg–Noe clearing vector (``mechanisms.contagion``): a bank that cannot pay in full pays
pro rata, its creditors write off the rest — which may push them under in turn (the cascade's rounds are
recorded). A bank short of reserves to pay borrows advances (the lender of last resort). Recorded per
step: ``interbank_defaults`` (banks that did not pay in full), ``contagion_losses`` (written off),
``contagion_failures`` (solvent banks the losses made insolvent),
``systemic_risk`` (the largest DebtRank of one bank failing, on the network and equity before clearing)
and ``interbank_volume``, ``interbank_rate``; ``interbank_at_default`` and ``bank_cascade_round`` keep
the last network that defaulted and each bank's round in that cascade (for the cascade figure).

**Shock** (scenario ``interbank_contagion``): at step ``loan_loss_step`` bank ``loan_loss_bank`` (−1: the
bank owing most overnight) writes off ``loan_loss_shock`` of every loan it holds (booked like any default,
against its equity).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from econsim.engine import Arrays, Invariant, Param, RandomStreams, Var
from econsim.mechanisms.contagion import debtrank, eisenberg_noe
from econsim.models.banking import accounts
from econsim.models.banking.firms import col
from econsim.models.banking.policy import facility_rates

PARAMS: list[Param] = [
    Param(
        "interbank",
        False,
        "banks lend reserves to each other overnight (an exposure network cleared by Eisenberg–Noe)",
        kind="bool",
        per_batch=True,
    ),
    Param(
        "interbank_appetite",
        1.0,
        "share of its reserves above the requirement a bank lends",
        bounds=(0.0, 1.0),
    ),
    Param(
        "interbank_min_equity",
        1.0,
        "lenders refuse a bank whose equity is below this multiple of κ·loans",
        bounds=(0.0, 10.0),
    ),
    Param(
        "liquidity_target",
        0.0,
        "reserves a bank wants, as a share of its deposits (at least the requirement): it borrows overnight "
        "below it and lends above it; −1: the banking system's average reserve ratio",
        bounds=(-1.0, 1.0),
    ),
    Param("loan_loss_shock", 0.0, "share of bank loan_loss_bank's loans written off", bounds=(0.0, 1.0)),
    Param(
        "loan_loss_bank",
        -1,
        "the bank hit by the loan loss; −1: the bank owing most overnight at the time",
        bounds=(-1, 49),
        kind="int",
    ),
    Param("loan_loss_step", 0, "step of the loan loss (0: none)", bounds=(0, None), kind="int"),
]

STATE: list[Var] = [
    Var(
        "interbank_kk",
        0.0,
        "overnight loans outstanding: [i, j] = what bank i owes bank j",
        ("n_banks", "n_banks"),
    ),
    Var("interbank_rate", 0.0, "overnight rate of the loans outstanding (annual)"),
    Var("interbank_volume", 0.0, "overnight loans made this step"),
    Var("interbank_defaults", 0.0, "banks that did not repay their overnight loans in full this step"),
    Var("contagion_losses", 0.0, "overnight loans written off this step"),
    Var("contagion_failures", 0.0, "solvent banks pushed into insolvency by interbank losses this step"),
    Var("systemic_risk", 0.0, "largest DebtRank of a single bank failing (before clearing)"),
    Var("lolr_lending", 0.0, "central-bank advances taken this step to repay overnight loans"),
    Var("loan_losses", 0.0, "loans written off by the loan-loss shock this step"),
    Var(
        "interbank_at_default",
        0.0,
        "the overnight network (amounts due) at the last clearing with a default",
        ("n_banks", "n_banks"),
    ),
    Var("bank_cascade_round", 0.0, "each bank's default round in the last cascade (0: paid)", ("n_banks",)),
    Var("bank_pushed_under", 0.0, "1 for each bank the last cascade's losses made insolvent", ("n_banks",)),
]


def _edges(n_k: int) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair (i, j) of banks, i ≠ j excluded by zero amounts: (K², ) each."""
    return np.repeat(np.arange(n_k), n_k), np.tile(np.arange(n_k), n_k)


def _loan_loss(s: Arrays, p: Any, led: Any) -> np.ndarray:
    f = s.firms
    n_f = f.price.shape[1]
    hit = (s.step == col(p.loan_loss_step)[:, 0]) & (col(p.loan_loss_step)[:, 0] > 0)
    loans = -led.stock_of("firms", "loans")
    biggest = np.argmax(s.interbank_kk.sum(axis=2), axis=1)
    bank = np.where(col(p.loan_loss_bank)[:, 0] < 0, biggest, col(p.loan_loss_bank)[:, 0])
    mine = (f.lender == bank[:, None]) & hit[:, None]
    amount = np.where(mine, col(p.loan_loss_shock) * loans, 0.0)
    if amount.any():
        accounts.write_off(led, np.arange(n_f), np.where(f.lender >= 0, f.lender, 0), amount)
    return amount.sum(axis=1)


def interbank_clearing(s: Arrays, p: Any, rng: RandomStreams) -> dict[str, np.ndarray]:
    """The loan-loss shock, then last step's overnight loans cleared (Eisenberg–Noe); see the module doc."""
    led = accounts.books(s, p)
    lost = _loan_loss(s, p, led)
    out: dict[str, np.ndarray] = {"loan_losses": lost}
    if not p.interbank:
        return {**out, **accounts.updates(led)}
    n_k = led.sizes[2]
    bank_k = np.arange(n_k)
    dt = 1.0 / p.steps_per_year
    owed = s.interbank_kk
    due = owed * (1.0 + s.interbank_rate * dt)[:, None, None]
    net_worth = led.net_worth[:, led.holders("banks")]
    solvent = net_worth >= 0
    claims, debts = owed.sum(axis=1), owed.sum(axis=2)
    available = np.maximum(net_worth - claims + debts, 0.0)
    res = eisenberg_noe(due, available)
    share = np.divide(
        res.payments, res.obligations, out=np.ones_like(res.payments), where=res.obligations > 0
    )
    paid = due * share[:, :, None]
    principal = np.minimum(paid / (1.0 + s.interbank_rate * dt)[:, None, None], owed)
    interest = paid - principal
    written = owed - principal
    # a bank pays out of reserves what it owes net of what it is paid; short, it borrows advances
    outflow = paid.sum(axis=2) - paid.sum(axis=1)
    lolr = np.maximum(outflow - led.stock_of("banks", "reserves"), 0.0)
    accounts.between_banks_and_cb(led, None, "reserves", bank_k, lolr)
    i_e, j_e = _edges(n_k)
    B = owed.shape[0]
    flat = lambda a: a.reshape(B, n_k * n_k)  # noqa: E731
    led.book(
        debit=[("banks", "reserves", j_e), ("banks", "interbank", i_e)],
        credit=[("banks", "interbank", j_e), ("banks", "reserves", i_e)],
        amount=flat(principal),
    )
    accounts.pay(led, "interbank_interest", ("banks", i_e, None), ("banks", j_e, None), flat(interest))
    led.book(
        debit=[("banks", "interbank", i_e), ("banks", "write_offs", j_e)],
        credit=[("banks", "interbank", j_e), ("banks", "write_offs", i_e)],
        amount=flat(written),
    )
    defaulted = res.default_round > 0
    pushed_under = solvent & (led.net_worth[:, led.holders("banks")] < 0)
    any_default = np.asarray(defaulted.any(axis=1))
    # systemic risk: every bank failing alone, as one stacked DebtRank over (run, failing bank)
    equity = np.maximum(s.banks.equity, 0.0)
    stacked = np.repeat(owed, n_k, axis=0)
    shock = np.tile(np.eye(n_k), (B, 1))
    ranks = debtrank(stacked, np.repeat(equity, n_k, axis=0), shock).debtrank
    return {
        **out,
        "interbank_kk": np.zeros_like(owed),
        "interbank_defaults": defaulted.sum(axis=1).astype(np.float64),
        "contagion_losses": written.sum(axis=(1, 2)),
        "contagion_failures": pushed_under.sum(axis=1).astype(np.float64),
        "systemic_risk": np.asarray(ranks).reshape(B, n_k).max(axis=1),
        "lolr_lending": lolr.sum(axis=1),
        "interbank_at_default": np.where(any_default[:, None, None], due, s.interbank_at_default),
        "bank_cascade_round": np.where(any_default[:, None], res.default_round, s.bank_cascade_round),
        "bank_pushed_under": np.where(any_default[:, None], pushed_under, s.bank_pushed_under),
        **accounts.updates(led),
    }


def interbank_market(s: Arrays, p: Any, rng: RandomStreams) -> dict[str, np.ndarray]:
    """New overnight loans replace central-bank advances (see the module docstring)."""
    if not p.interbank:
        return {"interbank_volume": np.zeros_like(s.interbank_volume)}
    led = accounts.books(s, p)
    n_k = led.sizes[2]
    bank_k = np.arange(n_k)
    deposits = -led.stock_of("banks", "deposits")
    requirement = col(p.reserve_requirement) * deposits
    reserves = led.stock_of("banks", "reserves")
    average = reserves.sum(axis=1, keepdims=True) / np.maximum(deposits.sum(axis=1, keepdims=True), 1e-300)
    wanted = np.where(col(p.liquidity_target) < 0, average, col(p.liquidity_target))
    target = np.maximum(wanted, col(p.reserve_requirement)) * deposits
    advances = -led.stock_of("banks", "advances")
    loans = led.stock_of("banks", "loans")
    equity = led.net_worth[:, led.holders("banks")]
    sound = equity >= col(p.interbank_min_equity) * col(p.capital_requirement) * loans
    demand = np.where(sound, advances + np.maximum(target - reserves, 0.0), 0.0)
    supply = col(p.interbank_appetite) * np.maximum(reserves - np.maximum(target, requirement), 0.0)
    total_d, total_s = demand.sum(axis=1), supply.sum(axis=1)
    volume = np.minimum(total_d, total_s)
    x = (
        volume[:, None, None]
        * (demand / np.maximum(total_d, 1e-300)[:, None])[:, :, None]
        * (supply / np.maximum(total_s, 1e-300)[:, None])[:, None, :]
    )
    x = x * (1.0 - np.eye(n_k))
    borrowed = x.sum(axis=2)
    i_e, j_e = _edges(n_k)
    B = x.shape[0]
    led.book(
        debit=[("banks", "reserves", i_e), ("banks", "interbank", j_e)],
        credit=[("banks", "interbank", i_e), ("banks", "reserves", j_e)],
        amount=x.reshape(B, n_k * n_k),
    )
    accounts.between_banks_and_cb(led, None, "reserves", bank_k, -np.minimum(borrowed, advances))
    dep, lend = facility_rates(p, s.policy_rate)
    tight = total_d / np.maximum(total_d + total_s, 1e-300)
    return {
        "interbank_kk": s.interbank_kk + x,
        "interbank_rate": dep + (lend - dep) * tight,
        "interbank_volume": x.sum(axis=(1, 2)),
        **accounts.updates(led),
    }


def _network_ties_out(s: Arrays, p: Any, prev: Any) -> np.ndarray:
    """Each bank's net interbank position in the ledger equals its claims less its debts in the network."""
    led = p.ledger_template.load(s, prefix=accounts.PREFIX, copy=False)
    net = led.stock_of("banks", "interbank")
    owed = s["interbank_kk"]
    from_network = owed.sum(axis=1) - owed.sum(axis=2)
    scale = np.maximum(np.abs(owed).sum(axis=(1, 2)), 1.0)
    negative = np.maximum(-owed.min(axis=(1, 2)), 0.0)
    return (np.abs(net - from_network).max(axis=1) + negative) / scale


INVARIANTS = [Invariant("the interbank network ties to the ledger", _network_ties_out, tol=1e-9)]
