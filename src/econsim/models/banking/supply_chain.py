"""A multi-stage supply chain beside the economy: energy → iron ore → steel → parts → cars, energy feeding
every stage, as an input–output network of firms with proportional rationing and Metzler inventories.

Sectors s = 0…4 (energy, ore, steel, parts, cars), ``chain_firms`` firms each (N = 5·chain_firms). A unit
of sector s needs a_ks units of sector k (``INPUT_COEFFICIENTS``; Leontief). Each firm buys each input
from ``chain_links`` suppliers of that sector, assigned at t = 0 in a balanced ring (buyer i takes the
sector's firms i + l + o mod chain_firms, o drawn per run from the ``supply_links`` stream), splitting its
orders evenly. Final demand for cars is ``chain_demand`` per car firm times the economy's real
consumption relative to its start, so the chain follows the business cycle.

Each step, per firm (Metzler 1941 inventories; expectations adaptive):

    E_t = E_{t−1} + γ (demand_{t−1} − E_{t−1})         expected sales (demand: the orders received)
    plan_t = max(0, E_t + κ (τ E_t − I_{t−1}))          production to meet sales and close the inventory gap

orders go to suppliers (a_ks·plan, split over links); then, upstream first, each sector produces
y = min(plan, capacity, min_k received_k / a_ks) and its suppliers ship from inventory + output; when the
orders exceed that, every buyer gets the same share (proportional rationing):

    shipped_ij = order_ij · min(1, available_j / Σ_i order_ij)

so a cut of a sector's capacity (``chain_shock`` of sector ``chain_shock_sector`` from
``chain_shock_step`` for ``chain_shock_steps`` steps) ripples downstream through rationing and then
through the inventory rule (the inventory cycle). Inputs a firm receives beyond what its output can use
are lost (there are no input inventories). Recorded per sector: ``chain_output``, ``chain_inventory``,
``chain_fill`` (share of orders shipped).

Money. Chain firm j is the economy's firm j mod F (its deposits, its bank). Goods sell at the Leontief
prices of one unit of value added per unit at every stage, p = (I − Aᵀ)⁻¹·1 (energy 1, ore 1.1, steel
2.4, parts 3.6, cars 4.8), times a scale that makes the steady car sales ``chain_value`` of the
economy's initial monthly output, times the price level P/P₀. Every shipment is paid on delivery from the
buyer's deposit to the supplier's (``intermediate_goods``; reserves settle between their banks), and the
cars are bought by the households, each paying in proportion to its deposits (``durables``). A firm
orders no more than its deposits (shared among the chain firms it runs) can pay for, so no payment
overdraws an account. Recorded: ``chain_revenue_s`` (money received per sector), ``chain_payments``
(intermediate purchases) and ``chain_durables`` (the households' car purchases).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from econsim.engine import Arrays, Param, RandomStreams, Var
from econsim.models.banking import accounts
from econsim.models.banking.firms import col

SECTORS = ("energy", "ore", "steel", "parts", "cars")
S = len(SECTORS)
# a[k, s]: units of sector k per unit of sector s
INPUT_COEFFICIENTS = np.array(
    [
        [0.0, 0.1, 0.3, 0.2, 0.2],  # energy into every stage
        [0.0, 0.0, 1.0, 0.0, 0.0],  # ore into steel
        [0.0, 0.0, 0.0, 1.0, 0.0],  # steel into parts
        [0.0, 0.0, 0.0, 0.0, 1.0],  # parts into cars
        [0.0, 0.0, 0.0, 0.0, 0.0],
    ]
)

PARAMS: list[Param] = [
    Param(
        "supply_chain",
        False,
        "run the energy → ore → steel → parts → cars chain",
        kind="bool",
        per_batch=True,
    ),
    Param("chain_firms", 4, "firms per stage of the chain", bounds=(1, 1000), kind="int", per_batch=True),
    Param(
        "chain_links",
        2,
        "suppliers a firm buys each input from",
        bounds=(1, 1000),
        kind="int",
        per_batch=True,
    ),
    Param(
        "chain_demand", 10.0, "final demand per car firm and step at the start (units)", bounds=(0.0, None)
    ),
    Param(
        "chain_capacity",
        1.5,
        "capacity of a firm, in multiples of its share of steady demand",
        bounds=(0, None),
    ),
    Param("chain_expectation", 0.3, "γ: weight of the last sales in expected sales", bounds=(0.0, 1.0)),
    Param(
        "chain_inventory_target", 2.0, "τ: target inventory in steps of expected sales", bounds=(0.0, 100.0)
    ),
    Param("chain_inventory_speed", 0.25, "κ: share of the inventory gap closed per step", bounds=(0.0, 1.0)),
    Param(
        "chain_value",
        0.01,
        "steady car sales as a share of the economy's initial monthly output (sets the chain's prices)",
        bounds=(0.0, 1.0),
    ),
    Param("chain_shock", 0.0, "share of the shocked sector's capacity lost", bounds=(0.0, 1.0)),
    Param("chain_shock_sector", 1, "the shocked sector (0 energy … 4 cars)", bounds=(0, 4), kind="int"),
    Param("chain_shock_step", 0, "first step of the shock (0: none)", bounds=(0, None), kind="int"),
    Param("chain_shock_steps", 6, "steps the shock lasts", bounds=(0, None), kind="int"),
]

STATE: list[Var] = [
    Var(
        "chain_suppliers",
        0,
        "supplier of each firm's input sector and link",
        ("n_chain", S, "chain_links"),
        np.int64,
    ),
    Var("chain_expected", 0.0, "expected sales per firm", ("n_chain",)),
    Var("chain_sales", 0.0, "sales per firm last step", ("n_chain",)),
    Var("chain_stock", 0.0, "finished-goods inventory per firm", ("n_chain",)),
    Var("chain_output_s", 0.0, "output per sector this step", (S,)),
    Var("chain_inventory_s", 0.0, "inventory per sector", (S,)),
    Var("chain_fill_s", 1.0, "share of the orders to each sector that were shipped", (S,)),
    Var("chain_base_consumption", 0.0, "real consumption at the chain's first step"),
    Var("chain_revenue_s", 0.0, "money received by each sector's firms this step", (S,)),
    Var("chain_payments", 0.0, "money paid for intermediate goods along the chain this step"),
    Var("chain_durables", 0.0, "money the households paid for the chain's cars this step"),
]


def steady_flows(final: float) -> np.ndarray:
    """Gross output per sector meeting ``final`` cars: x = (I − A)⁻¹ d (the Leontief inverse)."""
    d = np.zeros(S)
    d[-1] = final
    return np.linalg.solve(np.eye(S) - INPUT_COEFFICIENTS, d)


def unit_prices() -> np.ndarray:
    """p = Aᵀp + v with one unit of value added v at every stage: p = (I − Aᵀ)⁻¹·1."""
    return np.linalg.solve(np.eye(S) - INPUT_COEFFICIENTS.T, np.ones(S))


def with_chain_sizes(static: Any) -> Any:
    def wrapped(p: Any) -> dict[str, Any]:
        out = dict(static(p))
        out["n_chain"] = S * int(p.chain_firms)
        out["chain_sector_n"] = np.repeat(np.arange(S), int(p.chain_firms))
        return out

    return wrapped


def with_chain(init: Any) -> Any:
    """The model's init plus the chain: supplier links drawn, every firm at its steady flow."""

    def wrapped(s: Arrays, p: Any, rng: RandomStreams) -> dict[str, np.ndarray]:
        out = dict(init(s, p, rng))
        m, L = int(p.chain_firms), int(p.chain_links)
        n = S * m
        # balanced links: buyer i of a sector takes suppliers (i + l + offset) mod m of each input sector,
        # offset drawn per run and input sector, so every supplier serves exactly L buyers of each sector
        offset = rng("supply_links").integers(0, m, (S,))  # (B, S)
        local = np.arange(n) % m
        draw = (local[None, :, None, None] + np.arange(L)[None, None, None, :] + offset[:, None, :, None]) % m
        suppliers = draw + np.arange(S)[None, None, :, None] * m
        B = draw.shape[0]
        flows = np.stack([steady_flows(1.0)] * B) * col(p.chain_demand) * m  # (B, S) sector output
        per_firm = np.repeat(flows / m, m, axis=1)
        target = col(p.chain_inventory_target) * per_firm
        return {
            **out,
            "chain_suppliers": suppliers.astype(np.int64),
            "chain_expected": per_firm,
            "chain_sales": per_firm,
            "chain_stock": target,
            "chain_output_s": flows,
            "chain_inventory_s": np.repeat(col(p.chain_inventory_target), S, axis=1) * flows,
        }

    return wrapped


