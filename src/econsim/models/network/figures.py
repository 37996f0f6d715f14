"""The network model's own figures and reports (``kind: model`` figures, ``reports:`` names).

network   a sampled subgraph of the final links of one run — the most connected agent and its two-hop
          neighbourhood (at most ``max_nodes`` agents) — drawn in strategy space (x: activity μ_0,
          y: risk target μ_1; no layout algorithm needed: linked agents imitate each other, so the
          drawing shows the clusters), coloured by cluster, sized by portfolio value, links shaded by η;
          beside it the degree distribution of the active links
prices    one panel per risky asset: its pool price on every chain (median over runs, 10–90 % band)
risk      R_sys and the cross-chain price spread over time; the distribution of P(default_i |
          stressed_j) over the final links; the hub cascade size of every run (``analysis``)

Reports: ``contagion`` (final links: mean and tail of the conditional default probabilities, hub
cascades) and ``cycles`` (principal components of the recorded log prices and their periodograms).
Figures are matplotlib ``Figure`` objects made without pyplot.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from econsim.models.network.analysis import CASCADE_DRAWS, contagion_inputs, hub_cascade, price_cycles


def _params(results, subset: int) -> dict[str, Any]:
    params = dict(results.manifest["config"].get("params") or {})
    params.update(results.manifest["subsets"][subset])
    return params


def _static(results, subset: int):
    from econsim.models.registry import get_model

    return get_model("network").param_arrays(_params(results, subset), 1)


def _pick(results, options: dict[str, Any]) -> tuple[int, int, int]:
    """(row in the final state, subset, run) of the run a figure draws (options ``subset``, ``run``)."""
    finals = results.final_state()
    subset, run = int(options.get("subset", 0)), int(options.get("run", 0))
    rows = np.flatnonzero((finals["subset"] == subset) & (finals["run"] == run))
    if not rows.size:
        from econsim.engine import ConfigError

        raise ConfigError(f"network figure: no run {run} of subset {subset} in the results")
    return int(rows[0]), subset, run


def sample_subgraph(indptr, target_e, active_e, max_nodes: int = 150) -> np.ndarray:
    """The agents of the sample: the agent with most active links, then breadth first over active links
    (in slot order) until ``max_nodes``."""
    n = indptr.size - 1
    sources = np.repeat(np.arange(n), np.diff(indptr))
    degree = np.bincount(sources, weights=active_e.astype(float), minlength=n)
    start = int(np.argmax(degree))
    chosen, frontier, seen = [start], [start], {start}
    while frontier and len(chosen) < max_nodes:
        nxt = []
        for i in frontier:
            for e in range(indptr[i], indptr[i + 1]):
                j = int(target_e[e])
                if active_e[e] and j not in seen and len(chosen) < max_nodes:
                    seen.add(j)
                    chosen.append(j)
                    nxt.append(j)
        frontier = nxt
    return np.array(chosen)


def network_figure(results, df, options: dict[str, Any]):
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    row, subset, run = _pick(results, options)
    finals = results.final_state()
    p = _static(results, subset)
    indptr = np.asarray(p.graph_indptr)
    target, eta = finals["edge_target"][row], finals["edge_eta"][row]
    eta_min = float(np.asarray(p.eta_min).ravel()[0])
    active = eta >= eta_min
    mu, value, cluster = finals["agent_mu"][row], finals["agent_wealth"][row], finals["agent_cluster"][row]
    nodes = sample_subgraph(indptr, target, active, int(options.get("max_nodes", 150)))
    inside = np.zeros(indptr.size - 1, bool)
    inside[nodes] = True
    sources = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
    keep = active & inside[sources] & inside[target[: indptr[-1]]]
    segments = np.stack([mu[sources[keep]], mu[target[: indptr[-1]][keep]]], axis=1)
    fig = Figure(figsize=(13, 5.5))
    ax, deg_ax = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
    lines = LineCollection(list(segments), colors="0.3", linewidths=0.6)
    lines.set_alpha(None)
    lines.set_color([(0.25, 0.25, 0.25, 0.15 + 0.6 * float(h)) for h in eta[: indptr[-1]][keep]])
    ax.add_collection(lines)
    _, colour = np.unique(cluster[nodes], return_inverse=True)
    size = 15 + 120 * value[nodes] / max(float(value[nodes].max()), 1e-12)
    sc = ax.scatter(
        mu[nodes, 0], mu[nodes, 1], s=size, c=colour, cmap="tab20", edgecolors="k", linewidths=0.3
    )
    sc.set_zorder(3)
    ax.scatter(*mu[nodes[0]], s=260, facecolors="none", edgecolors="red", linewidths=1.5, zorder=4)
    lo, hi = mu[nodes].min(axis=0), mu[nodes].max(axis=0)
    pad = 0.08 * np.maximum(hi - lo, 0.02)
    ax.set_xlim(max(lo[0] - pad[0], -0.02), min(hi[0] + pad[0], 1.02))
    ax.set_ylim(max(lo[1] - pad[1], -0.02), min(hi[1] + pad[1], 1.02))
    ax.set_xlabel("activity μ₀")
    ax.set_ylabel("risk target μ₁")
    ax.set_title(
        f"{len(nodes)} agents around the best-connected one (red), {int(keep.sum())} active links\n"
        f"colour: cluster ({len(np.unique(cluster[nodes]))} here), size: portfolio value, shade: η"
    )
    degree = np.bincount(sources[active], minlength=indptr.size - 1)
    counts = np.bincount(degree)
    k = np.flatnonzero(counts)
    k = k[k > 0]
    deg_ax.plot(k, counts[k] / counts.sum(), "o", ms=4)
    if k.size and k.max() >= 10 * k.min():  # a wide (scale-free) range reads best on log axes
        deg_ax.set_xscale("log")
        deg_ax.set_yscale("log")
    deg_ax.set_xlabel("active links k")
    deg_ax.set_ylabel("share of agents")
    deg_ax.set_title(f"degree distribution (mean {degree.mean():.1f}, max {degree.max()})")
    deg_ax.grid(alpha=0.3, which="both")
    fig.suptitle(f"{results.manifest.get('name') or 'network'}: final network, subset {subset}, run {run}")
    fig.tight_layout()
    return fig


def _band(ax, t, x_rt, colour, label):
    ax.plot(t, np.median(x_rt, axis=0), color=colour, label=label, lw=1.4)
    if x_rt.shape[0] > 1:
        lo, hi = np.quantile(x_rt, [0.1, 0.9], axis=0)
        ax.fill_between(t, lo, hi, color=colour, alpha=0.2, lw=0)


def prices_figure(results, df, options: dict[str, Any]):
    from matplotlib.figure import Figure

    subset = int(options.get("subset", 0))
    p = _static(results, subset)
    C, A = int(p.n_chains), int(p.n_assets) - 1
    part = df[df["subset"] == subset].sort_values(["run", "timestep"])
    cols = [c for c in part.columns if c.startswith("price_") and c not in ("price_spread",)]
    cols = sorted(cols, key=lambda c: int(c.rsplit("_", 1)[-1]) if c.rsplit("_", 1)[-1].isdigit() else c)
    if len(cols) != C * A:
        cols = [f"price_c{c}_a{a + 1}" for c in range(C) for a in range(A)]
    runs = part["run"].nunique()
    t = np.sort(part["timestep"].unique())
    fig = Figure(figsize=(5.2 * A, 4.2))
    axes = np.atleast_1d(fig.subplots(1, A, squeeze=False)[0])
    colours = [
        "tab:blue",
        "tab:orange",
        "tab:green",
        "tab:red",
        "tab:purple",
        "tab:brown",
        "tab:pink",
        "tab:gray",
    ]
    for a in range(A):
        for c in range(C):
            x = part[cols[c * A + a]].to_numpy().reshape(runs, -1)
            _band(axes[a], t, x, colours[c % len(colours)], f"chain {c}")
        axes[a].set_title(f"token {a + 1}: pool price per chain")
        axes[a].set_xlabel("day")
        axes[a].set_ylabel("price (numeraire)")
        axes[a].grid(alpha=0.3)
        axes[a].legend(fontsize=8)
    fig.suptitle(
        f"{results.manifest.get('name') or 'network'}: prices, median of {runs} run(s), 10–90 % band"
    )
    fig.tight_layout()
    return fig


def risk_figure(results, df, options: dict[str, Any]):
    from matplotlib.figure import Figure

    from econsim.engine import run_generator
    from econsim.mechanisms.contagion import conditional_default

    subset = int(options.get("subset", 0))
    part = df[df["subset"] == subset].sort_values(["run", "timestep"])
    runs = part["run"].nunique()
    t = np.sort(part["timestep"].unique())
    fig = Figure(figsize=(15, 4.2))
    ax = fig.subplots(1, 3)
    _band(ax[0], t[1:], part["systemic_risk"].to_numpy().reshape(runs, -1)[:, 1:], "tab:red", "R_sys")
    ax[0].set_title("systemic-risk index R_sys")
    _band(ax[1], t, part["price_spread"].to_numpy().reshape(runs, -1), "tab:blue", "spread")
    ax[1].set_title("cross-chain price spread (max − min)/mean")
    for a in ax[:2]:
        a.set_xlabel("day")
        a.grid(alpha=0.3)
    finals = results.final_state()
    p = _static(results, subset)
    indptr = np.asarray(p.graph_indptr)
    eta_min = float(np.asarray(p.eta_min).ravel()[0])
    rows = np.flatnonzero(finals["subset"] == subset)
    probs, cascades = [], []
    for r in rows:
        w, theta, sigma = contagion_inputs(
            indptr, finals["edge_target"][r], finals["edge_eta"][r], finals["agent_mu"][r], eta_min
        )
        probs.append(conditional_default(indptr, finals["edge_target"][r], w, theta, sigma)[2])
        z = run_generator(int(results.manifest["seed"]), (int(finals["run"][r]),), "contagion")
        cascades.append(
            hub_cascade(
                indptr,
                finals["edge_target"][r],
                finals["edge_eta"][r],
                finals["agent_mu"][r],
                eta_min,
                z.standard_normal((CASCADE_DRAWS, indptr.size - 1)),
            )
        )
    allp = np.concatenate(probs)
    ax[2].hist(np.log10(np.maximum(allp, 1e-12)), bins=40, color="tab:purple", alpha=0.8)
    ax[2].set_xlabel("log₁₀ P(default_i | stressed_j) over final links")
    ax[2].set_ylabel("links")
    ax[2].set_title(
        f"contagion: {np.mean(allp > 0.5):.1%} of links above ½\n"
        f"stressing the top 1 % hubs topples {np.mean(cascades):.1%} of agents"
    )
    ax[2].grid(alpha=0.3)
    fig.suptitle(f"{results.manifest.get('name') or 'network'}: risk, subset {subset}, {runs} run(s)")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- reports
def contagion_report(results) -> dict[str, Any]:
    """Per sweep point, over its runs' final links: mean P(default_i | stressed_j), share of links above
    ½, and the hub cascade (the 1 % best-connected agents stressed; ``analysis``)."""
    from econsim.engine import run_generator
    from econsim.mechanisms.contagion import conditional_default

    finals = results.final_state()
    seed = int(results.manifest["seed"])
    out = []
    for subset in np.unique(finals["subset"]):
        p = _static(results, int(subset))
        indptr = np.asarray(p.graph_indptr)
        eta_min = float(np.asarray(p.eta_min).ravel()[0])
        means, above, casc = [], [], []
        for r in np.flatnonzero(finals["subset"] == subset):
            tgt, eta, mu = finals["edge_target"][r], finals["edge_eta"][r], finals["agent_mu"][r]
            w, theta, sigma = contagion_inputs(indptr, tgt, eta, mu, eta_min)
            prob = conditional_default(indptr, tgt, w, theta, sigma)[2]
            means.append(float(prob.mean()))
            above.append(float((prob > 0.5).mean()))
            z = run_generator(seed, (int(finals["run"][r]),), "contagion").standard_normal(
                (CASCADE_DRAWS, indptr.size - 1)
            )
            casc.append(hub_cascade(indptr, tgt, eta, mu, eta_min, z))
        out.append(
            {
                "subset": int(subset),
                "mean_conditional_default": float(np.mean(means)),
                "links_above_half": float(np.mean(above)),
                "hub_cascade_share": float(np.mean(casc)),
            }
        )
    worst = max(out, key=lambda r: r["hub_cascade_share"])
    return {
        "points": out,
        "headline": f"hub cascades reach {worst['hub_cascade_share']:.1%} of agents (subset {worst['subset']}); "
        f"{worst['links_above_half']:.1%} of links have P(default | stressed neighbour) > ½",
    }


def cycles_report(results) -> dict[str, Any]:
    """Dominant cycles of the recorded log prices (every run, chain and asset of a sweep point together:
    ``analysis.price_cycles``), per sweep point."""
    price = results.stacked("price")  # (runs, T, C·A), runs subset-major
    if price.ndim == 2:
        price = price[..., None]
    n_points = len(results.manifest["subsets"])
    per = price.shape[0] // n_points
    if price.shape[1] < 6:
        return {
            "points": [],
            "headline": f"{price.shape[1] - 1} steps are too few for a periodogram (5 or more)",
        }
    out = []
    for s in range(n_points):
        block = price[s * per : (s + 1) * per, 1:]  # step 0 is the initial state
        table = price_cycles(block[..., None])
        out.append({"subset": s, "components": table.to_dict(orient="records")})
    first = out[0]["components"][0]
    return {
        "points": out,
        "headline": f"first price component ({first['variance_share']:.0%} of variance): period "
        f"{first['period']:.1f} days, Fisher g p = {first['p_value']:.2g}",
    }
