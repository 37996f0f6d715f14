# ruff: noqa
"""The 1Hive Honey supply model from the seed notebook, kept unchanged.

This module is the code of cells In [1]-In [6] of the seed notebook
("1Hive Economy and Honey Supply Model", the notebook the honey model ports) copied verbatim: ``genesis_states``, ``params``, the policy and state-update
functions, ``partial_state_update_blocks`` and ``sim_config_dict`` (T=range(120), N=10).
Only the notebook's markdown headings were turned into ``# --`` comments; the code is
not edited (not even whitespace), so ruff is disabled for this file.

The cadCAD execution cells (In [7]/In [8]) are not included; see
``benchmarks/peers.py`` for runners under cadCAD 0.5.3 and radCAD. Note that the
notebook's In [7] uses ``cadCAD.configs`` after ``Experiment().append_configs``; on
cadCAD 0.5.3 that global list is a *different* Experiment's list, so a 0.5.3 runner
must pass ``exp.configs`` to the ``Executor`` instead.

The module is a compatibility example: econsim's own "honey" model must reproduce it.
"""

import random as rand
import numpy as np

# # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # #
# List of all the state variables in the system and their initial values
genesis_states = {
    "reserve": 7473,  # Current common pool balance
    "circulation": 18765,  # Total honey supply minus common pool balance (26238 - 7473)
    "size": 100000,  # Total market size in terms of fiat inflows per month
    "saturation": 0.0,  # Percent of market captured by 1hive
    "production": 0.0,  # Production state accounting for outflows and upkeep
    "utility": 0.0,  # representing diminishing marginal returns on production
    "price": 10,  # modeled as a random walk biased towards a target price based on size, saturation, circulation, and valuation ratio parameter.
    "target_price": 10,  # Tracks the implied valuation based on our assumptions and influeces the stochastic spot price.
    "netflow": 0.0,
    "adjustment": 0.0,
}
# # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # #

# -- Model Params ----------------------------------------------------------
# # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # #
# List of all the state variables in the system and their initial values
params = {
    "throttle": [
        0.002,
        0.004,
        0.008,
        0.002,
        0.004,
        0.008,
        0.002,
        0.004,
        0.008,
    ],  # maximimum proportion of the total supply that can be adjusted in each timestep
    "outflow_rate": [0.05],  # max proportion of common pool funds that can be spent each timestep
    "target_reserve_ratio": [
        0.1,
        0.1,
        0.1,
        0.2,
        0.2,
        0.2,
        0.3,
        0.3,
        0.3,
    ],  # target ratio of common pool funds to total supply
    "valuation_ratio": [2],  # ratio of price to inflows (monthly) when at market saturation
    # 'productivity': [0.87, 0.88, 0.89, .9],  # scalar parameter to determine impact of outflows on market saturation
    "productivity": [0.88],
    "growth": [0],  # rate at which the market size will grow each time step
    "p_variance": [0.25],  # variance of price changes
    "p_pull": [
        0.75
    ],  # odds of moving towards or away from price target, a value of .5 is an unbiased random walk.
}
# # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # #


# -- Policies and State Update Functions -----------------------------------
def supply_policy(params, step, sH, s):

    # first we calculate outlflow as a function of the reserve, outflow boundary, and saturation
    outflow = s["reserve"] * params["outflow_rate"]

    # then we calculate inflow as a function size, saturation, price
    inflow = s["size"] * s["saturation"] / s["target_price"]

    netflow = inflow - outflow

    # then we calculate current state
    reserve = s["reserve"] + netflow
    circulation = s["circulation"] - netflow
    supply = reserve + circulation
    ratio = reserve / supply

    # Proportional control https://en.wikipedia.org/wiki/Proportional_control
    # corrections are made proportionally to the difference between the target and the current value

    # e = (params['target_reserve_ratio'] - ratio) / 12
    e = (1 - ratio / params["target_reserve_ratio"]) / 12

    if params["throttle"] != 0:
        # Corrections bounded by a maximum issuance rate parameter
        if e < 0:
            adjustment = max(e, -params["throttle"]) * supply
        else:
            adjustment = min(e, params["throttle"]) * supply
    else:
        # Corrections are unbounded, issuance is bounded by the maximum outflow rate
        adjustment = e * supply

    return {"netflow": netflow, "adjustment": adjustment}


