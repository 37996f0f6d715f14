"""The economy's aggregates at the end of a step: prices, inflation, expectations, labour-market rates,
and the recorded monetary and financial totals.

    P = Σ_f p_f·x_f / Σ_f x_f (consumption-goods firms, x sales)      π = P/P₋₁ − 1
    π^e ← π^e + λ(π − π^e)                                            adaptive expectations
    u = unemployed / households        v = open positions / (open positions + employed)
    potential output ← 0.98·potential + 0.02·real output              (the Taylor rule's trend)

Observables (from the ledger), the textbook aggregates: M0 = currency + reserves = banks' reserves (the
monetary base; this economy has no currency), M1 = currency + demand deposits = deposits of households and
firms, M2 = M1 + savings (time) deposits, credit = loans to firms,
leverage = loans / (capital + deposits) of firms, government debt = bonds outstanding, the deficit = the
government's net lending requirement this step, and the Gini coefficient of household wealth (deposits, savings and shares).
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.models.banking import accounts
from econsim.models.banking.markets import SKILL_WEIGHT


def macro(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    f, h = s.firms, s.households
    led = p.ledger_template.load(s, prefix=accounts.PREFIX, copy=False)
    consumer = p.firm_kind_f == 0
    sold = f.sales * consumer
    price = np.where(
        sold.sum(axis=1) > 0,
        (f.price * sold).sum(axis=1) / np.maximum(sold.sum(axis=1), 1e-300),
        s.price_index,
    )
    if p.clearing == "multiplier":
        price = np.ones_like(price)
    inflation = price / np.maximum(s.price_index, 1e-300) - 1.0
    expected = s.expected_inflation + np.asarray(p.expectation_gain) * (inflation - s.expected_inflation)
    employed = h.employer >= 0
    open_positions = f.unfilled.sum(axis=1)
    weights = SKILL_WEIGHT[h.skill]
    wage_index = (h.wage * employed).sum(axis=1) / np.maximum((weights * employed).sum(axis=1), 1e-300)
    gov = led._sector("government")
    deficit = -led.flow[:, :, gov].sum(axis=1)  # the government's uses less its sources of funds
    return {
        "price_index": price,
        "inflation": inflation,
        "expected_inflation": expected,
        "unemployment": _unemployment(employed, h.studying > 0),
        "vacancy_rate": open_positions / np.maximum(open_positions + employed.sum(axis=1), 1),
        "wage_index": wage_index,
        "potential": 0.98 * s.potential + 0.02 * s.gdp,
        "deficit": deficit,
    }


def _unemployment(employed_bh: np.ndarray, studying_bh: np.ndarray) -> np.ndarray:
    """Unemployed / labour force; students (``education``) are out of the labour force."""
    force = (~studying_bh).sum(axis=1)
    return np.where(
        studying_bh.any(axis=1),
        1.0 - employed_bh.sum(axis=1) / np.maximum(force, 1),
        1.0 - employed_bh.mean(axis=1),
    )


def _stock(s: Arrays, p, sector: str, instrument: str) -> np.ndarray:
    led = p.ledger_template.load(s, prefix=accounts.PREFIX, copy=False)
    return led.stock_of(sector, instrument)


def gini(x_bn: np.ndarray) -> np.ndarray:
    """Gini coefficient of each row: Σ_i (2i − n − 1)·x_(i) / (n·Σ x), x sorted ascending (negatives at 0)."""
    x = np.sort(np.maximum(x_bn, 0.0), axis=1)
    n = x.shape[1]
    rank = 2 * np.arange(1, n + 1) - n - 1
    return (x * rank).sum(axis=1) / np.maximum(n * x.sum(axis=1), 1e-300)


OBSERVABLES = {
    "credit": lambda s, p: -_stock(s, p, "firms", "loans").sum(axis=1),
    "leverage": lambda s, p: (
        -_stock(s, p, "firms", "loans").sum(axis=1)
        / np.maximum(
            (_stock(s, p, "firms", "capital") + _stock(s, p, "firms", "deposits")).sum(axis=1), 1e-300
        )
    ),
    "consumer_credit": lambda s, p: -_stock(s, p, "households", "loans").sum(axis=1),
    "gov_debt": lambda s, p: -_stock(s, p, "government", "bonds")[:, 0],
    "m0": lambda s, p: _stock(s, p, "banks", "reserves").sum(axis=1),
    "m1": lambda s, p: (
        _stock(s, p, "households", "deposits").sum(axis=1) + _stock(s, p, "firms", "deposits").sum(axis=1)
    ),
    "m2": lambda s, p: (
        _stock(s, p, "households", "deposits").sum(axis=1)
        + _stock(s, p, "firms", "deposits").sum(axis=1)
        + _stock(s, p, "households", "savings").sum(axis=1)
    ),
    "wealth_gini": lambda s, p: gini(
        _stock(s, p, "households", "deposits")
        + _stock(s, p, "households", "savings")
        + _stock(s, p, "households", "equity")
    ),
    "bank_equity_ratio": lambda s, p: _bank_equity_ratio(s, p),
}


def _bank_equity_ratio(s: Arrays, p) -> np.ndarray:
    """Banks' equity over their total financial assets, Σ equity / Σ max(stock, 0) (the leverage ratio of
    Basel III): defined whenever banks hold anything — a ratio to loans alone is unbounded in an economy
    whose loans last one step (``clearing: bam``) or that has none (``sim``)."""
    assets = np.zeros(s["banks.equity"].shape)
    for instrument in accounts.INSTRUMENTS:  # a fixed order of additions: the same sum at any batch size
        assets = assets + np.maximum(_stock(s, p, "banks", instrument), 0.0)
    total = assets.sum(axis=1)
    return np.where(total > 0, s["banks.equity"].sum(axis=1) / np.where(total > 0, total, 1.0), 0.0)


def stylized_facts_report(results) -> dict:
    """The business-cycle stylized facts of every run (after a burn-in of a quarter of the steps), each
    beside its published value with PASS/FAIL (``analysis.stylized_facts``), and their figure."""
    from econsim.analysis.stylized_facts import facts_table, stylized_facts

    names = ("gdp", "consumption", "investment", "unemployment", "vacancy_rate", "inflation", "credit")
    series = {name: results.stacked(name)[:, 1:] for name in names}  # step 0 is the initial state
    steps = series["gdp"].shape[1]
    finals = results.final_state()
    sizes = finals.get("firm_output")
    facts = stylized_facts(series, firm_sizes=sizes, steps_per_quarter=3, burn_in=steps // 4)
    table = facts_table(facts)
    failed = [f.name for f in facts if not f.passed]
    report = {
        "runs": int(series["gdp"].shape[0]),
        "steps": int(steps),
        "passed": len(facts) - len(failed),
        "failed": failed,
        "facts": table.to_dict(orient="records"),
        "headline": f"{len(facts) - len(failed)} of {len(facts)} stylized facts pass"
        + (f"; failing: {', '.join(failed)}" if failed else ""),
    }
    if results.folder is not None:
        from econsim.plotting.stylized_facts import stylized_facts_figure

        figure_dir = results.folder / "figures"
        figure_dir.mkdir(parents=True, exist_ok=True)
        stylized_facts_figure(facts, series, burn_in=steps // 4).savefig(
            figure_dir / "stylized_facts.png", dpi=90
        )
        table.to_csv(results.folder / "stylized_facts.csv", index=False)
        report["figure"] = str(figure_dir / "stylized_facts.png")
    return report
