"""Throughput of the numba limit order book on one core.

    python benchmarks/order_book.py [--orders 2000000] [--prices 10000] [--repeats 5] [--seed 0] [--pin CPU]

Generates random zero-intelligence order flow (limit, market and cancel events; see
``econsim.mechanisms.order_book.random_order_flow``), compiles the matching kernel with a small
warm-up batch, then times ``LimitOrderBook.submit`` on the whole stream into a fresh book, several
times. Generating the flow is not timed; growing the book's arrays is. Prints every raw timing, the
median and best throughput in events (orders) per second, and the load average, since other work on
the machine shows up directly in the timings.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from econsim.mechanisms.order_book import CANCEL, MARKET, LimitOrderBook, random_order_flow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2_000_000)
    parser.add_argument("--prices", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pin", type=int, default=None, help="pin to this CPU (Linux)")
    args = parser.parse_args()

    # The kernel is single-threaded (plain @njit, no prange), so it runs on one core either way;
    # --pin also forbids the scheduler from migrating it.
    if args.pin is not None:
        os.sched_setaffinity(0, {args.pin})

    flow = random_order_flow(np.random.default_rng(args.seed), args.orders, args.prices)
    warm = LimitOrderBook(args.prices)
    warm.submit(**{k: v[:10_000] for k, v in flow.items()})  # compile (or load the cached kernel)

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    seconds = []
    for _ in range(args.repeats):
        book = LimitOrderBook(args.prices)
        start = time.perf_counter()
        book.submit(**flow)
        seconds.append(time.perf_counter() - start)

    kinds = np.bincount(flow["kind"], minlength=3)
    median = float(np.median(seconds))
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(
        f"events: {args.orders:,} ({kinds[0]:,} limit, {kinds[MARKET]:,} market, {kinds[CANCEL]:,} cancel) "
        f"over {args.prices:,} price levels"
    )
    print(f"trades: {book.n_trades:,}; resting at end: {book.n_resting:,}")
    print("raw seconds: " + ", ".join(f"{s:.4f}" for s in seconds))
    print(f"load average at start: {load}")
    print(f"median: {median:.4f} s  ->  {args.orders / median:,.0f} orders matched per second (one core)")
    print(f"best:   {min(seconds):.4f} s  ->  {args.orders / min(seconds):,.0f} orders matched per second")


if __name__ == "__main__":
    main()
