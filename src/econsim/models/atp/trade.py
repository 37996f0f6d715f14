"""Trade between each region and its κ nearest neighbours, driven by exporters' surpluses (SPEC.md §6.7).

sur = [Q − d]₊,  Δ = [d − Q]₊
score_rkg = [Δ_n(r,k),g − χ_rk]₊,  allocation al = score / (Σ_k score + ε)
shipment sh_rkg = al · 0.8 · sur_rg, scaled per route to its capacity c̄_rk
logistics Lg_r = Σ_k (Σ_g sh_rkg) D_r,n(r,k);  bundle (alpha_logistics_ex Lg, alpha_logistics_sink Lg) → gate
Q_rg ← [Q_rg − Σ_k sh_rkg + Σ_{(s,k): n(s,k)=r} sh_skg]₊;  settle and book the scaled bills

The routes r → n(r, k) form a directed graph (``mechanisms.graph``): Δ at a route's destination is a
gather over it, the arrivals Σ_{(s,k): n(s,k)=r} a scatter-sum; migration uses the same graph.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams
from econsim.mechanisms.graph import Graph, from_neighbours
from econsim.models.atp.wallets import EPS, book, gate, ledger, ledger_updates, settle

EXPORT_SHARE = 0.8


def trade(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    """Stage 9."""
    B, _, G = s.stock_rg.shape
    supply = np.maximum(s.stock_rg, 0.0)
    surplus = np.maximum(supply - s.demand_rg, 0.0)
    deficit = np.maximum(s.demand_rg - supply, 0.0)
    routes = route_graph(s)
    deficit_rkg = routes.gather(deficit).reshape(*s.nbr_rk.shape, G)  # Δ at each route's destination
    score = np.maximum(deficit_rkg - s.route_cost_rk[:, :, :, None], 0.0)  # (B, R, κ, G)
    alloc = score / (score.sum(axis=2, keepdims=True) + EPS)
    ship = alloc * (EXPORT_SHARE * surplus)[:, :, None, :]
    total_rk = ship.sum(axis=3)
    ship = ship * np.minimum(1.0, np.maximum(s.route_cap_rk, 1e-6) / (total_rk + EPS))[..., None]
    haul_r = (ship.sum(axis=3) * s.route_dist_rk).sum(axis=2)
    share_r = gate(
        s,
        s.book_r,
        s.emis_r,
        p.alpha_logistics_ex[:, None] * haul_r,
        p.alpha_logistics_sink[:, None] * haul_r,
    )
    ship = ship * share_r[:, :, None, None]
    haul_r = (ship.sum(axis=3) * s.route_dist_rk).sum(axis=2)
    acc = ledger(s)
    cost_r, load_r = p.alpha_logistics_ex[:, None] * haul_r, p.alpha_logistics_sink[:, None] * haul_r
    settle(s, acc, cost_r)
    book(acc, cost_r, load_r)
    incoming = routes.scatter_sum(ship.reshape(B, -1, G))  # Σ over the routes arriving at each region
    stock_rg = np.maximum(s.stock_rg - ship.sum(axis=2) + incoming, 0.0)
    return {"stock_rg": stock_rg, **ledger_updates(acc)}


def route_graph(s: Arrays) -> Graph:
    """The directed graph of trade and migration routes r → n(r, k), κ slots per region in order."""
    return from_neighbours(s.nbr_rk)
