"""The REST API through FastAPI's test client: every route, its status codes and payloads."""

from __future__ import annotations

import io
import time

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from econsim.cli import app as cli_app
from econsim.engine.errors import ConfigError
from econsim.experiment.config import load_config
from econsim.models.registry import get_model, model_names
from econsim.server.app import Settings, create_app
from econsim.server.jobs import Limits

TINY = {"model": "honey", "runs": 3, "steps": 20, "seed": 11}


@pytest.fixture
def client(tmp_path):
    return TestClient(create_app(Settings(data_dir=tmp_path / "data")))


def wait_done(client, location, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = client.get(location).json()
        if info["status"] != "running":
            return info
        time.sleep(0.02)
    raise AssertionError(f"{location} still running after {timeout} s")


def sse(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if fields:
            events.append(fields)
    return events


def test_health_and_models(client):
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["models"] == model_names()
    listed = client.get("/models").json()
    assert [m["name"] for m in listed] == model_names()
    detail = client.get("/models/honey").json()
    honey = get_model("honey")
    props = detail["params"]["properties"]
    assert list(props) == [p.name for p in honey.params]
    for p in honey.params:
        assert props[p.name]["default"] == p.default
        assert props[p.name]["description"] == p.doc
        low, high = p.bounds
        assert props[p.name].get("minimum") == low and props[p.name].get("maximum") == high
    assert detail["recorded"] == honey.recorded
    banking = client.get("/models/banking").json()["params"]["properties"]
    assert banking["n_banks"]["type"] == "integer" and banking["n_banks"]["x-per-batch"] is True
    missing = client.get("/models/honeyy")
    assert missing.status_code == 404 and f"valid: {', '.join(model_names())}" in missing.json()["error"]
    assert client.get("/openapi.json").json()["paths"]["/runs"]["post"]


def test_run_events_results_and_figures(client):
    posted = client.post("/runs", json=TINY)
    assert posted.status_code == 202
    location = posted.headers["location"]
    assert location == f"/runs/{posted.json()['id']}"
    with client.stream("GET", f"{location}/events") as stream:
        events = sse("".join(stream.iter_text()))
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(set(ids)) and ids[0] == 1
    assert events[-1]["event"] == "end" and '"complete"' in events[-1]["data"]
    info = client.get(location).json()
    assert info["status"] == "complete" and info["done"] == info["total"] == 3 * 20
    # a reconnect after event k gets exactly the events after k
    with client.stream("GET", f"{location}/events", headers={"Last-Event-ID": str(ids[1])}) as stream:
        again = sse("".join(stream.iter_text()))
    assert [int(e["id"]) for e in again] == ids[2:]

    page = client.get(f"{location}/results", params={"page": 2, "page_size": 10}).json()
    assert page["rows"] == 3 * 21 and page["pages"] == 7 and len(page["data"]) == 10
    assert page["data"][0]["timestep"] == 10 and page["data"][0]["run"] == 0
    table = pq.read_table(io.BytesIO(client.get(f"{location}/results?format=parquet").content))
    assert table.num_rows == 63 and table.column("price")[10].as_py() == page["data"][0]["price"]
    csv = client.get(f"{location}/results?format=csv")
    assert csv.headers["content-type"].startswith("text/csv") and len(csv.text.strip().splitlines()) == 64
    assert client.get(f"{location}/results?page=8&page_size=10").status_code == 422
    assert client.get(f"{location}/results?format=xml").status_code == 422

    names = client.get(f"{location}/figures").json()
    assert "price.png" in names
    png = client.get(f"{location}/figures/price.png")
    assert png.headers["content-type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get(f"{location}/figures/..%2Fmanifest.json").status_code == 404

    # the same configuration again: answered with the finished job, not run again
    same = client.post("/runs", json=TINY)
    assert same.status_code == 200 and same.headers["location"] == location
    assert [j["id"] for j in client.get("/runs").json()] == [posted.json()["id"]]
    assert client.get("/runs/0123abcd").status_code == 404
    assert client.get("/runs/not-an-id").status_code == 404
    assert client.delete(location).status_code == 409


def test_api_and_cli_write_identical_results(tmp_path):
    data = tmp_path / "data"
    client = TestClient(create_app(Settings(data_dir=data)))
    job = client.post("/runs", json=TINY).json()
    assert wait_done(client, f"/runs/{job['id']}")["status"] == "complete"
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "cli-out"
    done = CliRunner().invoke(cli_app, ["run", str(config), "--out", str(out), "--quiet"])
    assert done.exit_code == 0, done.output
    api_parts = sorted((data / "runs" / job["id"] / "parts").glob("*.parquet"))
    cli_parts = sorted((out / "parts").glob("*.parquet"))
    assert [p.name for p in api_parts] == [p.name for p in cli_parts] and api_parts
    for a, b in zip(api_parts, cli_parts, strict=True):
        assert pq.read_table(a).equals(pq.read_table(b))
        assert a.read_bytes() == b.read_bytes()
    served = pq.read_table(io.BytesIO(client.get(f"/runs/{job['id']}/results?format=parquet").content))
    assert served.equals(pq.read_table(cli_parts[0]).replace_schema_metadata(served.schema.metadata))
    # a new server on the same data dir answers the identical job from the store
    restarted = TestClient(create_app(Settings(data_dir=data)))
    again = restarted.post("/runs", json=TINY)
    assert again.status_code == 200 and again.json()["from_store"] and again.json()["status"] == "complete"


def test_cancel_within_two_seconds_keeps_finished_batches(client, tmp_path):
    # batches of one run of 60 000 steps (about a second each, compiled): the job is still simulating
    # when it is cancelled
    config = {
        "model": "honey",
        "runs": 4,
        "steps": 60_000,
        "record_every": 20,
        "seed": 3,
        "memory_budget_mb": 1,
        "strict": False,
    }
    posted = client.post("/runs", json=config)
    location, parts = posted.headers["location"], tmp_path / "data" / "runs" / posted.json()["id"] / "parts"
    deadline = time.monotonic() + 60
    while not list(parts.glob("*.parquet")) and time.monotonic() < deadline:  # the first batch sealed
        time.sleep(0.01)
    started = time.monotonic()
    cancelled = client.delete(location)
    assert time.monotonic() - started < 2.0
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    kept = sorted(parts.glob("*.parquet"))
    assert 1 <= len(kept) < 4
    with client.stream("GET", f"{location}/events") as stream:
        assert sse("".join(stream.iter_text()))[-1]["event"] == "end"
    # posting it again resumes from the kept batches: their run-steps count as done at once
    resumed = client.post("/runs", json=config)
    assert resumed.status_code == 202 and resumed.headers["location"] == location
    time.sleep(0.2)
    assert client.get(location).json()["done"] >= len(kept) * 60_000
    assert client.delete(location).json()["status"] == "cancelled"
    assert sorted(parts.glob("*.parquet"))[: len(kept)] == kept


def test_cancel_while_drawing_figures_stops_before_the_next_figure(client, tmp_path):
    # every batch is done at once; the job then draws 40 figures (a few seconds): a cancel while it draws
    # returns within 2 s with the job cancelled and the figures not yet drawn left undrawn
    figures = [{"kind": "timeseries", "vars": ["price"], "file": f"price_{i:02d}.png"} for i in range(40)]
    config = {"model": "honey", "runs": 2, "steps": 50, "seed": 5, "figures": figures}
    posted = client.post("/runs", json=config)
    location = posted.headers["location"]
    drawn = tmp_path / "data" / "runs" / posted.json()["id"] / "figures"
    deadline = time.monotonic() + 60
    while not list(drawn.glob("price_*.png")) and time.monotonic() < deadline:  # drawing has begun
        time.sleep(0.01)
    assert list(drawn.glob("price_*.png")), "the job never started drawing"
    started = time.monotonic()
    cancelled = client.delete(location)
    assert time.monotonic() - started < 2.0
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    time.sleep(0.5)  # no figure is drawn after the cancel has been seen
    assert len(list(drawn.glob("price_*.png"))) < 40


def test_bad_input_gets_the_cli_messages(client, tmp_path):
    bad = {"model": "honey", "steps": 5, "params": {"throtle": 0.1}}
    answer = client.post("/runs", json=bad)
    assert answer.status_code == 422 and answer.json()["kind"] == "ConfigError"
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(bad))
    cli = CliRunner().invoke(cli_app, ["run", str(config), "--out", str(tmp_path / "o"), "--quiet"])
    assert isinstance(cli.exception, ConfigError)
    message = answer.json()["error"]
    assert (
        "unknown parameter or state variable 'throtle'" in message and "(did you mean 'throttle'?)" in message
    )
    assert message == str(cli.exception)
    for body, text in [
        ({"model": "honey", "runz": 2}, "unknown key 'runz' (did you mean 'runs'?)"),
        ({"model": "honey", "runs": 0}, "runs: Input should be greater than or equal to 1"),
        ({"model": "honeyy"}, "unknown model 'honeyy' (did you mean 'honey'?)"),
        ({"model": "econsim.models.honey:model"}, "built-in models only"),
        ({"model": "honey", "out": "/tmp/x"}, "out: not accepted by the server"),
        ({"model": "honey", "executor": "process"}, "the server runs jobs in process"),
        ({"model": "honey", "save_fig": "../x.png"}, "inside the job's results folder"),
    ]:
        answer = client.post("/runs", json=body)
        assert answer.status_code == 422 and text in answer.json()["error"], answer.json()
    assert load_config(dict(TINY))  # the messages above come from the same validation
    broken = client.post("/runs", content=b"{not json", headers={"content-type": "application/json"})
    assert broken.status_code == 422 and "invalid JSON in the request body" in broken.json()["error"]
    listed = client.post("/runs", json=[1, 2])
    assert listed.status_code == 422


def test_limits(tmp_path):
    limits = Limits(max_work=1_000_000, max_jobs=1, max_job_seconds=0.3, max_session_steps=50)
    client = TestClient(create_app(Settings(data_dir=tmp_path, limits=limits)))
    big = client.post("/runs", json={"model": "honey", "runs": 100, "steps": 10_001, "seed": 1})
    assert big.status_code == 413 and big.json()["limit"] == "max_work"
    assert "100 runs" in big.json()["error"] and "max_work = 1000000" in big.json()["error"]
    # 900 000 steps of one run take seconds even compiled: the job outlasts its 0.3 s (not strict: the
    # notebook's price walk leaves the finite numbers near step 54 500, which on a fast machine is
    # reached within the 0.3 s and would end the job with that error instead)
    slow_job = {"model": "honey", "runs": 1, "steps": 900_000, "record_every": 100, "strict": False}
    slow = client.post("/runs", json={**slow_job, "seed": 1})
    assert slow.status_code == 202
    second = client.post("/runs", json={**slow_job, "seed": 2})
    assert second.status_code == 422 and second.json()["limit"] == "max_jobs"
    info = wait_done(client, slow.headers["location"])
    assert info["status"] == "failed" and "max_job_seconds = 0.3 s" in info["error"]
    session = client.post("/sessions", json={"model": "honey"}).json()
    steps = client.post(f"/sessions/{session['id']}/step?n=51")
    assert steps.status_code == 413 and steps.json()["limit"] == "max_session_steps"


def test_token(tmp_path):
    client = TestClient(create_app(Settings(data_dir=tmp_path, token="s3cret")))
    refused = client.get("/health")
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert client.get("/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/health", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.post("/runs", json=TINY).status_code == 401
    assert client.get("/ui/index.html").status_code == 200  # the dashboard holds no data
    page = client.get("/", follow_redirects=False)
    assert page.status_code == 307 and page.headers["location"] == "/ui/index.html"


def test_serve_binds_loopback_by_default():
    from typer.main import get_command

    params = {p.name: p for p in get_command(cli_app).commands["serve"].params}
    assert params["host"].default == "127.0.0.1" and params["token"].default is None


def test_sessions(client):
    created = client.post("/sessions", json={"model": "honey", "runs": 3, "seed": 5})
    assert created.status_code == 201
    sid = created.json()["id"]
    assert created.headers["location"] == f"/sessions/{sid}"
    assert client.post(f"/sessions/{sid}/step", params={"n": 4}).json()["t"] == 4
    state = client.get(f"/sessions/{sid}/state").json()
    assert state["t"] == 4 and state["populations"] == []
    price = state["aggregates"]["price"]
    assert len(price["runs"]) == 3 and price["mean"] == pytest.approx(np.mean(price["runs"]))
    records = client.get(f"/sessions/{sid}/records").json()
    assert records["times"] == [0, 1, 2, 3, 4] and np.shape(records["columns"]["price"]) == (5, 3)
    assert records["columns"]["price"][-1] == price["runs"]
    assert client.get(f"/sessions/{sid}/records?since=2").json()["times"] == [3, 4]
    first_run = records["columns"]["price"]
    # a changed parameter takes effect from the next step; bad values are refused before any change
    patched = client.patch(f"/sessions/{sid}/params", json={"params": {"throttle": 0.5}})
    assert patched.status_code == 200 and patched.json()["params"]["throttle"] == 0.5
    out_of_range = client.patch(f"/sessions/{sid}/params", json={"params": {"throttle": 2.0}})
    assert (
        out_of_range.status_code == 422
        and "params.throttle = 2.0 is out of range" in out_of_range.json()["error"]
    )
    unknown_name = client.patch(f"/sessions/{sid}/params", json={"params": {"throttel": 0.1}})
    assert "did you mean 'throttle'" in unknown_name.json()["error"]
    reset = client.post(f"/sessions/{sid}/reset").json()
    assert reset["t"] == 0 and "throttle" not in reset["params"]
    client.post(f"/sessions/{sid}/step?n=4")
    assert client.get(f"/sessions/{sid}/records").json()["columns"]["price"] == first_run
    assert [s["id"] for s in client.get("/sessions").json()] == [sid]
    assert client.get(f"/sessions/{sid}").json()["t"] == 4
    assert client.delete(f"/sessions/{sid}").status_code == 204
    assert client.get(f"/sessions/{sid}/state").status_code == 404
    assert client.delete(f"/sessions/{sid}").status_code == 404
    bad = client.post("/sessions", json={"model": "honey", "params": {"throttle": -1}})
    assert bad.status_code == 422 and "throttle = -1.0 is out of range" in bad.json()["error"]
    assert client.post("/sessions", json={"model": "x:y"}).status_code == 422
    assert client.post("/sessions", json={"model": "honey", "runs": 0}).status_code == 422


def test_banking_session_and_ravelin_routes(client):
    params = {"n_households": 60, "n_firms": 6, "n_banks": 2}
    sid = client.post("/sessions", json={"model": "banking", "params": params}).json()["id"]
    client.post(f"/sessions/{sid}/step")
    state = client.get(
        f"/sessions/{sid}/state", params={"population": "households", "page": 2, "page_size": 25}
    )
    body = state.json()
    assert body["agents"]["agents"] == [25, 50] and body["agents"]["pages"] == 3
    assert np.shape(body["agents"]["arrays"]["wage"]) == (1, 25)
    sheets = body["balance_sheets"]
    assert len(sheets["banks"]) == 2
    # double entry: every financial instrument nets to zero over the sectors (capital is a real asset)
    for instrument in [i for i in sheets["instruments"] if i != "capital"]:
        total = sum(sector[instrument] for sector in sheets["sectors"].values())
        scale = max(abs(sector[instrument]) for sector in sheets["sectors"].values()) or 1.0
        assert abs(total) <= 1e-9 * scale
    fixed = client.patch(f"/sessions/{sid}/params", json={"params": {"n_banks": 3}})
    assert fixed.status_code == 422 and "cannot change between steps" in fixed.json()["error"]
    assert client.get(f"/sessions/{sid}/state?population=robots").status_code == 422

    assert client.get("/health").json()["status"] == "ok"
    cleared = client.get("/clear").json()
    assert cleared["t"] == 0 and len(cleared["balance_sheets"]["banks"]) == 5
    made = client.get("/make_bank").json()
    assert len(made["balance_sheets"]["banks"]) == 6 and made["params"]["n_banks"] == 6
    assert client.get("/do_tx").json()["t"] == 1
    assert client.get("/do_tx").json()["t"] == 2
    state = client.get("/state").json()
    assert state["t"] == 2 and "gdp" in state["aggregates"]
    assert client.get("/make_bank?count=49").status_code == 422  # n_banks is at most 50


SWEPT = {
    "model": "honey",
    "runs": 2,
    "steps": 10,
    "seed": 4,
    "sweep": {"grid": {"throttle": [0.01, 0.05], "target_reserve_ratio": [0.1, 0.2, 0.3]}},
    "figures": [],  # drawing the default figures would take most of the test's time
}
QUICK = {**TINY, "figures": []}


def test_sweep_heatmap_cells_are_the_runs_means(client):
    location = client.post("/runs", json=SWEPT).headers["location"]
    assert wait_done(client, location)["status"] == "complete"
    cells = client.get(f"{location}/heatmap", params={"value": "reserve"})
    assert cells.status_code == 200
    body = cells.json()
    assert body["x"] == "throttle" and body["y"] == "target_reserve_ratio" and body["pooled"] == []
    assert body["xs"] == [0.01, 0.05] and body["ys"] == [0.1, 0.2, 0.3]
    assert body["count"] == [[2, 2], [2, 2], [2, 2]]
    table = pq.read_table(io.BytesIO(client.get(f"{location}/results?format=parquet").content)).to_pandas()
    final = table[table["timestep"] == 10].groupby(["target_reserve_ratio", "throttle"])["reserve"].mean()
    for j, y in enumerate(body["ys"]):
        for i, x in enumerate(body["xs"]):
            assert body["grid"][j][i] == pytest.approx(final[(y, x)], rel=1e-12)
    assert len({round(v) for row in body["grid"] for v in row}) > 1  # the reserve ratio matters
    swapped = client.get(
        f"{location}/heatmap",
        params={"value": "reserve", "x": "target_reserve_ratio", "y": "throttle", "statistic": "median"},
    ).json()
    assert swapped["grid"] == [list(col) for col in zip(*body["grid"], strict=True)]  # 2 runs: median = mean
    png = client.get(f"{location}/heatmap", params={"value": "reserve", "format": "png"})
    assert png.headers["content-type"] == "image/png" and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    for params, text in [
        ({"value": "reserv"}, "unknown recorded column 'reserv' (did you mean 'reserve'?)"),
        (
            {"value": "reserve", "x": "p_pull"},
            "x = 'p_pull' is not swept; swept: throttle, target_reserve_ratio",
        ),
        ({"value": "reserve", "x": "throttle", "y": "throttle"}, "two different swept names"),
    ]:
        answer = client.get(f"{location}/heatmap", params=params)
        assert answer.status_code == 422 and text in answer.json()["error"], answer.json()
    plain = client.post("/runs", json=QUICK).headers["location"]
    wait_done(client, plain)
    answer = client.get(f"{plain}/heatmap", params={"value": "price"})
    assert answer.status_code == 422 and "a heatmap needs two swept names" in answer.json()["error"]


def test_optimize_job_is_econsim_optimize_then_the_best_run(tmp_path):
    from econsim.experiment.optimize import optimize

    data = tmp_path / "data"
    client = TestClient(create_app(Settings(data_dir=data)))
    section = {"objective": "reserve", "params": ["target_reserve_ratio=0.1:0.3"], "trials": 3}
    body = {**QUICK, "optimize": section}
    posted = client.post("/runs", json=body)
    assert posted.status_code == 202 and posted.json()["total"] == 3 * 20 * (3 + 1)
    info = wait_done(client, posted.headers["location"])
    assert info["status"] == "complete" and info["done"] == info["total"]
    assert info["config"]["optimize"]["trials"] == 3
    cli = optimize(dict(QUICK), "reserve", section["params"], trials=3)
    assert info["result"]["best_params"] == cli.best_params
    assert info["result"]["best_value"] == cli.best_value and info["result"]["direction"] == "minimize"
    # the job's results are the best parameters' experiment: its mean final reserve is the best value
    location = posted.headers["location"]
    table = pq.read_table(io.BytesIO(client.get(f"{location}/results?format=parquet").content)).to_pandas()
    assert table[table["timestep"] == 20]["reserve"].mean() == pytest.approx(cli.best_value, rel=1e-12)
    assert "convergence.png" in client.get(f"{location}/figures").json()
    assert client.post("/runs", json=body).status_code == 200  # identical: answered as it is
    assert client.post("/runs", json=QUICK).status_code == 202  # without the search: another job
    restarted = TestClient(create_app(Settings(data_dir=data))).post("/runs", json=body).json()
    assert restarted["from_store"] and restarted["status"] == "complete"
    assert restarted["result"]["best_params"] == cli.best_params
    for bad, text in [
        ({"objective": "reserv", "params": section["params"]}, "did you mean 'reserve'?"),
        ({"objective": "reserve", "params": ["throtle=0:1"]}, "unknown parameter 'throtle'"),
        ({"objective": "reserve", "params": []}, "optimize.params: List should have at least 1 item"),
        ({"objective": "reserve", "params": section["params"], "trails": 3}, "unknown key 'trails'"),
        ({"objective": "reserve", "params": section["params"], "trials": 0}, "optimize.trials"),
        ("reserve", "optimize: must be a mapping"),
    ]:
        answer = client.post("/runs", json={**QUICK, "optimize": bad})
        assert answer.status_code == 422 and text in answer.json()["error"], answer.json()
    limited = TestClient(create_app(Settings(data_dir=tmp_path / "l", limits=Limits(max_work=1000))))
    big = limited.post("/runs", json={**QUICK, "optimize": {**section, "trials": 20}})
    assert big.status_code == 413 and "20 trials" in big.json()["error"]


def test_events_take_the_token_as_a_query_parameter(tmp_path):
    client = TestClient(create_app(Settings(data_dir=tmp_path, token="s3cret")))
    auth = {"Authorization": "Bearer s3cret"}
    location = client.post("/runs", json=QUICK, headers=auth).headers["location"]
    with client.stream("GET", f"{location}/events", params={"token": "s3cret"}) as stream:
        assert stream.status_code == 200
        events = sse("".join(stream.iter_text()))
    assert events[-1]["event"] == "end" and '"complete"' in events[-1]["data"]
    assert client.get(f"{location}/events", params={"token": "wrong"}).status_code == 401
    assert client.get(f"{location}/events").status_code == 401
    # only the progress stream: every other route still needs the header
    assert client.get(location, params={"token": "s3cret"}).status_code == 401
    assert client.get("/health", params={"token": "s3cret"}).status_code == 401
    assert client.get(f"{location}/results", params={"token": "s3cret"}).status_code == 401
    assert client.get(location, headers=auth).json()["status"] == "complete"


def test_a_search_job_cancels_within_two_seconds(client):
    section = {"objective": "reserve", "params": ["throttle=0.002:0.014"], "trials": 50}
    body = {"model": "honey", "runs": 2, "steps": 3000, "seed": 8, "figures": [], "optimize": section}
    location = client.post("/runs", json=body).headers["location"]
    deadline = time.monotonic() + 30
    while client.get(location).json()["done"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    cancelled = client.delete(location)
    assert time.monotonic() - started < 2.0
    info = cancelled.json()
    assert info["status"] == "cancelled" and 0 < info["done"] < info["total"] and info["result"] is None
