"""A software prefetch for the kernels' random reads of per-agent rows.

On a random graph the target j of an edge slot is anywhere among the N agents, so at 10⁶ agents each
read of j's holdings (72 bytes) or strategy misses every cache and waits ~100 ns for memory. The walks
over edge slots know the next targets in advance (``edges.target`` is read in slot order), so they ask
for the row of the target ``AHEAD`` slots on while working on this one: the loads overlap instead of
queueing. A prefetch is only a hint to the processor — it changes no value and cannot fault (an address
past the array is never asked for here) — so results are bit-identical with or without it.

``prefetch(flat, k)`` hints element k of a 1-d array (``a.reshape(-1)`` of a C-contiguous array).
"""

from __future__ import annotations

from typing import Any

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

BLOCKS = 64  # agent blocks of a run spread over threads (``threads`` > 1); results never depend on it
AHEAD = 12  # slots between the prefetch of a target's row and its use (about one agent's row on; tuned at 10⁶ agents)


@intrinsic
def prefetch(typingctx: Any, flat: Any, k: Any) -> Any:
    """``llvm.prefetch`` (read, keep in all cache levels) of the element ``flat[k]``."""
    if not isinstance(flat, types.Array) or not isinstance(k, types.Integer):
        return None
    sig = types.void(flat, k)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        array = context.make_array(signature.args[0])(context, builder, args[0])
        index = context.cast(builder, args[1], signature.args[1], types.intp)
        address = builder.bitcast(builder.gep(array.data, [index]), ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        hint = ir.FunctionType(ir.VoidType(), [ir.IntType(8).as_pointer(), i32, i32, i32])
        fn = builder.module.declare_intrinsic("llvm.prefetch", fnty=hint)
        # rw = 0 (read), locality = 3 (keep in every level), cache type = 1 (data)
        builder.call(fn, [address, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen
