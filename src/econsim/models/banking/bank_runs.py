"""Bank runs: depositors on a social network who withdraw past their thresholds, and the bank's sequence
for meeting withdrawals (reserves → interbank → central-bank facility → fire sales).

**Depositors.** Households are linked in a Watts–Strogatz small world (``mechanisms.graph``; degree
2·``run_half_degree``, rewiring ``run_rewiring``, one graph per run from the ``depositor_network`` stream). Each
has a threshold θ_i drawn at t = 0 around its archetype's mean (thrifty 0.4, typical 0.5, spender 0.6,
anxious 0.2; sd 0.1, times ``run_threshold_scale``). Household i banking at k runs when

    s_i = (neighbours who ran from bank k in the last ``RUN_MEMORY`` steps) / degree_i
          + rumour_k + distress_k  ≥  θ_i,

with rumour_k = ``run_rumour`` for the depositors of bank ``run_rumour_bank`` during the three steps from
``run_rumour_step``, and distress_k = (1 − equity_k / (κ·loans_k))⁺ (a bank below its capital requirement
frightens its depositors). With ``deposit_insurance`` a depositor whose deposits are at most
``insurance_limit`` is covered and does not run. A runner moves all its deposits to the bank with the
highest equity ratio, demand and savings deposits alike (there is no cash in this economy: a run is a
flight of deposits to a safer bank).

**Sequential service.** Runners are served in a random order (the ``run_queue`` stream) while bank k can
pay, from (1) its reserves, (2) overnight loans from banks with reserves above their requirement
(``interbank``: booked into the overnight network, cleared next step), (3) central-bank advances against
its bonds (bills and term bonds, less ``facility_haircut``), (4) fire sales of its term bonds to the other
banks at 1 − ``fire_sale_discount`` of face (the loss is booked as ``capital_gains`` of the buyers).
Runners beyond what the bank can raise stay (Diamond–Dybvig's sequential service); such a bank is counted
in ``run_failures`` (emptied of what it could raise). Recorded: ``run_withdrawals``, ``run_fire_sales``,
``run_facility``, ``run_interbank`` and, per bank, ``withdrawals_by_bank`` and ``deposits_by_bank``.

**Diamond–Dybvig (1983).** Deposits of 1 invested in a long asset paying R > 1 at t = 2 (or 1 if
liquidated at t = 1) promise r1 ∈ (1, R) to withdrawers at t = 1. If a share f withdraws early, a patient
depositor who waits gets (1 − f·r1)·R / (1 − f), which falls below r1 — so waiting stops paying and the run
is self-fulfilling — once f > f* = (R − r1) / (r1·(R − 1))  (``run_threshold``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from econsim.engine import Arrays, Param, RandomStreams, Var
from econsim.engine.errors import ConfigError
from econsim.mechanisms.graph import watts_strogatz
from econsim.models.banking import accounts
from econsim.models.banking.firms import col

ARCHETYPE_THRESHOLD = np.array([0.4, 0.5, 0.6, 0.2])  # thrifty, typical, spender, anxious
RUN_MEMORY = 3


def run_threshold(R: Any, r1: Any) -> np.ndarray:
    """Diamond–Dybvig: the share of early withdrawals f* above which waiting pays less than r1."""
    R_a, r_a = np.asarray(R, dtype=np.float64), np.asarray(r1, dtype=np.float64)
    if np.any(~(R_a > 1.0)) or np.any(~(r_a > 1.0)) or np.any(~(r_a < R_a)):
        raise ConfigError(f"Diamond–Dybvig needs 1 < r1 < R, got R = {R}, r1 = {r1}")
    return (R_a - r_a) / (r_a * (R_a - 1.0))


def patient_payoff(f: Any, R: Any, r1: Any) -> np.ndarray:
    """What a depositor who waits gets when a share f withdraws early: (1 − f·r1)⁺·R / (1 − f)."""
    f_a = np.asarray(f, dtype=np.float64)
    return np.maximum(1.0 - f_a * np.asarray(r1), 0.0) * np.asarray(R) / np.maximum(1.0 - f_a, 1e-300)


PARAMS: list[Param] = [
    Param(
        "bank_runs",
        False,
        "depositors on a social network may run on their banks",
        kind="bool",
        per_batch=True,
    ),
    Param(
        "run_half_degree",
        3,
        "depositors' network: neighbours on either side of the ring (degree 2·this)",
        bounds=(1, 50),
        kind="int",
        per_batch=True,
    ),
    Param(
        "run_rewiring",
        0.1,
        "depositors' network: Watts–Strogatz rewiring probability",
        bounds=(0.0, 1.0),
        per_batch=True,
    ),
    Param("run_threshold_scale", 1.0, "scale of the depositors' thresholds", bounds=(0.0, 10.0)),
    Param(
        "run_rumour",
        0.0,
        "rumour added to the signal of bank run_rumour_bank's depositors",
        bounds=(0.0, 2.0),
    ),
    Param("run_rumour_bank", 0, "the bank the rumour is about", bounds=(0, 49), kind="int"),
    Param("run_rumour_step", 0, "first step of the rumour (0: none)", bounds=(0, None), kind="int"),
    Param("deposit_insurance", False, "deposits up to insurance_limit are insured", kind="bool"),
    Param("insurance_limit", 50_000.0, "insured deposits per household", bounds=(0.0, None)),
    Param(
        "facility_haircut",
        0.5,
        "haircut on bonds pledged for central-bank advances in a run",
        bounds=(0.0, 1.0),
    ),
    Param("fire_sale_discount", 0.1, "discount to face of term bonds sold in a run", bounds=(0.0, 0.99)),
]

STATE: list[Var] = [
    Var(
        "depositor_edges",
        0,
        "depositors' network: the two ends of each link",
        (2, "n_depositor_edges"),
        np.int64,
    ),
    Var("run_threshold_h", 0.0, "each household's run threshold θ", ("n_households",)),
    Var("ran_from", -1, "the bank a household last ran from (−1: never)", ("n_households",), np.int64),
    Var("ran_at", -100, "the step it ran", ("n_households",), np.int64),
    Var("withdrawals_k", 0.0, "deposits withdrawn from each bank in runs this step", ("n_banks",)),
    Var("run_withdrawals", 0.0, "deposits moved in runs this step"),
    Var("run_interbank", 0.0, "overnight loans raised to meet runs this step"),
    Var("run_facility", 0.0, "central-bank advances raised to meet runs this step"),
    Var("run_fire_sales", 0.0, "face of term bonds fire-sold to meet runs this step"),
    Var("run_failures", 0.0, "banks that could not pay every runner this step"),
]


def with_depositor_sizes(static: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    def wrapped(p: Any) -> dict[str, Any]:
        out = dict(static(p))
        k = 2 * int(p.run_half_degree)
        if k >= int(p.n_households):
            raise ConfigError(
                f"run_half_degree = {int(p.run_half_degree)} links each household to {k} others: "
                f"that needs more than n_households = {int(p.n_households)}"
            )
        out["n_depositor_edges"] = int(p.n_households) * (k // 2)
        return out

    return wrapped


def with_depositors(init: Callable[..., dict[str, np.ndarray]]) -> Callable[..., dict[str, np.ndarray]]:
    """The model's init plus the depositors' network and thresholds (drawn even when runs are off, so a
    run's other draws never depend on the switch)."""

    def wrapped(s: Arrays, p: Any, rng: RandomStreams) -> dict[str, np.ndarray]:
        out = dict(init(s, p, rng))
        n_h = int(p.n_households)
        g = watts_strogatz(n_h, 2 * int(p.run_half_degree), float(p.run_rewiring), rng("depositor_network"))
        E = n_h * int(p.run_half_degree)
        # each undirected link is stored both ways: keep the slot with source < target, E per run
        src, dst = g.sources.astype(np.int64), g.indices.astype(np.int64)
        once = src < dst
        B = src.shape[0]
        edges = np.stack([src[once].reshape(B, E), dst[once].reshape(B, E)], axis=1)
        archetype = out.get("households.archetype", s["households.archetype"])
        noise = rng("run_thresholds").standard_normal((n_h,))
        theta = np.clip(ARCHETYPE_THRESHOLD[archetype] + 0.1 * noise, 0.02, 1.0) * col(p.run_threshold_scale)
        return {**out, "depositor_edges": edges, "run_threshold_h": theta}

    return wrapped


def _neighbour_share(s: Arrays, bank_h: np.ndarray) -> np.ndarray:
    """Share of each household's neighbours who ran from its current bank in the last RUN_MEMORY steps."""
    B, n_h = bank_h.shape
    src, dst = s.depositor_edges[:, 0], s.depositor_edges[:, 1]
    recent = (s.step[:, None] - s.ran_at) < RUN_MEMORY
    runs = np.arange(B)[:, None]
    count = np.zeros((B, n_h))
    degree = np.zeros((B, n_h))
    for a, b in ((src, dst), (dst, src)):  # both directions of each undirected link
        hit = recent[runs, b] & (s.ran_from[runs, b] == bank_h[runs, a])
        flat = (runs * n_h + a).ravel()
        count += np.bincount(flat, weights=hit.ravel().astype(np.float64), minlength=B * n_h).reshape(B, n_h)
        degree += np.bincount(flat, minlength=B * n_h).reshape(B, n_h)
    return count / np.maximum(degree, 1.0)


def bank_run(s: Arrays, p: Any, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Runs and the banks' sequence for meeting them (see the module docstring)."""
    queue = rng("run_queue").random((int(p.n_households),))
    if not p.bank_runs:
        return {"withdrawals_k": np.zeros_like(s.withdrawals_k)}
    h = s.households
    led = accounts.books(s, p)
    B = h.bank.shape[0]
    n_k = led.sizes[2]
    runs = np.arange(B)[:, None]
    equity = led.net_worth[:, led.holders("banks")]
    loans = led.stock_of("banks", "loans")
    distress = np.maximum(1.0 - equity / np.maximum(col(p.capital_requirement) * loans, 1e-300), 0.0)
    distress = np.where(loans > 0, distress, 0.0)
    t = s.step[:, None]
    start = col(p.run_rumour_step)
    rumour_on = (start > 0) & (t >= start) & (t < start + 3)
    rumour_k = np.where(
        rumour_on & (np.arange(n_k)[None, :] == col(p.run_rumour_bank)), col(p.run_rumour), 0.0
    )
    signal = _neighbour_share(s, h.bank) + rumour_k[runs, h.bank] + distress[runs, h.bank]
    # a runner takes its demand and savings deposits alike
    demand_h = led.stock_of("households", "deposits")
    savings_h = led.stock_of("households", "savings")
    deposits_h = demand_h + savings_h
    insured = col(p.deposit_insurance).astype(bool) & (deposits_h <= col(p.insurance_limit))
    ratio = equity / np.maximum(loans, 1e-300)
    # runners flee to the soundest bank no rumour is about (were the rumoured bank the soundest by its
    # books, its depositors would otherwise have nowhere to run)
    safe = np.argmax(np.where((distress > 0) | (rumour_k > 0), -np.inf, ratio), axis=1)  # (B,)
    runner = (signal >= s.run_threshold_h) & ~insured & (deposits_h > 0) & (h.bank != safe[:, None])
    amount = np.where(runner, deposits_h, 0.0)
    # sequential service: a random queue per bank, served while the bank can raise the money
    wanted = np.zeros((B, n_k))
    np.add.at(wanted, (np.broadcast_to(runs, h.bank.shape), h.bank), amount)
    can = _capacity(s, p, led, n_k)
    order = np.argsort(h.bank + queue, axis=1, kind="stable")
    bank_sorted = np.take_along_axis(h.bank, order, axis=1)
    amt_sorted = np.take_along_axis(amount, order, axis=1)
    cum = np.cumsum(amt_sorted, axis=1)
    group_start = np.zeros((B, n_k))
    totals = np.zeros((B, n_k))
    np.add.at(totals, (np.broadcast_to(runs, bank_sorted.shape), bank_sorted), amt_sorted)
    group_start[:, 1:] = np.cumsum(totals, axis=1)[:, :-1]
    within = cum - group_start[runs, bank_sorted]
    served_sorted = (amt_sorted > 0) & (within <= can[runs, bank_sorted] * (1 + 1e-12))
    served = np.zeros_like(served_sorted)
    np.put_along_axis(served, order, served_sorted, axis=1)
    paid_h = np.where(served, amount, 0.0)
    paid_k = np.zeros((B, n_k))
    np.add.at(paid_k, (np.broadcast_to(runs, h.bank.shape), h.bank), paid_h)
    raised = _raise_funds(s, p, led, paid_k, n_k)
    # the deposits move to the safe bank, settled in reserves
    new_bank = np.where(served, safe[:, None], h.bank)
    moved_d, moved_s = np.where(served, demand_h, 0.0), np.where(served, savings_h, 0.0)
    led.book(
        debit=[
            ("banks", "deposits", h.bank, moved_d),
            ("banks", "savings", h.bank, moved_s),
            ("banks", "reserves", new_bank, paid_h),
        ],
        credit=[
            ("banks", "deposits", new_bank, moved_d),
            ("banks", "savings", new_bank, moved_s),
            ("banks", "reserves", h.bank, paid_h),
        ],
    )
    failed = (wanted > paid_k * (1 + 1e-12) + 1e-9).sum(axis=1)
    return {
        "households.bank": new_bank,
        "ran_from": np.where(served, h.bank, s.ran_from),
        "ran_at": np.where(served, s.step[:, None], s.ran_at),
        "withdrawals_k": paid_k,
        "run_withdrawals": paid_k.sum(axis=1),
        "run_failures": failed.astype(np.float64),
        **raised,
        **accounts.updates(led),
    }


def _bonds_held(s: Arrays, led: Any, n_k: int) -> tuple[np.ndarray, np.ndarray]:
    """(bills, term bonds) each bank holds."""
    return led.stock_of("banks", "bonds"), led.stock_of("banks", "term_bonds")


def _capacity(s: Arrays, p: Any, led: Any, n_k: int) -> np.ndarray:
    """What each bank can raise this step: reserves, overnight loans, advances, fire sales."""
    reserves = np.maximum(led.stock_of("banks", "reserves"), 0.0)
    bills, term = _bonds_held(s, led, n_k)
    facility = (1.0 - col(p.facility_haircut)) * (bills + term)
    reserves_all = reserves.sum(axis=1, keepdims=True)
    # buyers pay at par first (and get the discount back): the other banks' reserves bound the sale
    fire = np.minimum((1.0 - col(p.fire_sale_discount)) * term, 0.9 * (reserves_all - reserves))
    interbank = _interbank_supply(p, led) if p.interbank else np.zeros_like(reserves)
    return reserves + interbank.sum(axis=1, keepdims=True) + facility + fire


def _interbank_supply(p: Any, led: Any) -> np.ndarray:
    requirement = col(p.reserve_requirement) * -led.stock_of("banks", "deposits")
    excess = np.maximum(led.stock_of("banks", "reserves") - requirement, 0.0)
    return col(p.interbank_appetite) * excess


def _raise_funds(s: Arrays, p: Any, led: Any, paid_k: np.ndarray, n_k: int) -> dict[str, np.ndarray]:
    """Cover each bank's payouts beyond its reserves: overnight loans, advances, then fire sales."""
    bank_k = np.arange(n_k)
    short = np.maximum(paid_k - np.maximum(led.stock_of("banks", "reserves"), 0.0), 0.0)
    B = paid_k.shape[0]
    borrowed = np.zeros((B, n_k))
    x = np.zeros((B, n_k, n_k))
    if p.interbank:
        supply = _interbank_supply(p, led) * (short == 0)  # a bank in a run lends nothing
        total = supply.sum(axis=1, keepdims=True)
        borrowed = np.minimum(short, np.where(short > 0, total, 0.0))
        # bank i borrows from bank j in proportion to j's supply, no more than all of it together
        scale = np.minimum(1.0, total / np.maximum(borrowed.sum(axis=1, keepdims=True), 1e-300))
        borrowed = borrowed * scale
        x = borrowed[:, :, None] * supply[:, None, :] / np.maximum(total, 1e-300)[:, :, None]
        i_e, j_e = np.repeat(bank_k, n_k), np.tile(bank_k, n_k)
        led.book(
            debit=[("banks", "reserves", i_e), ("banks", "interbank", j_e)],
            credit=[("banks", "interbank", i_e), ("banks", "reserves", j_e)],
            amount=x.reshape(B, n_k * n_k),
        )
        short = short - borrowed
    bills, term = _bonds_held(s, led, n_k)
    advance = np.minimum(short, (1.0 - col(p.facility_haircut)) * (bills + term))
    accounts.between_banks_and_cb(led, None, "reserves", bank_k, advance)
    short = short - advance
    price = 1.0 - col(p.fire_sale_discount)
    others = np.maximum(led.stock_of("banks", "reserves"), 0.0)
    room = 0.9 * (others.sum(axis=1, keepdims=True) - others)
    sold_face = np.minimum(np.minimum(short / np.maximum(price, 1e-300), term), room)
    sold_face = sold_face * np.minimum(
        1.0, room.min(axis=1, keepdims=True) / np.maximum(sold_face.sum(axis=1, keepdims=True), 1e-300)
    )
    # whatever the sale cannot raise the central bank lends as lender of last resort
    last_resort = np.maximum(short - price * sold_face, 0.0)
    accounts.between_banks_and_cb(led, None, "reserves", bank_k, last_resort)
    out: dict[str, np.ndarray] = {
        "run_interbank": borrowed.sum(axis=1),
        "run_facility": (advance + last_resort).sum(axis=1),
        "run_fire_sales": sold_face.sum(axis=1),
    }
    if p.interbank:
        out["interbank_kk"] = s.interbank_kk + x
    if sold_face.any():
        out["bond_face"] = _fire_sale(s, p, led, sold_face, price, n_k)
    return out


def _fire_sale(s: Arrays, p: Any, led: Any, sold_face: np.ndarray, price: np.ndarray, n_k: int) -> np.ndarray:
    """Term bonds sold at ``price`` per face to the banks not selling, pro rata to their reserves; the
    register's face moves pro rata across the seller's vintages."""
    B = sold_face.shape[0]
    bank_k = np.arange(n_k)
    reserves = np.maximum(led.stock_of("banks", "reserves"), 0.0) * (sold_face == 0)
    share = reserves / np.maximum(reserves.sum(axis=1, keepdims=True), 1e-300)
    x = sold_face[:, :, None] * share[:, None, :]  # seller i → buyer j, face
    i_e, j_e = np.repeat(bank_k, n_k), np.tile(bank_k, n_k)
    flat = x.reshape(B, n_k * n_k)
    led.book(
        debit=[("banks", "term_bonds", j_e), ("banks", "reserves", i_e)],
        credit=[("banks", "term_bonds", i_e), ("banks", "reserves", j_e)],
        amount=flat,
    )
    # the discount: the sellers pay it back to the buyers as a capital loss
    accounts.pay(led, "capital_gains", ("banks", i_e, None), ("banks", j_e, None), flat * (1.0 - price))
    face = s.bond_face.copy()
    held = face[..., :n_k]
    total = held.sum(axis=(1, 2))
    frac = np.divide(sold_face, total, out=np.zeros_like(sold_face), where=total > 0)
    moved = held * frac[:, None, None, :]
    face[..., :n_k] = held - moved + moved.sum(axis=-1, keepdims=True) * share[:, None, None, :]
    return face


def _withdrawals(s: Arrays, p: Any) -> np.ndarray:
    return s["withdrawals_k"]


def _deposits(s: Arrays, p: Any) -> np.ndarray:
    """Each bank's deposit liabilities, demand and savings deposits together (what a run withdraws)."""
    led = p.ledger_template.load(s, prefix=accounts.PREFIX, copy=False)
    return -led.stock_of("banks", "deposits") - led.stock_of("banks", "savings")


OBSERVABLES = {"withdrawals_by_bank": _withdrawals, "deposits_by_bank": _deposits}
