"""Real-time mode (§5): a live price feed, filtered by a Kalman filter, driving the chains' prices;
the clock jumps from event to event.

Feed. A CSV text stream — a file that another program appends to (``StreamTail`` reads the complete
lines added since the last poll), a TCP connection on localhost (``SocketTail``), or a recorded file —
of readings ``time,chain,asset,price``: time in
days (non-decreasing), chain 0 … C−1, risky asset 1 … K−1, an observed price d(t) > 0 (lines starting
with ``#`` and a ``time,chain,asset,price`` header are skipped).

Filter. Each (chain, asset) channel is one scalar Kalman filter on the log price
(``analysis.kalman``): x = log P a random walk with variance ``q`` per day, readings log d = x + v,
v ~ N(0, r). Readings arrive at irregular times; the filter predicts over the time since the channel's
last reading, then updates.

Into prices. Prices are set by the pools; the feed moves them through the traders: before each day's
step, the chain's sentiment on each asset is set to the filtered gap between the feed and the pool,

    s_ca = clip(gain · log(F̂_ca / P_ca), −1, 1),

so traders' risk targets tilt by exp(s_ca) (``trading``): a feed above the pool price makes them buy
until the pool follows (every trade still through the pools, so tokens stay exactly conserved).
Channels without a reading yet leave the sentiment as the model has it.

Event-driven clock (``engine.adaptive.EventClock``): readings and day ends are the events; the clock
jumps from one to the next — a reading updates its channel's filter, a day end steps the model once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from econsim.analysis.kalman import KalmanFilter
from econsim.engine import ConfigError, Simulation
from econsim.engine.adaptive import EventClock

HEADER = ("time", "chain", "asset", "price")


@dataclass(frozen=True)
class Reading:
    time: float
    chain: int
    asset: int  # risky asset index 1 … K−1
    price: float


def parse_line(line: str, where: str) -> Reading | None:
    """One reading, or None for a comment, blank line or the header; ConfigError naming ``where``."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    fields = [f.strip() for f in text.split(",")]
    if tuple(f.lower() for f in fields) == HEADER:
        return None
    if len(fields) != 4:
        raise ConfigError(f"{where}: expected 4 columns (time, chain, asset, price), found {len(fields)}")
    try:
        time, chain, asset, price = float(fields[0]), int(fields[1]), int(fields[2]), float(fields[3])
    except ValueError:
        raise ConfigError(f"{where}: {text!r} is not time,chain,asset,price (numbers)") from None
    if not (np.isfinite(time) and np.isfinite(price) and price > 0):
        raise ConfigError(f"{where}: time must be finite and price positive, got {text!r}")
    return Reading(time, chain, asset, price)


@dataclass
class StreamTail:
    """Reads a growing file: ``poll()`` returns the readings of the complete lines appended since the
    last poll (a line still being written is left for the next)."""

    path: Path
    offset: int = 0
    line_no: int = 0
    _partial: bytes = b""

    def poll(self) -> list[Reading]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            raise ConfigError(f"stream '{self.path}': no such file") from None
        self.offset += len(chunk)
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        out = []
        for raw in lines:
            self.line_no += 1
            reading = parse_line(raw.decode(), f"stream '{self.path}', line {self.line_no}")
            if reading is not None:
                out.append(reading)
        return out


@dataclass
class SocketTail:
    """Reads readings from a TCP stream on this machine (``host`` must be a loopback address): ``poll()``
    returns those of the complete lines received since the last poll, without waiting for more."""

    host: str
    port: int
    line_no: int = 0
    _partial: bytes = b""
    _sock: Any = None

    def __post_init__(self) -> None:
        import ipaddress
        import socket

        try:
            loopback = ipaddress.ip_address(socket.gethostbyname(self.host)).is_loopback
        except (OSError, ValueError):
            loopback = False
        if not loopback:
            raise ConfigError(f"stream socket {self.host}:{self.port}: only a loopback address is read")
        try:
            self._sock = socket.create_connection((self.host, self.port), timeout=5.0)
        except OSError as exc:
            raise ConfigError(f"stream socket {self.host}:{self.port}: cannot connect ({exc})") from None
        self._sock.setblocking(False)

    def poll(self) -> list[Reading]:
        chunks = []
        while True:
            try:
                data = self._sock.recv(65536)
            except BlockingIOError:
                break
            if not data:  # the sender closed the stream
                break
            chunks.append(data)
        *lines, self._partial = (self._partial + b"".join(chunks)).split(b"\n")
        out = []
        for raw in lines:
            self.line_no += 1
            reading = parse_line(raw.decode(), f"stream {self.host}:{self.port}, line {self.line_no}")
            if reading is not None:
                out.append(reading)
        return out

    def close(self) -> None:
        self._sock.close()


