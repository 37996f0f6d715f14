"""One run split over P workers in bulk-synchronous supersteps, on local or Ray workers.

A model that can be partitioned supplies a ``Partitioner`` (named by ``ModelExtras.partitioner``): it assigns
agents to partitions, splits the full state into one block per partition (the partition's agents
renumbered into a contiguous block, their edge slots, the ghost copies of remote neighbours they read,
a replica of the global state and of the random streams) and merges blocks back in agent-id order.
A block's step is a generator: it computes, then yields an ``Exchange`` — the messages for each other
partition and its contributions to the all-reduces — and receives the messages addressed to it and the
reduced values, until the step is done. Every worker yields the same number of times, so the driver
runs one superstep per yield:

    compute (every worker)  →  exchange (messages routed worker to worker)  →  apply (next compute)

Reductions are exact: ``total`` contributions are integer arrays (token units, counts, the limbs of
``exact`` accumulators), summed in any order to the same value; ``least`` takes elementwise minima. A
message that must be answered within the step (an immediate message) costs one more superstep; a batched
one is carried by the next exchange that happens anyway. So the answer never depends on P.

``PartitionedSimulation`` is an ``engine.Simulation`` whose steps run this way; records, snapshots and
``restore`` work as for any batch (the state is gathered from the workers when read). It also

- checkpoints every worker's block every ``checkpoint_every`` steps; when a Ray worker dies, a new one
  is started, every worker reloads the last checkpoint and the steps since are replayed (the run is
  deterministic, so the replay recomputes exactly what was lost);
- measures each worker's compute time per step (L_k: its least over the last ``balance_every`` steps,
  so a passing hiccup does not count) and, every ``balance_every`` steps, when the slowest worker's
  L_k exceeds (1 + ε)·L_l of the fastest, migrates agents from k to l in proportion to the
  measured speeds (agents on the boundary with l first) and re-splits the state.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from econsim.engine.errors import ConfigError
from econsim.engine.model import Model
from econsim.engine.partition.partition import METHODS, Layout
from econsim.engine.simulation import Simulation
from econsim.engine.state import Arrays

BACKENDS = ("local", "ray")


@dataclass
class Exchange:
    """What a block yields at the end of a superstep's compute: ``send`` peer → message (any picklable
    value; peers without a message get none), ``total`` name → integer array summed over workers,
    ``least`` name → array minimized over workers. It receives ``(inbox, reduced)``: inbox source →
    message, reduced name → the all-reduced array."""

    send: dict[int, Any] = field(default_factory=dict)
    total: dict[str, np.ndarray] = field(default_factory=dict)
    least: dict[str, np.ndarray] = field(default_factory=dict)


StepProgram = Generator[Exchange, tuple[dict[int, Any], dict[str, np.ndarray]], None]


class PartitionBlock(Protocol):
    """One partition's share of a run, living on a worker."""

    def step(self, t: int, due: tuple[bool, ...]) -> StepProgram: ...

    def payload(self) -> dict[str, Any]: ...


class Partitioner(Protocol):
    """What a model supplies so that one run can be partitioned (see the module docstring)."""

    def check(self, sim: Simulation) -> None: ...

    def assign(self, sim: Simulation, parts: int, method: str) -> np.ndarray: ...

    def split(self, sim: Simulation, layout: Layout) -> list[dict[str, Any]]: ...

    def merge(self, sim: Simulation, layout: Layout, payloads: list[dict[str, Any]]) -> dict[str, Any]: ...

    def block(self, payload: dict[str, Any]) -> PartitionBlock: ...

    def neighbours(self, sim: Simulation) -> tuple[np.ndarray, np.ndarray]: ...

    def after_step(self, sim: Simulation, t: int, reduced: dict[str, np.ndarray]) -> None: ...


