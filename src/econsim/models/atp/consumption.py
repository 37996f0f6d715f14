"""Consumption of final goods (SPEC.md §6.8): the use phase costs eATP and emits.

    base_rf = min([d_rf]₊, [Q_rf]₊);  bundle (Σ_f base ξ^c, Σ_f base σ^c) → gate s_r;  cons = s_r base
    Q_rf ← [Q_rf]₊ − cons_rf;  settle Σ cons ξ^c;  book Σ cons σ^c          ξ^c = 0.05, σ^c = 0.02
Demand for resources and intermediates is never consumed (it only moves prices and trade).
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.models.atp.wallets import book, gate, ledger, ledger_updates, settle
from econsim.models.atp.world import goods_partition

XI_CONS = 0.05
SIG_CONS = 0.02


def consumption(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Stage 10."""
    G = s.stock_rg.shape[2]
    finals = goods_partition(G, s.reserves_rm.shape[2])[2]
    have = np.maximum(s.stock_rg[:, :, finals], 0.0)
    base = np.minimum(np.maximum(s.demand_rg[:, :, finals], 0.0), have)
    total_r = base.sum(axis=2)
    share_r = gate(s, s.book_r, s.emis_r, XI_CONS * total_r, SIG_CONS * total_r)
    consumed = share_r[:, :, None] * base
    acc = ledger(s)
    cost_r, load_r = XI_CONS * consumed.sum(axis=2), SIG_CONS * consumed.sum(axis=2)
    settle(s, acc, cost_r)
    book(acc, cost_r, load_r)
    stock_rg = s.stock_rg.copy()
    stock_rg[:, :, finals] = have - consumed
    return {"stock_rg": stock_rg, **ledger_updates(acc)}
