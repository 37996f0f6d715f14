"""Arithmetic whose result for a run does not depend on the other runs of its batch.

numpy picks some code paths by the *values* and *sizes* of whole operands, not element by element:
``x ** e`` with a single-valued exponent of 2, 0.5 or −1 is computed as a square, square root or
reciprocal, while a column of per-run exponents (B, 1) takes the general ``pow`` loop, whose results
differ in the last bit. A run alone (B = 1) and the same run in a batch would then differ.
``per_run_power`` computes each run with its own exponent as a scalar, so every run takes the path its
own exponent selects, whatever the batch.
"""

from __future__ import annotations

import numpy as np


def per_run_power(base: np.ndarray, exponent_b: np.ndarray | float) -> np.ndarray:
    """``base ** exponent`` with one exponent per run: base (B, ...), exponent (B,) (or a scalar).

    One numpy power per distinct exponent (a sweep puts few in a batch), each with a Python float."""
    e = np.asarray(exponent_b, dtype=np.float64)
    if e.ndim == 0:
        return base ** float(e)
    values = np.unique(e)
    if len(values) == 1:
        return base ** float(values[0])
    base = np.asarray(base)
    out = np.empty(base.shape, dtype=np.result_type(base.dtype, np.float64))
    for v in values:
        rows = np.nonzero(e == v)[0]
        out[rows] = base[rows] ** float(v)
    return out


def col(x) -> np.ndarray:
    """A per-run parameter (B,) as a (B, 1) column, to broadcast against a (B, n) population array; a
    per-batch scalar stays a scalar."""
    x = np.asarray(x)
    return x.reshape(-1, 1) if x.ndim == 1 else x
