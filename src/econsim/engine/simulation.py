"""A batch of runs that steps: the one place where a batch is built and where the step loop lives.

    sim = Simulation(model, {"throttle": [0.01, 0.02]}, runs=2, seed=7)    # from plain arguments
    sim = Simulation.from_task(task, model)                                # from a planned batch
    sim.step()            # one step: t → t + 1
    records = sim.run(60) # 60 more steps, recorded; records.times (T,), records.columns[name] (T, B[, k])
    sim.state.price, sim.t, sim.params.throttle
    snap = sim.snapshot() # t, state, records, stream positions; a fresh sim.restore(snap) continues identically

Building a batch: the parameters (``Model.param_arrays``: per-run (B,) arrays, per-batch scalars, the
static data), the random streams of the runs' identities (``(run,)`` with common random numbers, else
``(subset, run)``), and the initial state (``Model.initial_state``).

One step applies the model's blocks in order, each only when its schedule says so:

    s_{t+1} = block_K ∘ … ∘ block_1 (s_t)        block_k(s) = s ⊕ ⋃_{stage ∈ block_k} stage(s, p, rng)

Every stage's update keys are checked against the declared state (a set comparison per stage call:
an unknown key stops the run naming the stage, the key and the nearest declared name). In strict mode
the updates must be finite and the model's invariants hold after every step.

Records are taken at t = 0, whenever t is a multiple of ``record_every``, and at the end of each
``run`` call. The float columns of one ``run`` call share one (K, B, T) block: each column is a (T, B)
view of it, so a table of one row per run and timestep reads every column without a transpose.

A model may declare ``fast_steps``, a compiled equivalent of its step for whole stretches of steps
(``Stretch``): ``run`` hands it the steps to go and continues with the blocks wherever it stops short —
it stops before any step strict mode would refuse, so that the blocks redo that step and raise exactly
as they always do. Its results are the blocks' bits (each model's tests compare the two paths).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

from econsim.engine.errors import ConfigError, UndeclaredStateError, unknown
from econsim.engine.model import Model
from econsim.engine.state import Arrays, Params
from econsim.engine.stepping import check_finite
from econsim.engine.streams import RandomStreams


class Records(NamedTuple):
    """Recorded timesteps (T,) and, per recorded column, an array (T, B) — or (T, B, k)."""

    times: np.ndarray
    columns: dict[str, np.ndarray]


class Stretch(NamedTuple):
    """What ``Model.fast_steps`` receives: advance the batch from step ``t0`` by up to ``steps`` steps.

    It returns ``(k, updates)``: the steps it did (0 … steps) and the state arrays they changed (new
    arrays: it never mutates ``state``). Afterwards the state, the streams (each advanced by exactly the
    draws of k steps) and the records of steps t0 + 1 … t0 + k must be those k steps of the blocks would
    give. In ``strict`` mode it stops before a step whose updates are not finite, whose invariants fail
    or whose recorded observables are infinite; it may stop earlier, or do nothing (k = 0), whenever it
    does not apply: the blocks take over from there.

    Records: ``row_s[i]`` is the row of step t0 + 1 + i (−1: not recorded); ``block_kbt[k, b, row]`` is
    the float record ``names[k]`` of run b. ``block_kbt`` is None when some recorded column is not a
    float per run (a fast path that records must then decline). Progress: ``report(n)`` tells that n
    more steps are done; call it every ``report_every`` steps (steps done but not reported are reported
    when the stretch returns).
    """

    state: Arrays
    params: Params
    rng: RandomStreams
    t0: int
    steps: int
    strict: bool
    row_s: np.ndarray
    names: tuple[str, ...]
    block_kbt: np.ndarray | None
    report: Callable[[int], Any]
    report_every: int


class Snapshot(NamedTuple):
    """A batch between two steps (``Simulation.snapshot``): step t, state arrays, records so far,
    and each random stream's position (words fetched, unconsumed words)."""

    t: int
    state: dict[str, np.ndarray]
    times: np.ndarray
    columns: dict[str, np.ndarray]
    streams: dict[str, tuple[int, np.ndarray]]


class Simulation:
    """B runs of a model advanced together; see the module docstring."""

    def __init__(
        self,
        model: Model,
        params: Mapping[str, Any] | None = None,
        *,
        runs: int | None = None,
        seed: int = 0,
        initial_state: Mapping[str, Any] | None = None,
        subset: np.ndarray | None = None,
        run: np.ndarray | None = None,
        common_random_numbers: bool = True,
        strict: bool = True,
        record_every: int = 1,
        validate: bool = True,
    ) -> None:
        """``params``: values by name, each a scalar or one value per run; ``runs``: how many runs
        (default: the length of the per-run values, else 1). ``subset``/``run`` label the runs (their
        identity for the random streams, and error messages); by default subset 0, runs 0 … B−1.
        ``validate`` checks every parameter value against its declaration (the planner already has)."""
        if record_every < 1:
            raise ConfigError(f"record_every = {record_every} must be 1 or more")
        params = dict(params or {})
        initial = dict(initial_state or {})
        if validate:
            params = {k: _validated(model, k, v) for k, v in params.items()}
            for name in initial:
                if name not in model.var_by_name:
                    raise unknown(
                        "state variable", name, model.var_by_name, where=f" of model '{model.name}'"
                    )
        n_runs = _n_runs(runs, run, params, initial)
        run_b = np.arange(n_runs) if run is None else np.asarray(run, dtype=np.int64)
        subset_b = np.zeros(n_runs, dtype=np.int64) if subset is None else np.asarray(subset, dtype=np.int64)
        identity = run_b[:, None] if common_random_numbers else np.column_stack([subset_b, run_b])
        self.model = model
        self.seed = int(seed)
        self.strict = strict
        self.record_every = int(record_every)
        self.run_labels = (subset_b, run_b)
        self.rng = RandomStreams(self.seed, identity)
        self.params: Params = model.param_arrays(params, n_runs)
        self.state: Arrays = model.initial_state(self.params, initial, self.rng)
        self.t = 0
        self._declared = frozenset(model.var_by_name)
        self._check_invariants = strict and bool(model.invariants)
        # schedules resolve once: their parameters are per batch
        self._blocks = [(block, _schedule(block, self.params)) for block in model.blocks]
        self._chunks: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []
        self._record_block: tuple[tuple[str, ...], np.ndarray | None] = ((), None)
        first = model.observe(self.state, self.params)
        self._chunks.append((np.array([0]), {k: np.asarray(v)[None].copy() for k, v in first.items()}))

    @classmethod
    def from_task(cls, task: Any, model: Model) -> Simulation:
        """The batch of a planned task (``experiment.batch.BatchTask``) of ``model``."""
        params, initial_state = task.inputs()
        return cls(
            model,
            params,
            seed=task.seed,
            initial_state=initial_state,
            subset=task.subset_b,
            run=task.run_b,
            common_random_numbers=task.common_random_numbers,
            strict=task.strict,
            record_every=task.record_every,
            validate=False,
        )

    @property
    def n_runs(self) -> int:
        return self.params.n_runs

    # --- stepping ----------------------------------------------------------------------------------
    def step(self, n: int = 1) -> Simulation:
        """Advance ``n`` steps, recording at multiples of ``record_every``."""
        if self.strict and self.t == 0:
            check_finite(self.state, 0, self.run_labels)
            self._check_first_record()
        with np.errstate(all="ignore"):
            for _ in range(n):
                self._advance(None)
                if self.t % self.record_every == 0:
                    self._record_row()
        return self

    def run(
        self,
        steps: int,
        on_step: Callable[[int], Any] | None = None,
        on_fields: Callable[[dict[str, float]], Any] | None = None,
        progress_fields: Callable[[Arrays, Arrays], dict[str, float]] | None = None,
    ) -> Records:
        """Advance ``steps`` steps, recording at multiples of ``record_every`` and at the last one;
        returns all records so far. ``on_step(n)`` is told the steps just completed (for progress
        bars); ``on_fields`` then receives ``progress_fields(s, p)`` of the current state (a few
        summary numbers, e.g. the model's ``ModelExtras.progress_fields``)."""
        if steps < 0:
            raise ConfigError(f"steps = {steps} must be zero or more")
        if self.strict:  # the state handed in (or changed by the caller since) is checked too
            check_finite(self.state, self.t, self.run_labels)
            if self.t == 0:
                self._check_first_record()
        start, every = self.t, self.record_every
        times = np.arange((start // every + 1) * every, start + steps + 1, every)
        if steps and (not len(times) or times[-1] != start + steps):
            times = np.append(times, start + steps)
        columns = self._allocate(times)
        row = 0
        report_every = max(1, min(100, steps // 100 or 1))
        pending = 0
        fields = progress_fields if on_fields is not None else None
        strict = self.strict
        todo = steps
        # invalid operations are caught by the strict checks, by array and step; numpy's warnings
        # would only repeat them without saying where
        with np.errstate(all="ignore"):
            if self.model.fast_steps is not None and steps:
                done = self._run_fast(start, steps, times, on_step, report_every)
                todo -= done
                row = int(np.searchsorted(times, self.t, side="right"))
                if done and fields is not None and on_fields is not None:
                    on_fields(fields(self.state, self.params))
            for _ in range(todo):
                self._advance(None)
                if row < len(times) and times[row] == self.t:
                    observed = self.model.observe(self.state, self.params)
                    if strict:
                        self._check_observables(observed)
                    for k, v in observed.items():
                        columns[k][row] = v
                    row += 1
                if on_step is not None:
                    pending += 1
                    if pending >= report_every:
                        on_step(pending)
                        pending = 0
                        if fields is not None and on_fields is not None:
                            on_fields(fields(self.state, self.params))
        if on_step is not None and pending:
            on_step(pending)
        return self.records

    def _run_fast(
        self, start: int, steps: int, times: np.ndarray, on_step: Callable[[int], Any] | None, every: int
    ) -> int:
        """Steps ``start + 1 …`` done by the model's ``fast_steps`` (in one stretch, reporting every
        ``every`` steps to ``on_step``) until it stops short or the ``steps`` are done; returns how many."""
        fast = self.model.fast_steps
        assert fast is not None
        names, block_kbt = self._record_block
        row_s = np.full(steps, -1, dtype=np.int64)
        row_s[times - start - 1] = np.arange(len(times))
        reported = [0]

        def report(n: int) -> None:
            reported[0] += n
            if on_step is not None:
                on_step(n)

        stretch = Stretch(
            self.state,
            self.params,
            self.rng,
            self.t,
            steps,
            self.strict,
            row_s,
            names,
            block_kbt,
            report,
            every,
        )
        k, updates = fast(stretch)
        if k:
            self.state.update(updates)
            self.t += k
        if on_step is not None and k > reported[0]:
            on_step(k - reported[0])
        return k

    def profile(self, steps: int, warmup: int = 0) -> dict[str, float]:
        """Seconds spent in each block over ``steps`` steps, after ``warmup`` untimed ones (no records)."""
        seconds = {block.name: 0.0 for block in self.model.blocks}
        with np.errstate(all="ignore"):
            for _ in range(warmup):
                self._advance(None)
            for _ in range(steps):
                self._advance(seconds)
        return seconds

    @property
    def records(self) -> Records:
        """Every record so far: times (T,) and columns (T, B[, k])."""
        if len(self._chunks) == 1:
            return Records(*self._chunks[0])
        times = np.concatenate([c[0] for c in self._chunks])
        columns = {k: np.concatenate([c[1][k] for c in self._chunks]) for k in self._chunks[0][1]}
        self._chunks = [(times, columns)]
        return Records(times, columns)

    # --- checkpoints -------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """Everything the rest of the batch depends on that the task does not rebuild: the step, the
        state arrays, the records so far and the random streams' positions (arrays, not copies)."""
        records = self.records
        return Snapshot(self.t, dict(self.state), records.times, records.columns, self.rng.positions())

    def restore(self, snapshot: Snapshot) -> None:
        """Continue from ``snapshot`` of this same batch (built from the same task): every step from
        here on is bit-identical to the steps that followed the snapshot. A snapshot whose state or
        records do not fit this batch (names, shapes, dtypes) is a ValueError, and nothing changes."""
        for what, mine, theirs in (
            ("state", self.state, snapshot.state),
            ("records", self._chunks[0][1], snapshot.columns),
        ):
            if set(mine) != set(theirs):
                raise ValueError(f"the snapshot's {what} holds {sorted(theirs)}, this batch's {sorted(mine)}")
            for name, value in mine.items():
                value, other = np.asarray(value), np.asarray(theirs[name])
                width = slice(1, None) if what == "records" else slice(None)
                if value.shape[width] != other.shape[width] or value.dtype != other.dtype:
                    raise ValueError(
                        f"the snapshot's {what} '{name}' is {other.dtype}{list(other.shape)}, this "
                        f"batch's {value.dtype}{list(value.shape)}"
                    )
        self.state.clear()
        self.state.update(snapshot.state)
        self.t = int(snapshot.t)
        self._chunks = [(np.asarray(snapshot.times), dict(snapshot.columns))]
        self.rng.restore(snapshot.streams)

    # --- the step loop -----------------------------------------------------------------------------
    def _advance(self, seconds: dict[str, float] | None) -> None:
        """One step (the only step loop): each due block's stages, their updates checked and applied."""
        t = self.t + 1
        state, params, rng = self.state, self.params, self.rng
        prev = Arrays(state) if self._check_invariants else None  # stages replace arrays, never mutate
        for block, due in self._blocks:
            if not due(t):
                continue
            started = time.perf_counter() if seconds is not None else 0.0
            updates: dict[str, np.ndarray] = {}
            for stage in block.stages:
                out = stage(state, params, rng)
                if not out.keys() <= self._declared:
                    key = sorted(set(out) - self._declared)[0]
                    raise UndeclaredStateError(getattr(stage, "__name__", repr(stage)), key, self._declared)
                updates.update(out)
            if self.strict:
                check_finite(updates, t, self.run_labels)
            state.update(updates)
            if seconds is not None:
                seconds[block.name] += time.perf_counter() - started
        self.t = t
        if prev is not None:
            for invariant in self.model.invariants:
                invariant.check(state, params, prev, t, self.run_labels)

    def _allocate(self, times: np.ndarray) -> dict[str, np.ndarray]:
        """Arrays for the records at ``times``; on a fresh simulation they include row t = 0, so one
        ``run`` holds its records in one array per column (no concatenation copy). The float columns
        of one value per run are (T, B) views of one (K, B, T) block (``_record_block``, without row
        t = 0): one allocation, and the rows of a run's timesteps lie next to each other."""
        t0, first = self._chunks[-1]
        fresh = len(self._chunks) == 1 and len(t0) == 1 and t0[0] == 0 and self.t == 0
        n_rows = len(times) + fresh
        names = tuple(k for k, v in first.items() if v.ndim == 2 and v.dtype == np.float64)
        block_kbt = np.empty((len(names), self.n_runs, n_rows), dtype=np.float64)
        columns = {k: block_kbt[i].T for i, k in enumerate(names)}
        for k, v in first.items():
            if k not in columns:
                columns[k] = np.empty((n_rows, *v.shape[1:]), dtype=v.dtype)
        columns = {k: columns[k] for k in first}  # the record's order
        complete = len(names) == len(first)
        if fresh:
            for k, v in first.items():
                columns[k][0] = v[0]
            self._chunks = [(np.concatenate([t0, times]), columns)]
            self._record_block = (names, block_kbt[:, :, 1:] if complete else None)
            return {k: v[1:] for k, v in columns.items()}
        self._chunks.append((times, columns))
        self._record_block = (names, block_kbt if complete else None)
        return columns

    def _check_observables(self, observed: Mapping[str, np.ndarray]) -> None:
        """Strict mode: a recorded observable must not be infinite either (the state can be finite
        while, say, a market cap overflows to inf). NaN is an observable's "undefined" (a mean over
        an empty group: no learners among the agents) and is recorded as such."""
        names = self.model.observables
        observables = {k: v for k, v in observed.items() if k in names}
        check_finite(observables, self.t, self.run_labels, "recorded observable", allow_nan=True)

    def _check_first_record(self) -> None:
        """Strict mode: the observables recorded at t = 0, when the simulation was built."""
        times, first = self._chunks[0]
        if len(times) and times[0] == 0:
            self._check_observables({k: v[0] for k, v in first.items()})

    def _record_row(self) -> None:
        obs = self.model.observe(self.state, self.params)
        if self.strict:
            self._check_observables(obs)
        self._chunks.append((np.array([self.t]), {k: np.asarray(v)[None].copy() for k, v in obs.items()}))


def _validated(model: Model, name: str, value: Any) -> Any:
    param = model.param(name)  # unknown names fail here, with a suggestion
    if np.ndim(value) == 0:
        return param.validate(value.item() if isinstance(value, np.generic) else value)
    values = np.asarray(value)
    for v in np.unique(values):
        param.validate(v.item())
    return values


def _n_runs(runs: int | None, run: np.ndarray | None, params: Mapping, initial: Mapping) -> int:
    lengths = {len(v) for v in (*params.values(), *initial.values()) if np.ndim(v) == 1}
    if run is not None:
        lengths.add(len(run))
    if runs is not None:
        lengths.add(int(runs))
    if len(lengths) > 1:
        raise ConfigError(f"per-run values disagree on the number of runs: {sorted(lengths)}")
    n = lengths.pop() if lengths else 1
    if n < 1:
        raise ConfigError(f"runs = {n} must be 1 or more")
    return n


def _schedule(block: Any, params: Params) -> Callable[[int], bool]:
    if block.at is None and block.every == 1 and block.offset == 0:
        return lambda t: True
    values = {k: params[k] for k in block.schedule_params()}
    return lambda t: block.due(t, values)