def load_partitioner(path: str) -> Partitioner:
    """The partitioner a "module:factory" import path names (a model's ``ModelExtras.partitioner``)."""
    module, _, name = path.partition(":")
    try:
        factory: Callable[[], Partitioner] = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"partitioner '{path}' cannot be loaded: {exc}") from None
    return factory()


# --- workers ---------------------------------------------------------------------------------------
class Worker:
    """Holds one partition's block and runs its step program superstep by superstep.

    ``superstep`` returns ``(meta, message to worker 0, …, message to worker P−1)``: meta is
    (done, totals, minima, compute seconds, bytes sent, compute CPU seconds). ``slowdown`` > 1 makes the worker that many
    times slower (it sleeps after computing), standing in for a slower or overloaded machine."""

    def __init__(self, rank: int, parts: int, partitioner: str | None = None) -> None:
        self.rank, self.parts = rank, parts
        self.partitioner_path = partitioner
        self.block: PartitionBlock | None = None
        self.program: StepProgram | None = None
        self.slowdown = 1.0

    def load(self, payload: dict[str, Any], partitioner: Partitioner | None = None) -> int:
        if partitioner is None:
            partitioner = load_partitioner(str(self.partitioner_path))
        self.block = partitioner.block(payload)
        self.program = None
        return self.rank

    def set_slowdown(self, factor: float) -> None:
        self.slowdown = float(factor)

    def ping(self) -> int:
        return self.rank

    def begin(self, t: int, due: tuple[bool, ...]) -> tuple[Any, ...]:
        assert self.block is not None, "load a block first"
        self.program = self.block.step(t, due)
        return self._run(None)

    def resume(self, totals: dict[str, np.ndarray], *inbox: Any) -> tuple[Any, ...]:
        received = {k: m for k, m in enumerate(inbox) if m is not None}
        return self._run((received, totals))

    def payload(self) -> dict[str, Any]:
        assert self.block is not None
        return self.block.payload()

    def _run(self, message: Any) -> tuple[Any, ...]:
        assert self.program is not None
        started, cpu = time.perf_counter(), time.process_time()
        try:
            ex = next(self.program) if message is None else self.program.send(message)
        except StopIteration:
            ex = None
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        if self.slowdown > 1.0:
            time.sleep(seconds * (self.slowdown - 1.0))
            seconds *= self.slowdown
        if ex is None:
            return ((True, {}, {}, seconds, 0, cpu), *([None] * self.parts))
        sent = sum(_nbytes(m) for m in ex.send.values())
        messages = [ex.send.get(k) for k in range(self.parts)]
        return ((False, ex.total, ex.least, seconds, sent, cpu), *messages)


def _nbytes(message: Any) -> int:
    if isinstance(message, np.ndarray):
        return int(message.nbytes)
    if isinstance(message, (tuple, list)):
        return sum(_nbytes(m) for m in message)
    if isinstance(message, dict):
        return sum(_nbytes(m) for m in message.values())
    return 0


class _LocalPool:
    """P workers in this process (the reference backend, and P = 1)."""

    def __init__(self, parts: int, partitioner: Partitioner) -> None:
        self.partitioner = partitioner
        self.workers = [Worker(k, parts) for k in range(parts)]

    def load(self, payloads: list[Any]) -> None:
        for w, p in zip(self.workers, payloads, strict=True):
            w.load(p, self.partitioner)

    def begin(self, t: int, due: tuple[bool, ...]) -> list[tuple[Any, ...]]:
        return [w.begin(t, due) for w in self.workers]

    def resume(self, totals: dict[str, np.ndarray], inboxes: list[list[Any]]) -> list[tuple[Any, ...]]:
        return [w.resume(totals, *box) for w, box in zip(self.workers, inboxes, strict=True)]

    def metas(self, replies: list[tuple[Any, ...]]) -> list[Any]:
        return [r[0] for r in replies]

    def payloads(self) -> list[Any]:
        return [_copy(w.payload()) for w in self.workers]

    def fetch(self, payloads: list[Any]) -> list[dict[str, Any]]:
        return payloads

    def set_slowdown(self, rank: int, factor: float) -> None:
        self.workers[rank].set_slowdown(factor)

    def close(self) -> None:
        self.workers = []


