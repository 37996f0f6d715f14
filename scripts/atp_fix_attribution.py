"""How much each of atp's fixes changes the economy: every fix reverted alone, and all of them together.

    python scripts/atp_fix_attribution.py                          # H1 and H10, N = 200 000, 1 000 steps
    python scripts/atp_fix_attribution.py --n 20000 --steps 200 --at 1 10 100 199
    python scripts/atp_fix_attribution.py --json attribution.json  # the numbers, for further use
    python scripts/atp_fix_attribution.py --from-json attribution.json     # their tables again

Each variant is one run of the same scenario file with one legacy switch on (``legacy_*``, see the atp
README, "Deviations"), or with one of the parts built beyond the original made neutral (the FX valve shut,
``beta_ext`` → ∞, the README's demography keys at their neutral values). All variants of a scenario step
together in one batch and share every random draw (the same world, the same generation noise), so each
row differs from the defaults by its switch alone. "all reverted" is the original's step on econsim's
world; "+ re-seeded world" also draws the world as the original does (its stoichiometry reuses the
geography's numbers), a different world.

Rows of the printed tables are variants; each cell holds a world aggregate at the recorded steps (the
original's row numbering: step k is the (k+1)-th step taken): world GDP (value added), the mean price over
regions and goods, the mean sink utilisation P/C, mean μ, mean λ, and world population.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "H1": ROOT / "configs" / "atp" / "H1_baseline_stability.yaml",
    "H10": ROOT / "configs" / "atp" / "H10_decouple_and_grow.yaml",
}
SWITCHES: dict[str, dict[str, Any]] = {
    "1 ageing backwards": {"legacy_reverse_ageing": True},
    "2 storage gains energy": {"legacy_storage_gain": True},
    "3 endowments miss the pools": {"legacy_endowment_drift": True},
    "4 no FX valve": {"fx_cap_mult": 0.0},
    "7 storage above capacity": {"legacy_initial_storage": True},
    "8 cut discharge lost": {"legacy_discharge_loss": True},
    "9 GDP at updated prices": {"legacy_gdp_prices": True},
    "10 Patankar reserves": {"legacy_reserves": True},
    "11 inventory clamp": {"legacy_inventory_clamp": True},
    "13 day-0 placeholders": {"legacy_day0_demography": True},
    "15 dead price floor": {"legacy_price_floor": True},
    "README demography keys neutral": {
        "birth_base": 0.015,
        "death_base": 0.010,
        "birth_k": 0.0,
        "death_k": 0.0,
    },
    "beta_ext → ∞ ([A]₊)": {"beta_ext": 1e9},
}
METRICS = ("GDP", "price", "util", "μ", "λ", "population")


def variants() -> dict[str, dict[str, Any]]:
    """Label → parameter overrides: the defaults, each fix reverted alone, all reverted."""
    every: dict[str, Any] = {}
    for values in SWITCHES.values():
        every.update(values)
    return {
        "defaults (all fixes)": {},
        **SWITCHES,
        "all reverted": every,
        "all reverted + re-seeded world": {**every, "legacy_world_reseed": True},
    }


def attribution(
    scenario: Path,
    n_agents: int,
    at: tuple[int, ...],
    labels: list[str] | None = None,
    sizes: dict[str, int] | None = None,
) -> dict[str, dict[str, list[float]]]:
    """label → metric → values at the rows ``at`` (0-based step numbers, as the original's metrics)."""
    from econsim.engine.simulation import Simulation
    from econsim.experiment.config import load_config
    from econsim.models.registry import get_model

    cfg = load_config(scenario)
    model = get_model("atp")
    table = variants()
    labels = labels or list(table)
    base = {**cfg.params, **(sizes or {}), "N": n_agents}
    per_run: dict[str, list[Any]] = {}
    names = sorted({k for label in labels for k in table[label]})
    defaults = {p.name: p.default for p in model.params}
    for name in names:
        per_run[name] = [table[label].get(name, base.get(name, defaults[name])) for label in labels]
    # every run the same identity: the same world and the same generation noise in every variant
    sim = Simulation(
        model,
        {**base, **{k: np.array(v) for k, v in per_run.items()}},
        run=np.zeros(len(labels), dtype=np.int64),
        seed=cfg.seed or 0,
        strict=False,
        record_every=max(at) + 2,  # the rows are read from the state, not the records
    )
    s = sim.state
    out: dict[str, dict[str, list[float]]] = {label: {m: [] for m in METRICS} for label in labels}
    wanted = set(at)
    for t in range(max(at) + 1):
        sim.step()
        if t not in wanted:
            continue
        values = {
            "GDP": s.gdp_r.sum(axis=1),
            "price": s.price_rg.mean(axis=(1, 2)),
            "util": (s.pollutant_r / s.sink_cap_r).mean(axis=1),
            "μ": s.mu_r.mean(axis=1),
            "λ": s.lam_r.mean(axis=1),
            "population": s.pop_r.sum(axis=1),
        }
        for b, label in enumerate(labels):
            for m in METRICS:
                out[label][m].append(float(values[m][b]))
    return out


def _cell(values: list[float]) -> str:
    return " / ".join(f"{v:#.4g}" for v in values)


def markdown(name: str, result: dict[str, dict[str, list[float]]], at: tuple[int, ...], n: int) -> str:
    steps = ", ".join(map(str, at))
    lines = [
        f"**{name}**, N = {n}, steps {steps} (each cell: the values at those steps)",
        "",
        "| variant | " + " | ".join(METRICS) + " |",
        "|---|" + "---|" * len(METRICS),
    ]
    for label, metrics in result.items():
        lines.append(f"| {label} | " + " | ".join(_cell(metrics[m]) for m in METRICS) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=200_000, help="agents (the scenarios' N is 200 000)")
    parser.add_argument("--at", type=int, nargs="+", default=[1, 10, 100, 999], help="steps reported")
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    parser.add_argument("--from-json", type=Path, help="print the tables of a file written by --json")
    args = parser.parse_args(argv)
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        for name, result in saved["results"].items():
            print(markdown(name, result, tuple(saved["at"]), saved["N"]) + "\n")
        return
    at = tuple(sorted(set(args.at)))
    results = {}
    for name in args.scenarios:
        started = time.perf_counter()
        results[name] = attribution(SCENARIOS[name], args.n, at)
        print(markdown(name, results[name], at, args.n), flush=True)
        print(f"\n({time.perf_counter() - started:.0f} s)\n", file=sys.stderr, flush=True)
    if args.json:
        args.json.write_text(
            json.dumps({"N": args.n, "at": at, "results": results}, indent=1, ensure_ascii=False)
        )


if __name__ == "__main__":
    main()
