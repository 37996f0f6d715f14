"""Runs that diverged: counted after every experiment, left out of figures unless asked for.

A model may declare when one of its runs has diverged, in the extras registered beside it::

    extras = ModelExtras(divergence=Divergence("price", at_or_below=0.0))      # econsim.models.honey

(``models.registry.divergence_of(name)`` finds it by the model's name.)

A run has diverged once that recorded variable is at or below the value, or infinite, at any recorded
step. (The honey notebook's price walk ``price' = price·(1 ± |ε|)`` turns the price negative on a move
|ε| > 1 away from zero, after which the run runs away: a few such runs dominate every mean.) The count
is found from that one column, part by part, and recorded with the experiment's reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


class DivergedRunsWarning(UserWarning):
    """Some runs of an experiment diverged (see ``Results.reports['diverged_runs']``)."""


@dataclass(frozen=True)
class Divergence:
    """A run has diverged once ``var`` is at or below ``at_or_below`` (or infinite) at a recorded step."""

    var: str
    at_or_below: float

    def describe(self) -> str:
        return f"{self.var} ≤ {self.at_or_below:g}"


def diverged_runs(results: Any, rule: Divergence | None) -> dict[str, Any] | None:
    """``{"rule", "runs", "diverged", "share", "keys"}`` — ``keys`` the (subset, run) pairs of the runs
    that diverged under ``rule`` — or None without a rule or when its variable was not recorded."""
    if rule is None:
        return None
    n_runs, bad = 0, []
    for table in results.iter_tables(["subset", "run", rule.var]):
        if rule.var not in table.column_names:
            return None
        if table.num_rows == 0:
            continue
        subset = table["subset"].to_numpy().astype(np.int64)
        run = table["run"].to_numpy().astype(np.int64)
        values = table[rule.var].to_numpy(zero_copy_only=False).astype(float)
        key = (subset << 32) | run
        if np.any(key[1:] < key[:-1]):  # parts are written run by run; sort if one was not
            order = np.argsort(key, kind="stable")
            key, values = key[order], values[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        hit = (np.minimum.reduceat(values, starts) <= rule.at_or_below) | np.logical_or.reduceat(
            np.isinf(values), starts
        )
        n_runs += len(starts)
        for k in key[starts[hit]].tolist():
            bad.append((k >> 32, k & 0xFFFFFFFF))
    bad.sort()
    return {
        "rule": rule.describe(),
        "runs": n_runs,
        "diverged": len(bad),
        "share": len(bad) / n_runs if n_runs else 0.0,
        "keys": bad,
    }


def divergence_report(summary: dict[str, Any]) -> dict[str, Any]:
    """The JSON-ready record of ``diverged_runs``: counts overall and per sweep point, and a headline."""
    by_subset: dict[str, int] = {}
    for subset, _ in summary["keys"]:
        by_subset[str(subset)] = by_subset.get(str(subset), 0) + 1
    share = 100 * summary["share"]
    return {
        "headline": (
            f"{summary['diverged']:,} of {summary['runs']:,} runs ({share:.2f} %) diverged "
            f"({summary['rule']} at some recorded step); figures leave them out (exclude_diverged)"
            if summary["diverged"]
            else f"no run diverged ({summary['rule']}) among {summary['runs']:,}"
        ),
        "rule": summary["rule"],
        "runs": summary["runs"],
        "diverged": summary["diverged"],
        "share": summary["share"],
        "by_subset": by_subset,
    }