def read_stream(path: str | Path) -> list[Reading]:
    """Every reading of a recorded stream file (its last line may lack the newline)."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise ConfigError(f"stream '{path}': no such file") from None
    found = (parse_line(line, f"stream '{path}', line {n}") for n, line in enumerate(text.splitlines(), 1))
    return [r for r in found if r is not None]


@dataclass
class LiveFeed:
    """Kalman filters of the log price of every (chain, risky asset) of the model."""

    n_chains: int
    n_risky: int
    q: float = 0.001
    r: float = 0.0004
    filter: KalmanFilter = field(init=False)
    last: np.ndarray = field(init=False)  # time of each channel's last reading
    count: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        n = self.n_chains * self.n_risky
        self.filter = KalmanFilter.make(n, self.q, self.r)
        self.last = np.full(n, np.nan)
        self.count = np.zeros(n, np.int64)

    def channel(self, reading: Reading) -> int:
        if not (0 <= reading.chain < self.n_chains and 1 <= reading.asset <= self.n_risky):
            raise ConfigError(
                f"feed reading for chain {reading.chain}, asset {reading.asset}: the model has chains "
                f"0 … {self.n_chains - 1} and risky assets 1 … {self.n_risky}"
            )
        return reading.chain * self.n_risky + reading.asset - 1

    def ingest(self, reading: Reading) -> None:
        c = self.channel(reading)
        if self.count[c]:
            self.filter.predict(max(reading.time - self.last[c], 0.0), [c])
        self.filter.update([np.log(reading.price)], [c])
        self.last[c], self.count[c] = reading.time, self.count[c] + 1

    def estimate(self) -> np.ndarray:
        """Filtered price F̂ per (chain, risky asset); NaN where no reading came yet."""
        est = np.where(self.count > 0, np.exp(self.filter.x), np.nan)
        return est.reshape(self.n_chains, self.n_risky)

    def variance(self) -> np.ndarray:
        return np.where(self.count > 0, self.filter.P, np.nan).reshape(self.n_chains, self.n_risky)


def feed_sentiment(sim: Simulation, estimate_ca: np.ndarray, gain: float) -> None:
    """Set every run's sentiment to clip(gain·log(F̂/P), −1, 1) where the feed has a value."""
    s = sim.state
    price = s.pool_cash / s.pool_asset  # (B, C, A)
    tilt = np.clip(gain * np.log(estimate_ca[None] / price), -1.0, 1.0)
    known = np.isfinite(estimate_ca)[None]
    s["sentiment"] = np.where(known, tilt, s.sentiment)


@dataclass
class LiveLog:
    """One row per day: the day, the pool prices (mean over runs), the filtered feed and its variance."""

    day: list[int] = field(default_factory=list)
    pool: list[np.ndarray] = field(default_factory=list)
    feed: list[np.ndarray] = field(default_factory=list)
    variance: list[np.ndarray] = field(default_factory=list)
    readings: list[int] = field(default_factory=list)

    def frame(self):
        """The log as a pandas DataFrame: day, readings, then pool_/feed_/var_c<c>_a<a> columns."""
        import pandas as pd

        C, A = self.pool[0].shape
        cols = {"day": self.day, "readings": self.readings}
        for name, rows in (("pool", self.pool), ("feed", self.feed), ("var", self.variance)):
            arr = np.array(rows)
            for c in range(C):
                for a in range(A):
                    cols[f"{name}_c{c}_a{a + 1}"] = arr[:, c, a]
        return pd.DataFrame(cols)


def run_live(
    sim: Simulation,
    readings: Iterable[Reading],
    days: int,
    gain: float = 2.0,
    q: float = 0.001,
    r: float = 0.0004,
    poll: Any = None,
) -> tuple[LiveLog, LiveFeed]:
    """Advance ``sim`` ``days`` days driven by the feed. ``readings``: those known now (a recorded stream,
    or a first poll); ``poll``: a callable returning newly arrived readings (``StreamTail.poll``), asked
    before each day. Events are processed in time order; a reading at time t belongs to day ⌈t⌉."""
    p = sim.params
    feed = LiveFeed(int(p.n_chains), int(p.n_assets) - 1, q, r)
    clock = EventClock(now=float(sim.t))
    pending = sorted(readings, key=lambda x: x.time)
    for rd in pending:
        clock.schedule(max(rd.time, clock.now), rd)
    log = LiveLog()
    start = sim.t
    for day in range(start + 1, start + days + 1):
        if poll is not None:
            for rd in poll():
                clock.schedule(max(rd.time, clock.now), rd)
        clock.schedule(float(day), None)  # the day's end
        seen = 0
        while True:
            _, due = clock.advance()
            readings_now = [d for d in due if d is not None]
            for rd in readings_now:
                feed.ingest(rd)
            seen += len(readings_now)
            if len(readings_now) < len(due):  # the day end is among the events due
                break
        feed_sentiment(sim, feed.estimate(), gain)
        sim.step()
        s = sim.state
        log.day.append(sim.t)
        log.pool.append((s.pool_cash / s.pool_asset).mean(axis=0))
        log.feed.append(feed.estimate())
        log.variance.append(feed.variance())
        log.readings.append(seen)
    return log, feed
