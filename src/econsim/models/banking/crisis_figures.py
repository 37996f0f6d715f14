"""Figures of the banking model's financial crises (drawn on request; this module imports matplotlib).

    interbank_cascade   the overnight network at the last clearing with a default — banks on a circle,
                        arrows from debtor to creditor as wide as the amount due, each bank coloured by
                        its round in the Eisenberg–Noe cascade — beside the contagion series over time
    yield_curve         the recorded 2/5/10/30-year yields over time and the curve at a few dates
    bank_run            withdrawals by bank over time beside each bank's deposits
    bubble              the equity price against its fundamental, and the trend-followers' share

Each takes (results, df, options) as every model figure does; time series are the median over the runs
of the first sweep point, the network is the first run's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def _first_point(df: pd.DataFrame) -> pd.DataFrame:
    part = df[df["subset"] == df["subset"].min()]
    return part.sort_values(["run", "timestep"])


def _median_series(part: pd.DataFrame, names: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    t = np.sort(part["timestep"].unique())
    out = {}
    for name in names:
        if name in part.columns:
            out[name] = part.groupby("timestep")[name].median().reindex(t).to_numpy(dtype=float)
    return t, out


def _bank_columns(part: pd.DataFrame, name: str) -> list[str]:
    cols = [c for c in part.columns if c.startswith(name + "_") and c[len(name) + 1 :].isdigit()]
    return sorted(cols, key=lambda c: int(c[len(name) + 1 :]))


def interbank_cascade(results: Any, df: pd.DataFrame, options: dict[str, Any]) -> Figure:
    finals = results.final_state()
    fig = Figure(figsize=(13, 5.5), layout="constrained")
    ax_net, ax_ts = fig.subplots(1, 2)
    network = finals.get("interbank_network")
    rounds = finals.get("bank_cascade_round")
    pushed = finals.get("bank_pushed_under")
    if network is not None and rounds is not None:
        due, rnd = np.asarray(network[0]), np.asarray(rounds[0])
        n = due.shape[0]
        angle = 2 * np.pi * np.arange(n) / n
        x, y = np.cos(angle), np.sin(angle)
        top = max(float(due.max()), 1e-300)
        for i in range(n):
            for j in range(n):
                if due[i, j] > 0:
                    ax_net.annotate(
                        "",
                        xy=(x[j], y[j]),
                        xytext=(x[i], y[i]),
                        arrowprops={"arrowstyle": "->", "lw": 0.5 + 6 * due[i, j] / top, "color": "0.4"},
                    )
        under = np.asarray(pushed[0]) > 0 if pushed is not None else np.zeros(n, bool)
        colours = np.where(rnd > 0, "tab:red", np.where(under, "tab:orange", "tab:green"))
        ax_net.scatter(x, y, s=600, c=list(colours), zorder=3, edgecolors="k")
        for k in range(n):
            label = f"{k}" if rnd[k] == 0 else f"{k}\nround {int(rnd[k])}"
            label += "\ninsolvent" if under[k] else ""
            ax_net.text(x[k], y[k], label, ha="center", va="center", fontsize=8, zorder=4)
        ax_net.set_title(
            "Overnight network at the last default\n(debtor → creditor, width ∝ amount due; red: defaulted "
            "in round k, orange: made insolvent)",
            fontsize=10,
        )
    else:
        ax_net.text(0.5, 0.5, "no interbank network recorded", ha="center", transform=ax_net.transAxes)
    ax_net.set_aspect("equal")
    ax_net.set_axis_off()
    part = _first_point(df)
    t, series = _median_series(
        part, ["interbank_defaults", "contagion_failures", "bank_defaults", "systemic_risk"]
    )
    for name, values in series.items():
        if name != "systemic_risk":
            ax_ts.step(t, values, where="post", label=name)
    ax_ts.set_xlabel("step")
    ax_ts.set_ylabel("banks")
    if "systemic_risk" in series:
        right = ax_ts.twinx()
        right.plot(t, series["systemic_risk"], color="k", lw=0.8, label="systemic_risk (DebtRank)")
        right.set_ylabel("largest single-bank DebtRank")
        right.legend(loc="upper right", fontsize=8)
    ax_ts.legend(loc="upper left", fontsize=8)
    ax_ts.set_title("Defaults and systemic risk (median over runs)")
    return fig


def yield_curve(results: Any, df: pd.DataFrame, options: dict[str, Any]) -> Figure:
    part = _first_point(df)
    names = ["yield_2y", "yield_5y", "yield_10y", "yield_30y"]
    t, series = _median_series(part, [*names, "term_spread", "policy_rate"])
    fig = Figure(figsize=(13, 5), layout="constrained")
    ax_t, ax_c = fig.subplots(1, 2)
    for name in [*names, "policy_rate"]:
        if name in series:
            ax_t.plot(t, 100 * series[name], label=name, lw=1.0)
    ax_t.set_xlabel("step")
    ax_t.set_ylabel("% a year")
    ax_t.legend(fontsize=8)
    ax_t.set_title("Yields over time (median over runs)")
    tenors = np.array([2.0, 5.0, 10.0, 30.0])
    if all(n in series for n in names) and t.size > 1:
        picks = np.unique(np.linspace(1, t.size - 1, 5).astype(int))
        for k in picks:
            ax_c.plot(tenors, [100 * series[n][k] for n in names], marker="o", label=f"step {int(t[k])}")
        ax_c.legend(fontsize=8)
    ax_c.set_xlabel("maturity (years)")
    ax_c.set_ylabel("% a year")
    ax_c.set_title("The yield curve at a few dates")
    return fig


def bank_run(results: Any, df: pd.DataFrame, options: dict[str, Any]) -> Figure:
    part = _first_point(df)
    fig = Figure(figsize=(13, 5), layout="constrained")
    ax_w, ax_d = fig.subplots(1, 2)
    for ax, name, title in (
        (ax_w, "withdrawals_by_bank", "Withdrawals in runs, by bank (median over runs)"),
        (ax_d, "deposits_by_bank", "Deposits by bank (median over runs)"),
    ):
        cols = _bank_columns(part, name)
        t, series = _median_series(part, cols)
        for c in cols:
            ax.plot(t, series[c], label=f"bank {c.rsplit('_', 1)[1]}", lw=1.0)
        ax.set_xlabel("step")
        ax.set_title(title)
        if cols:
            ax.legend(fontsize=8)
    return fig


def bubble(results: Any, df: pd.DataFrame, options: dict[str, Any]) -> Figure:
    part = _first_point(df)
    first = part[part["run"] == part["run"].min()]
    fig = Figure(figsize=(13, 5), layout="constrained")
    ax_p, ax_s = fig.subplots(1, 2)
    t = first["timestep"].to_numpy()
    ax_p.plot(t, first["asset_price"], label="price", lw=1.0)
    ax_p.plot(t, first["asset_fundamental"], label="fundamental", lw=1.0, color="k")
    ax_p.set_xlabel("step")
    ax_p.legend(fontsize=8)
    ax_p.set_title("Equity price against its fundamental (first run)")
    ax_s.plot(t, first["speculator_share"], lw=1.0, label="trend-followers' share")
    ax_s.plot(t, first["price_to_fundamental"] - 1.0, lw=0.8, label="price / fundamental − 1")
    ax_s.axhline(0.0, color="0.6", lw=0.5)
    ax_s.set_xlabel("step")
    ax_s.legend(fontsize=8)
    ax_s.set_title("Brock–Hommes: who trades, and the mispricing")
    return fig
