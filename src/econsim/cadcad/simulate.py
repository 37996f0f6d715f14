"""One cadCAD run, stepped the way cadCAD 0.5.3 steps it, with only the copies its results can show.

Per substep: every policy of the block sees the same previous state; their outputs are combined label
by label with ``policy_ops`` (a left fold with the first op, then the other ops applied in turn); every
update function sees the same previous state and policy input, and the new state is the previous one
with the returned ``(name, value)`` pairs written over it — so updates are simultaneous.

cadCAD deep-copies the previous row before every substep and hands the copy to the functions. What that
copy guarantees — a function that changes the state it is given changes neither the rows already made
nor what it kept from an earlier step — is kept here with less work:

- Every substep's functions get a dict of their own (the previous row's values), so a function that
  writes into it (``s['x'] = ...``) changes that substep only, as in cadCAD. When the state holds only
  immutable values (numbers, strings, None, numpy scalars: ``ATOMIC_TYPES``), a shallow copy is already
  a deep one; otherwise (a list, a dict, an array) the state is deep-copied as cadCAD does
  (``deepcopy=True`` always does). This is decided from the initial state and the first timestep's row;
  a mutable value that first appears later is found when the batch's table is built, and the batch is
  run again with deep copies (``batch.simulate_batch``).
- The dict handed to the functions becomes the substep's new row, updated in place, unless a function
  kept a reference to it (its reference count says so): then the new row is a copy, and what the
  function kept stays the state it was given.
- A one-block model whose functions never read their ``state_history`` argument (their bytecode never
  loads it: ``reads_argument``) runs ``run_in_place``: no row dicts at all — one working dict per run,
  and each row's values appended to a flat list the batch slices into columns.
- An update function that only copies a policy signal, ``return ('price', _input['price'])`` however its
  locals are named (``passthrough``), is applied as that lookup instead of a call; the result, the order
  of the writes and a missing label's ``KeyError`` are the function's. ``call_all=True`` calls every
  function (for a debugger or a profiler that should see them).

``check=True`` detects a function that changes the state or parameters it is given and names it.
"""

from __future__ import annotations

import copy
import dis
import inspect
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from econsim.cadcad.spec import Block, Model, RunSpec
from econsim.engine.errors import EconsimError

#: values a deep copy cannot tell from the original whatever a function does: immutable scalars (exact
#: types: a subclass may carry mutable attributes)
ATOMIC_TYPES = frozenset(
    {int, float, bool, complex, str, bytes, type(None)}
    | {t for t in set(np.sctypeDict.values()) if issubclass(t, np.generic) and not issubclass(t, np.void)}
    - {np.object_}
)


class StateMutationError(EconsimError, RuntimeError):
    """A policy or state update function changed the state (or parameters) it was given."""


def is_atomic(values) -> bool:
    """Whether every one of ``values`` is of an ``ATOMIC_TYPES`` type."""
    return ATOMIC_TYPES.issuperset(map(type, values))


#: names through which a function could reach its caller's frame, and so an argument it never loads
_FRAME_ACCESS = frozenset({"locals", "vars", "eval", "exec", "_getframe", "currentframe"})


def reads_argument(f: Callable, index: int) -> bool:
    """False only when plain function ``f``'s bytecode shows it never reads its positional argument
    ``index`` (then what is passed there cannot matter to it); True for anything else: a callable object,
    a partial, ``*args``, a closure over the argument, ``locals()``/``eval``/frame access."""
    if type(f) is not types.FunctionType:
        return True
    code = f.__code__
    if code.co_flags & inspect.CO_VARARGS or index >= code.co_argcount:
        return True
    name = code.co_varnames[index]
    if name in code.co_cellvars or not _FRAME_ACCESS.isdisjoint(code.co_names):
        return True
    for ins in dis.get_instructions(code):
        if "FAST" in ins.opname or "DEREF" in ins.opname or "CLOSURE" in ins.opname:
            names = ins.argval if isinstance(ins.argval, tuple) else (ins.argval,)
            if name in names:
                return True
    return False


_LOADS = frozenset({"LOAD_FAST", "LOAD_FAST_CHECK", "LOAD_FAST_BORROW"})


