"""The 1Hive Honey supply model: common pool, mint/burn supply policy, market saturation, price walk.

One step is one month. All three processes read the same state and update together (the notebook's
single partial state update block)::

    step = [supply_policy + saturation_process + price_walk]

``compiled.py`` is the same step compiled, many steps per call (the engine's ``fast_steps``), with the
stages' bits; the stages stay the definition, and what ``Simulation.step`` and ``profile`` run.
"""

from __future__ import annotations

from econsim.analysis.divergence import Divergence
from econsim.engine import Block, Invariant, Model, Param, Var
from econsim.engine.report import Report
from econsim.models.honey.compiled import fast_steps
from econsim.models.honey.price import price_walk
from econsim.models.honey.saturation import saturation_process
from econsim.models.honey.supply_policy import supply_policy
from econsim.models.registry import ModelExtras

PARAMS = [
    Param(
        "throttle",
        0.008,
        "largest share of total supply the policy may mint or burn per step (0: unbounded)",
        bounds=(0.0, 1.0),
    ),
    Param("outflow_rate", 0.05, "share of the common pool spent each step", bounds=(0.0, 1.0)),
    Param("target_reserve_ratio", 0.2, "target ratio of common pool to total supply", bounds=(1e-9, 1.0)),
    Param(
        "valuation_ratio", 2.0, "ratio of price to monthly inflows at market saturation", bounds=(0.0, None)
    ),
    Param("productivity", 0.88, "how strongly outflows build production and saturation", bounds=(0.0, 1.0)),
    Param("growth", 0.0, "growth rate of the market size per step", bounds=(-1.0, None)),
    Param("p_variance", 0.25, "scale (standard deviation) of the relative price move", bounds=(0.0, None)),
    Param(
        "p_pull",
        0.75,
        "probability the price moves towards its target (0.5: unbiased walk)",
        bounds=(0.0, 1.0),
    ),
    Param(
        "price_walk",
        "notebook",
        "'notebook': the seed's walk (price can turn negative); "
        "'positive': multiplicative walk that keeps the price positive",
        kind="choice",
        choices=("notebook", "positive"),
    ),
]

STATE = [
    Var("reserve", 7473.0, "common pool balance", bounds=(0.0, None)),
    Var("circulation", 18765.0, "total supply minus common pool", bounds=(0.0, None)),
    Var("size", 100000.0, "market size, in fiat inflows per month", bounds=(0.0, None)),
    Var("saturation", 0.0, "share of the market captured", bounds=(0.0, 1.0)),
    Var("production", 0.0, "production built by outflows, net of upkeep", bounds=(0.0, None)),
    Var("utility", 0.0, "diminishing-returns transform of production, in [0, 10)", bounds=(0.0, 10.0)),
    Var("price", 10.0, "spot price"),
    Var("target_price", 10.0, "fundamental price the walk is pulled towards"),
    Var("netflow", 0.0, "inflow minus outflow of the common pool this step"),
    Var("adjustment", 0.0, "tokens minted (+) or burned (−) by the supply policy this step"),
]

OBSERVABLES = {
    "total_supply": lambda s, p: s.reserve + s.circulation,
    "market_cap": lambda s, p: (s.reserve + s.circulation) * s.price,
    "ratio": lambda s, p: s.reserve / (s.reserve + s.circulation),
}


def _supply(s, p, prev=None):
    return s.reserve + s.circulation


def _supply_residual(s, p, prev):
    """total_supply' − (total_supply + adjustment): netflow moves tokens between pool and circulation,
    only the policy's mint or burn changes the supply."""
    return _supply(s, p) - (_supply(prev, p) + s.adjustment)


INVARIANTS = [
    Invariant(
        "supply",
        _supply_residual,
        tol=1e-12,
        scale=_supply,
        doc="total_supply' = total_supply + adjustment (relative to the supply)",
    ),
]

FIGURES = [
    {"kind": "timeseries", "vars": ["total_supply", "circulation", "reserve"], "file": "supply.png"},
    {"kind": "timeseries", "vars": ["netflow", "adjustment"], "file": "flows.png"},
    {"kind": "timeseries", "vars": ["saturation"], "file": "saturation.png"},
    {"kind": "timeseries", "vars": ["price"], "file": "price.png"},
    {"kind": "timeseries", "vars": ["market_cap"], "file": "market_cap.png"},
    {"kind": "timeseries", "vars": ["utility"], "file": "utility.png"},
]

#: a run has diverged once its price is at or below zero: with the notebook's walk a move |ε| > 1 away
#: from the target turns the price negative, and the run then runs away
DIVERGENCE = Divergence("price", at_or_below=0.0)


def productivity_range(results):
    """The productivity range report (``analysis.py``; imported on use, as it loads pandas)."""
    from econsim.models.honey.analysis import productivity_range as report

    return report(results)


model = Model(
    name="honey",
    doc="1Hive Honey supply: common pool, mint/burn policy with throttle, saturation, price walk",
    params=PARAMS,
    state=STATE,
    step=[Block(supply_policy, saturation_process, price_walk)],
    observables=OBSERVABLES,
    invariants=INVARIANTS,
    fast_steps=fast_steps,  # the same step compiled: see compiled.py
)

extras = ModelExtras(
    default_figures=FIGURES,
    reports={"productivity_range": Report(productivity_range, needs_swept=("productivity",))},
    divergence=DIVERGENCE,
)
