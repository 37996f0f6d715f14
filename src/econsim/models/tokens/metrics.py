"""Bookkeeping after trading and the seed's §10 metrics.

The ``account`` stage updates the price signals and the running sums the metrics need:

per token j (each (B, J)):

    r_t = log(P_t / P_{t−1})            EMA:  P̄' = P̄ + λ·(P − P̄)
    volatility   = √(Σ r_t² / t)                     (realized, per step, since the start)
    tracking     = Σ |log(P_t / V_t)| / t            (how far the price strays from the value)
    max_drawdown = max_t (1 − P_t / max_{u≤t} P_u)
    after the shock at t₀ (price P₀ just before it):
        shock_drawdown = max_{t≥t₀} (1 − P_t / P₀);  recovery_time = steps until P ≥ (1 − tol)·P₀
        (the time under water so far while not yet recovered)
    U_i = log(w_i / w_i(0)) in the token economies (log utility of wealth); the consumed value in the
    resource economy.

Every per-token variable (``TOKEN_VARS``: price, supply, volatility's sums, drawdowns …) is recorded
as its mean over the J tokens under its own name (for J = 1, the token's value), and price and
volatility also per token (``price_by_token_j``, ``volatility_by_token_j``).
Observables: wealth Gini, mean return, mean utility, exploitation (the trading gain of arbitrage,
manipulation and learning agents — wealth beyond what their endowment would be worth if simply held —
as a share of all initial wealth), each strategy's mean return and mean trading gain, its share, the learning agents' mean reward, and ``design_loss`` = volatility + tracking
(7.3's objective: a flat curve is calm but cannot follow the value, a steep one follows it nervously).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.models.tokens.evolution import mean_by_strategy
from econsim.models.tokens.policies import wealth_bn
from econsim.models.tokens.population import EXPLOITERS, LEARNING, STRATEGIES, gini_b
from econsim.models.tokens.state import TOKEN_VARS


def account(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    ret = np.log(s.price / s.prev_price)
    sum_r2 = s.sum_r2 + ret**2
    sum_track = s.sum_track + np.abs(np.log(s.price / s.value))
    peak = np.maximum(s.peak_price, s.price)
    max_drawdown = np.maximum(s.max_drawdown, 1.0 - s.price / peak)
    col = lambda x: np.asarray(x)[:, None]  # noqa: E731
    at_shock = col((s.t == p.shock_step) & (p.shock_step > 0))
    ref = np.where(at_shock, s.prev_price, s.ref_price)
    after = col((p.shock_step > 0) & (s.t >= p.shock_step))
    shock_drawdown = np.where(after, np.maximum(s.shock_drawdown, 1.0 - s.price / ref), 0.0)
    back = s.price >= (1.0 - col(p.recovery_tolerance)) * ref
    recovered = np.where(after, (s.recovered > 0) | (back & col(s.t > p.shock_step)), False)
    recovery_time = np.where(after & ~(s.recovered > 0), col(s.t - p.shock_step), s.recovery_time)
    out = {
        "last_ret": ret,
        "ema": s.ema + col(p.ema_rate) * (s.price - s.ema),
        "sum_r2": sum_r2,
        "sum_track": sum_track,
        "peak_price": peak,
        "max_drawdown": max_drawdown,
        "ref_price": ref,
        "shock_drawdown": shock_drawdown,
        "recovered": recovered.astype(float),
        "recovery_time": recovery_time.astype(float),
        "amm_price": np.where(
            s.pool_tokens > 0, s.pool_cash / np.where(s.pool_tokens > 0, s.pool_tokens, 1.0), s.price
        ),
    }
    tokens_economy = (p.venue != "resource")[:, None]
    if tokens_economy.any():
        wealth = wealth_bn(s, p)
        out["utility"] = np.where(tokens_economy, np.log(np.maximum(wealth, 1e-300) / s.wealth0), s.utility)
    return out


def _volatility_bj(s, p):
    return np.sqrt(s.sum_r2 / np.maximum(s.t, 1)[:, None])


def _volatility(s, p):
    """Mean over tokens of each token's realized volatility."""
    return _volatility_bj(s, p).mean(axis=-1)


