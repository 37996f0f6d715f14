"""Parameters of the networked token economy. Those that size arrays or build the graph are per batch."""

from __future__ import annotations

from econsim.engine import Param

GRAPHS = ("erdos_renyi", "watts_strogatz", "barabasi_albert")

PARAMS = [
    # --- sizes and the graph (one value per batch) -----------------------------------------------
    Param("n_agents", 1000, "individual agents N", bounds=(10, 10_000_000), kind="int", per_batch=True),
    Param("n_chains", 3, "chains C", bounds=(1, 8), kind="int", per_batch=True),
    Param(
        "n_assets", 3, "assets K per chain (asset 0 the numeraire)", bounds=(2, 8), kind="int", per_batch=True
    ),
    Param(
        "graph", "erdos_renyi", "interaction graph generator", kind="choice", choices=GRAPHS, per_batch=True
    ),
    Param(
        "mean_degree",
        10,
        "mean degree of the graph (even for Watts–Strogatz and Barabási–Albert)",
        bounds=(2, 200),
        kind="int",
        per_batch=True,
    ),
    Param(
        "edge_list",
        "",
        "file of the interaction graph's links (edgelist.py); when given, graph and mean_degree are not used",
        kind="text",
        per_batch=True,
    ),
    Param("rewire_p", 0.1, "Watts–Strogatz rewiring probability", bounds=(0.0, 1.0), per_batch=True),
    Param(
        "graph_seed",
        1,
        "seed of the graph, shared by every run of a batch",
        bounds=(0, 2**31),
        kind="int",
        per_batch=True,
    ),
    Param(
        "bridge_delay",
        2,
        "τ per hop: τ_ij = bridge_delay·|i − j| steps",
        bounds=(1, 30),
        kind="int",
        per_batch=True,
    ),
    Param(
        "theta_c",
        0.1,
        "clustering threshold θ_c at t = 0 (strategy distance)",
        bounds=(0.02, 1.0),
        per_batch=True,
    ),
    Param(
        "cluster_every",
        5,
        "steps between re-clusterings (and hierarchy updates)",
        bounds=(1, 1000),
        kind="int",
        per_batch=True,
    ),
    Param(
        "threads",
        1,
        "threads one run's compiled agent loops are spread over (agent blocks; results never depend on it)",
        bounds=(1, 256),
        kind="int",
        per_batch=True,
    ),
    # --- initial economy ------------------------------------------------------------------------
    Param("initial_cash", 1000.0, "mean initial portfolio value of an agent (tokens)", bounds=(1.0, 1e6)),
    Param("wealth_dispersion", 1.0, "σ of the log-normal initial wealth", bounds=(0.0, 3.0)),
    Param("risk_target", 0.5, "mean risk target μ_1 at t = 0", bounds=(0.0, 1.0)),
    Param("risk_spread", 0.3, "half-width of the uniform spread of μ_1 at t = 0", bounds=(0.0, 0.5)),
    Param("pool_depth", 1.0, "pool reserve per agents' total holdings of the asset", bounds=(0.01, 100.0)),
    Param(
        "price_offset", 0.02, "relative price step between neighbouring chains at t = 0", bounds=(0.0, 0.5)
    ),
    Param(
        "arb_capital", 0.05, "desk cash per chain, as a share of the chain's pool cash", bounds=(0.0, 10.0)
    ),
    # --- behaviour ------------------------------------------------------------------------------
    Param("risk_aversion", 1.0, "λ of the risk measure Λ = ½λ·(gap to target)²", bounds=(0.0, 100.0)),
    Param("trade_cost", 4.0, "κ of the rebalancing cost C(r) = ½κ·r²", bounds=(1e-6, 100.0)),
    Param("min_trade", 0.01, "smallest AMM order (tokens of value)", bounds=(0.0, 1e6)),
    Param("pool_fee", 0.003, "AMM fee on the input", bounds=(0.0, 0.5)),
    Param("sentiment_reversion", 0.05, "κ_s: pull of chain sentiment to 0 per step", bounds=(0.0, 1.0)),
    Param("sentiment_vol", 0.02, "σ_s: daily sentiment shock", bounds=(0.0, 1.0)),
    Param(
        "pay_rate",
        0.02,
        "share of numeraire an agent of activity 1 pays along its links per step",
        bounds=(0.0, 1.0),
    ),
    Param(
        "otc_rate",
        0.05,
        "share of a token an agent of activity 1 sells along links per step",
        bounds=(0.0, 1.0),
    ),
    Param("imitation", 0.05, "κ_μ: pull of μ towards the neighbours' mean per step", bounds=(0.0, 1.0)),
    Param("strategy_vol", 0.01, "σ_μ: daily noise of μ", bounds=(0.0, 0.5)),
    # --- links ----------------------------------------------------------------------------------
    Param("gamma", 0.05, "γ: reinforcement of used links", bounds=(0.0, 10.0)),
    Param("delta", 0.01, "δ: decay of weak links", bounds=(0.0, 10.0)),
    Param("eta_min", 0.05, "edge strength below which a link dissolves", bounds=(0.0, 1.0)),
    Param("eta_new", 0.3, "strength of a newly formed link", bounds=(0.0, 1.0)),
    Param("form_prob", 0.1, "chance per step that a dissolved slot forms a new link", bounds=(0.0, 1.0)),
    # --- bridges and arbitrage ------------------------------------------------------------------
    Param("bridge_fee", 0.001, "bridge fee (B_ij = (1 − fee)·I)", bounds=(0.0, 0.5)),
    Param("bridge_noise", 0.002, "relative noise ε_ij of the bridged price", bounds=(0.0, 1.0)),
    Param("arb_cost", 2.0, "c of the arbitrage cost ½·c·(P_i/X_i)·α²", bounds=(1e-6, 1e6)),
    Param(
        "bridge_capacity",
        0.01,
        "most tokens a route moves per step, as a share of the pool",
        bounds=(0.0, 1.0),
    ),
    # --- hierarchy ------------------------------------------------------------------------------
    Param("market_noise", 0.0, "ε_m scale per √agent (tokens)", bounds=(0.0, 1e6)),
    Param("global_noise", 0.0, "ε_g scale per √agent (tokens)", bounds=(0.0, 1e6)),
]
