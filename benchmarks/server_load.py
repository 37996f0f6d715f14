"""econsim serve on loopback: requests per second and responsiveness under a bounded load.

    .venv/bin/python benchmarks/server_load.py                    # 4 clients, 3 s per measurement
    .venv/bin/python benchmarks/server_load.py --clients 8 --seconds 5

Starts the app with uvicorn on 127.0.0.1 (a free port, a temporary data dir) in this process and
measures, each with ``--clients`` concurrent clients (threads, one HTTP connection each):

- requests per second of ``GET /runs/{id}`` on a finished job, and of ``POST /sessions/{id}/step``
  (one honey step of 8 runs, a session per client);
- the time from ``POST /runs`` to the job's first ``progress`` event on its event stream;
- a load test: every client posts distinct small jobs while polling ``GET /health``; it reports the
  slowest ``/health`` answer and checks that every posted job completes (no job is lost).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import threading
import time

import httpx
import uvicorn

from econsim.server.app import Settings, create_app
from econsim.server.jobs import Limits


def start(data_dir: str, max_jobs: int) -> tuple[uvicorn.Server, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(Settings(data_dir=data_dir, limits=Limits(max_jobs=max_jobs)))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def rate(clients: int, seconds: float, request) -> float:
    """Requests per second of ``request(client, i)`` over ``clients`` threads for ``seconds``."""
    counts = [0] * clients
    stop = time.monotonic() + seconds

    def worker(k: int) -> None:
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < stop:
                request(client, k).raise_for_status()
                counts[k] += 1

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    server, base = start(tempfile.mkdtemp(prefix="econsim-bench-"), max_jobs=args.clients)
    with httpx.Client(base_url=base, timeout=60) as http:
        job = http.post("/runs", json={"model": "honey", "runs": 2, "steps": 20, "seed": 1}).json()
        while http.get(f"/runs/{job['id']}").json()["status"] == "running":
            time.sleep(0.05)
        status_url = f"{base}/runs/{job['id']}"
        polls = rate(args.clients, args.seconds, lambda c, k: c.get(status_url))
        print(f"GET /runs/{{id}}: {polls:.0f} requests/s")

        sessions = [
            http.post("/sessions", json={"model": "honey", "runs": 8}).json()["id"]
            for _ in range(args.clients)
        ]
        step = rate(
            args.clients, args.seconds, lambda c, k: c.post(f"{base}/sessions/{sessions[k]}/step?n=1")
        )
        print(f"POST /sessions/{{id}}/step (honey, 8 runs): {step:.0f} requests/s")

        firsts = []
        for seed in range(5):
            posted = time.perf_counter()
            location = http.post(
                "/runs", json={"model": "honey", "runs": 2, "steps": 200, "seed": 100 + seed}
            ).headers["location"]
            with http.stream("GET", f"{location}/events") as stream:
                for line in stream.iter_lines():  # read to the end: the job finishes before the next
                    if line == "event: progress" and len(firsts) == seed:
                        firsts.append(time.perf_counter() - posted)
        print(f"POST /runs → first progress event: median {statistics.median(firsts) * 1000:.0f} ms (5 jobs)")

        posted_ids: list[str] = []
        slowest = [0.0]

        def load(k: int) -> None:
            with httpx.Client(base_url=base, timeout=60) as client:
                for j in range(3):
                    body = {"model": "honey", "runs": 2, "steps": 50, "seed": 1000 + 10 * k + j}
                    info = client.post("/runs", json=body).json()
                    posted_ids.append(info["id"])
                    while client.get(f"/runs/{info['id']}").json()["status"] == "running":
                        t = time.perf_counter()
                        client.get("/health").raise_for_status()
                        slowest[0] = max(slowest[0], time.perf_counter() - t)
                        time.sleep(0.02)

        threads = [threading.Thread(target=load, args=(k,)) for k in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = [http.get(f"/runs/{i}").json()["status"] for i in posted_ids]
        lost = sum(s != "complete" for s in statuses)
        print(
            f"load: {len(posted_ids)} jobs from {args.clients} clients, {lost} not complete; slowest /health "
            f"while they ran: {slowest[0] * 1000:.0f} ms"
        )
    server.should_exit = True


if __name__ == "__main__":
    main()
