"""Figures read the store part by part: their aggregates equal pandas' on the full table, their memory
stays bounded for a sweep of many runs, diverged runs are counted and left out, panels follow the sweep."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import econsim
from econsim.analysis.divergence import DivergedRunsWarning, diverged_runs
from econsim.engine.errors import ConfigError
from econsim.experiment.figures import save_figures
from econsim.models.registry import divergence_of
from econsim.plotting.aggregate import RunIndex, band, centre
from econsim.plotting.heatmap import final_grid

# a wide price walk: some runs turn negative (diverge) within 40 steps
WILD = {
    "model": "honey",
    "params": {"p_variance": 0.6},
    "sweep": {"grid": {"throttle": [0.002, 0.01, 0.03], "target_reserve_ratio": [0.3, 0.1]}},
    "runs": 25,
    "steps": 40,
    "seed": 4,
    "memory_budget_mb": 1,  # many small parts
}


@pytest.fixture(scope="module")
def wild(tmp_path_factory):
    out = tmp_path_factory.mktemp("wild") / "r"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergedRunsWarning)
        res = econsim.run(WILD, out=str(out))
    assert len(res.manifest["batches"]) >= 3
    return res


def test_streamed_aggregates_equal_pandas_on_the_full_frame(wild):
    df = wild.to_pandas()
    index = RunIndex(wild, ["throttle"])
    values = index.matrix("price")
    facet = index.values["throttle"]
    for fv, group in df.groupby("throttle"):
        rows = values[facet == fv]
        by_t = group.groupby("timestep")["price"]
        np.testing.assert_allclose(centre(rows, "mean"), by_t.mean().to_numpy(), rtol=1e-12)
        np.testing.assert_array_equal(centre(rows, "median"), by_t.median().to_numpy())
        low, high = band(rows)
        np.testing.assert_allclose(low, by_t.quantile(0.1).to_numpy(), rtol=1e-12)
        np.testing.assert_allclose(high, by_t.quantile(0.9).to_numpy(), rtol=1e-12)
    # the heatmap's cells: the mean and median of the final values per (x, y), as pandas pivots them
    grid_index = RunIndex(wild, ["throttle", "target_reserve_ratio"])
    finals = grid_index.matrix("saturation", last_only=True)
    last = df[df["timestep"] == df["timestep"].max()]
    for statistic in ("mean", "median"):
        xs, ys, grid, count = final_grid(grid_index, "throttle", "target_reserve_ratio", finals, statistic)
        pivot = last.pivot_table(
            index="target_reserve_ratio", columns="throttle", values="saturation", aggfunc=statistic
        )
        np.testing.assert_allclose(grid, pivot.loc[ys, xs].to_numpy(), rtol=1e-12)
        assert count.sum() == len(last) == 150


def test_diverged_runs_are_the_runs_whose_price_went_negative(wild):
    df = wild.to_pandas()
    lowest = df.groupby(["subset", "run"])["price"].min()
    expected = sorted(lowest[lowest <= 0].index.tolist())
    summary = diverged_runs(wild, divergence_of("honey"))
    assert summary["keys"] == expected and summary["diverged"] == len(expected) > 0
    assert summary["runs"] == 150 and summary["share"] == pytest.approx(len(expected) / 150)
    report = json.loads((wild.folder / "report.json").read_text())["diverged_runs"]
    assert report["diverged"] == len(expected)
    assert sum(report["by_subset"].values()) == len(expected)
    assert f"{len(expected)} of 150 runs" in report["headline"]


def test_a_run_with_diverged_runs_warns():
    with pytest.warns(DivergedRunsWarning, match="of 150 runs"):
        econsim.run({**WILD, "memory_budget_mb": 256})


def test_figures_say_how_many_runs_diverged_and_follow_the_sweep_order(wild, tmp_path):
    from econsim.experiment.config import Figure
    from econsim.plotting import draw_figure

    fig = draw_figure(wild, Figure(kind="timeseries", vars=["price"], facet="target_reserve_ratio"))
    text = fig.texts[0].get_text()
    n = diverged_runs(wild, divergence_of("honey"))["diverged"]
    assert f"{n} of 150 runs diverged" in text and "excluded" in text and "median" in text
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    # the sweep lists 0.3 before 0.1: panels keep that order
    assert titles[0].startswith("target_reserve_ratio = 0.3") and titles[1].startswith(
        "target_reserve_ratio = 0.1"
    )
    both = draw_figure(
        wild,
        Figure(
            kind="heatmap",
            x="throttle",
            y="target_reserve_ratio",
            value="price",
            options={"statistic": "median", "exclude_diverged": False},
        ),
    )
    assert "median" in both.axes[0].get_title() and "included" in both.axes[0].get_title()
    written = save_figures(
        wild, [{"kind": "timeseries", "vars": ["saturation"], "facet": "throttle"}], tmp_path
    )
    assert written[0].stat().st_size > 0


def test_a_grid_of_at_most_six_columns_for_many_facets(tmp_path):
    from econsim.experiment.config import Figure
    from econsim.plotting import draw_figure

    res = econsim.run(
        {
            "model": "honey",
            "sweep": {"grid": {"productivity": {"start": 0.8, "stop": 0.96, "step": 0.01}}},
            "runs": 2,
            "steps": 5,
            "seed": 1,
        }
    )
    fig = draw_figure(res, Figure(kind="timeseries", vars=["saturation"], facet="productivity"))
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 17
    columns = {round(ax.get_position().x0, 4) for ax in visible}
    rows = {round(ax.get_position().y0, 4) for ax in visible}
    assert len(columns) == 6 and len(rows) == 3
    width, height = fig.get_size_inches()
    assert width < 25 and height < 12
    capped = draw_figure(
        res, Figure(kind="timeseries", vars=["saturation"], facet="productivity", options={"max_panels": 5})
    )
    assert len([ax for ax in capped.axes if ax.get_visible()]) == 5
    assert "5 of 17 values of productivity shown" in capped.texts[0].get_text()


def test_bad_figure_options_are_named():
    res = econsim.run({"model": "honey", "runs": 2, "steps": 3, "seed": 1})
    from econsim.experiment.config import Figure
    from econsim.plotting import draw_figure

    with pytest.raises(ConfigError, match="statistic = 'average' is not valid; choose one of: median, mean"):
        draw_figure(res, Figure(kind="timeseries", vars=["price"], options={"statistic": "average"}))
    with pytest.raises(
        ConfigError, match=r"unknown option of a heatmap figure .exclude_divergd. \(did you mean"
    ):
        draw_figure(
            res, Figure(kind="heatmap", x="a", y="b", value="price", options={"exclude_divergd": True})
        )


@pytest.mark.slow  # subprocesses, kills or heavy drawing: runs in CI with -m slow
def test_figures_of_a_sweep_with_many_runs_stay_within_a_memory_bound(tmp_path):
    # 9 sweep points × 1 500 runs × 120 steps = 13 500 runs, 1.6 M rows: the whole table as pandas and
    # arrow would take ~ 400 MB; the figures read one variable of one part at a time
    config = {
        "model": "honey",
        "sweep": {
            "zip": {
                "throttle": [0.002, 0.004, 0.008] * 3,
                "target_reserve_ratio": [0.1] * 3 + [0.2] * 3 + [0.3] * 3,
            }
        },
        "runs": 1500,
        "steps": 120,
        "seed": 3,
        "memory_budget_mb": 64,
    }
    out = tmp_path / "many"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergedRunsWarning)
        econsim.run(config, out=str(out))
    script = textwrap.dedent(
        f"""
        import resource, econsim
        from econsim.experiment.figures import save_figures
        import matplotlib.figure, pyarrow.parquet  # imported before the baseline is taken
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        res = econsim.load({str(out)!r})
        figures = [
            {{"kind": "timeseries", "vars": ["saturation", "price"], "facet": "target_reserve_ratio"}},
            {{"kind": "heatmap", "x": "throttle", "y": "target_reserve_ratio", "value": "price"}},
        ]
        written = save_figures(res, figures, {str(tmp_path / "figs")!r})
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(len(written), base // 1024, (peak - base) // 1024)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )
    n_written, base_mb, extra_mb = map(int, done.stdout.split())
    assert n_written == 2
    assert extra_mb < 120, f"drawing took {extra_mb} MB above the {base_mb} MB of the interpreter"


def test_vector_observable_columns_carry_the_models_labels():
    from econsim.models.tokens.population import STRATEGIES

    res = econsim.run({"model": "tokens", "params": {"N": 40}, "runs": 2, "steps": 3, "seed": 2})
    columns = res.column_names()
    assert [f"strategy_share_{name}" for name in STRATEGIES] == [
        c for c in columns if c.startswith("strategy_share_")
    ]
    assert "strategy_share_0" not in columns and "price_by_token_0" in columns  # unlabelled: numbered
    shares = res.stacked("strategy_share")
    assert shares.shape == (2, 4, len(STRATEGIES))
    np.testing.assert_allclose(shares.sum(axis=-1), 1.0)
