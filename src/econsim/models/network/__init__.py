"""The networked token economy (issue 12): 10³ … 10⁶ agents holding K assets on C chains, trading
against each chain's AMM pools and along a sparse interaction graph whose links strengthen, dissolve and
re-form; bridges with delays, fees, noise and capacities; an arbitrage desk; adaptive clusters rolled up
into market-level and global aggregators; systemic risk. One step is one day::

    bridges → rebalance → edge_flows (with imitate) → evolve_links → aggregate (every ``cluster_every`` steps)

Every token amount is an integer of base units and the strict invariant ``tokens_conserved`` checks,
every step, that no unit of any asset is created or lost. Each stage's loop is a compiled kernel for one
run; the agents' state is contiguous by agent and the graph's slots by source agent (``state``), so a
run splits into agent ranges. Layout and axes: ``state``; equations: each stage's module.

Around the model: ``edgelist`` (the graph from a file, parameter ``edge_list``), ``realtime`` (a live
Kalman-filtered price feed, event-driven), ``analysis`` (herding, cycles, contagion, compression,
forecasts, the adaptive strategy skeleton, equilibria, surrogate, stress tests), ``figures`` (the model's
figures and reports) and ``cli`` (``econsim network …``).

Splitting a run. Every kernel that walks agents takes a row range or the walkers' own CSR rows
(``payments._pay``/``_scales``/``_fill``, ``strategies._imitate``, ``links._update``/``_closure``/
``_strength``, ``trading._orders``/``_fill``, ``hierarchy._cells``); what a walker owes another agent
goes to that agent's row of a credit array, summed after the walk (integers: exact in any order); every
float sum over agents is an exact accumulator (``engine.partition.exact``); draws are keyed by agent or
slot id and step. So any split into agent ranges gives the same numbers. ``edge_flows`` computes the
imitation (``strategies.imitate``: its inputs, μ and η, are those of the trades) in its trades' walk,
so the targets' μ are read once for both. In one process the same
structure spreads a run over ``threads`` numba threads (walker chunks with their own credit rows, agent
blocks with their own accumulators): bit-identical for every ``threads``. ``evolve_links`` fuses its
split kernels into one pass in one process (``links._evolve``; the same numbers). The walks prefetch
their targets' rows (``prefetch``): on a random graph at 10⁶ agents nearly every target is a cache miss.
"""

from __future__ import annotations

from typing import Any

from econsim.engine import Block, Model
from econsim.models.network.bridges import bridges
from econsim.models.network.hierarchy import aggregate
from econsim.models.network.links import evolve_links
from econsim.models.network.metrics import COLUMN_LABELS, INVARIANTS, OBSERVABLES
from econsim.models.network.params import PARAMS
from econsim.models.network.payments import edge_flows
from econsim.models.network.setup import initial_economy, static
from econsim.models.network.state import POPULATIONS, STATE
from econsim.models.network.trading import rebalance
from econsim.models.registry import ModelExtras

FIGURES: list[dict[str, Any]] = [
    {"kind": "model", "name": "network", "file": "network_sample.png"},
    {"kind": "model", "name": "prices", "file": "prices.png"},
    {"kind": "model", "name": "risk", "file": "risk_contagion.png"},
    {"kind": "timeseries", "vars": ["price_spread", "systemic_risk"], "file": "risk.png"},
    {"kind": "timeseries", "vars": ["amm_volume", "p2p_volume", "arb_volume"], "file": "volumes.png"},
    {"kind": "timeseries", "vars": ["gini", "active_edges", "cluster_edge_share"], "file": "network.png"},
]

model = Model(
    name="network",
    doc="networked token economy: agents on a sparse evolving graph, K assets on C chains priced by AMM "
    "pools, delayed noisy bridges and arbitrage, adaptive clusters and aggregators, systemic risk",
    params=PARAMS,
    state=STATE,
    populations=POPULATIONS,
    static=static,
    static_sizes=("n_slots", "n_risky", "n_lags", "n_markets"),
    init=initial_economy,
    step=[bridges, rebalance, edge_flows, evolve_links, Block(aggregate, every="cluster_every")],
    observables=OBSERVABLES,
    column_labels=COLUMN_LABELS,
    invariants=INVARIANTS,
    final_state={
        "agent_mu": "agents.mu",
        "agent_wealth": "agents.wealth",
        "agent_cluster": "agents.cluster",
        # the links at the end: the contagion report and the network drawing read them
        "edge_target": "edges.target",
        "edge_eta": "edges.eta",
    },
)


def _figure(name: str):
    """A figure of ``figures.py``, imported when drawn (it loads matplotlib and pandas)."""

    def draw(results, df, options):
        from econsim.models.network import figures

        return getattr(figures, f"{name}_figure")(results, df, options)

    draw.__name__ = f"{name}_figure"
    return draw


def contagion_report(results):
    from econsim.models.network.figures import contagion_report as report

    return report(results)


def cycles_report(results):
    from econsim.models.network.figures import cycles_report as report

    return report(results)


extras = ModelExtras(
    figures={name: _figure(name) for name in ("network", "prices", "risk")},
    default_figures=FIGURES,
    reports={"contagion": contagion_report, "cycles": cycles_report},
    partitioner="econsim.models.network.partitioned:NetworkPartitioner",
)