def supply_chain(s: Arrays, p: Any, rng: RandomStreams) -> dict[str, np.ndarray]:
    """One step of the chain (see the module docstring)."""
    if not p.supply_chain:
        return {}
    m, L = int(p.chain_firms), int(p.chain_links)
    sector = p.chain_sector_n
    B, n = s.chain_expected.shape
    runs = np.arange(B)[:, None]
    base = np.where(s.chain_base_consumption > 0, s.chain_base_consumption, s.consumption)
    demand_cars = col(p.chain_demand)[:, 0] * m * s.consumption / np.maximum(base, 1e-300)
    steady = np.repeat(np.stack([steady_flows(1.0)] * B) * col(p.chain_demand), m, axis=1)  # per firm
    capacity = col(p.chain_capacity) * steady
    t = s.step[:, None]
    start = col(p.chain_shock_step)
    shocked = (start > 0) & (t >= start) & (t < start + col(p.chain_shock_steps))
    capacity = np.where(
        shocked & (sector[None, :] == col(p.chain_shock_sector)),
        (1 - col(p.chain_shock)) * capacity,
        capacity,
    )
    expected = s.chain_expected + col(p.chain_expectation) * (s.chain_sales - s.chain_expected)
    plan = np.maximum(
        expected + col(p.chain_inventory_speed) * (col(p.chain_inventory_target) * expected - s.chain_stock),
        0.0,
    )
    plan = np.minimum(plan, capacity)
    need = INPUT_COEFFICIENTS[:, sector]  # (S inputs, n): per unit of the buyer's output
    led = accounts.books(s, p)
    n_f = led.sizes[1]
    firm_n = np.arange(n) % n_f  # the economy's firm running chain firm j
    level = s.price_index / np.maximum(s.base_price_c, 1e-300)
    prices = unit_prices()
    steady_cars = col(p.chain_demand)[:, 0] * m
    scale = col(p.chain_value)[:, 0] * s.initial_output / np.maximum(steady_cars * prices[-1], 1e-300)
    price_bs = (scale * level)[:, None] * prices  # (B, S) money per unit
    # a firm orders what its deposits can pay for (shared equally among the chain firms it runs)
    unit_cost = price_bs @ need  # (B, n) money of inputs per unit of output
    runs_n = np.maximum(np.bincount(firm_n, minlength=n_f), 1)[firm_n]
    cash = np.maximum(led.stock_of("firms", "deposits")[:, firm_n], 0.0) / runs_n
    plan = np.where(unit_cost > 0, np.minimum(plan, cash / np.maximum(unit_cost, 1e-300)), plan)
    orders = plan[:, :, None, None] * need.T[None, :, :, None] / L * np.ones(L)  # (B, n, S, L)
    sup = s.chain_suppliers
    flat_sup = (runs[:, :, None, None] * n + sup).reshape(B, -1)
    ordered_j = np.bincount(flat_sup.ravel(), weights=orders.ravel(), minlength=B * n).reshape(B, n)
    output = np.zeros((B, n))
    shipped = np.zeros_like(orders)
    fill_j = np.ones((B, n))
    received = np.zeros((B, n, S))
    for k in range(S):  # upstream first: a sector's inputs come from the sectors before it
        mine = sector == k
        need_mine = need[:, mine].T[None]  # (1, firms of k, inputs)
        ratio = np.where(
            need_mine > 0, received[:, mine, :] / np.where(need_mine > 0, need_mine, 1.0), np.inf
        )
        y = np.minimum(plan[:, mine], ratio.min(axis=2))
        output[:, mine] = y
        available = s.chain_stock[:, mine] + y
        fill_j[:, mine] = np.minimum(1.0, available / np.maximum(ordered_j[:, mine], 1e-300))
        # every order for input k went to a firm of sector k: ship it at that supplier's fill share
        share = np.take_along_axis(fill_j, sup[:, :, k, :].reshape(B, -1), axis=1).reshape(B, n, L)
        shipped[:, :, k, :] = orders[:, :, k, :] * share
        received[:, :, k] = shipped[:, :, k, :].sum(axis=2)
    # each firm used the inputs its output needed; cars sell to the final demand
    delivered_j = np.bincount(flat_sup.ravel(), weights=shipped.ravel(), minlength=B * n).reshape(B, n)
    cars = sector == S - 1
    car_stock = s.chain_stock[:, cars] + output[:, cars]
    car_demand = demand_cars[:, None] / m
    car_sales = np.minimum(car_stock, car_demand)
    sales = np.where(cars[None, :], 0.0, delivered_j)
    sales[:, cars] = car_sales
    fill_j[:, cars] = np.minimum(1.0, car_stock / np.maximum(car_demand, 1e-300))
    stock = s.chain_stock + output - sales
    revenue_s, paid, durables = _book_chain(s, led, firm_n, sup, shipped, car_sales, price_bs)
    per_sector = lambda a: a.reshape(B, S, m).sum(axis=2)  # noqa: E731
    ordered_s = per_sector(np.where(cars[None, :], car_demand, ordered_j))
    sold_s = per_sector(sales)
    return {
        "chain_expected": expected,
        "chain_sales": np.where(
            cars[None, :], car_demand, ordered_j
        ),  # what was asked for: the demand signal
        "chain_stock": np.maximum(stock, 0.0),
        "chain_output_s": per_sector(output),
        "chain_inventory_s": per_sector(np.maximum(stock, 0.0)),
        "chain_fill_s": np.where(ordered_s > 0, sold_s / np.maximum(ordered_s, 1e-300), 1.0),
        "chain_base_consumption": base,
        "chain_revenue_s": revenue_s,
        "chain_payments": paid,
        "chain_durables": durables,
        **accounts.updates(led),
    }


