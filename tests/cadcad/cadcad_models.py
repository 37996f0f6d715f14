"""Small cadCAD models written the way cadCAD users write them (module-level functions, dicts)."""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------- a deterministic economy
# Three blocks, several policies per block, a policy label produced by two policies, an update that
# reads state_history, one that reads the substep/timestep bookkeeping, and a variable no block updates.


def p_income(params, substep, sH, s):
    return {"inflow": params["income"] * (1 + 0.01 * s["timestep"]), "tax": 0.1 * params["income"]}


def p_spending(params, substep, sH, s):
    return {"inflow": -params["spend_rate"] * s["cash"], "tax": 0.5}


def p_price(params, substep, sH, s):
    return {"price_change": 0.02 * (s["demand"] - s["supply"]) / (1 + s["supply"])}


def p_demand(params, substep, sH, s):
    past = sH[-2][-1]["cash"] if len(sH) > 1 else s["cash"]  # last row of two timesteps ago
    return {"demand_shift": 0.05 * (s["cash"] - past)}


def s_cash(params, substep, sH, s, _input):
    return "cash", s["cash"] + _input["inflow"] - _input["tax"]


def s_taxes(params, substep, sH, s, _input):
    return "taxes", s["taxes"] + _input["tax"]


def s_price(params, substep, sH, s, _input):
    return "price", s["price"] * (1 + _input["price_change"])


def s_demand(params, substep, sH, s, _input):
    return "demand", max(0.0, s["demand"] + _input["demand_shift"] - 0.1 * s["price"])


def s_supply(params, substep, sH, s, _input):
    return "supply", s["supply"] + params["capacity"] * (s["demand"] > s["supply"]) - 0.05 * s["supply"]


def s_log(params, substep, sH, s, _input):
    return "log", f"t{s['timestep']}s{s['substep']}:{','.join(sorted(_input))}:{len(sH)}"


ECONOMY_STATE = {
    "cash": 100.0,
    "taxes": 0,
    "price": 1.0,
    "demand": 10.0,
    "supply": 8.0,
    "log": "",
    "fixed": 7,
}

ECONOMY_BLOCKS = [
    {
        "policies": {"income": p_income, "spending": p_spending},
        "variables": {"cash": s_cash, "taxes": s_taxes},
    },
    {"policies": {"price": p_price, "demand": p_demand}, "variables": {"price": s_price, "demand": s_demand}},
    {"policies": {}, "variables": {"supply": s_supply, "log": s_log}},
]

ECONOMY_PARAMS = {"income": [10.0, 12.0, 15.0], "spend_rate": [0.1], "capacity": [1.0, 2.0, 0.5]}


# --------------------------------------------------------------------------- a stochastic one


def p_shock(params, substep, sH, s):
    return {"shock": np.random.normal(params["drift"], params["sigma"])}  # noqa: NPY002 - as cadCAD models do


def s_level(params, substep, sH, s, _input):
    return "level", s["level"] + _input["shock"]


WALK_STATE = {"level": 0.0}
WALK_BLOCKS = [{"policies": {"shock": p_shock}, "variables": {"level": s_level}}]
WALK_PARAMS = {"drift": [0.1], "sigma": [1.0]}


# --------------------------------------------------------------------------- one that mutates its state


def p_append(params, substep, sH, s):
    s["ledger"].append(s["timestep"])  # changes the state it was given
    return {"n": len(s["ledger"])}


def s_count(params, substep, sH, s, _input):
    return "count", _input["n"]


def s_ledger(params, substep, sH, s, _input):
    return "ledger", s["ledger"]


MUTATING_STATE = {"ledger": [], "count": 0}
MUTATING_BLOCKS = [{"policies": {"append": p_append}, "variables": {"count": s_count, "ledger": s_ledger}}]
