"""The tokens model's overview figure: price against value, volatility and drawdown, returns and
shares by strategy — each panel the mean over Monte Carlo runs, one line per sweep point."""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure

from econsim.models.tokens.population import STRATEGIES


def _label(results, subset: int) -> str:
    if not results.swept:
        return "mean over runs"
    row = results.manifest["subsets"][subset]
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())


def economy_figure(results, df, options: dict[str, Any]) -> Figure:
    fig = Figure(figsize=(14, 7.5))
    axes = fig.subplots(2, 3)
    mean = df.groupby(["subset", "timestep"]).mean(numeric_only=True)
    subsets = sorted(df["subset"].unique())
    final = df[df["timestep"] == df["timestep"].max()].groupby("subset").mean(numeric_only=True)
    for subset in subsets:
        part = mean.loc[subset]
        label = _label(results, subset)
        t = part.index
        axes[0, 0].plot(t, part["price"], label=label)
        axes[0, 0].plot(t, part["value"], color="grey", linewidth=0.6, alpha=0.6)
        axes[0, 1].plot(t, part["volatility"], label=label)
        axes[0, 2].plot(t, part["max_drawdown"], label=label)
        axes[1, 0].plot(t, part["exploitation"], label=label)
        axes[1, 1].plot(t, part["gini"], label=label)
    for ax, title in zip(
        axes.flat,
        [
            "price (grey: value)",
            "realized volatility",
            "max drawdown",
            "exploitation (trading gain of strategic + learning)",
            "wealth Gini",
        ],
        strict=False,
    ):
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
        ax.set_xlabel("timestep")
    width = 0.8 / max(1, len(subsets))
    for i, subset in enumerate(subsets):
        returns = [final.loc[subset].get(f"gain_by_strategy_{name}", float("nan")) for name in STRATEGIES]
        axes[1, 2].bar(
            [k + i * width for k in range(len(STRATEGIES))],
            returns,
            width=width,
            label=_label(results, subset),
        )
    axes[1, 2].set_xticks(range(len(STRATEGIES)), STRATEGIES, rotation=45, fontsize=7)
    axes[1, 2].set_title("final trading gain by strategy (vs holding)", fontsize=9)
    axes[1, 2].grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(options.get("title", results.manifest.get("name") or "tokens"))
    fig.tight_layout()
    return fig
