"""Contagion on a 10⁴-bank interbank network: Eisenberg–Noe clearing, DebtRank and Furfine, timed.

A random sparse network (each bank owes k others lognormal amounts) is hit by external assets drawn
small enough that a share of banks default; each function is timed over ``--repeat`` calls and the
Eisenberg–Noe result is checked to be a fixed point, p = min(p̄, e + Πᵀp). The load average is printed
beside the timings: the machine may be shared. Usage:

    python benchmarks/contagion_scale.py [--banks 10000] [--degree 10] [--repeat 3] [--dense 2000]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import scipy.sparse as sp

from econsim.mechanisms.contagion import debtrank, eisenberg_noe, furfine


def network(n: int, k: int, seed: int) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    src, dst = np.repeat(np.arange(n), k), rng.integers(0, n, n * k)
    keep = src != dst
    m = sp.csr_matrix((rng.lognormal(0, 1, keep.sum()), (src[keep], dst[keep])), shape=(n, n))
    m.sum_duplicates()
    return m


def timed(fn, repeat: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--banks", type=int, default=10_000)
    ap.add_argument("--degree", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dense", type=int, default=2_000, help="size of the dense-matrix case (0: skip)")
    a = ap.parse_args()
    rng = np.random.default_rng(1)
    cases = [("sparse", network(a.banks, a.degree, 0))]
    if a.dense:
        cases.append(("dense", network(a.dense, a.degree, 0).toarray()))
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    for kind, m in cases:
        n = m.shape[0]
        owed = np.asarray(m.sum(axis=1)).ravel()
        claims = np.asarray(m.sum(axis=0)).ravel()
        for stress in (0.3, 0.05):
            e = stress * owed * rng.random(n) * 1.6
            s, res = timed(lambda m=m, e=e: eisenberg_noe(m, e), a.repeat)
            mm = sp.csr_matrix(m)
            pi = sp.diags(1.0 / np.where(res.obligations > 0, res.obligations, 1.0)) @ mm
            gap = np.abs(res.payments - np.minimum(res.obligations, e + pi.T @ res.payments)).max()
            print(
                f"{kind:6s} n={n:>6d} Eisenberg–Noe  stress {stress:4.2f}: {s:7.3f} s, "
                f"{int(res.defaulted.sum())} defaults in {res.rounds} rounds, fixed-point gap {gap:.1e}"
            )
        equity = 0.1 * claims + 0.01
        shock = (np.arange(n) < 10).astype(float)
        s, dr = timed(lambda m=m, equity=equity, shock=shock: debtrank(m, equity, shock), a.repeat)
        print(f"{kind:6s} n={n:>6d} DebtRank (original): {s:7.3f} s, R = {dr.debtrank:.3f}")
        s, dr = timed(
            lambda m=m, equity=equity, shock=shock: debtrank(m, equity, shock, variant="differential"),
            a.repeat,
        )
        print(f"{kind:6s} n={n:>6d} DebtRank (differential): {s:7.3f} s, R = {dr.debtrank:.3f}")
        s, ff = timed(
            lambda m=m, equity=equity, shock=shock: furfine(m, equity, shock > 0, loss_given_default=0.4),
            a.repeat,
        )
        print(
            f"{kind:6s} n={n:>6d} Furfine: {s:7.3f} s, {int(ff.defaulted.sum())} failures in {ff.rounds} rounds"
        )


if __name__ == "__main__":
    main()
