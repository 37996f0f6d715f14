"""Stylized facts of business cycles, measured on simulated runs and set beside published values.

Series come as (runs × time) arrays of one step's frequency; they are aggregated to quarters (flows summed,
stocks and rates averaged), the burn-in dropped, and — for the cycle moments — HP-filtered with λ = 1600
(logs of positive quantities, levels of rates). Each statistic is computed per run and averaged over runs;
the spread over runs gives its Monte Carlo standard error.

Facts and their references (``PUBLISHED``):

* relative volatility σ(c)/σ(y) and σ(i)/σ(y), first-order autocorrelations and correlations with output
  of HP cycles — US quarterly data 1947–1996, King and Rebelo (1999, *Handbook of Macroeconomics*, Table 1):
  σ_c/σ_y = 0.74, σ_i/σ_y = 2.93; ρ₁(y) = 0.84, ρ₁(c) = 0.80, ρ₁(i) = 0.87; corr(c, y) = 0.88,
  corr(i, y) = 0.80. Bands are the values ± a tolerance chosen wide enough for a model of this size.
* Okun's law: Δu_t = a + b·g_t (quarterly change of the unemployment rate in points on quarterly output
  growth in per cent), b < 0; Okun (1962) gives about −0.3 for the gap version, the BAM book (Delli Gatti
  et al. 2011, ch. 3) reproduces a negative relation.
* Phillips curve: corr(inflation, unemployment) < 0; Beveridge curve: corr(vacancy rate, unemployment)
  < 0 — both shown by the BAM book's baseline.
* firm sizes: right-skewed with a Pareto-like upper tail; Axtell (2001, *Science*) finds a tail exponent
  α ≈ 1.06 for US firms. PASS when the Hill estimate of α on the top 10 % lies in [0.6, 2.5].
* fat tails of output growth: excess kurtosis > 0 (Fagiolo, Napoletano and Roventini 2008 find
  Laplace-like growth rates in OECD data, excess kurtosis near 3).
* procyclical credit: corr(credit cycle, output cycle) > 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from econsim.analysis.filters import HP_LAMBDA, aggregate, hp_filter


@dataclass(frozen=True)
class Published:
    value: float | None  # None where the reference gives a sign, not a number
    low: float
    high: float
    source: str


PUBLISHED: dict[str, Published] = {
    "rel_vol_consumption": Published(0.74, 0.4, 1.2, "US data, King & Rebelo (1999) Table 1"),
    "rel_vol_investment": Published(2.93, 1.5, 5.0, "US data, King & Rebelo (1999) Table 1"),
    "autocorr_gdp": Published(0.84, 0.5, 0.98, "US data, King & Rebelo (1999) Table 1"),
    "autocorr_consumption": Published(0.80, 0.4, 0.98, "US data, King & Rebelo (1999) Table 1"),
    "autocorr_investment": Published(0.87, 0.4, 0.98, "US data, King & Rebelo (1999) Table 1"),
    "corr_consumption_gdp": Published(0.88, 0.4, 1.0, "US data, King & Rebelo (1999) Table 1"),
    "corr_investment_gdp": Published(0.80, 0.3, 1.0, "US data, King & Rebelo (1999) Table 1"),
    "corr_unemployment_gdp": Published(None, -1.0, -0.2, "countercyclical: BAM book ch. 3; US data"),
    "okun_slope": Published(-0.3, -2.0, -0.05, "Okun (1962); BAM book ch. 3 (negative)"),
    "phillips_corr": Published(None, -1.0, -0.05, "BAM book ch. 3 (negative)"),
    "beveridge_corr": Published(None, -1.0, -0.1, "BAM book ch. 3 (negative)"),
    "firm_size_tail_alpha": Published(1.06, 0.6, 2.5, "Axtell (2001), US firms"),
    "firm_size_skew": Published(None, 0.5, np.inf, "right-skewed firm sizes: Axtell (2001)"),
    "gdp_growth_excess_kurtosis": Published(3.0, 0.0, np.inf, "Fagiolo, Napoletano & Roventini (2008)"),
    "corr_credit_gdp": Published(None, 0.0, 1.0, "procyclical credit: BAM book; US data"),
}


@dataclass(frozen=True)
class Fact:
    name: str
    value: float
    stderr: float
    published: float | None
    low: float
    high: float
    source: str

    @property
    def passed(self) -> bool:
        return bool(np.isfinite(self.value) and self.low <= self.value <= self.high)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def _corr_r(a_rt: np.ndarray, b_rt: np.ndarray) -> np.ndarray:
    """Pearson correlation per run (row)."""
    a = a_rt - a_rt.mean(axis=1, keepdims=True)
    b = b_rt - b_rt.mean(axis=1, keepdims=True)
    denom = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(axis=1) / denom


def autocorr(x_rt: np.ndarray, lag: int = 1) -> np.ndarray:
    """Lag-``lag`` autocorrelation per run: corr(x_t, x_{t−lag})."""
    return _corr_r(x_rt[:, lag:], x_rt[:, :-lag])


def slope(y_rt: np.ndarray, x_rt: np.ndarray) -> np.ndarray:
    """OLS slope of y on x (with intercept) per run."""
    x = x_rt - x_rt.mean(axis=1, keepdims=True)
    y = y_rt - y_rt.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (x * y).sum(axis=1) / (x * x).sum(axis=1)


def hill_tail_index(sizes: np.ndarray, top: float = 0.1) -> float:
    """Hill's estimator of the Pareto tail exponent α from the largest ``top`` share of positive sizes:
    α̂ = k / Σ_{i≤k} log(x_(i) / x_(k+1))."""
    x = np.sort(np.asarray(sizes, dtype=float)[np.asarray(sizes) > 0])[::-1]
    k = max(2, int(top * len(x)))
    if len(x) <= k:
        return float("nan")
    return float(k / np.log(x[:k] / x[k]).sum())


def excess_kurtosis(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 4:
        return float("nan")
    d = x - x.mean()
    return float((d**4).mean() / (d**2).mean() ** 2 - 3.0)


def skewness(x: np.ndarray) -> float:
    d = np.asarray(x, dtype=float) - np.mean(x)
    return float((d**3).mean() / (d**2).mean() ** 1.5)


def _mean_se(values_r: np.ndarray) -> tuple[float, float]:
    v = values_r[np.isfinite(values_r)]
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0


def quarterly(
    series: Mapping[str, np.ndarray], steps_per_quarter: int, flows: set[str]
) -> dict[str, np.ndarray]:
    """Each (runs × steps) series as quarters: flows summed, everything else averaged."""
    if steps_per_quarter == 1:
        return {k: np.atleast_2d(np.asarray(v, dtype=float)) for k, v in series.items()}
    return {k: aggregate(v, steps_per_quarter, "sum" if k in flows else "mean") for k, v in series.items()}


def stylized_facts(
    series: Mapping[str, np.ndarray],
    *,
    firm_sizes: np.ndarray | None = None,
    steps_per_quarter: int = 3,
    burn_in: int = 0,
    flows: tuple[str, ...] = ("gdp", "consumption", "investment"),
) -> list[Fact]:
    """The facts above from (runs × steps) arrays named ``gdp`` (real output), ``consumption``,
    ``investment``, ``unemployment`` and ``vacancy_rate`` (shares), ``inflation`` (per step, a share),
    ``credit`` (stock); ``firm_sizes`` pooled from the last step. Missing series skip their facts."""
    trimmed = {k: np.atleast_2d(np.asarray(v, dtype=float))[:, burn_in:] for k, v in series.items()}
    q = quarterly(trimmed, steps_per_quarter, set(flows))
    lam = HP_LAMBDA["quarterly"]
    cyc: dict[str, np.ndarray] = {}
    for name in ("gdp", "consumption", "investment", "credit"):
        if name in q:
            cyc[name] = hp_filter(np.log(np.maximum(q[name], 1e-12)), lam)[1]
    for name in ("unemployment", "vacancy_rate", "inflation"):
        if name in q:
            cyc[name] = hp_filter(q[name], lam)[1]

    values: dict[str, np.ndarray | float] = {}
    if "gdp" in cyc:
        sd_y = cyc["gdp"].std(axis=1)
        values["autocorr_gdp"] = autocorr(cyc["gdp"])
        for name in ("consumption", "investment"):
            if name in cyc:
                values[f"rel_vol_{name}"] = cyc[name].std(axis=1) / sd_y
                values[f"autocorr_{name}"] = autocorr(cyc[name])
                values[f"corr_{name}_gdp"] = _corr_r(cyc[name], cyc["gdp"])
        if "unemployment" in cyc:
            values["corr_unemployment_gdp"] = _corr_r(cyc["unemployment"], cyc["gdp"])
        if "credit" in cyc:
            values["corr_credit_gdp"] = _corr_r(cyc["credit"], cyc["gdp"])
        if "unemployment" in q:
            growth_pct = 100 * np.diff(np.log(np.maximum(q["gdp"], 1e-12)), axis=1)
            values["okun_slope"] = slope(100 * np.diff(q["unemployment"], axis=1), growth_pct)
        growth = np.diff(np.log(np.maximum(q["gdp"], 1e-12)), axis=1)
        standardized = (growth - growth.mean(axis=1, keepdims=True)) / growth.std(axis=1, keepdims=True)
        values["gdp_growth_excess_kurtosis"] = excess_kurtosis(standardized.ravel())
    if "inflation" in q and "unemployment" in q:
        values["phillips_corr"] = _corr_r(q["inflation"], q["unemployment"])
    if "vacancy_rate" in q and "unemployment" in q:
        values["beveridge_corr"] = _corr_r(q["vacancy_rate"], q["unemployment"])
    if firm_sizes is not None:
        sizes = np.asarray(firm_sizes, dtype=float).ravel()
        sizes = sizes[np.isfinite(sizes) & (sizes > 0)]
        values["firm_size_tail_alpha"] = hill_tail_index(sizes)
        values["firm_size_skew"] = skewness(sizes)

    facts = []
    for name, ref in PUBLISHED.items():
        if name not in values:
            continue
        v = values[name]
        value, se = _mean_se(v) if isinstance(v, np.ndarray) else (float(v), 0.0)
        facts.append(Fact(name, value, se, ref.value, ref.low, ref.high, ref.source))
    return facts


def facts_table(facts: list[Fact]) -> Any:
    """The facts as a DataFrame: name, value, stderr, published, band, PASS/FAIL, source."""
    import pandas as pd

    return pd.DataFrame([{**f.to_dict(), "result": "PASS" if f.passed else "FAIL"} for f in facts])
