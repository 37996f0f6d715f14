"""Government term bonds (2, 5, 10 and 30 years): auctions, coupons, redemptions, a secondary market on
the order book, the yield curve, and the central bank's quantitative easing.

The ledger's ``term_bonds`` are held by banks and the central bank and owed by the government, at face
value; the register ``bond_face`` splits them by tenor m, vintage slot v and holder (banks 0…K−1, the
central bank K). A vintage of tenor m issued at step t sits in slot t mod (m·steps a year) and matures
exactly when that slot comes round again. Each step (``sovereign_debt``, before the settlement, whose
bills cover whatever the government still lacks):

1. **Redemptions**: the maturing vintages are paid at face from the government's account.
2. **Coupons**: every vintage pays c·F/f each step (f = steps a year: monthly coupons), ``bond_interest``.
3. **QE**: from ``qe_start`` for ``qe_steps`` steps the central bank buys Q = ``qe_amount``·(initial
   monthly output) a step, then tapers linearly to zero over ``qe_taper_steps``; it buys from banks pro
   rata to their holdings, at face value, paying with new reserves: ΔBonds_cb = ΔReserves = Q.
4. **Auction**: the government issues ``term_issuance``·(last step's deficit)⁺ plus what it just redeemed,
   split over the tenors by ``TENOR_WEIGHTS``. Each bank bids its reserves above its liquidity need
   (``bond_liquidity``·deposits) in ``BID_TRANCHES`` equal tranches at yields y_k + j·``auction_slope``
   (j = 0…J−1), where y_k = policy rate + ``term_premium``·ln(1 + m)·(1 + ``duration_aversion``·b_k) + ε_k
   (b_k the share of term bonds in the bank's term bonds plus reserves — the portfolio-balance channel
   through which QE lowers yields and heavy issuance raises them; ε from the ``bond_bids`` stream, sd
   ``bid_dispersion``). A uniform-yield auction fills the lowest yields first; the marginal
   tranche sets the yield, which becomes the vintage's coupon (issued at par). Unsold supply is left to
   the bills.
5. **Secondary market**: every bank offers ``bond_turnover`` of its holdings at its own valuation (all it
   needs to when below its liquidity need) and banks above the need bid with the excess, each tenor one
   fungible line traded on the limit order book (``mechanisms.order_book``, one book per run and tenor,
   orders in random arrival order from the ``bond_orders`` stream): a buyer's limit is the price at its
   own yield y_k, a seller's at y_k + ``sell_discount``. Trades are at the resting order's price P; the
   face moves pro rata across the seller's vintages and the buyer pays P·F: F in reserves against the
   bonds and (P − 1)·F as ``capital_gains``.
6. **Yields**: each tenor's yield is that of its benchmark (a par bond at the last auction's coupon with
   m years left) at the last traded price (P ↔ y solved numerically, ``mechanisms.bonds``), else its
   auction yield; a Nelson–Siegel curve is fitted through the policy rate (at one month) and the four
   yields. Recorded: ``yield_2y`` … ``yield_30y``, ``term_spread`` (10y − 2y), ``ns_level``,
   ``ns_slope``, ``ns_curvature``, ``term_debt``, ``cb_term_bonds``, ``qe_purchases``, ``bond_volume``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from econsim.engine import Arrays, Invariant, Param, RandomStreams, Var
from econsim.engine.kernels import per_run
from econsim.mechanisms.bonds import nelson_siegel_fit, price_from_yield, yield_from_price
from econsim.mechanisms.order_book import day_of_limit_orders
from econsim.models.banking import accounts
from econsim.models.banking.firms import col

TENORS = np.array([2.0, 5.0, 10.0, 30.0])
TENOR_WEIGHTS = np.array([0.4, 0.3, 0.2, 0.1])
BID_TRANCHES = 5
TICK = 1e-4  # of the price: a hundredth of a percent
HALF_RANGE = 500  # ticks either side of the last price (±5 %)

_books = per_run(day_of_limit_orders, cache=True)

PARAMS: list[Param] = [
    Param(
        "term_issuance",
        0.0,
        "share of the government's deficit funded by term bonds (2/5/10/30 years); 0: bills only",
        bounds=(0.0, 1.0),
    ),
    Param(
        "term_premium",
        0.004,
        "bidders' yield above the policy rate per unit of ln(1 + years)",
        bounds=(0, 0.1),
    ),
    Param(
        "duration_aversion",
        4.0,
        "rise of the term premium per unit share of term bonds in a bank's bonds plus reserves",
        bounds=(0.0, 100.0),
    ),
    Param("auction_slope", 0.0025, "yield step between a bank's bid tranches", bounds=(0.0, 0.1)),
    Param("bid_dispersion", 0.001, "sd of banks' yield views", bounds=(0.0, 0.05)),
    Param(
        "bond_liquidity",
        0.3,
        "reserves a bank keeps before buying bonds, share of its deposits",
        bounds=(0, 1),
    ),
    Param(
        "sell_discount", 0.001, "yield above its own view at which a bank offers bonds", bounds=(0.0, 0.05)
    ),
    Param(
        "bond_turnover",
        0.05,
        "share of its holdings a bank offers each step at its own valuation (more when short of reserves)",
        bounds=(0.0, 1.0),
    ),
    Param(
        "household_bonds",
        0.0,
        "share of its deposits plus term bonds a household wants in term bonds (0: households do not trade)",
        bounds=(0.0, 1.0),
    ),
    Param(
        "qe_amount", 0.0, "central-bank bond purchases a step, share of initial monthly output", bounds=(0, 1)
    ),
    Param("qe_start", 0, "first step of quantitative easing", bounds=(0, None), kind="int"),
    Param("qe_steps", 0, "steps of full purchases", bounds=(0, None), kind="int"),
    Param("qe_taper_steps", 0, "steps over which purchases then taper to zero", bounds=(0, None), kind="int"),
]

M = len(TENORS)
STATE: list[Var] = [
    Var(
        "bond_face",
        0.0,
        "face of term bonds by tenor, vintage slot, holder",
        (M, "bond_slots", "n_bond_holders"),
    ),
    Var("bond_coupon", 0.0, "coupon (annual) of the vintage in each slot", (M, "bond_slots")),
    Var("bond_price", 1.0, "last traded price per face of each tenor's benchmark", (M,)),
    Var("bond_bench_coupon", 0.0, "coupon of each tenor's last auction (its benchmark)", (M,)),
    Var("bond_yield", 0.0, "yield of each tenor's benchmark", (M,)),
    *(Var(f"yield_{int(m)}y", 0.0, f"{int(m)}-year government bond yield") for m in TENORS),
    Var("term_spread", 0.0, "10-year less 2-year yield"),
    Var("ns_level", 0.0, "Nelson–Siegel β₀ of the fitted curve"),
    Var("ns_slope", 0.0, "Nelson–Siegel β₁"),
    Var("ns_curvature", 0.0, "Nelson–Siegel β₂"),
    Var("term_debt", 0.0, "term bonds outstanding (face)"),
    Var("cb_term_bonds", 0.0, "term bonds held by the central bank (face)"),
    Var("qe_purchases", 0.0, "term bonds the central bank bought this step (face = new reserves)"),
    Var("qe_reserves_created", 0.0, "banks' reserves created by this step's QE purchases"),
    Var("bond_issued", 0.0, "term bonds sold at auction this step (face)"),
    Var("bond_unsold", 0.0, "term bonds offered but not sold this step (left to bills)"),
    Var("bond_volume", 0.0, "face traded on the order book this step"),
    Var("bond_household", 0.0, "face of term bonds each household holds, by tenor", ("n_households", M)),
    Var("household_term_bonds", 0.0, "term bonds held by households (face)"),
]


def with_bond_sizes(static: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    """The model's static data plus the register's sizes (vintage slots of the longest tenor, holders)."""

    def wrapped(p: Any) -> dict[str, Any]:
        out = dict(static(p))
        out["bond_slots"] = int(TENORS.max() * int(p.steps_per_year))
        out["n_bond_holders"] = int(p.n_banks) + 2  # the banks, the central bank, the households
        out["tenor_slots"] = (TENORS * int(p.steps_per_year)).astype(np.int64)
        return out

    return wrapped


def _holders(n_k: int) -> list[tuple[str, np.ndarray]]:
    return [("banks", np.arange(n_k)), ("central_bank", np.zeros(1, dtype=np.int64))]


def _book_to_holders(
    led: Any, n_k: int, amount_bh: np.ndarray, legs: Callable[..., tuple[list, list]]
) -> None:
    """Book ``legs(sector, member)`` for the banks (first K columns) and the central bank (the last)."""
    parts = (amount_bh[:, :n_k], amount_bh[:, n_k : n_k + 1])
    for (sector, member), part in zip(_holders(n_k), parts, strict=True):
        debit, credit = legs(sector, member)
        led.book(debit=debit, credit=credit, amount=part)


def _redeem_and_pay_coupons(
    s: Arrays, p: Any, led: Any, face: np.ndarray, n_k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    step = s.step  # (B,) steps completed before this one, plus one (``clock`` ran)
    slots = p.tenor_slots
    V = face.shape[2]
    v = np.arange(V)
    maturing = (v[None, None, :] == (step[:, None, None] % slots[None, :, None])) & (
        v[None, None, :] < slots[None, :, None]
    )
    redeem = np.where(maturing[..., None], face, 0.0)
    redeemed_bh = redeem.sum(axis=(1, 2))
    coupon = (s.bond_coupon[..., None] * face).sum(axis=(1, 2)) / p.steps_per_year

    def redemption(sector: str, member: np.ndarray) -> tuple[list, list]:
        return (
            [(sector, "reserves", member), ("government", "term_bonds")],
            [(sector, "term_bonds", member), ("government", "reserves")],
        )

    _book_to_holders(led, n_k, redeemed_bh, redemption)
    for (sector, member), part in zip(
        _holders(n_k), (coupon[:, :n_k], coupon[:, n_k : n_k + 1]), strict=True
    ):
        accounts.pay(led, "bond_interest", ("government", None, None), (sector, member, None), part)
    holdings = s.bond_household
    if face.shape[3] > n_k + 1 and face[..., n_k + 1].any():
        holdings = _pay_households(s, p, led, face[..., n_k + 1], redeem[..., n_k + 1])
    face = face - redeem
    return face, holdings, redeemed_bh.sum(axis=1)


def _pay_households(s: Arrays, p: Any, led: Any, face_bmv: np.ndarray, redeem_bmv: np.ndarray) -> np.ndarray:
    """The households' coupons and redemptions: each holds a share of the sector's line of each tenor,
    hold_hm / F_m, and gets that share of its coupons and of its maturing face (paid into its deposit,
    its bank's reserves rising with it). Returns the holdings after the redemptions."""
    held = s.bond_household  # (B, H, M)
    line = face_bmv.sum(axis=2)  # (B, M)
    share = np.divide(held, line[:, None, :], out=np.zeros_like(held), where=line[:, None, :] > 0)
    coupon_m = (s.bond_coupon * face_bmv).sum(axis=2) / p.steps_per_year
    redeemed_hm = share * redeem_bmv.sum(axis=2)[:, None, :]
    bank_h = s["households.bank"]
    household_n = np.arange(held.shape[1])
    accounts.pay(
        led, "bond_interest", ("government", None, None), ("households", household_n, bank_h),
        (share * coupon_m[:, None, :]).sum(axis=2),
    )  # fmt: skip
    paid = redeemed_hm.sum(axis=2)
    debit, credit = accounts.deposit_legs("households", household_n, bank_h, paid, pays=False)
    led.book_net(
        debit=[*debit, ("government", "term_bonds", 0, paid.sum(axis=1))],
        credit=[
            *credit,
            ("households", "term_bonds", household_n, paid),
            ("government", "reserves", 0, paid.sum(axis=1)),
        ],
    )
    return held - redeemed_hm


def _qe_target(s: Arrays, p: Any) -> np.ndarray:
    t = s.step - col(p.qe_start)[:, 0]
    full = col(p.qe_steps)[:, 0]
    taper = col(p.qe_taper_steps)[:, 0]
    scale = np.where(
        (t >= 0) & (t < full),
        1.0,
        np.where((t >= full) & (t < full + taper), 1.0 - (t - full + 1) / np.maximum(taper + 1, 1), 0.0),
    )
    scale = np.where(col(p.qe_start)[:, 0] > 0, scale, 0.0)
    return col(p.qe_amount)[:, 0] * s.initial_output * scale


def quantitative_easing(
    led: Any, face: np.ndarray, target_b: np.ndarray, n_k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The central bank buys ``target`` face from banks pro rata to their holdings (every tenor and
    vintage alike), at face, with new reserves. Returns (register after, face bought per run)."""
    held = face[..., :n_k]
    total = held.sum(axis=(1, 2, 3))
    bought = np.minimum(target_b, total)
    share = np.divide(bought, total, out=np.zeros_like(bought), where=total > 0)
    moved = held * share[:, None, None, None]
    per_bank = moved.sum(axis=(1, 2))
    led.book(
        debit=[("banks", "reserves", np.arange(n_k)), ("central_bank", "term_bonds")],
        credit=[("banks", "term_bonds", np.arange(n_k)), ("central_bank", "reserves")],
        amount=per_bank,
    )
    out = face.copy()
    out[..., :n_k] -= moved
    out[..., n_k] += moved.sum(axis=-1)
    return out, per_bank.sum(axis=1)


def _liquidity_gap(led: Any, p: Any) -> np.ndarray:
    deposits = -led.stock_of("banks", "deposits")
    need = np.maximum(col(p.bond_liquidity), col(p.reserve_requirement)) * deposits
    return led.stock_of("banks", "reserves") - need


def _auction(
    s: Arrays, p: Any, led: Any, face: np.ndarray, supply_bm: np.ndarray, view_bkm: np.ndarray, n_k: int
):
    """Uniform-yield auction per tenor (see the module docstring): (register, clearing yield, sold)."""
    B = supply_bm.shape[0]
    budget = np.maximum(_liquidity_gap(led, p), 0.0)  # (B, K)
    J = BID_TRANCHES
    # each bank splits its budget over the tenors by their share of the supply
    tenor_share = supply_bm / np.maximum(supply_bm.sum(axis=1, keepdims=True), 1e-300)
    qty = (budget[:, :, None] * tenor_share[:, None, :] / J)[:, :, :, None] * np.ones(J)  # (B, K, M, J)
    bid_yield = view_bkm[..., None] + col(p.auction_slope)[:, :, None, None] * np.arange(J)
    qty_m = np.moveaxis(qty, 2, 1).reshape(B, M, n_k * J)
    yld_m = np.moveaxis(bid_yield, 2, 1).reshape(B, M, n_k * J)
    order = np.argsort(yld_m, axis=-1, kind="stable")
    q_sorted = np.take_along_axis(qty_m, order, axis=-1)
    y_sorted = np.take_along_axis(yld_m, order, axis=-1)
    before = np.cumsum(q_sorted, axis=-1) - q_sorted
    fill_sorted = np.clip(supply_bm[..., None] - before, 0.0, q_sorted)
    sold = fill_sorted.sum(axis=-1)
    marginal = np.where(fill_sorted > 0, y_sorted, -np.inf).max(axis=-1)
    clearing = np.where(sold > 0, marginal, s.bond_bench_coupon)
    fill = np.zeros_like(fill_sorted)
    np.put_along_axis(fill, order, fill_sorted, axis=-1)
    won_bkm = np.moveaxis(fill.reshape(B, M, n_k, J).sum(axis=-1), 1, 2)  # (B, K, M)
    led.book(
        debit=[("banks", "term_bonds", np.arange(n_k)), ("government", "reserves")],
        credit=[("banks", "reserves", np.arange(n_k)), ("government", "term_bonds")],
        amount=won_bkm.sum(axis=2),
    )
    slot = s.step[:, None] % p.tenor_slots[None, :]  # (B, M)
    out = face.copy()
    onehot = np.arange(face.shape[2])[None, None, :] == slot[:, :, None]  # (B, M, V)
    out[..., :n_k] += onehot[..., None] * np.moveaxis(won_bkm, 1, 2)[:, :, None, :]
    coupon = np.where(onehot & (sold > 0)[:, :, None], clearing[:, :, None], s.bond_coupon)
    return out, coupon, clearing, sold


def _orders(
    p: Any,
    view: np.ndarray,
    bench: np.ndarray,
    price: np.ndarray,
    buy_value: np.ndarray,
    sell_face: np.ndarray,
    lot: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Limit orders (ticks and lots, each (B, agents, M)) of agents valuing each tenor at ``view``: a buy
    at the price of that yield, a sell at ``sell_discount`` above it."""
    f = p.steps_per_year
    buy_limit = price_from_yield(view, bench[:, None, :], TENORS, f)
    sell_limit = price_from_yield(view + col(p.sell_discount)[:, :, None], bench[:, None, :], TENORS, f)
    tick = price[:, None, :] * TICK
    mid = HALF_RANGE
    buy_tick = np.clip(np.floor((buy_limit - price[:, None, :]) / tick), -mid, mid).astype(np.int64) + mid
    sell_tick = np.clip(np.ceil((sell_limit - price[:, None, :]) / tick), -mid, mid).astype(np.int64) + mid
    buy_px = price[:, None, :] + (buy_tick - mid) * tick
    buy_lots = np.floor(buy_value / buy_px / lot[:, None, None]).astype(np.int64)
    sell_lots = np.floor(sell_face / lot[:, None, None]).astype(np.int64)
    return buy_tick, sell_tick, buy_lots, sell_lots


def _household_orders(
    s: Arrays,
    p: Any,
    rng: RandomStreams,
    led: Any,
    held: np.ndarray,
    bench: np.ndarray,
    price: np.ndarray,
    lot: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Each household wants ``household_bonds`` of its deposits plus term bonds in term bonds: it bids its
    gap (within its deposits) over the tenors by ``TENOR_WEIGHTS`` and offers ``bond_turnover`` of its
    holdings (all the excess when above its target), valuing tenor m at the policy rate plus
    ``term_premium``·ln(1 + m) (no portfolio-balance term: its bonds are a small part of its wealth)."""
    eps = rng("household_bond_views").standard_normal((held.shape[1], M))
    deposits = np.maximum(led.stock_of("households", "deposits"), 0.0)
    total = held.sum(axis=2)
    gap = col(p.household_bonds) * (deposits + total) - total
    buy_value = np.minimum(np.maximum(gap, 0.0), deposits)[:, :, None] * TENOR_WEIGHTS
    excess = np.maximum(-gap, 0.0) / np.maximum(total, 1e-300)
    want = np.where(
        col(p.household_bonds) > 0, np.minimum(np.maximum(excess, col(p.bond_turnover)), 1.0), 0.0
    )
    premium = col(p.term_premium)[:, :, None] * np.log1p(TENORS)
    view = col(s.policy_rate)[:, :, None] + premium + col(p.bid_dispersion)[:, :, None] * eps
    orders = _orders(p, view, bench, price, buy_value, want[:, :, None] * held, lot)
    return (*orders, rng("household_bond_orders").random((2, held.shape[1], M)))


def _settle_trades(led: Any, sides: list[tuple[str, Any, Any, np.ndarray]]) -> None:
    """Book a day of bond trades by each party's totals (``Ledger.book_net``): ``sides`` lists (sector,
    members, their banks, (B, n, 4) bought, sold, paid, received). The face moves against money at
    par; what buyers paid above par (sellers received below it) is ``capital_gains``. The money moves
    between the parties' banks in reserves, so a household buying from its own bank moves none."""
    debit: list[Any] = []
    credit: list[Any] = []

    def add(legs: tuple[list, list]) -> None:
        debit.extend(legs[0])
        credit.extend(legs[1])

    for sector, member, bank, flows in sides:
        bought, sold, paid, received = (flows[..., i] for i in range(4))
        gain = (paid - bought) - (received - sold)
        pays, gets = np.maximum(gain, 0.0), np.maximum(-gain, 0.0)
        debit.append((sector, "term_bonds", member, bought))
        credit.append((sector, "term_bonds", member, sold))
        add(accounts.deposit_legs(sector, member, bank, bought, pays=True))
        add(accounts.deposit_legs(sector, member, bank, sold, pays=False))
        debit.append((sector, "capital_gains", member, pays))
        add(accounts.deposit_legs(sector, member, bank, pays, pays=True))
        credit.append((sector, "capital_gains", member, gets))
        add(accounts.deposit_legs(sector, member, bank, gets, pays=False))
    led.book_net(debit=debit, credit=credit)


def _secondary_market(
    s: Arrays,
    p: Any,
    rng: RandomStreams,
    led: Any,
    face: np.ndarray,
    holdings: np.ndarray,
    view_bkm: np.ndarray,
    bench: np.ndarray,
    price: np.ndarray,
    n_k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Banks, and households where ``household_bonds`` > 0, trade each tenor's line on the order book:
    (register, households' holdings, last prices, traded?, face traded)."""
    B = face.shape[0]
    gap = _liquidity_gap(led, p)  # (B, K)
    held_km = np.moveaxis(face[..., :n_k].sum(axis=2), 1, 2)  # (B, K, M)
    held_total = held_km.sum(axis=2)
    buy_value = np.maximum(gap, 0.0)[:, :, None] * TENOR_WEIGHTS
    short = np.maximum(-gap, 0.0) / np.maximum(held_total, 1e-300)
    want = np.minimum(np.maximum(short, col(p.bond_turnover)), 1.0)
    # a lot is a millionth of the run's term debt (at least one unit of face): whole lots, no overflow
    lot = np.maximum(1.0, np.floor(face.sum(axis=(1, 2, 3)) * 1e-6))
    orders = _orders(p, view_bkm, bench, price, buy_value, want[:, :, None] * held_km, lot)
    arrival = rng("bond_orders").random((2, n_k, M))
    households = bool(np.any(col(p.household_bonds) > 0))
    if households:  # the households' orders join the banks' (agents K … K + H − 1)
        theirs = _household_orders(s, p, rng, led, holdings, bench, price, lot)
        orders = tuple(np.concatenate([a, b], axis=1) for a, b in zip(orders, theirs[:4], strict=True))
        arrival = np.concatenate([arrival, theirs[4]], axis=2)
    buy_tick, sell_tick, buy_lots, sell_lots = orders
    n_a = buy_tick.shape[1]

    def markets(a: np.ndarray) -> np.ndarray:  # (B, A, M) -> one row per market (run, tenor)
        return np.ascontiguousarray(np.moveaxis(np.broadcast_to(a, (B, n_a, M)), 2, 1).reshape(B * M, n_a))

    mid = HALF_RANGE
    run_m = np.repeat(np.arange(B), M)
    agents = np.zeros((B * M, 4, n_a))  # bought, sold, paid, received
    pv = np.stack([price.reshape(-1), np.zeros(B * M)], axis=-1)
    _books(
        markets(buy_tick), markets(sell_tick), markets(buy_lots), markets(sell_lots),
        markets(arrival[:, 0]), markets(arrival[:, 1]),
        np.full(B * M, 2 * mid + 1, dtype=np.int64), np.full(B * M, mid, dtype=np.int64),
        price.reshape(-1), (price * TICK).reshape(-1), lot[run_m], agents, pv,
    )  # fmt: skip
    per_agent = agents.reshape(B, M, 4, n_a)  # (B, M, 4, A)
    totals = np.moveaxis(per_agent.sum(axis=1), 1, 2)  # (B, A, 4): summed over tenors
    sides = [("banks", np.arange(n_k), None, totals[:, :n_k])]
    if households:
        sides.append(("households", np.arange(n_a - n_k), s["households.bank"], totals[:, n_k:]))
    _settle_trades(led, sides)
    # the register: a trading holder's sales leave its vintages pro rata into a pool per tenor, which
    # goes to the buyers pro rata; the households are one holder there (column K + 1)
    bought_ma, sold_ma = per_agent[:, :, 0], per_agent[:, :, 1]  # (B, M, A)
    holders = list(range(n_k))
    bought_mr, sold_mr = bought_ma[..., :n_k], sold_ma[..., :n_k]
    if households:
        holders.append(n_k + 1)
        bought_mr = np.concatenate([bought_mr, bought_ma[..., n_k:].sum(axis=-1, keepdims=True)], axis=-1)
        sold_mr = np.concatenate([sold_mr, sold_ma[..., n_k:].sum(axis=-1, keepdims=True)], axis=-1)
    held = face[..., holders]  # (B, M, V, R)
    held_mr = held.sum(axis=2)
    sold_share = np.divide(sold_mr, held_mr, out=np.zeros_like(sold_mr), where=held_mr > 0)
    moved = held * sold_share[:, :, None, :]
    pool = moved.sum(axis=-1)
    to_share = bought_mr / np.maximum(bought_mr.sum(axis=-1, keepdims=True), 1e-300)
    out = face.copy()
    out[..., holders] = held - moved + pool[..., None] * to_share[:, :, None, :]
    if households:
        holdings = holdings + np.moveaxis(bought_ma[..., n_k:] - sold_ma[..., n_k:], 1, 2)
    volume = pv[:, 1].reshape(B, M)
    traded = volume > 0
    return out, holdings, np.where(traded, pv[:, 0].reshape(B, M), price), traded, volume.sum(axis=1)


def sovereign_debt(s: Arrays, p: Any, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Redemptions, coupons, QE, auctions, secondary trading and the yield curve (module docstring)."""
    led = accounts.books(s, p)
    n_k = led.sizes[2]
    face = s.bond_face
    face, holdings, redeemed = _redeem_and_pay_coupons(s, p, led, face, n_k)
    reserves_before = led.stock_of("banks", "reserves").sum(axis=1)
    face, bought_qe = quantitative_easing(led, face, _qe_target(s, p), n_k)
    created = led.stock_of("banks", "reserves").sum(axis=1) - reserves_before
    eps = rng("bond_bids").standard_normal((n_k, M))
    # portfolio balance: a bank asks a higher term premium the more of its liquid assets are term bonds
    held = face[..., :n_k].sum(axis=(1, 2))
    share = held / np.maximum(held + np.maximum(led.stock_of("banks", "reserves"), 0.0), 1e-300)
    premium = (
        col(p.term_premium)[:, :, None]
        * np.log1p(TENORS)
        * (1.0 + col(p.duration_aversion)[:, :, None] * share[:, :, None])
    )
    view = col(s.policy_rate)[:, :, None] + premium + col(p.bid_dispersion)[:, :, None] * eps
    supply = (col(p.term_issuance)[:, 0] * np.maximum(s.deficit, 0.0) + redeemed)[:, None] * TENOR_WEIGHTS
    supply = np.where(col(p.term_issuance) > 0, supply, 0.0)
    face, coupon, clearing, sold = _auction(s, p, led, face, supply, view, n_k)
    bench = np.where(sold > 0, clearing, s.bond_bench_coupon)
    first = s.bond_bench_coupon == 0
    bench = np.where(first & (sold == 0), view.mean(axis=1), bench)
    # a fresh auction puts the benchmark at par
    price_start = np.where(sold > 0, 1.0, s.bond_price)
    face, holdings, last, traded, volume = _secondary_market(
        s, p, rng, led, face, holdings, view, bench, price_start, n_k
    )
    with np.errstate(all="ignore"):
        yld = np.where(
            traded,
            yield_from_price(np.clip(last, 0.5, 2.0), bench, TENORS, p.steps_per_year, bracket=(-0.5, 2.0)),
            bench,
        )
    short = s.policy_rate[:, None]
    fit = nelson_siegel_fit(
        np.concatenate([[1.0 / 12.0], TENORS]), np.concatenate([short, yld], axis=1), lam_range=(0.3, 15.0)
    )
    term_face = face.sum(axis=(1, 2))
    out = {
        "bond_face": face,
        "bond_coupon": coupon,
        "bond_price": last,
        "bond_bench_coupon": bench,
        "bond_yield": yld,
        "term_spread": yld[:, 2] - yld[:, 0],
        "ns_level": fit.beta0,
        "ns_slope": fit.beta1,
        "ns_curvature": fit.beta2,
        "term_debt": term_face.sum(axis=1),
        "cb_term_bonds": term_face[:, n_k],
        "qe_purchases": bought_qe,
        "qe_reserves_created": created,
        "bond_issued": sold.sum(axis=1),
        "bond_unsold": (supply - sold).sum(axis=1),
        "bond_volume": volume,
        "bond_household": holdings,
        "household_term_bonds": term_face[:, n_k + 1],
        **{f"yield_{int(m)}y": yld[:, i] for i, m in enumerate(TENORS)},
        **accounts.updates(led),
    }
    return out


def _register_ties_out(s: Arrays, p: Any, prev: Any) -> np.ndarray:
    """Every holder's term bonds in the ledger equal its face in the register (the households' column
    there is their sector's, each household's its holdings by tenor), and the government owes them all
    (relative to the debt outstanding)."""
    led = p.ledger_template.load(s, prefix=accounts.PREFIX, copy=False)
    face = s["bond_face"].sum(axis=(1, 2))  # (B, K + 2)
    n_k = face.shape[1] - 2
    held = s["bond_household"]
    by_household = led.stock_of("households", "term_bonds")
    gap_banks = np.abs(led.stock_of("banks", "term_bonds") - face[:, :n_k]).max(axis=1)
    gap_cb = np.abs(led.stock_of("central_bank", "term_bonds")[:, 0] - face[:, n_k])
    gap_h = np.abs(by_household - held.sum(axis=2)).max(axis=1, initial=0.0)
    gap_lines = np.abs(held.sum(axis=1) - s["bond_face"][..., n_k + 1].sum(axis=2)).max(axis=1)
    gap_gov = np.abs(-led.stock_of("government", "term_bonds")[:, 0] - face.sum(axis=1))
    negative = np.maximum(-s["bond_face"].min(axis=(1, 2, 3)), 0.0) + np.maximum(-held.min(axis=(1, 2)), 0.0)
    scale = np.maximum(face.sum(axis=1), 1.0)
    gaps = np.stack([gap_banks, gap_cb, gap_h, gap_lines, gap_gov])
    return (gaps.max(axis=0) + negative) / scale


INVARIANTS = [Invariant("term bonds in the register tie to the ledger", _register_ties_out, tol=1e-9)]