def _tracking(s, p):
    return (s.sum_track / np.maximum(s.t, 1)[:, None]).mean(axis=-1)


def trading_gain_bn(s, p) -> np.ndarray:
    """Wealth gained by trading: w_i(t) minus what the initial endowment would be worth if held."""
    held = p.initial_cash[:, None] + np.where(
        (p.venue == "resource")[:, None], 0.0, p.initial_tokens[:, None] * s.price.sum(axis=-1)[:, None]
    )
    return wealth_bn(s, p) - held


def _exploitation(s, p):
    exploiter = np.isin(s.strategy, EXPLOITERS)
    return np.where(exploiter, trading_gain_bn(s, p), 0.0).sum(axis=-1) / s.wealth0.sum(axis=-1)


def _learner_reward(s, p):
    learner = s.strategy == LEARNING
    n = learner.sum(axis=-1)
    return np.where(n > 0, np.where(learner, s.reward, 0.0).sum(axis=-1) / np.maximum(n, 1), np.nan)


def _token_mean(name: str):
    return lambda s, p: s[name].mean(axis=-1)


OBSERVABLES = {
    **{name: _token_mean(name) for name, _, _ in TOKEN_VARS},
    "price_by_token": lambda s, p: s.price,
    "volatility_by_token": _volatility_bj,
    "volatility": _volatility,
    "tracking": _tracking,
    "design_loss": lambda s, p: _volatility(s, p) + _tracking(s, p),
    "gini": lambda s, p: gini_b(wealth_bn(s, p)),
    "mean_return": lambda s, p: (wealth_bn(s, p) / s.wealth0 - 1.0).mean(axis=-1),
    "mean_utility": lambda s, p: s.utility.mean(axis=-1),
    "exploitation": _exploitation,
    "learner_reward": _learner_reward,
    "return_by_strategy": lambda s, p: mean_by_strategy(wealth_bn(s, p) / s.wealth0 - 1.0, s.strategy),
    "gain_by_strategy": lambda s, p: mean_by_strategy(trading_gain_bn(s, p) / s.wealth0, s.strategy),
    "strategy_share": lambda s, p: s.shares,
}

#: final-step columns summarised by the ``summary`` report
SUMMARY_COLUMNS = (
    "volatility",
    "tracking",
    "design_loss",
    "max_drawdown",
    "shock_drawdown",
    "recovery_time",
    "recovered",
    "gini",
    "mean_return",
    "mean_utility",
    "exploitation",
    "utilization",
    "useful_utilization",
    "price",
    "arb_gain",
)


def summary(results) -> dict[str, Any]:
    """Per sweep point: the mean (over Monte Carlo runs) of every metric at the last step, the mean
    return of each strategy, and the learning agents' reward in the first and last tenth of the run."""
    df = results.to_pandas()
    final = df[df["timestep"] == df["timestep"].max()]
    points = []
    table = results.subsets()
    for subset, part in final.groupby("subset"):
        row: dict[str, Any] = {
            k: (v.item() if hasattr(v, "item") else v) for k, v in table.loc[subset].items()
        }
        for c in SUMMARY_COLUMNS:
            if c in part:
                row[c] = float(part[c].mean())
        for column in ("return_by_strategy", "gain_by_strategy"):
            row[column] = {
                name: float(part[f"{column}_{name}"].mean())
                for name in STRATEGIES
                if part[f"{column}_{name}"].notna().any()
            }
        learner = df[(df["subset"] == subset)][["timestep", "learner_reward"]].dropna()
        if len(learner):
            t = learner["timestep"]
            tenth = max(1, int(t.max() * 0.1))
            row["learner_reward_first_tenth"] = float(
                learner[(t > 0) & (t <= tenth)]["learner_reward"].mean()
            )
            row["learner_reward_last_tenth"] = float(learner[t > t.max() - tenth]["learner_reward"].mean())
        points.append(row)
    first = points[0] if len(points) == 1 else {}
    return {"points": points, **{k: v for k, v in first.items() if isinstance(v, float)}}
