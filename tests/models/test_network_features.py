"""The network model's sections beyond its core (issue 12): the edge-list graph, real-time feeds, risk,
herding, cycles, equilibria, surrogate, compression, stress tests and forecasts, and the case-study figures."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import econsim
from econsim.engine import ConfigError, Simulation
from econsim.models.network.edgelist import read_edges, write_edges
from econsim.models.registry import get_model

ROOT = pathlib.Path(__file__).parents[2]
VILLAGE = str(ROOT / "configs" / "network" / "village_links.csv")


def test_the_graph_loads_from_an_edge_list_in_both_directions(tmp_path):
    src, _ = read_edges(VILLAGE, 800)
    assert len(src) == 3300
    p = get_model("network").param_arrays({"n_agents": 800, "edge_list": VILLAGE}, 1)
    assert p.n_slots == 6600 and np.diff(p.graph_indptr).mean() == pytest.approx(8.25)
    pairs = set(zip(p.graph_sources.tolist(), p.graph_indices.tolist(), strict=True))
    assert all((j, i) in pairs for i, j in list(pairs)[:500])
    # duplicates (either way round) are kept once; comments, blank lines and tabs are fine
    f = tmp_path / "e.txt"
    f.write_text("# a triangle\n0\t1\n1 2  # spaces\n\n2,0\n1,0\n")
    s, d = read_edges(f, 3)
    assert sorted(zip(s.tolist(), d.tolist(), strict=True)) == [(0, 1), (1, 2), (2, 0)]
    out = write_edges(tmp_path / "w.csv", s, d)
    assert [tuple(x) for x in zip(*read_edges(out, 3), strict=True)] == list(zip(s, d, strict=True))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0,1\n1,x\n", r"line 2, column 2 \(character 3\): 'x' is not a node index"),
        ("source,target\n0,1\n3,9\n", r"line 3, column 2 \(character 3\): node 9 is outside 0 … 4"),
        ("0,1\n2\n", r"line 2: expected 2 columns \(source, target\), found 1"),
        ("0 1\n4 4\n", r"line 2: a link from node 4 to itself"),
        ("0,1\n-1,2\n", r"line 2, column 1 \(character 1\): '-1' is not a node index"),
        ("# nothing\n", "holds no links"),
    ],
)
def test_a_bad_edge_list_names_the_line_and_column(tmp_path, text, message):
    f = tmp_path / "bad.csv"
    f.write_text(text)
    with pytest.raises(ConfigError, match=message):
        get_model("network").param_arrays({"n_agents": 5, "mean_degree": 2, "edge_list": str(f)}, 1)


def test_a_missing_edge_list_file_is_a_config_error():
    with pytest.raises(ConfigError, match=r"edge_list .no/such\.csv.: no such file"):
        econsim.run({"model": "network", "params": {"n_agents": 50, "edge_list": "no/such.csv"}, "steps": 1})


def test_edge_list_runs_are_bit_identical_across_batch_splits():
    base = {"n_agents": 800, "edge_list": VILLAGE, "n_chains": 2, "n_assets": 2, "cluster_every": 2}
    sweep = {"zip": {"pay_rate": [0.02, 0.05, 0.02], "imitation": [0.05, 0.05, 0.2]}}
    together = econsim.run(
        {"model": "network", "params": base, "sweep": sweep, "runs": 2, "steps": 4, "seed": 3}
    )
    df = together.to_pandas()
    alone = econsim.run(
        {"model": "network", "params": {**base, "pay_rate": 0.05}, "runs": 2, "steps": 4, "seed": 3}
    ).to_pandas()
    part = df[df["subset"] == 1].drop(columns=["subset"]).reset_index(drop=True)
    cols = [c for c in alone.columns if c in part.columns and c != "subset"]
    assert part[cols].equals(alone[cols])
    sim = Simulation(get_model("network"), base, runs=1, seed=3)
    sim.run(4)
    assert (sim.records.columns["p2p_volume"][1:] > 0).all()


# --------------------------------------------------------------------------- real time (§5)
FEED = ROOT / "configs" / "network" / "defi_feed.csv"
DEFI = {"n_agents": 300, "n_chains": 3, "n_assets": 3, "graph": "barabasi_albert", "mean_degree": 10}


def test_stream_tail_returns_only_complete_appended_lines(tmp_path):
    from econsim.models.network.realtime import StreamTail

    f = tmp_path / "feed.csv"
    f.write_text("time,chain,asset,price\n0.1,0,1,1.0\n0.2,0,1")
    tail = StreamTail(f)
    first = tail.poll()
    assert [(r.time, r.price) for r in first] == [(0.1, 1.0)]
    assert tail.poll() == []
    with open(f, "a") as fh:
        fh.write(",1.1\n0.5,1,2,0.9\n")
    assert [(r.time, r.chain, r.asset, r.price) for r in tail.poll()] == [(0.2, 0, 1, 1.1), (0.5, 1, 2, 0.9)]
    with open(f, "a") as fh:
        fh.write("0.7,1,2\n")
    with pytest.raises(ConfigError, match=r"line 5: expected 4 columns"):
        tail.poll()


def test_feed_filter_variance_reaches_the_closed_form_and_readings_are_taken_in_time_order():
    from econsim.analysis.kalman import steady_state
    from econsim.models.network.realtime import LiveFeed, Reading, read_stream

    feed = LiveFeed(1, 1, q=0.001, r=0.0004)
    for t in range(1, 300):
        feed.ingest(Reading(float(t), 0, 1, 1.2))
    assert feed.variance()[0, 0] == pytest.approx(steady_state(0.001, 0.0004)[2], rel=1e-9)
    assert feed.estimate()[0, 0] == pytest.approx(1.2)
    readings = read_stream(FEED)
    assert len(readings) == 1420 and np.all(np.diff([r.time for r in readings]) >= 0)
    with pytest.raises(ConfigError, match="chains 0 … 0"):
        feed.ingest(Reading(1.0, 2, 1, 1.0))


def test_live_feed_drives_pool_prices_towards_the_filtered_feed():
    from econsim.models.network.metrics import token_units
    from econsim.models.network.realtime import read_stream, run_live

    readings = read_stream(FEED)
    errors = {}
    for gain in (0.0, 2.0):
        sim = Simulation(get_model("network"), DEFI, runs=1, seed=1)
        start = token_units(sim.state).copy()
        log, _ = run_live(sim, readings, 40, gain=gain)
        assert np.array_equal(token_units(sim.state), start)  # exact conservation under the feed
        df = log.frame()
        assert list(df["day"]) == list(range(1, 41))
        # event-driven: each day took exactly the readings that fell into it
        times = np.array([r.time for r in readings])
        expected = np.histogram(times, bins=np.arange(0, 41))[0]
        assert df["readings"].tolist() == expected.tolist()
        pool = np.array(log.pool)[10:]
        errors[gain] = float(np.sqrt(np.mean(np.log(pool / np.array(log.feed)[10:]) ** 2)))
    assert errors[2.0] < 0.6 * errors[0.0]
    # the feed's rally of token 1 (1.0 → 1.3 by day 30) shows in the filtered estimate
    assert df["feed_c1_a1"].iloc[29] == pytest.approx(1.3, abs=0.05)


# --------------------------------------------------------------------------- risk, herding, tools
SMALL = {"n_agents": 300, "n_chains": 2, "n_assets": 3, "mean_degree": 8, "cluster_every": 2}


@pytest.fixture(scope="module")
def traj():
    from econsim.models.network.analysis import collect

    return collect(SMALL, steps=24, runs=2, seed=7)


def test_trajectories_are_the_simulations_own_and_batch_independent(traj):
    from econsim.models.network.analysis import collect

    assert traj.net_buy.shape == (2, 24, 300) and traj.price.shape == (2, 24, 2, 2)
    alone = collect(SMALL, steps=24, runs=1, seed=7)
    assert np.array_equal(alone.net_buy[0], traj.net_buy[0]) and np.array_equal(
        alone.cascade[0], traj.cascade[0]
    )
    sim = Simulation(get_model("network"), SMALL, runs=2, seed=7)
    sim.run(24)
    np.testing.assert_array_equal(traj.price[:, -1], sim.state.pool_cash / sim.state.pool_asset)
    assert np.isfinite(traj.cascade).all() and (traj.cascade >= 0.01).all() and (traj.cascade <= 1).all()


def test_contagion_table_follows_the_formula_on_the_final_network(traj):
    from scipy.special import ndtr

    from econsim.models.network.analysis import CONTAGION_SIGMA, contagion_table

    ct = contagion_table(traj)
    expected = 1 - ndtr((ct.theta_i - ct.exposure) / CONTAGION_SIGMA)
    np.testing.assert_allclose(ct.probability, expected, rtol=1e-12)
    # every agent's exposures over its active links add to 1 (shares of its business)
    sums = ct.groupby("i").exposure.sum()
    np.testing.assert_allclose(sums, 1.0, rtol=1e-9)
    assert ((ct.theta_i - 0.5).abs() <= 0.5).all()


def test_herding_cycles_compression_and_forecasts_on_model_runs(traj):
    from econsim.models.network.analysis import agent_forecasts, compression_table, herding, price_cycles

    h = herding(traj, draws=5)
    assert list(h.run) == [0, 1] and (h.rho_cluster.abs() < 1).all() and (h.rho_random_groups_sd < 0.05).all()
    assert (h.agents == 300).all() and (h.clusters >= 10).all()
    cyc = price_cycles(traj.price)
    assert len(cyc) == 3 and cyc.variance_share.sum() <= 1 + 1e-12 and (cyc.period >= 2).all()
    comp = compression_table(traj)
    assert (comp.measured_error <= comp.stated_error + 1e-12).all()
    np.testing.assert_allclose(comp.measured_error, comp.bound, rtol=1e-8, atol=1e-12)  # Eckart–Young
    f = agent_forecasts(traj)
    s = f["scores"]
    assert s["rmse_subgraph"] <= s["rmse_own"] + 1e-12 or s["rmse_subgraph"] < s["rmse_persistence"]
    assert s["rmse_own"] < s["rmse_persistence"] and s["test_steps"] == 7
    assert set(f["paths"].agent) == {0, 74, 149, 224, 299}


def test_equilibria_counts_distinct_stable_end_states_and_their_basins():
    from econsim.models.network.analysis import equilibria

    base = {"params": {**SMALL, "strategy_vol": 0.0, "imitation": 0.0}, "seed": 1}
    eq = equilibria(
        base,
        {"risk_target": [0.1, 0.9], "risk_spread": [0.0, 0.05]},
        runs=1,
        steps=10,
        columns=("mean_risk_target",),
        distance=0.5,
    )
    assert eq["runs"] == 4 and eq["stable_runs"] == 4 and eq["equilibria"] == 2
    table = eq["table"]
    assert sorted(table.mean_risk_target.round(1)) == [0.1, 0.9]
    assert table.basin_share.sum() == pytest.approx(1.0)
    assert any("risk_target=0.1" in b and "risk_target=0.9" not in b for b in table.basin)


def test_policy_stress_test_averages_over_posterior_samples(tmp_path):
    from econsim.models.network.analysis import read_posterior, stress_test

    f = tmp_path / "posterior.csv"
    f.write_text("sentiment_vol,trade_cost,weight\n0.01,2.0,1\n0.03,4.0,3\n")
    post = read_posterior(f)
    base = {"params": {**SMALL, "n_agents": 120, "mean_degree": 6}, "seed": 2}
    st = stress_test(base, post, {"bridge_fee": [0.001, 0.05]}, ["price_spread"], runs=1, steps=5)
    assert list(st.bridge_fee) == [0.001, 0.05] and (st.samples == 2).all()
    # the weighted mean is what the two single runs give, weighted 1 : 3
    one = [
        econsim.run(
            {
                "model": "network",
                **base,
                "params": {**base["params"], "sentiment_vol": v, "trade_cost": c, "bridge_fee": 0.05},
                "runs": 1,
                "steps": 5,
            }
        )
        .final()["price_spread"]
        .iloc[0]
        for v, c in ((0.01, 2.0), (0.03, 4.0))
    ]
    assert st.price_spread_mean.iloc[1] == pytest.approx(0.25 * one[0] + 0.75 * one[1], rel=1e-12)
    bad = tmp_path / "bad.csv"
    bad.write_text("sentiment_vol,not_a_param\n0.01,1\n")
    with pytest.raises(ConfigError, match="column 'not_a_param' is not a parameter"):
        read_posterior(bad)
    bad.write_text("sentiment_vol\n0.01\n7.5\n")
    with pytest.raises(ConfigError, match="line 3, column 'sentiment_vol'"):
        read_posterior(bad)
    fit = tmp_path / "fit.csv"
    fit.write_text("param,value,se,low95,high95\nsentiment_vol,0.02,0.005,0.01,0.03\n")
    draws = read_posterior(fit, samples=400)
    assert draws.sentiment_vol.mean() == pytest.approx(
        0.02, abs=0.001
    ) and draws.sentiment_vol.std() == pytest.approx(0.005, rel=0.15)


@pytest.mark.slow  # scikit-learn's import and fit: ~9 s on the shared machine
def test_surrogate_learns_the_aggregates_one_step_ahead():
    from econsim.models.network.analysis import SURROGATE_COLUMNS, surrogate

    base = {"params": {**SMALL, "n_agents": 150, "mean_degree": 6}, "seed": 4}
    out = surrogate(
        base,
        {"sentiment_vol": (0.005, 0.05), "imitation": (0.0, 0.2)},
        samples=8,
        runs=1,
        steps=16,
        hidden=(32,),
    )
    table = out["table"].set_index("aggregate")
    assert list(table.index) == list(SURROGATE_COLUMNS)
    assert out["train_rows"] + out["test_rows"] == 8 * 15 and out["test_rows"] == 2 * 15
    assert (
        table.loc["systemic_risk", "r2_surrogate"] > 0.8
        and table.loc["mean_risk_target", "r2_surrogate"] > 0.8
    )
    assert out["model_s_per_run_step"] > 0 and out["surrogate_s_per_run_step"] > 0


# --------------------------------------------------------------------------- case-study figures and reports
def test_sample_subgraph_starts_at_the_hub_and_walks_active_links_breadth_first():
    from econsim.models.network.figures import sample_subgraph

    # a star around 0 (links to 1, 2, 3), 3 → 4 → 5; the slot 2 → 0 is inactive
    indptr = np.array([0, 3, 4, 5, 7, 8, 8])
    target = np.array([1, 2, 3, 0, 0, 0, 4, 5])
    active = np.array([True, True, True, True, False, True, True, True])
    assert sample_subgraph(indptr, target, active, 10).tolist() == [0, 1, 2, 3, 4, 5]
    assert sample_subgraph(indptr, target, active, 3).tolist() == [0, 1, 2]


@pytest.mark.slow  # drawing: 5–10 s each on the shared machine
@pytest.mark.parametrize("name", ["remittances", "retail_payments", "defi"])
def test_case_study_figures_and_reports(name, tmp_path):
    import yaml

    cfg = yaml.safe_load((ROOT / "configs" / "network" / f"{name}.yaml").read_text())
    cfg["params"]["n_agents"] = 200
    cfg.update(steps=12, runs=2)
    cfg["figures"] = [f for f in cfg["figures"] if f["kind"] == "model"]
    res = econsim.run(cfg, out=str(tmp_path / "out"), save_fig="figures")
    files = sorted(p.name for p in (tmp_path / "out" / "figures").glob("*.png"))
    assert files == ["network_sample.png", "prices_panels.png", "risk_contagion.png"]
    assert all((tmp_path / "out" / "figures" / f).stat().st_size > 20_000 for f in files)
    rep = res.reports
    point = rep["contagion"]["points"][0]
    assert 0 <= point["mean_conditional_default"] <= 1 and 0 <= point["links_above_half"] <= 1
    assert 0.005 <= point["hub_cascade_share"] <= 1.0  # the stressed 1 % count
    comps = rep["cycles"]["points"][0]["components"]
    assert 1 <= len(comps) <= 3 and all(2.0 <= c["period"] <= 11.0 for c in comps)


# --------------------------------------------------------------------------- command line
def _cli(args):
    from typer.testing import CliRunner

    from econsim.cli import app

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow  # two CLI runs in process: ~8 s on the shared machine
def test_cli_analyze_and_live_write_tables_that_load_into_pandas(tmp_path):
    import pandas as pd

    defi = str(ROOT / "configs" / "network" / "defi.yaml")
    out = tmp_path / "a"
    text = _cli(
        [
            "network",
            "analyze",
            defi,
            "--agents",
            "150",
            "--steps",
            "12",
            "--runs",
            "1",
            "--no-random-network",
            "--out",
            str(out),
        ]
    )
    assert "herding ρ_cluster" in text and "(paper: 0.85 ± 0.03 vs 0.15 ± 0.02)" in text
    herd = pd.read_csv(out / "herding.csv")
    assert len(herd) == 1 and -1 < herd.rho_cluster.iloc[0] < 1
    risk = pd.read_csv(out / "risk_over_time.csv")
    assert list(risk.day) == list(range(1, 13)) and (risk.hub_cascade_share >= 0.0066).all()
    assert (out / "risk_over_time.png").stat().st_size > 10_000
    assert set(pd.read_csv(out / "compression.csv").matrix) == {"wealth_trajectories", "agent_state"}
    live = tmp_path / "l"
    text = _cli(
        ["network", "live", defi, "--stream", str(FEED), "--days", "6", "--agents", "150", "--out", str(live)]
    )
    frame = pd.read_csv(live / "live.csv")
    assert list(frame.day) == list(range(1, 7)) and "feed_c2_a2" in frame and "readings" in text


def test_strategy_skeleton_integrates_adaptively_to_consensus(traj):
    from econsim.engine.adaptive import next_step
    from econsim.models.network.analysis import strategy_skeleton

    res, spread = strategy_skeleton(traj, t_end=40.0, tol=1e-7)
    assert res.t[-1] == pytest.approx(40.0) and (res.errors <= 1e-7).all()
    assert res.dt.max() > 5 * res.dt[0] and spread[-1] < 0.8 * spread[0]
    tries = res.attempts
    start = np.concatenate([[0.0], np.cumsum(tries[:, 0] * tries[:, 2])])  # time before each attempt
    for k in range(len(tries) - 1):
        dt, err, ok = tries[k]
        rule = next_step(dt, err, 1e-7) if ok else 0.5 * dt
        assert tries[k + 1, 0] == pytest.approx(min(rule, 40.0 - start[k + 1]))  # the last cut to t_end
    # against a much finer solution
    fine, _ = strategy_skeleton(traj, t_end=40.0, tol=1e-9)
    assert np.abs(res.y[-1] - fine.y[-1]).max() < 1e-4


def test_price_cycles_find_a_cycle_injected_into_the_chains_prices():
    from econsim.models.network.analysis import price_cycles

    rng = np.random.default_rng(0)  # test data, not model draws
    T, period = 121, 8.0
    t = np.arange(T)
    common = 0.05 * np.sin(2 * np.pi * t / period)
    log_p = common[None, :, None, None] + 0.01 * rng.standard_normal((2, T, 3, 2)).cumsum(axis=1)
    table = price_cycles(np.exp(log_p))
    assert table.loc[0, "period"] == pytest.approx(period) and table.loc[0, "p_value"] < 1e-6


def test_a_swept_parameter_overrides_the_configurations_fixed_value():
    from econsim.models.network.analysis import _experiment

    res = _experiment(
        {
            "model": "network",
            "params": {**SMALL, "n_agents": 60, "mean_degree": 4, "pay_rate": 0.3},
            "steps": 1,
            "sweep": {"zip": {"pay_rate": [0.01, 0.02]}},
        }
    )
    assert res.subsets()["pay_rate"].tolist() == [0.01, 0.02]


def test_following_a_growing_stream_gives_the_same_run_as_the_recorded_file(tmp_path):
    from econsim.models.network.realtime import StreamTail, read_stream, run_live

    readings = read_stream(FEED)
    lines = FEED.read_text().splitlines(keepends=True)
    header = [ln for ln in lines if ln.startswith(("#", "time"))]
    body = [ln for ln in lines if ln not in header]
    growing = tmp_path / "growing.csv"
    growing.write_text("".join(header))
    tail = StreamTail(growing)
    day = [0]

    def poll():  # another program appends the readings of the coming day
        day[0] += 1
        due = [ln for ln in body if day[0] - 1 < float(ln.split(",")[0]) <= day[0]]
        with open(growing, "a") as fh:
            fh.write("".join(due))
        return tail.poll()

    params = {**DEFI, "n_agents": 120}
    followed, _ = run_live(Simulation(get_model("network"), params, runs=1, seed=3), [], 8, poll=poll)
    recorded, _ = run_live(Simulation(get_model("network"), params, runs=1, seed=3), readings, 8)
    assert followed.readings == recorded.readings
    assert followed.frame().equals(recorded.frame())


def test_socket_tail_reads_complete_lines_from_a_localhost_stream():
    import socket
    import time as clock

    from econsim.models.network.realtime import SocketTail

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    tail = SocketTail("127.0.0.1", port)
    conn, _ = server.accept()
    conn.sendall(b"time,chain,asset,price\n0.5,0,1,1.02\n0.7,1,")
    got = []
    for _ in range(100):
        got += tail.poll()
        if got:
            break
        clock.sleep(0.01)
    assert [(r.time, r.chain, r.price) for r in got] == [(0.5, 0, 1.02)]
    conn.sendall(b"2,0.98\n")
    more = []
    for _ in range(100):
        more += tail.poll()
        if more:
            break
        clock.sleep(0.01)
    assert [(r.time, r.chain, r.asset, r.price) for r in more] == [(0.7, 1, 2, 0.98)]
    conn.close(), tail.close(), server.close()
    with pytest.raises(ConfigError, match="only a loopback address"):
        SocketTail("192.0.2.1", port)