def _copy(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.copy()
    if isinstance(x, dict):
        return {k: _copy(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_copy(v) for v in x]
    return x


class _RayPool:
    """P Ray actors, one per partition; messages go actor to actor through Ray's object store (the
    driver passes references and reads only the small reduction parts)."""

    def __init__(self, parts: int, partitioner_path: str, address: str | None) -> None:
        import ray

        self.ray = ray
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        self.parts, self.path = parts, partitioner_path
        self._actor = ray.remote(num_cpus=0, max_restarts=0)(Worker)
        self.workers = [self._new(k) for k in range(parts)]

    def _new(self, rank: int) -> Any:
        return self._actor.remote(rank, self.parts, self.path)

    def restart(self, rank: int) -> None:
        self.ray.kill(self.workers[rank], no_restart=True)
        self.workers[rank] = self._new(rank)

    def load(self, payloads: list[Any]) -> None:
        self.ray.get([w.load.remote(p) for w, p in zip(self.workers, payloads, strict=True)])

    def begin(self, t: int, due: tuple[bool, ...]) -> list[Any]:
        return [w.begin.options(num_returns=self.parts + 1).remote(t, due) for w in self.workers]

    def resume(self, totals: dict[str, np.ndarray], inboxes: list[list[Any]]) -> list[Any]:
        return [
            w.resume.options(num_returns=self.parts + 1).remote(totals, *box)
            for w, box in zip(self.workers, inboxes, strict=True)
        ]

    def metas(self, replies: list[Any]) -> list[Any]:
        return self.ray.get([r[0] for r in replies])

    def payloads(self) -> list[Any]:
        return [w.payload.remote() for w in self.workers]  # references: they outlive their worker

    def fetch(self, payloads: list[Any]) -> list[dict[str, Any]]:
        return list(self.ray.get(payloads))

    def set_slowdown(self, rank: int, factor: float) -> None:
        self.ray.get(self.workers[rank].set_slowdown.remote(factor))

    def close(self) -> None:
        for w in self.workers:
            self.ray.kill(w, no_restart=True)
        self.workers = []


# --- the driver --------------------------------------------------------------------------------------
@dataclass
class StepStats:
    """What the driver measured: per step, each worker's compute seconds, the supersteps and the bytes
    sent; restarts after faults and rebalances."""

    compute: list[np.ndarray] = field(default_factory=list)
    cpu: list[np.ndarray] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    supersteps: list[int] = field(default_factory=list)
    bytes_sent: list[int] = field(default_factory=list)
    restarts: int = 0
    rebalances: list[tuple[int, list[int]]] = field(default_factory=list)


class PartitionedSimulation(Simulation):
    """A batch of ONE run whose steps run on P partitions (see the module docstring). Arguments as for
    ``Simulation``, and: ``partitioner`` the model's partitioner ("module:factory", its
    ``ModelExtras.partitioner``; ``experiment.partitioned`` finds it by model name), ``partitions`` P, ``method`` (metis | hilbert | random), ``backend`` (local |
    ray), ``address`` (a Ray cluster), ``checkpoint_every`` K (Ray workers; 0: never), ``balance_every``
    (0: never) and ``epsilon`` ε of the load balancing."""

    def __init__(
        self,
        model: Model,
        params: Mapping[str, Any] | None = None,
        *,
        partitioner: str,
        partitions: int = 2,
        method: str = "metis",
        backend: str = "local",
        address: str | None = None,
        checkpoint_every: int = 10,
        balance_every: int = 0,
        epsilon: float = 0.2,
        **kwargs: Any,
    ) -> None:
        if method not in METHODS:
            raise ConfigError(f"partition method '{method}' is not one of {', '.join(METHODS)}")
        if backend not in BACKENDS:
            raise ConfigError(f"partition backend '{backend}' is not one of {', '.join(BACKENDS)}")
        if checkpoint_every < 0 or balance_every < 0 or epsilon < 0:
            raise ConfigError("checkpoint_every, balance_every and epsilon must be zero or more")
        self.partitioner = load_partitioner(partitioner)
        self._gathered, self._needs_scatter = True, False
        super().__init__(model, params, **kwargs)
        if self.n_runs != 1:
            raise ConfigError(
                f"a partitioned batch holds one run (it splits that run's agents), got {self.n_runs}; "
                "plan one run per batch (the runner does so for --partitions)"
            )
        self.partitioner.check(self)
        self.parts, self.method, self.backend = int(partitions), method, backend
        self.checkpoint_every, self.balance_every, self.epsilon = checkpoint_every, balance_every, epsilon
        self.stats = StepStats()
        self.layout = Layout.of(self.partitioner.assign(self, self.parts, method), self.parts)
        self.pool: Any = (
            _LocalPool(self.parts, self.partitioner)
            if backend == "local"
            else _RayPool(self.parts, partitioner, address)
        )
        self._checkpoint: tuple[int, list[Any], Layout] | None = None
        self._scatter()
        self.on_superstep: Callable[[int, int], Any] | None = None  # (t, superstep): a test hook

    # the state lives on the workers between steps; reading it gathers it (records, snapshots, results)
    @property
    def state(self) -> Arrays:
        if not self._gathered:
            payloads = self.pool.fetch(self.pool.payloads())
            merged = self.partitioner.merge(self, self.layout, payloads)
            self._state = Arrays(merged["state"])
            self.rng.restore(merged["streams"])
            self._gathered = True
        return self._state

    @state.setter
    def state(self, value: Arrays) -> None:  # a state handed in replaces the workers' at the next step
        self._state = value
        self._gathered = True
        self._needs_scatter = True

    def _scatter(self) -> None:
        """Split the (gathered) state into blocks and load them on the workers."""
        payloads = self.partitioner.split(self, self.layout)
        self.pool.load(payloads)
        self._needs_scatter = False
        keep = self.backend == "ray" and self.checkpoint_every > 0
        self._checkpoint = (self.t, self.pool.payloads(), self.layout) if keep else None

    def restore(self, snapshot: Any) -> None:
        super().restore(snapshot)
        self._scatter()

    def snapshot(self) -> Any:
        _ = self.state
        return super().snapshot()

    def set_slowdown(self, rank: int, factor: float) -> None:
        """Make worker ``rank`` ``factor`` times slower (tests of the load balancing)."""
        self.pool.set_slowdown(rank, factor)

    def close(self) -> None:
        self.pool.close()

    # --- one step --------------------------------------------------------------------------------
    def _run_fast(self, *args: Any, **kwargs: Any) -> int:
        """A model's compiled stretch of steps (``Model.fast_steps``) runs in one process: never here."""
        return 0

    def _advance(self, seconds: dict[str, float] | None) -> None:
        t = self.t + 1
        if self._needs_scatter:
            self._scatter()
        while True:
            try:
                self._superstep_loop(t)
                break
            except Exception as exc:  # a dead Ray worker: restart it, reload the checkpoint, replay
                if not self._recover(exc):
                    raise
        self.t = t
        self._gathered = False
        if self.checkpoint_every and t % self.checkpoint_every == 0 and self.backend == "ray":
            self._checkpoint = (t, self.pool.payloads(), self.layout)
        if self.balance_every and t % self.balance_every == 0:
            self._balance()

    def _superstep_loop(self, t: int) -> None:
        due = tuple(bool(d(t)) for _, d in self._blocks)
        started = time.perf_counter()
        replies = self.pool.begin(t, due)
        compute, cpu = np.zeros(self.parts), np.zeros(self.parts)
        sent, supersteps = 0, 0
        last: dict[str, np.ndarray] = {}
        while True:
            metas = self.pool.metas(replies)
            compute += [m[3] for m in metas]
            cpu += [m[5] for m in metas]
            done = [m[0] for m in metas]
            if all(done):
                break
            if any(done):
                raise RuntimeError(f"step {t}: the partitions' step programs fell out of step")
            sent += sum(m[4] for m in metas)
            totals: dict[str, np.ndarray] = {}
            for m in metas:  # integer sums and minima: the same in any order
                for name, v in m[1].items():
                    totals[name] = v.copy() if name not in totals else totals[name] + v
                for name, v in m[2].items():
                    totals[name] = v.copy() if name not in totals else np.minimum(totals[name], v)
            last = totals
            supersteps += 1
            if self.on_superstep is not None:
                self.on_superstep(t, supersteps)
            inboxes = [[replies[k][1 + rank] for k in range(self.parts)] for rank in range(self.parts)]
            replies = self.pool.resume(totals, inboxes)
        self.stats.compute.append(compute)
        self.stats.cpu.append(cpu)
        self.stats.wall.append(time.perf_counter() - started)
        self.stats.supersteps.append(supersteps)
        self.stats.bytes_sent.append(sent)
        self.partitioner.after_step(self, t, last)

    def _recover(self, exc: Exception) -> bool:
        if self.backend != "ray" or self._checkpoint is None:
            return False
        from ray.exceptions import RayActorError

        if not isinstance(exc, RayActorError):
            return False
        for rank in range(self.parts):
            try:
                self.pool.ray.get(self.pool.workers[rank].ping.remote(), timeout=60)
            except RayActorError:
                self.pool.restart(rank)
        t0, payloads, layout = self._checkpoint
        self.layout = layout
        self.pool.load(payloads)
        self.stats.restarts += 1
        for t in range(t0 + 1, self.t + 1):  # replay the steps since the checkpoint (deterministic)
            self._superstep_loop(t)
        return True

    # --- load balancing --------------------------------------------------------------------------
    def _balance(self) -> None:
        # each worker's least step time over the window: a persistent slowness shows in every step, a
        # passing one (a compile, another process on the core) does not
        window = np.array(self.stats.compute[-self.balance_every :])
        load = window.min(axis=0)
        k, l_ = int(np.argmax(load)), int(np.argmin(load))
        if not load[k] > (1.0 + self.epsilon) * load[l_]:
            return
        counts = np.diff(self.layout.bounds).astype(float)
        speed = counts / np.maximum(load, 1e-12)  # agents per second on each worker
        target = np.floor(speed / speed.sum() * counts.sum()).astype(np.int64)
        target[np.argmax(speed)] += int(counts.sum() - target.sum())
        part = migrate(self.layout.part, target, *self.partitioner.neighbours(self))
        _ = self.state  # gather, then re-split on the new layout
        self.layout = Layout.of(part, self.parts)
        self._scatter()
        self.stats.rebalances.append((self.t, np.diff(self.layout.bounds).tolist()))


def migrate(part_n: np.ndarray, target_k: np.ndarray, indptr: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Move agents from partitions above their target size to those below it, in rounds: each round
    moves the donor's agents with a neighbour in the receiver (boundary agents, lowest ids first), so the
    boundary advances front by front; a donor without such agents gives its lowest ids. Returns the new
    partition of each agent."""
    part = np.asarray(part_n, np.int32).copy()
    n_parts = len(target_k)
    src = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    dst = np.asarray(indices[: indptr[-1]])
    while True:
        excess = np.bincount(part, minlength=n_parts) - np.asarray(target_k)
        donor, receiver = int(np.argmax(excess)), int(np.argmin(excess))
        move = int(min(excess[donor], -excess[receiver]))
        if move <= 0:
            return part
        boundary = np.unique(src[(part[src] == donor) & (part[dst] == receiver)])
        chosen = boundary[:move] if len(boundary) else np.flatnonzero(part == donor)[:move]
        part[chosen] = receiver
