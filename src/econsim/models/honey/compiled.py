"""The honey step compiled: the same arithmetic as ``supply_policy + saturation_process + price_walk``,
many steps per call (``Model.fast_steps``, see ``engine.simulation.Stretch``).

At the sizes honey runs (a few hundred runs, a hundred steps) a step of the three numpy stages is ≈ 45
small array operations plus the engine's checks and records, each costing more in Python than in
arithmetic. Here one step is two compiled loops over the runs and numpy's own ``exp`` between them:

    prepare   (old state, draws) → production', utility', target', move and the exponent 6 − utility'
    numpy     e = exp(6 − utility'), and exp(move) when a run takes the positive walk
    finish    supply policy, saturation' = 1/(1 + e), size', price' = price · (1 + move | e^move);
              in strict mode the finite, invariant and observable checks; the step's records

Every operation is the stages' own, in their order, on float64 without fast-math, so the results are
the stages' bits. ``exp`` stays numpy's: its SIMD implementation and the C library's differ in the last
bit for a few percent of arguments. The draws of a stretch are taken at once from the "price" stream
(two words a step: the uniform, then the normal), in the blocks one draw at a time would fetch, so the
values and the stream's position are the stages' own. In strict mode a step that the engine's checks
would refuse is not taken: the stretch stops before it, the stream goes back to where those steps leave it, and the stages redo that step and raise as they always do.

Loading numba and the compiled code costs a second or more once per process, more than the stages take for
a small experiment: a stretch of fewer than ``COMPILED_RUN_STEPS`` run-steps takes the stages unless numba
is loaded already (the same bits either way).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from econsim.engine.simulation import Stretch

STATE = (
    "reserve",
    "circulation",
    "size",
    "saturation",
    "production",
    "utility",
    "price",
    "target_price",
    "netflow",
    "adjustment",
)
OBSERVED = ("total_supply", "market_cap", "ratio")
PARAMS = (
    "throttle",
    "outflow_rate",
    "target_reserve_ratio",
    "valuation_ratio",
    "productivity",
    "growth",
    "p_variance",
    "p_pull",
)
_CODE = {name: i for i, name in enumerate(STATE + OBSERVED)}
_TWO_M53 = 2.0**-53
_TWO_M52 = 2.0**-52
#: recorded steps staged before they are written to the (K, B, T) records: 8 floats, a cache line per run
_SLOTS = 8

#: a stretch of fewer run-steps than this goes through the stages unless numba is loaded already: loading
#: numba and the compiled step once costs a second or more, the stages ≈ 0.2 ms a step
COMPILED_RUN_STEPS = 50_000

_kernels: dict[str, Any] = {}


def _prepare(i, x_kb, par_pb, u_sb, z_sb, tmp_kb):
    """Step i of the stretch, first half: what the exponentials need (saturation_process, price_walk)."""
    reserve_b, circulation_b, size_b, saturation_b = x_kb[0], x_kb[1], x_kb[2], x_kb[3]
    production_b, price_b = x_kb[4], x_kb[6]
    outflow_rate_b, valuation_b, productivity_b = par_pb[1], par_pb[3], par_pb[4]
    variance_b, pull_b, u_b, z_b = par_pb[6], par_pb[7], u_sb[i], z_sb[i]
    out_production, out_utility, out_target = tmp_kb[0], tmp_kb[1], tmp_kb[2]
    out_move, out_arg = tmp_kb[3], tmp_kb[4]
    for b in range(x_kb.shape[1]):
        reserve, circulation, size, saturation = reserve_b[b], circulation_b[b], size_b[b], saturation_b[b]
        price, productivity = price_b[b], productivity_b[b]
        outflow = reserve * outflow_rate_b[b]
        production = production_b[b] * (productivity * productivity) + outflow * (1.0 + productivity) * price
        utility = 10.0 * production / (production + size)
        supply = circulation + reserve
        floor = 0.5 if saturation <= 0.5 else saturation  # np.maximum(0.5, s): NaN stays NaN
        ratio = supply / circulation
        target = size / supply * valuation_b[b] / floor * (ratio * ratio)
        toward = u_b[b] < pull_b[b]
        below = price < target
        direction = 1.0 if toward == below else -1.0
        out_production[b] = production
        out_utility[b] = utility
        out_target[b] = target
        out_move[b] = direction * abs(z_b[b]) * variance_b[b]
        out_arg[b] = 6.0 - utility


def _finish(x_kb, y_kb, par_pb, tmp_kb, positive_b, strict, tol, stage_vjb, slot):
    """Step i, second half: the new state into ``y_kb`` and every recorded value into slot ``slot`` of
    ``stage_vjb`` (value, slot, run; −1: not recorded). False when strict mode would refuse the step
    (then ``y_kb`` and the slot are to be discarded)."""
    reserve_b, circulation_b, size_b, saturation_b = x_kb[0], x_kb[1], x_kb[2], x_kb[3]
    price_b, target_price_b = x_kb[6], x_kb[7]
    throttle_b, outflow_rate_b, ratio_b, growth_b = par_pb[0], par_pb[1], par_pb[2], par_pb[5]
    production_b, utility_b, target_b, move_b, e_b, ef_b = (
        tmp_kb[0],
        tmp_kb[1],
        tmp_kb[2],
        tmp_kb[3],
        tmp_kb[5],
        tmp_kb[6],
    )
    n_b = x_kb.shape[1]
    bad = False
    for b in range(n_b):
        reserve, circulation, size, saturation = reserve_b[b], circulation_b[b], size_b[b], saturation_b[b]
        price, throttle = price_b[b], throttle_b[b]
        # supply_policy
        outflow = reserve * outflow_rate_b[b]
        inflow = size * saturation / target_price_b[b]
        netflow = inflow - outflow
        reserve_net = reserve + netflow
        circulation_new = circulation - netflow
        supply = reserve_net + circulation_new
        error = (1.0 - (reserve_net / supply) / ratio_b[b]) / 12.0
        clipped = -throttle if error < -throttle else (throttle if error > throttle else error)  # NaN stays
        error = clipped if throttle != 0 else error
        adjustment = error * supply
        reserve_new = reserve + netflow + adjustment
        # saturation_process and price_walk
        move = move_b[b]
        price_new = price * (ef_b[b] if positive_b[b] else 1.0 + move)
        size_new = size * (1.0 + growth_b[b])
        saturation_new = 1.0 / (1.0 + e_b[b])
        y_kb[0, b] = reserve_new
        y_kb[1, b] = circulation_new
        y_kb[2, b] = size_new
        y_kb[3, b] = saturation_new
        y_kb[4, b] = production_b[b]
        y_kb[5, b] = utility_b[b]
        y_kb[6, b] = price_new
        y_kb[7, b] = target_b[b]
        y_kb[8, b] = netflow
        y_kb[9, b] = adjustment
    if strict:
        # how many runs' step strict mode would refuse: a non-finite update, the "supply" invariant
        # broken (as Invariant.check computes it), an infinite observable when the step is recorded;
        # flags or-ed together without branches, so that the loop vectorises
        recorded = slot >= 0
        for b in range(n_b):
            finite = True
            for k in range(10):
                v = y_kb[k, b]
                finite &= v - v == 0.0  # x − x is 0 exactly when x is finite
            reserve, circulation = y_kb[0, b], y_kb[1, b]
            supply = reserve + circulation
            residual = supply - ((reserve_b[b] + circulation_b[b]) + y_kb[9, b])
            magnitude = abs(supply)
            holds = abs(residual) - tol * (magnitude if magnitude > 1.0 else 1.0) <= 0
            infinite = (
                (magnitude == np.inf)
                | (abs(supply * y_kb[6, b]) == np.inf)
                | (abs(reserve / supply) == np.inf)
            )
            bad |= not (finite & holds & (not (recorded & infinite)))
    if bad:
        return False
    if slot >= 0:
        for k in range(10):
            stage_vjb[k, slot] = y_kb[k]
        total_b, cap_b, share_b = stage_vjb[10, slot], stage_vjb[11, slot], stage_vjb[12, slot]
        reserve_b, circulation_b, price_b = y_kb[0], y_kb[1], y_kb[6]
        for b in range(n_b):
            supply_new = reserve_b[b] + circulation_b[b]
            total_b[b] = supply_new
            cap_b[b] = supply_new * price_b[b]
            share_b[b] = reserve_b[b] / supply_new
    return True


def _flush(stage_vjb, n_slots, rows_j, code_k, block_kbt):
    """The staged records into their rows: block[k, b, rows[j]] = stage[code[k], j, b] (a few steps of
    one run at a time, so each run's rows are written together)."""
    for k in range(code_k.shape[0]):
        src_jb = stage_vjb[code_k[k]]
        dst_bt = block_kbt[k]
        for b in range(src_jb.shape[1]):
            for j in range(n_slots):
                dst_bt[b, rows_j[j]] = src_jb[j, b]


def _draws(words_bw, u_sb, x_sb):
    """The stretch's uniforms and the normals' arguments from the stream's words, step-major: word 2i of
    run b gives u = (w >> 11)·2⁻⁵³, word 2i + 1 the argument ((w >> 12) + ½)·2⁻⁵² of the inverse normal
    CDF (``ndtri``, applied after: scipy's own, for its bits). Exact in float64, as the stages compute
    them."""
    for b in range(words_bw.shape[0]):
        for i in range(u_sb.shape[0]):
            u_sb[i, b] = np.float64(words_bw[b, 2 * i] >> np.uint64(11)) * _TWO_M53
            x_sb[i, b] = (np.float64(words_bw[b, 2 * i + 1] >> np.uint64(12)) + 0.5) * _TWO_M52


def _compiled() -> tuple[Any, Any, Any, Any]:
    if not _kernels:
        from econsim.engine.jit import njit

        compile_ = njit(error_model="numpy")
        _kernels["prepare"] = compile_(_prepare)
        _kernels["finish"] = compile_(_finish)
        _kernels["flush"] = compile_(_flush)
        _kernels["draws"] = compile_(_draws)
    return _kernels["prepare"], _kernels["finish"], _kernels["flush"], _kernels["draws"]


def _decline() -> tuple[int, dict[str, np.ndarray]]:
    return 0, {}


def fast_steps(stretch: Stretch) -> tuple[int, Mapping[str, np.ndarray]]:
    """Up to ``stretch.steps`` honey steps (see the module docstring); declines (0 steps) where the
    records or parameters are not the ones it knows."""
    s, p, n = stretch.state, stretch.params, stretch.steps
    codes = [_CODE.get(name, -1) for name in stretch.names]
    if stretch.block_kbt is None or -1 in codes or set(STATE) - set(s):
        return _decline()
    if "numba" not in sys.modules and n * len(np.asarray(s["reserve"])) < COMPILED_RUN_STEPS:
        return _decline()  # loading numba would cost more than the stages take
    from econsim.models.honey import model

    tol = model.invariants[0].tol if [i.name for i in model.invariants] == ["supply"] else None
    if tol is None:
        return _decline()
    try:
        prepare, finish, flush, draws = _compiled()
    except ImportError:
        return _decline()
    from scipy.special import ndtri

    n_b = len(np.asarray(s["reserve"]))
    x_kb = np.stack([np.asarray(s[name], dtype=np.float64) for name in STATE])
    y_kb = np.empty_like(x_kb)
    par_pb = np.stack([np.broadcast_to(np.asarray(p[name], dtype=np.float64), (n_b,)) for name in PARAMS])
    positive_b = np.broadcast_to(np.asarray(p["price_walk"]) == "positive", (n_b,)).copy()
    any_positive = bool(positive_b.any())
    stream = stretch.rng("price")
    start = stream.position()
    words_bw = stream.words_as_drawn(2 * n)
    u_sb = np.empty((n, n_b))
    z_sb = np.empty((n, n_b))
    draws(np.ascontiguousarray(words_bw), u_sb, z_sb)
    ndtri(z_sb, out=z_sb)
    tmp_kb = np.empty((7, n_b))
    arg_b, e_b, move_b, ef_b = tmp_kb[4], tmp_kb[5], tmp_kb[3], tmp_kb[6]
    code_k = np.array(codes, dtype=np.int64)
    block_kbt, strict = stretch.block_kbt, bool(stretch.strict)
    stage_vjb = np.empty((len(_CODE), _SLOTS, n_b))
    rows_j = np.empty(_SLOTS, dtype=np.int64)
    slots = done = 0
    report, every = stretch.report, stretch.report_every
    for i, row in enumerate(stretch.row_s.tolist()):
        prepare(i, x_kb, par_pb, u_sb, z_sb, tmp_kb)
        np.exp(arg_b, out=e_b)
        if any_positive:
            np.exp(move_b, out=ef_b)
        if not finish(
            x_kb, y_kb, par_pb, tmp_kb, positive_b, strict, tol, stage_vjb, slots if row >= 0 else -1
        ):
            break
        x_kb, y_kb = y_kb, x_kb
        done += 1
        if done % every == 0:
            report(every)
        if row >= 0:
            rows_j[slots] = row
            slots += 1
            if slots == _SLOTS:
                flush(stage_vjb, slots, rows_j, code_k, block_kbt)
                slots = 0
    if slots:
        flush(stage_vjb, slots, rows_j, code_k, block_kbt)
    if done < n:  # the stream as the stages would leave it after ``done`` steps
        stream.seek(start)
        stream.words_as_drawn(2 * done)
    return done, {name: x_kb[k] for k, name in enumerate(STATE)}