def saturation_process(params, step, sH, s):

    # outflows are a function of outflow_boundary parameter and current saturation
    # as saturation approaches 1, outflow_boundary is reduced by half.
    outflow = s["reserve"] * params["outflow_rate"]

    # production reduced by the maintainance parameter and then increased by the impact of outflows, which depends on the productivity paramater and the current price.
    # production = s['production'] * (1 - params['maintainence']) + outflow * params['productivity'] * s['price']
    production = (
        s["production"] * (params["productivity"] ** 2) + outflow * (1 + params["productivity"]) * s["price"]
    )
    # production = s['production'] + outflow * params['productivity'] * s['price']

    # Utility represents the diminishing returns to production and is bounded at 10, we use the size value to shape the curve because it relates to the maximum inflows and steady state outflows.
    utility = 10 * production / (production + s["size"])
    # utility = log

    # saturation modeled as a logistic function, shifted by 6 so that a 0 utility means near 0 saturation, a utility of 5 is around the inflection point, and 10 is near 1.
    saturation = 1 / (1 + np.exp(-utility + 6))

    # size is a function of current size and growth rate
    size = s["size"] * (1 + params["growth"])

    return {"saturation": saturation, "size": size, "utility": utility, "production": production}


def price_policy(params, step, sH, s):
    # price follows a random walk that is pulled towards a target price.

    # First we calculate the target price as a function of the size, valuation ratio, and state of the supply
    potential_inflows_per_token = s["size"] / (s["circulation"] + s["reserve"])
    # valuation ratio decreases as system reaches market saturation
    adjusted_valuation_ratio = params["valuation_ratio"] / max(0.5, s["saturation"])
    # Price increases exponentially as the ratio of circulating supply to total supply decreases
    supply_sensitivity = 1 / (s["circulation"] / (s["circulation"] + s["reserve"])) ** 2

    target_price = potential_inflows_per_token * adjusted_valuation_ratio * supply_sensitivity

    # Price adjusts from previous timestep as a random walk, with a probability of moving closer to the price target determined by a parameter p_pull.

    if np.random.random() < params["p_pull"]:  # toward target
        if s["price"] < target_price:
            direction = 1
        else:
            direction = -1
    else:  # away from target
        if s["price"] < target_price:
            direction = -1
        else:
            direction = 1

    magnitude = np.abs(np.random.normal(0, params["p_variance"]))

    price = s["price"] + s["price"] * direction * magnitude

    return {"price": price, "target_price": target_price}


def update_reserve(params, step, sH, s, _input):
    key = "reserve"
    value = s["reserve"] + _input["netflow"] + _input["adjustment"]
    return (key, value)


def update_utility(params, step, sH, s, _input):
    key = "utility"
    value = _input["utility"]
    return (key, value)


def update_production(params, step, sH, s, _input):
    key = "production"
    value = _input["production"]
    return (key, value)


def update_circulation(params, step, sH, s, _input):
    key = "circulation"
    value = s["circulation"] - _input["netflow"]
    return (key, value)


def update_size(params, step, sH, s, _input):
    key = "size"
    value = _input["size"]
    return (key, value)


def update_saturation(params, step, sH, s, _input):
    key = "saturation"
    value = _input["saturation"]
    return (key, value)


def update_price(params, step, sH, s, _input):
    key = "price"
    value = _input["price"]
    return (key, value)


def update_target_price(params, step, sH, s, _input):
    key = "target_price"
    value = _input["target_price"]
    return (key, value)


def update_netflow(params, step, sH, s, _input):
    key = "netflow"
    value = _input["netflow"]
    return (key, value)


def update_adjustment(params, step, sH, s, _input):
    key = "adjustment"
    value = _input["adjustment"]
    return (key, value)


# -- Partial State Update Blocks -------------------------------------------
# # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # #
# In the Partial State Update Blocks, the user specifies if state update functions will be run in series or in parallel
partial_state_update_blocks = [
    {
        "policies": {
            "supply_policy": supply_policy,
            "saturation_process": saturation_process,
            "price_policy": price_policy,
        },
        "variables": {  # The following state variables will be updated simultaneously
            "reserve": update_reserve,
            "circulation": update_circulation,
            "netflow": update_netflow,
            "adjustment": update_adjustment,
            "price": update_price,
            "target_price": update_target_price,
            "saturation": update_saturation,
            "utility": update_utility,
            "size": update_size,
            "production": update_production,
        },
    }
]
# # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # #

# -- Simulation Configuration Parameters -----------------------------------
# # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # #
# Settings of general simulation parameters, unrelated to the system itself
# `T` is a range with the number of discrete units of time the simulation will run for;
# `N` is the number of times the simulation will be run (Monte Carlo runs)
# In this example, we'll run the simulation once (N=1) and its duration will be of 10 timesteps
# We'll cover the `M` key in a future article. For now, let's omit it
sim_config_dict = {"T": range(120), "N": 10, "M": params}
# # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # # #
