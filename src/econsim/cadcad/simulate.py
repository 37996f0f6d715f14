"""One cadCAD run, stepped the way cadCAD 0.5.3 steps it, without its per-substep copies.

Per substep: every policy of the block sees the same previous state; their outputs are combined label
by label with ``policy_ops`` (a left fold with the first op, then the other ops applied in turn); every
update function sees the same previous state and policy input, and the new state is the previous one
with the returned ``(name, value)`` pairs written over it — so updates are simultaneous.

Where cadCAD deep-copies the previous state before every substep, this passes the state itself: each
substep builds one new dict, and the rows of the run are those dicts. A model whose functions change
the state they are given (``s['ledger'].append(...)``) would then change history; ``check=True``
detects that and names the function, ``deepcopy=True`` copies the way cadCAD does.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np

from econsim.cadcad.spec import Block, Model, RunSpec
from econsim.engine.errors import EconsimError


class StateMutationError(EconsimError, RuntimeError):
    """A policy or state update function changed the state (or parameters) it was given."""


def _call_update(f: Callable) -> Callable:
    """cadCAD passes a sixth argument (its ``additional_objs``, None here) to six-argument updates."""
    code = getattr(f, "__code__", None)
    if code is not None and code.co_argcount == 6:
        return lambda p, i, h, s, u: f(p, i, h, s, u, None)
    return f


def _aggregate(outputs: list[dict], head: Callable, tail: tuple[Callable, ...]) -> dict:
    if not tail:
        if len(outputs) == 1:
            return outputs[0]
        merged: dict[str, Any] = {}
        for out in outputs:
            merged.update(out)
        if len(merged) == sum(map(len, outputs)):  # no label from two policies: nothing to combine
            return merged
    combined: dict[str, Any] = {}
    for out in outputs:
        for label, value in out.items():
            combined[label] = head(combined[label], value) if label in combined else value
    if tail:
        for label, value in combined.items():
            for g in tail:
                value = g(value)
            combined[label] = value
    return combined


def _check_pairs(updates, params, substep, history, state, policy_input) -> None:
    """Name the update function that does not return a (name, value) pair (cadCAD says only "a" function)."""
    for f in updates:
        out = f(params, substep, history, state, policy_input)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise ValueError(
                f"state update function {getattr(f, '__qualname__', f)} returned {out!r}, "
                "not a (variable name, value) tuple"
            )


def _apply_env_processes(env: dict[str, Any], params: Any, state: dict[str, Any]) -> None:
    """cadCAD's environment processes: a function of (state, params, value), a list of (params, value)
    functions applied in turn, or a constant."""
    for name, proc in env.items():
        if name not in state:
            continue
        value = state[name]
        if isinstance(proc, list):
            for f in proc:
                value = f(params, value)
        elif callable(proc):
            value = proc(state, params, value)
        else:
            value = proc
        state[name] = value


def _same(a: Any, b: Any) -> bool:
    try:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return bool(np.array_equal(a, b, equal_nan=True))
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
            return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
        result = a == b
        return bool(result) or (a != a and b != b)  # NaN stays NaN
    except Exception:
        return a is b


class _Checker:
    """The opt-in safety mode: snapshots of what functions are given, compared after each call."""

    def __init__(self, params: Any) -> None:
        self.params = params
        self.params_before = copy.deepcopy(params)

    def watch(self, state: dict) -> None:
        self.state = state
        self.before = copy.deepcopy(state)

    def after(self, f: Callable, run: RunSpec, timestep: int, substep: int) -> None:
        where = (
            f"{getattr(f, '__qualname__', f)!s} (simulation {run.simulation}, subset {run.subset}, "
            f"run {run.run}, timestep {timestep}, substep {substep})"
        )
        if not _same(self.state, self.before):
            changed = [
                k for k in self.before if k not in self.state or not _same(self.state[k], self.before[k])
            ]
            changed += [k for k in self.state if k not in self.before]
            raise StateMutationError(
                f"{where} changed the state it was given (variables: {', '.join(map(str, changed))}). "
                "Return new values instead of changing them in place, or run with deepcopy=True."
            )
        if not _same(self.params, self.params_before):
            raise StateMutationError(f"{where} changed the parameters it was given")


def simulate_run(
    model: Model, params: Any, run: RunSpec, deepcopy: bool = False, check: bool = False
) -> list[list[dict[str, Any]]]:
    """The state history of one run: ``history[0] == [initial row]``, then one list of substep rows per
    timestep. Rows are state dicts carrying ``simulation, subset, run, substep, timestep``."""
    genesis = copy.deepcopy(model.initial_state)
    genesis.update(simulation=run.simulation, subset=run.subset, run=run.run, substep=0, timestep=0)
    history: list[list[dict[str, Any]]] = [[genesis]]
    blocks: tuple[Block, ...] = model.blocks
    plan = [(blk.policies, tuple(_call_update(f) for f in blk.updates)) for blk in blocks]
    head, tail = model.policy_ops[0], tuple(model.policy_ops[1:])
    env = model.env_processes
    one_block = len(blocks) == 1
    checker = _Checker(params) if check else None
    if checker is None and not deepcopy and not env and one_block and not tail:
        _run_one_block(plan[0], params, run, history, head)
        return history
    aggregate = _aggregate
    state = genesis
    for t_index, timestep in enumerate(run.time_seq):
        if one_block and t_index:
            # cadCAD hands a one-block model's first substep a copy of the last row with substep 0
            state = dict(state)
            state["substep"] = 0
        rows = []
        for substep, (policies, updates) in enumerate(plan, start=1):
            s = copy.deepcopy(state) if deepcopy else state
            if checker is None:
                policy_input = aggregate([p(params, substep, history, s) for p in policies], head, tail)
                new = dict(s)
                try:
                    new.update([f(params, substep, history, s, policy_input) for f in updates])
                except (TypeError, ValueError):
                    _check_pairs(updates, params, substep, history, s, policy_input)
                    raise
            else:
                checker.watch(s)
                outputs = []
                for p in policies:
                    outputs.append(p(params, substep, history, s))
                    checker.after(p, run, timestep, substep)
                policy_input = aggregate(outputs, head, tail)
                new = dict(s)
                for f in updates:
                    name, value = f(params, substep, history, s, policy_input)
                    checker.after(f, run, timestep, substep)
                    new[name] = value
            if env:
                _apply_env_processes(env, params, new)
            new["substep"] = substep
            new["timestep"] = timestep
            new["run"] = run.run
            rows.append(new)
            state = new
        history.append(rows)
    return history


def _run_one_block(
    block: tuple[tuple[Callable, ...], tuple[Callable, ...]],
    params: Any,
    run: RunSpec,
    history: list[list[dict[str, Any]]],
    head: Callable,
) -> None:
    """``simulate_run``'s loop for the common case — one block, one policy op, no environment processes,
    no copies, no checks — with the same calls in the same order, the same arguments and the same rows:
    only the bookkeeping around the user's functions is done inline instead of per call."""
    policies, updates = block
    run_id = run.run
    s = history[0][0]
    for t_index, timestep in enumerate(run.time_seq):
        if t_index:
            # cadCAD hands a one-block model's first substep a copy of the last row with substep 0
            s = dict(s)
            s["substep"] = 0
        outputs = [p(params, 1, history, s) for p in policies]
        if len(outputs) == 1:
            policy_input = outputs[0]
        else:
            policy_input = {}
            n_labels = 0
            for out in outputs:
                policy_input.update(out)
                n_labels += len(out)
            if len(policy_input) != n_labels:  # a label from two policies: combine them with the op
                policy_input = _aggregate(outputs, head, ())
        new = dict(s)
        try:
            new.update([f(params, 1, history, s, policy_input) for f in updates])
        except (TypeError, ValueError):
            _check_pairs(updates, params, 1, history, s, policy_input)
            raise
        new["substep"] = 1
        new["timestep"] = timestep
        new["run"] = run_id
        history.append([new])
        s = new