def passthrough(f: Callable) -> tuple[Any, Any] | None:
    """``(variable, label)`` when update function ``f`` does nothing but return ``(variable,
    _input[label])`` for constants ``variable`` and ``label`` (through locals or not), else None.

    Read from the bytecode by a small stack machine that knows only constants, the policy-input argument,
    locals, one subscript, a 2-tuple and return: anything else (a global, an attribute, a call, another
    argument, a branch) and the function is called as it is."""
    if type(f) is not types.FunctionType or f.__closure__ is not None:
        return None
    code = f.__code__
    if (
        code.co_argcount != 5
        or code.co_kwonlyargcount
        or code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS)
    ):
        return None
    signal = code.co_varnames[4]
    stack: list[tuple] = []
    local: dict[str, tuple] = {}
    subscripts = 0
    for ins in dis.get_instructions(code):
        op = ins.opname
        if op in ("RESUME", "NOP", "CACHE"):
            continue
        if op == "LOAD_CONST":
            stack.append(("const", ins.argval))
        elif op in _LOADS:
            if ins.argval in local:
                stack.append(local[ins.argval])
            elif ins.argval == signal:
                stack.append(("signal",))
            else:
                return None
        elif op == "STORE_FAST" and stack:
            local[ins.argval] = stack.pop()
        elif (op == "BINARY_SUBSCR" or (op == "BINARY_OP" and ins.argrepr == "[]")) and len(stack) >= 2:
            key, obj = stack.pop(), stack.pop()
            if obj != ("signal",) or key[0] != "const":
                return None
            subscripts += 1
            stack.append(("item", key[1]))
        elif op == "BUILD_TUPLE" and ins.arg == 2 and len(stack) >= 2:
            second, first = stack.pop(), stack.pop()
            stack.append(("pair", first, second))
        elif op == "RETURN_VALUE" and len(stack) == 1:
            top = stack.pop()
            if top[0] == "pair" and top[1][0] == "const" and top[2][0] == "item" and subscripts == 1:
                return top[1][1], top[2][1]
            return None
        else:
            return None
    return None


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


# --------------------------------------------------------------------------- the run with rows


def genesis_row(model: Model, run: RunSpec, deepcopy: bool) -> dict[str, Any]:
    """The initial row: the initial state (deep-copied when it holds mutable values) and the indices."""
    state = model.initial_state
    row = copy.deepcopy(state) if deepcopy or not is_atomic(state.values()) else dict(state)
    row.update(simulation=run.simulation, subset=run.subset, run=run.run, substep=0, timestep=0)
    return row


def simulate_run(
    model: Model, params: Any, run: RunSpec, deepcopy: bool = False, check: bool = False
) -> list[list[dict[str, Any]]]:
    """The state history of one run: ``history[0] == [initial row]``, then one list of substep rows per
    timestep. Rows are state dicts carrying ``simulation, subset, run, substep, timestep``."""
    history: list[list[dict[str, Any]]] = [[genesis_row(model, run, deepcopy)]]
    continue_run(model, params, run, history, deepcopy, check)
    return history


def continue_run(
    model: Model,
    params: Any,
    run: RunSpec,
    history: list[list[dict[str, Any]]],
    deepcopy: bool = False,
    check: bool = False,
) -> None:
    """Step the run on from its last row (``len(history) - 1`` timesteps done), appending to ``history``."""
    blocks: tuple[Block, ...] = model.blocks
    plan = [(blk.policies, tuple(_call_update(f) for f in blk.updates)) for blk in blocks]
    head, tail = model.policy_ops[0], tuple(model.policy_ops[1:])
    env = model.env_processes
    one_block = len(blocks) == 1
    checker = _Checker(params) if check else None
    start = len(history) - 1
    # a shallow copy is a deep one while the state holds only immutable values (see the module docstring)
    copying = deepcopy or not is_atomic(history[-1][-1].values())
    if checker is None and not copying and not env and one_block and not tail:
        _run_one_block(plan[0], params, run, history, head)
        return
    getrefcount = sys.getrefcount
    aggregate = _aggregate
    state = history[-1][-1]
    for t_index in range(start, len(run.time_seq)):
        timestep = run.time_seq[t_index]
        rows = []
        for substep, (policies, updates) in enumerate(plan, start=1):
            s = copy.deepcopy(state) if copying else dict(state)
            if one_block and t_index:
                s["substep"] = 0  # cadCAD hands a one-block model's first substep the last row, substep 0
            if checker is None:
                base = getrefcount(s)
                policy_input = aggregate([p(params, substep, history, s) for p in policies], head, tail)
                try:
                    pairs = [f(params, substep, history, s, policy_input) for f in updates]
                except (TypeError, ValueError):
                    _check_pairs(updates, params, substep, history, s, policy_input)
                    raise
            else:
                checker.watch(s)
                base = getrefcount(s)
                outputs = []
                for p in policies:
                    outputs.append(p(params, substep, history, s))
                    checker.after(p, run, timestep, substep)
                policy_input = aggregate(outputs, head, tail)
                pairs = []
                for f in updates:
                    pairs.append(f(params, substep, history, s, policy_input))
                    checker.after(f, run, timestep, substep)
            new = dict(s) if getrefcount(s) > base else s  # a function kept the dict it was given
            try:
                new.update(pairs)
            except (TypeError, ValueError):
                _check_pairs(updates, params, substep, history, s, policy_input)
                raise
            if env:
                _apply_env_processes(env, params, new)
            new["substep"] = substep
            new["timestep"] = timestep
            new["run"] = run.run
            rows.append(new)
            state = new
        history.append(rows)
        if not copying and t_index == start and not is_atomic(state.values()):
            copying = True  # a mutable value entered the state: from now on copy as cadCAD does


