"""State of the networked token economy: one population of agents, the interaction graph's edge slots,
the AMM pools of every chain, the bridges' delay buffers and the arbitrage desk.

Axes after the run axis b: n agent, c chain, k asset (k = 0 is each chain's numeraire, a stablecoin;
k = 1 … K−1 risky tokens), a risky asset (k − 1), e edge slot, l delay-buffer slot, m market (cluster cell).

Layout. Holdings are integer base units (``UNIT`` = 10⁶ per token), ``agents.holdings`` (B, N, C, K)
int64, row-major, so an agent's C·K balances are contiguous and agent i's block starts at i·C·K: a run can
be split into contiguous agent ranges (agents i₀ … i₁ with their CSR rows indptr[i₀] … indptr[i₁]).
Edge slots follow the CSR order of the static graph (``graph_indptr``, ``graph_sources``): slot e leaves
agent ``graph_sources[e]`` for all time; ``edges.target`` (B, E) is where it points in each run (a dissolved
link is re-formed by re-pointing its slot), ``edges.eta`` its strength η ∈ [0, 1].

Tokens live in five places, all int64 base units, and their per-asset sum over chains never changes
(the ``tokens_conserved`` invariant, exactly — tolerance 0):

    agents.holdings (B, N, C, K) + pool_cash / pool_asset (B, C, K−1) + arb_holdings (B, C, K)
    + bridge_inflight (B, L, C, K) + bridge_fees (B, K)

Bridges are wrapped-token bridges: a token locked on chain i is minted on chain j when it arrives, so a
token in flight belongs to no chain until its slot of ``bridge_inflight`` comes round.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Population, Var

I64 = np.int64
UNIT = 1_000_000  # base units per token

AGENTS = Population(
    "agents",
    size="n_agents",
    doc="individual agents A_i",
    vars=[
        Var("holdings", 0.0, "balances per chain and asset (base units)", ("n_chains", "n_assets"), I64),
        Var("mu", 0.5, "strategy μ_i: (activity, risk target) in [0, 1]²", (2,)),
        Var("wealth", 0.0, "portfolio value S_i at current prices (tokens of numeraire)"),
        Var("traded", 0.0, "value traded this step (AMM and along edges, tokens of numeraire)"),
        Var("cluster", 0.0, "cluster (grid cell of μ) the agent belongs to", dtype=I64),
    ],
)

EDGES = Population(
    "edges",
    size="n_slots",
    doc="edge slots of the interaction graph (CSR order of the static graph)",
    vars=[
        Var("target", 0.0, "agent the slot points to", dtype=np.int32),
        Var("eta", 0.5, "edge strength η_ij (below eta_min: dissolved)"),
        Var("flow", 0.0, "value carried by the edge this step (tokens of numeraire)"),
    ],
)


def _v(name: str, doc: str, initial: float = 0.0, shape: tuple = (), dtype=np.float64) -> Var:
    return Var(name, initial, doc, shape, dtype)


STATE: list[Var] = [
    _v("day", "steps completed (one step is one day)", dtype=I64),
    _v(
        "pool_cash", "numeraire reserve of each chain's pool per risky asset", 0, ("n_chains", "n_risky"), I64
    ),
    _v("pool_asset", "risky-token reserve of each chain's pool", 0, ("n_chains", "n_risky"), I64),
    _v("sentiment", "log shift of the risk target per chain and asset (OU)", 0, ("n_chains", "n_risky")),
    _v("price_hist", "pool prices of the last L steps (ring buffer)", 1, ("n_lags", "n_chains", "n_risky")),
    _v("arb_holdings", "arbitrage desk balances per chain", 0, ("n_chains", "n_assets"), I64),
    _v(
        "bridge_inflight",
        "tokens arriving on chain c at slot l (ring)",
        0,
        ("n_lags", "n_chains", "n_assets"),
        I64,
    ),
    _v("bridge_fees", "bridge fees collected per asset", 0, ("n_assets",), I64),
    _v("market_flow", "dS_m: value change of each market this step", 0, ("n_markets",)),
    _v("market_size", "agents per market (cluster cell)", 0, ("n_markets",)),
    _v("global_flow", "dS_g: value change of the global aggregator this step"),
    _v("global_value", "S_g: the global aggregator's accumulated value"),
    _v("threshold", "θ_c(t): the clustering threshold now"),
    _v("dispersion0", "dispersion of μ at t = 0 (scales θ_c(t))"),
    _v("n_clusters", "occupied cluster cells"),
    _v("gini", "Gini coefficient of the agents' portfolio values S_i (at the last re-clustering)"),
    _v("amm_volume", "value traded against the pools this step"),
    _v("p2p_volume", "value carried along edges this step"),
    _v("arb_volume", "numeraire spent by arbitrageurs this step"),
    _v("arb_profit", "Σ α·(P_j·B_ij − P_i) − C(α) over routes this step (expected)"),
    _v("arb_wealth", "arbitrage desk's value at current prices, in-flight tokens included"),
    _v("systemic_risk", "R_sys = 1 − Σ_i W_i (d_i − d̄)² / Σ_i d_i²"),
    _v("active_edges", "share of edge slots with η ≥ eta_min"),
    _v("mean_eta", "mean edge strength over active slots"),
    _v("edges_formed", "slots re-pointed to a new neighbour this step"),
    _v("cluster_edge_share", "share of active links with c_ij = 1 (‖μ_i − μ_j‖ < θ_c)"),
]

POPULATIONS = [AGENTS, EDGES]