def _book_chain(
    s: Arrays,
    led: Any,
    firm_n: np.ndarray,
    sup: np.ndarray,
    shipped: np.ndarray,
    car_sales: np.ndarray,
    price_bs: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pay for the step's shipments (buyer → supplier, ``intermediate_goods``) and the households' cars
    (``durables``), deposits moving with reserves between the banks: (revenue per sector, intermediate
    payments, durables), each per run."""
    B, n = shipped.shape[:2]
    bank_f = s["firms.bank"]
    # shipments (B, n buyers, S inputs, L links) at the input's price
    value = shipped * price_bs[:, None, :, None]
    buyer = np.broadcast_to(firm_n[:, None, None], shipped.shape[1:]).reshape(-1)
    seller = firm_n[sup].reshape(B, -1)
    amount = value.reshape(B, -1)
    accounts.transfer(
        led,
        "intermediate_goods",
        ("firms", buyer, bank_f[:, buyer], amount),
        ("firms", seller, np.take_along_axis(bank_f, seller, axis=1), amount),
    )
    cars = np.arange(n)[-car_sales.shape[1] :]
    car_value = car_sales * price_bs[:, -1:]
    deposits = np.maximum(led.stock_of("households", "deposits"), 0.0)
    total = car_value.sum(axis=1)
    weight = deposits / np.maximum(deposits.sum(axis=1, keepdims=True), 1e-300)
    accounts.transfer(
        led,
        "durables",
        ("households", np.arange(deposits.shape[1]), s["households.bank"], weight * total[:, None]),
        ("firms", firm_n[cars], bank_f[:, firm_n[cars]], car_value),
    )
    flat = (np.arange(B)[:, None] * n + sup.reshape(B, -1)).ravel()
    received = np.bincount(flat, weights=amount.ravel(), minlength=B * n).reshape(B, n)
    received[:, cars] += car_value
    revenue = received.reshape(B, S, n // S).sum(axis=2)
    return revenue, amount.sum(axis=1), total


def _per_sector(name: str) -> Any:
    return lambda s, p: s[name]


OBSERVABLES = {
    "chain_output": _per_sector("chain_output_s"),
    "chain_inventory": _per_sector("chain_inventory_s"),
    "chain_fill": _per_sector("chain_fill_s"),
    "chain_revenue": _per_sector("chain_revenue_s"),
}