def _run_one_block(
    block: tuple[tuple[Callable, ...], tuple[Callable, ...]],
    params: Any,
    run: RunSpec,
    history: list[list[dict[str, Any]]],
    head: Callable,
) -> None:
    """``continue_run``'s loop for the common case — one block, one policy op, no environment processes,
    no deep copies, no checks — with the same calls in the same order, the same arguments and the same
    rows: only the bookkeeping around the user's functions is done inline instead of per call."""
    policies, updates = block
    run_id = run.run
    getrefcount = sys.getrefcount
    start = len(history) - 1
    row = history[-1][-1]
    for t_index in range(start, len(run.time_seq)):
        s = dict(row)
        if t_index:
            s["substep"] = 0  # cadCAD hands a one-block model's first substep the last row, substep 0
        base = getrefcount(s)
        policy_input = _policy_input([p(params, 1, history, s) for p in policies], head)
        try:
            pairs = [f(params, 1, history, s, policy_input) for f in updates]
            row = dict(s) if getrefcount(s) > base else s
            row.update(pairs)
        except (TypeError, ValueError):
            _check_pairs(updates, params, 1, history, s, policy_input)
            raise
        row["substep"] = 1
        row["timestep"] = run.time_seq[t_index]
        row["run"] = run_id
        history.append([row])
        if t_index == start and not is_atomic(row.values()):
            continue_run_copying(params, run, history, block, head)
            return


def continue_run_copying(params, run, history, block, head) -> None:
    """The rest of a one-block run whose state took a mutable value: deep copies before each step."""
    model = Model(initial_state={}, blocks=(Block(*block),), policy_ops=(head,))
    continue_run(model, params, run, history, deepcopy=True)


def _policy_input(outputs: list, head: Callable) -> dict:
    """One block's policy outputs as one policy input: a new dict (as cadCAD makes), labels that two
    policies give combined with the policy op."""
    if len(outputs) == 1:
        return dict(outputs[0])
    policy_input: dict[Any, Any] = {}
    n_labels = 0
    for out in outputs:
        policy_input.update(out)
        n_labels += len(out)
    if len(policy_input) != n_labels:  # a label from two policies: combine them with the op
        return _aggregate(outputs, head, ())
    return policy_input


# --------------------------------------------------------------------------- the run without rows


@dataclass(frozen=True)
class InPlacePlan:
    """How ``run_in_place`` steps a one-block model: its policies, its updates, and ``steps``, the loop
    written out for them (``_step_source``)."""

    policies: tuple[Callable, ...]
    updates: tuple[Callable, ...]
    head: Callable
    steps: Callable


def in_place_plan(model: Model, call_all: bool = False) -> InPlacePlan | None:
    """The plan for ``run_in_place``, or None when the model needs rows: more than one block, more than one
    policy op, environment processes, or a function that reads its ``state_history`` argument."""
    if len(model.blocks) != 1 or len(model.policy_ops) != 1 or model.env_processes:
        return None
    block = model.blocks[0]
    if any(reads_argument(f, 2) for f in (*block.policies, *block.updates)):
        return None
    updates = tuple(_call_update(f) for f in block.updates)
    found = [None if call_all else passthrough(f) for f in block.updates]
    head = model.policy_ops[0]
    namespace: dict[str, Any] = {"_aggregate": _aggregate, "_check_pairs": _check_pairs, "_head": head}
    namespace.update({f"P{k}": f for k, f in enumerate(block.policies)})
    namespace.update({f"U{k}": f for k, f in enumerate(updates)})
    namespace.update({f"K{k}": pair[1] for k, pair in enumerate(found) if pair is not None})
    namespace.update({f"V{k}": pair[0] for k, pair in enumerate(found) if pair is not None})
    source = _step_source(len(block.policies), [pair is not None for pair in found])
    exec(compile(source, f"<econsim.cadcad loop of {len(updates)} updates>", "exec"), namespace)
    return InPlacePlan(block.policies, updates, head, namespace["steps"])


def _step_source(n_policies: int, inlined: list[bool]) -> str:
    """The source of ``steps(params, s, flat, time_seq, run_id, keys)``: the timesteps of one run of a
    one-block model, written out for its functions (``P0..``, ``U0..``; an inlined pass-through ``k`` is
    the lookup ``_input[Kk]`` written to ``Vk``). It returns (-1, s) when done, or (t, s) after timestep
    index t if the row's keys are no longer ``keys`` in that order (the row is then in ``s``, not in
    ``flat``): an update added a name, or a function deleted one (and it, or another, was written back
    at the end of the dict), which would shift the row's values against the columns of ``flat``.

    Every function of a timestep sees the same state ``s``: the values are all evaluated, in the block's
    order, before the first write; a pass-through's lookup is evaluated in its place in that order. The
    writes follow in the block's order, so a variable two functions return takes the later value."""
    args = "params, 1, unseen, s"
    lines = [
        "def steps(params, s, flat, time_seq, run_id, keys, getrefcount=__import__('sys').getrefcount):",
        "    unseen = []",
        "    extend = flat.extend",
        "    probe = {}",
        "    base = getrefcount(probe)  # a dict only this function holds (the run's first one is shared)",
        "    del probe",
        "    for t, timestep in enumerate(time_seq):",
        "        s['substep'] = 0",
    ]
    outs = [f"o{k}" for k in range(n_policies)]
    lines += [f"        o{k} = P{k}({args})" for k in range(n_policies)]
    if n_policies == 1:
        lines.append("        i = {**o0}")
    else:
        lines.append(f"        i = {{{', '.join('**' + o for o in outs)}}}")
        lines.append(f"        if len(i) != {' + '.join(f'len({o})' for o in outs)}:")
        lines.append(f"            i = _aggregate([{', '.join(outs)}], _head, ())")
    # evaluated in the block's order: calls into w0.., and a pass-through's lookup into its wk only when a
    # call follows it (the call could change the policy input); the later ones are read as they are written
    last_call = max((k for k, inline in enumerate(inlined) if not inline), default=-1)
    lines.append("        try:")
    for k, inline in enumerate(inlined):
        if not inline:
            lines.append(f"            w{k} = U{k}({args}, i)")
        elif k < last_call:
            lines.append(f"            w{k} = i[K{k}]")
    lines.append("            if getrefcount(s) > base:")
    lines.append("                s = dict(s)")
    group: list[str] = []
    for k, inline in enumerate([*inlined, True]):
        if k < len(inlined) and not inline:
            group.append(f"w{k}, ")
            continue
        if group:  # consecutive calls: one update
            lines.append(f"            s.update(({''.join(group)}))")
            group = []
        if k < len(inlined):
            lines.append(f"            s[V{k}] = {f'w{k}' if k < last_call else f'i[K{k}]'}")
    lines += [
        "        except (TypeError, ValueError):",
        f"            _check_pairs(({''.join(f'U{k}, ' for k in range(len(inlined)))}), params, 1, unseen, s, i)",
        "            raise",
        "        s['substep'] = 1",
        "        s['timestep'] = timestep",
        "        s['run'] = run_id",
        "        if tuple(s) != keys:",
        "            return t, s",
        "        extend(s.values())",
        "    return -1, s",
    ]
    return "\n".join(lines) + "\n"


def run_in_place(
    plan: InPlacePlan, params: Any, run: RunSpec, genesis: dict[str, Any], flat: list[Any]
) -> list[list[dict[str, Any]]] | None:
    """One run of a model with an ``InPlacePlan``: every row's values (in ``genesis``'s key order) are
    appended to ``flat``; nothing is returned. If the rows stop having ``genesis``'s keys (an update adds
    a name) or the first timestep's row holds a mutable value, the run's values are taken back out of
    ``flat`` and its whole history is returned as rows instead, the rest of the run stepped by
    ``continue_run`` (with deep copies where needed)."""
    keys = tuple(genesis)  # ``genesis`` is the working dict: its keys may grow
    width = len(keys)
    start = len(flat)
    flat.extend(genesis.values())
    steps = plan.steps
    t, s = steps(params, genesis, flat, run.time_seq[:1], run.run, keys)
    if t < 0:
        if len(run.time_seq) < 2:
            return None
        if not is_atomic(flat[-width:]):  # from here on the state is copied, as cadCAD does
            t = 0
            del flat[-width:]
        else:
            t, s = steps(params, s, flat, run.time_seq[1:], run.run, keys)
            if t < 0:
                return None
            t += 1
    done = flat[start:]
    del flat[start:]
    history = [[dict(zip(keys, done[i : i + width], strict=True))] for i in range(0, len(done), width)]
    history.append([s])
    continue_run(Model({}, (Block(plan.policies, plan.updates),), (plan.head,)), params, run, history)
    return history
