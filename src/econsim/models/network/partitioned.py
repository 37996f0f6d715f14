"""The network model split over partitions (``engine.partition.runtime``): one run's agents on P workers.

A partition owns a block of agents (ascending ids), their holdings, strategies and values, and their
edge slots (the static CSR rows of its agents, in order); the pools, bridges, desk, aggregates and the
random streams are replicated (every worker computes them identically from all-reduced totals).
Targets held elsewhere are ghost rows appended after the owned agents: their strategies μ are
refreshed from their owners twice a step (at its start and after the imitation), so a ghost is never
more than one stage old. The step runs the model's own stage kernels on the block, in the model's
order, with these supersteps (immediate messages are answered within the step):

    subscribe (after a split), refresh ghosts' μ               (sends: μ of the agents peers subscribe to)
    bridges                replicated
    rebalance              orders → Σ sells, buys (all-reduce) → pools swap → shares → Σ paid (all-reduce)
    edge_flows             payments, offers → offer totals to the buyers' owners (immediate)
                           → buyers' scales back (immediate) → trades and imitation → credits to their
                           owners, Σ volume → refresh ghosts' μ
    evolve_links           strengths, closure questions to the owners of the old targets (immediate)
                           → answers → Σ counts and exact strength sums → Σ spread; new ghosts subscribe
    aggregate (when due)   Σ μ, Σ (μ − μ̄)², per-market Σ dS and sizes (exact accumulators); the values
                           gathered to rank 0 for the Gini coefficient (a sort of all N)
    conservation           Σ token units per asset, least balance (the strict invariants, every step)

Each sum over agents is integer or exact, every draw is keyed by agent or slot id, so the run is
bit-identical to the in-process one for any partitioning. Partitions: METIS on the static graph
(``metis``), a Hilbert curve over the strategies at t = 0 (``hilbert``: agents with similar strategies
trade along links more, but the graph here is not spatial, so it cuts about as many links as ``random``),
or ``random``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from econsim.engine import ConfigError, InvariantError, RandomStreams
from econsim.engine.partition import exact
from econsim.engine.partition.partition import Layout, cached_assignment
from econsim.engine.partition.runtime import Exchange, StepProgram
from econsim.engine.state import Arrays, Params
from econsim.models.network import hierarchy, links, metrics, payments, trading
from econsim.models.network.bridges import bridges
from econsim.models.network.draws import stream_word
from econsim.models.network.metrics import token_units
from econsim.models.network.state import UNIT

STAGES = ("bridges", "rebalance", "edge_flows", "evolve_links", "aggregate")
_GRAPH = ("graph_indptr", "graph_sources", "graph_indices")
_AGENT_VARS = ("holdings", "mu", "wealth", "traded", "cluster")
_EDGE_VARS = ("target", "eta", "flow")


def _f(value: Any) -> float:
    v = np.asarray(value, float)
    return float(v if v.ndim == 0 else v[0])


class NetworkPartitioner:
    """The network model's ``engine.partition.runtime.Partitioner``."""

    def check(self, sim: Any) -> None:
        names = tuple(block.name for block in sim.model.blocks)
        if names != STAGES:
            raise ConfigError(
                f"the partitioned network step runs the stages {', '.join(STAGES)}; this model steps "
                f"{', '.join(names)}"
            )
        sim._tokens = token_units(sim.state)[0]

    def neighbours(self, sim: Any) -> tuple[np.ndarray, np.ndarray]:
        return sim.params.graph_indptr, sim.params.graph_indices

    def assign(self, sim: Any, parts: int, method: str) -> np.ndarray:
        p = sim.params
        n = int(p.n_agents)
        if method == "hilbert":
            return cached_assignment(parts, method, n=n, coords=np.asarray(sim.state["agents.mu"][0]))
        if method == "metis":
            return cached_assignment(parts, method, n=n, indptr=p.graph_indptr, indices=p.graph_indices)
        return cached_assignment(parts, method, n=n, seed=int(p.graph_seed))

    def split(self, sim: Any, layout: Layout) -> list[dict[str, Any]]:
        s, p = sim.state, sim.params
        indptr = np.asarray(p.graph_indptr, np.int64)
        light = Params({k: v for k, v in p.items() if k not in _GRAPH}, p.n_runs)
        glob = {k: np.asarray(v).copy() for k, v in s.items() if not k.startswith(("agents.", "edges."))}
        targets = np.asarray(s["edges.target"][0], np.int64)
        part_of = layout.part
        blocks = []
        for k in range(layout.parts):
            gid = layout.agents(k)
            deg = indptr[gid + 1] - indptr[gid]
            slots = _rows(indptr[gid], deg)
            block = {
                "rank": k,
                "parts": layout.parts,
                "t": sim.t,
                "gid": gid,
                "indptr": np.concatenate([[0], np.cumsum(deg)]).astype(np.int64),
                "slot_id": indptr[gid],
                "part_of": part_of,
                "params": light,
                "globals": glob,
                "seed": sim.seed,
                "identity": sim.rng.identity_rk,
                "streams": sim.rng.positions(),
                "n_agents": int(p.n_agents),
                "n_slots": int(p.n_slots),
                "schedule": [b.name for b in sim.model.blocks],
            }
            for name in _AGENT_VARS:
                block[name] = np.ascontiguousarray(s[f"agents.{name}"][0][gid])
            block["target"] = targets[slots]
            for name in ("eta", "flow"):
                block[name] = np.ascontiguousarray(s[f"edges.{name}"][0][slots])
            # the populations' other arrays (alive masks) travel along unchanged: no stage here alters them
            block["extra"] = {
                key: np.ascontiguousarray(s[key][0][gid if key.startswith("agents.") else slots])
                for key in s
                if key.startswith(("agents.", "edges."))
                and key.split(".", 1)[1] not in _AGENT_VARS + _EDGE_VARS
            }
            blocks.append(block)
        return blocks

    def merge(self, sim: Any, layout: Layout, payloads: list[dict[str, Any]]) -> dict[str, Any]:
        p = sim.params
        indptr = np.asarray(p.graph_indptr, np.int64)
        template = sim._state
        state: dict[str, np.ndarray] = {}
        for name in _AGENT_VARS:
            full = np.empty_like(template[f"agents.{name}"])
            for block in payloads:
                full[0][block["gid"]] = block[name]
            state[f"agents.{name}"] = full
        for name in _EDGE_VARS:
            full = np.empty_like(template[f"edges.{name}"])
            for block in payloads:
                gid = block["gid"]
                full[0][_rows(indptr[gid], indptr[gid + 1] - indptr[gid])] = block[name]
            state[f"edges.{name}"] = full
        for key in payloads[0]["extra"]:
            full = np.empty_like(template[key])
            for block in payloads:
                gid = block["gid"]
                at = gid if key.startswith("agents.") else _rows(indptr[gid], indptr[gid + 1] - indptr[gid])
                full[0][at] = block["extra"][key]
            state[key] = full
        for name, value in payloads[0]["globals"].items():
            state[name] = value.copy()
        return {"state": {k: state[k] for k in template}, "streams": payloads[0]["streams"]}

    def block(self, payload: dict[str, Any]) -> NetworkBlock:
        return NetworkBlock(payload)

    def after_step(self, sim: Any, t: int, reduced: dict[str, np.ndarray]) -> None:
        """The strict invariants from the all-reduced totals: tokens conserved exactly, no negative balance."""
        if not sim.strict:
            return
        tokens = reduced["tokens"]
        before = getattr(sim, "_tokens", None)
        subset, run = int(sim.run_labels[0][0]), int(sim.run_labels[1][0])
        if before is not None and not np.array_equal(tokens, before):
            k = int(np.argmax(np.abs(tokens - before)))
            raise InvariantError("tokens_conserved", t, subset, run, float(tokens[k] - before[k]), 0.0)
        sim._tokens = tokens
        if reduced["low"][0] < 0:
            raise InvariantError("no_negative_balance", t, subset, run, float(reduced["low"][0]), 0.0)


def _compact(units: np.ndarray) -> np.ndarray:
    """Integer amounts in int32 when they all fit (half the bytes on the wire; the receiver adds them
    into int64 rows, exactly), else as they are."""
    if units.size and (units.min() < -(2**31) or units.max() >= 2**31):
        return units
    return units.astype(np.int32)


def _rows(start: np.ndarray, deg: np.ndarray) -> np.ndarray:
    """The slot ids of rows starting at ``start`` with ``deg`` slots each, concatenated."""
    total = int(deg.sum())
    offsets = np.repeat(np.cumsum(deg) - deg, deg)
    return np.repeat(start, deg) + (np.arange(total) - offsets)


class NetworkBlock:
    """One partition of a network run (see the module docstring)."""

    def __init__(self, b: dict[str, Any]) -> None:
        self.rank, self.parts, self.t = int(b["rank"]), int(b["parts"]), int(b["t"])
        self.gid, self.indptr, self.slot_id = b["gid"], b["indptr"], b["slot_id"]
        self.part_of = b["part_of"]
        self.p: Params = b["params"]
        self.g = {k: v.copy() for k, v in b["globals"].items()}
        self.seed, self.identity = b["seed"], b["identity"]
        self.rng = RandomStreams(self.seed, self.identity)
        self.rng.restore(b["streams"])
        self.n_agents, self.n_slots = b["n_agents"], b["n_slots"]
        self.schedule = b["schedule"]
        self.n_own = len(self.gid)
        self.holdings, self.wealth = b["holdings"].copy(), b["wealth"].copy()
        self.traded, self.cluster = b["traded"].copy(), b["cluster"].copy()
        self.mu_own = b["mu"].copy()
        self.target_gid = b["target"].astype(np.int64)
        self.eta, self.flow = b["eta"].copy(), b["flow"].copy()
        self.source_gid = np.repeat(self.gid, np.diff(self.indptr))
        self.extra = b["extra"]
        self.loaded = True
        self._build_ghosts()

    # --- ghosts --------------------------------------------------------------------------------
    def _build_ghosts(self) -> None:
        """Ghost rows for every remote target, the local index of every slot's target, and the lists
        of agents to subscribe to at each owner (sent with the next exchange)."""
        tg = self.target_gid
        remote = np.unique(tg[self.part_of[tg] != self.rank])
        self.ghost_gid = remote
        n = self.n_own
        self.local_index = np.full(self.n_agents, -1, np.int64)
        self.local_index[self.gid] = np.arange(n)
        self.local_index[remote] = n + np.arange(len(remote))
        self.target = self.local_index[tg].astype(np.int32)
        owners = self.part_of[remote]
        self.ghost_rows = {k: n + np.flatnonzero(owners == k) for k in range(self.parts) if k != self.rank}
        self.subscribe = {k: remote[owners == k] for k in self.ghost_rows if (owners == k).any()}
        self.send_rows: dict[int, np.ndarray] = {}
        # the ghost rows not yet sent their μ, and the rows of this block's agents peers newly subscribed to
        self.new_ghost_rows = {k: rows.copy() for k, rows in self.ghost_rows.items()}
        self.new_send_rows: dict[int, np.ndarray] = {}
        self.mu = np.zeros((n + len(remote), 2))
        self.mu[:n] = self.mu_own

    def _grow_ghosts(self, new_gid: np.ndarray) -> dict[int, np.ndarray]:
        """Append ghost rows for remote agents not yet held; returns the new subscriptions per owner."""
        fresh = np.unique(new_gid[(self.part_of[new_gid] != self.rank) & (self.local_index[new_gid] < 0)])
        if not len(fresh):
            return {}
        start = len(self.mu)
        self.local_index[fresh] = start + np.arange(len(fresh))
        self.ghost_gid = np.concatenate([self.ghost_gid, fresh])
        self.mu = np.concatenate([self.mu, np.zeros((len(fresh), 2))])
        owners = self.part_of[fresh]
        subscribe = {}
        for k in np.unique(owners):
            rows = start + np.flatnonzero(owners == k)
            self.ghost_rows[int(k)] = np.concatenate([self.ghost_rows[int(k)], rows])
            self.new_ghost_rows[int(k)] = np.concatenate([self.new_ghost_rows.get(int(k), rows[:0]), rows])
            subscribe[int(k)] = fresh[owners == k]
        return subscribe

    def _take_subscriptions(self, inbox: dict[int, Any]) -> None:
        for k, ids in inbox.items():
            rows = np.searchsorted(self.gid, ids)
            self.send_rows[k] = rows if k not in self.send_rows else np.concatenate([self.send_rows[k], rows])
            old = self.new_send_rows.get(k)
            self.new_send_rows[k] = rows if old is None else np.concatenate([old, rows])

    def _mu_messages(self) -> dict[int, Any]:
        return {k: self.mu_own[rows] for k, rows in self.send_rows.items() if len(rows)}

    def _new_mu_messages(self) -> dict[int, Any]:
        """μ for the subscriptions taken since the last refresh only (the others' ghosts are up to date)."""
        out = {k: self.mu_own[rows] for k, rows in self.new_send_rows.items() if len(rows)}
        self.new_send_rows = {}
        return out

    def _place_new(self, inbox: dict[int, Any]) -> None:
        for k, values in inbox.items():
            self.mu[self.new_ghost_rows[k]] = values
        self.new_ghost_rows = {}

    def _place(self, inbox: dict[int, Any], into: np.ndarray) -> None:
        for k, values in inbox.items():
            into[self.ghost_rows[k]] = values

    def _ghost_part(self, rows_of: np.ndarray) -> dict[int, Any]:
        """The ghost rows of an array, per owner (what this block owes or asks its peers)."""
        return {k: rows_of[r] for k, r in self.ghost_rows.items() if len(r)}

    def _owned_part(self, inbox: dict[int, Any], into: np.ndarray) -> None:
        """Add what peers send for this block's agents (their ghost rows, in subscription order)."""
        for k, values in inbox.items():
            into[self.send_rows[k]] += values

    # --- the step -----------------------------------------------------------------------------
    def step(self, t: int, due: tuple[bool, ...]) -> StepProgram:
        p, g, n = self.p, self.g, self.n_own
        # subscriptions on the first step after a split (every block is loaded at once, so all take this
        # superstep or none do); the μ of new ghosts rides on the rebalance's all-reduce (no stage before
        # the payments reads a ghost), every other ghost's μ is that of the last step's imitation
        if self.loaded:
            inbox, _ = yield Exchange(send=self.subscribe)
            self.subscribe, self.loaded = {}, False
            self._take_subscriptions(inbox)

        due_of = dict(zip(self.schedule, due, strict=True))
        s = Arrays(g)
        g.update(bridges(s, p, self.rng))

        # rebalance
        sentiment = trading.next_sentiment(Arrays(g), p, self.rng)
        C, K = self.holdings.shape[1:]
        A = K - 1
        orders = np.empty((n, C, A), np.int64)
        sells, buys = np.zeros((C, A), np.int64), np.zeros((C, A), np.int64)
        phi = float(trading.rebalance_fraction(_f(p.risk_aversion), _f(p.trade_cost)))
        pool_cash, pool_asset = g["pool_cash"][0].copy(), g["pool_asset"][0].copy()
        trading._orders.kernel(
            self.holdings,
            self.mu_own,
            sentiment[0],
            pool_cash,
            pool_asset,
            phi,
            _f(p.min_trade),
            orders,
            sells,
            buys,
        )
        inbox, red = yield Exchange(send=self._new_mu_messages(), total={"sells": sells, "buys": buys})
        self._place_new(inbox)
        cash_out, asset_out = np.empty((C, A), np.int64), np.empty((C, A), np.int64)
        rate, out = np.empty((2, C, A)), np.zeros(1)
        trading._execute.kernel(
            pool_cash, pool_asset, red["sells"], red["buys"], _f(p.pool_fee), cash_out, asset_out, rate, out
        )
        paid = np.zeros((2, C, A), np.int64)
        traded = np.empty(n)
        trading._fill.kernel(self.holdings, orders, rate, cash_out, asset_out, traded, paid)
        _, red = yield Exchange(total={"paid": paid})
        trading.settle(pool_cash, pool_asset, cash_out, asset_out, red["paid"])
        g.update(
            sentiment=sentiment, pool_cash=pool_cash[None], pool_asset=pool_asset[None], amm_volume=out.copy()
        )

        # edge flows: every credit to an agent (cash, tokens, traded units, offer totals) in its row of `credits_nw`
        h0 = self.holdings.copy()
        n_loc = len(self.mu)
        _, OWED, TOK, width = payments.columns(C, A)
        credits_nw = np.zeros((n_loc, width), np.int64)
        day = int(g["day"][0])
        rates = (_f(p.eta_min), _f(p.pay_rate), _f(p.otc_rate))
        common = (
            self.indptr,
            self.slot_id,
            self.target,
            self.eta,
            self.holdings,
            h0,
            self.mu,
            pool_cash,
            pool_asset,
            day,
        )
        payments._pay.kernel(*common, *rates, credits_nw, self.flow)
        offers = slice(OWED, TOK)
        inbox, _ = yield Exchange(
            send={k: _compact(credits_nw[r, offers]) for k, r in self.ghost_rows.items() if len(r)}
        )
        for k, values in inbox.items():
            credits_nw[self.send_rows[k], offers] += values
        scale = np.ones((n_loc, C))
        payments._scales.kernel(self.holdings, credits_nw[:n], scale[:n])
        inbox, _ = yield Exchange(send={k: scale[rows] for k, rows in self.send_rows.items() if len(rows)})
        self._place(inbox, scale)
        vol = np.zeros(1, np.int64)
        mu_new = np.empty((n, 2))
        imitation = (
            self.gid,
            stream_word(self.rng, "strategies")[0],
            _f(p.imitation),
            _f(p.strategy_vol),
            mu_new,
        )
        payments._fill.kernel(*common, *rates, scale, credits_nw, self.flow, vol, *imitation)
        # one superstep: the credits to their owners (all but the offer totals, sent already) and the
        # walkers' new μ to the peers holding them as ghosts (the imitation was computed in the trades' walk)
        self.mu_own = mu_new
        self.mu[:n] = mu_new
        credit = np.r_[0:OWED, TOK:width]
        owe = {k: _compact(credits_nw[r][:, credit]) for k, r in self.ghost_rows.items() if len(r)}
        mus = self._mu_messages()
        send = {k: (owe.get(k), mus.get(k)) for k in owe.keys() | mus.keys()}
        inbox, red = yield Exchange(send=send, total={"p2p": vol})
        for k, (credit_k, mu_k) in inbox.items():
            if credit_k is not None:
                rows = self.send_rows[k]
                block = credits_nw[rows]
                block[:, credit] += credit_k
                credits_nw[rows] = block
            if mu_k is not None:
                self.mu[self.ghost_rows[k]] = mu_k
        units = np.empty(n, np.int64)
        payments._credit.kernel(self.holdings, credits_nw[:n], units)
        self.traded = traded + units / UNIT
        g["p2p_volume"] = red["p2p"] / UNIT

        # evolve links
        E = len(self.eta)
        new_target, new_eta = np.empty_like(self.target), np.empty_like(self.eta)
        ask, ask_u = np.empty(E, np.int64), np.empty(E)
        eta_acc, counts = exact.zeros(), np.zeros(2, np.int64)
        links._update(
            self.indptr,
            self.slot_id,
            self.target,
            self.eta,
            self.flow,
            self.mu,
            stream_word(self.rng, "links")[0],
            _f(p.gamma),
            _f(p.delta),
            _f(g["threshold"]),
            _f(p.eta_min),
            _f(p.form_prob),
            new_target,
            new_eta,
            ask,
            ask_u,
            eta_acc,
            counts,
        )
        pending = np.flatnonzero(ask >= 0)
        rows = ask[pending]
        answer = np.full(E, -1, np.int64)
        here = rows < n
        k_local = np.empty(int(here.sum()), np.int64)
        links._closure(self.indptr, self.target_gid, rows[here], ask_u[pending[here]], k_local)
        answer[pending[here]] = k_local
        far = pending[~here]
        far_gid = self.ghost_gid[ask[far] - n]
        owner = self.part_of[far_gid]
        questions = {
            int(k): (far_gid[owner == k], ask_u[far[owner == k]]) for k in np.unique(owner) if k != self.rank
        }
        inbox, _ = yield Exchange(send=questions)
        replies = {}
        for k, (ids, u) in inbox.items():
            found = np.empty(len(ids), np.int64)
            links._closure(self.indptr, self.target_gid, np.searchsorted(self.gid, ids), u, found)
            replies[k] = found
        inbox, _ = yield Exchange(send=replies)
        for k, found in inbox.items():
            answer[far[owner == k]] = found
        fresh = np.zeros(E, np.bool_)
        new_target_gid = self.target_gid.copy()
        n_formed = links.formed(ask, answer, self.source_gid, _f(p.eta_new), new_target_gid, new_eta, fresh)
        strength, similar = np.empty(n), np.empty(n)
        sum_acc, den_acc = exact.zeros(), exact.zeros()
        links._strength(
            self.indptr,
            self.target,
            new_eta,
            fresh,
            self.mu,
            _f(p.eta_min),
            strength,
            similar,
            sum_acc,
            den_acc,
        )
        totals = {"eta": eta_acc, "sum": sum_acc, "den": den_acc, "counts": np.append(counts, n_formed)}
        _, red = yield Exchange(total=totals)
        num_acc = exact.zeros()
        links._spread(strength, similar, exact.value_of(red["sum"]) / self.n_agents, num_acc)
        # the new links' far ends become ghosts: subscribe with this exchange
        self.target_gid, self.eta = new_target_gid, new_eta
        subscribe = self._grow_ghosts(new_target_gid[fresh])
        self.target = self.local_index[self.target_gid].astype(np.int32)
        inbox, red2 = yield Exchange(send=subscribe, total={"num": num_acc})
        self._take_subscriptions(inbox)
        active, near, formed = (int(x) for x in red["counts"])
        summary = links.summary(
            self.n_slots, active, near, formed, _f(p.eta_new), red["eta"], red2["num"], red["den"]
        )
        for name, value in zip(
            ("active_edges", "mean_eta", "edges_formed", "systemic_risk", "cluster_edge_share"),
            summary,
            strict=True,
        ):
            g[name] = np.array([value])

        if due_of["aggregate"]:
            yield from self._aggregate()

        # conservation (the strict invariants), then the step is done
        agents = self.holdings.sum(axis=(0, 1)) if n else np.zeros(K, np.int64)
        low = np.array([self.holdings.min() if n else np.iinfo(np.int64).max])
        total = agents.astype(np.int64)
        if self.rank == 0:  # the replicated holders count once: desk, in flight, fees, pools
            total = total + g["arb_holdings"][0].sum(axis=0) + g["bridge_inflight"][0].sum(axis=(0, 1))
            total = total + g["bridge_fees"][0]
            total[0] += g["pool_cash"][0].sum()
            total[1:] += g["pool_asset"][0].sum(axis=0)
            low = np.minimum(low, min(g["arb_holdings"].min(), g["pool_cash"].min(), g["pool_asset"].min()))
        yield Exchange(total={"tokens": total}, least={"low": low})
        self.t = t

    def _aggregate(self) -> StepProgram:
        p, g, n = self.p, self.g, self.n_own
        _, red = yield Exchange(total={"m1": hierarchy.moments(self.mu_own)})
        mean = exact.values_of(red["m1"]) / self.n_agents
        _, red = yield Exchange(total={"m2": hierarchy.moments(self.mu_own, mean)})
        var = exact.values_of(red["m2"]) / self.n_agents
        disp = np.array([np.sqrt(0.5 * (var[0] + var[1]))])
        theta = hierarchy.adaptive_theta(np.asarray(p.theta_c, float), disp, g["dispersion0"])
        M = g["market_flow"].shape[1]
        acc, size = exact.zeros(M), np.zeros(M, np.int64)
        wealth, cell = np.empty(n), np.empty(n, np.int64)
        hierarchy._cells(
            self.holdings,
            g["pool_cash"][0],
            g["pool_asset"][0],
            self.mu_own,
            self.wealth,
            float(theta[0]),
            wealth,
            cell,
            acc,
            size,
        )
        _, red = yield Exchange(total={"flow": acc, "size": size})
        flow_m, size_m = exact.values_of(red["flow"]), red["size"].astype(float)
        out = np.zeros(2)
        hierarchy._markets(
            flow_m,
            size_m,
            self.n_agents,
            stream_word(self.rng, "markets")[0],
            _f(p.market_noise),
            _f(p.global_noise),
            out,
        )
        self.wealth, self.cluster = wealth, cell
        g.update(
            threshold=theta,
            market_flow=flow_m[None],
            market_size=size_m[None],
            global_flow=out[:1].copy(),
            global_value=g["global_value"] + out[0],
            n_clusters=out[1:].copy(),
        )
        if "gini" in g:
            # the Gini coefficient sorts every value: they are gathered to rank 0, whose replica of the
            # global state is the one a gather reads (the other ranks' copies of it are never read)
            inbox, _ = yield Exchange(send={0: (self.gid, wealth)} if self.rank else {})
            if self.rank == 0:
                values = np.empty(self.n_agents)
                values[self.gid] = wealth
                for ids, w in inbox.values():
                    values[ids] = w
                g["gini"] = metrics.gini(values[None])

    def payload(self) -> dict[str, Any]:
        return {
            "rank": self.rank,
            "parts": self.parts,
            "t": self.t,
            "gid": self.gid,
            "indptr": self.indptr,
            "slot_id": self.slot_id,
            "part_of": self.part_of,
            "params": self.p,
            "globals": self.g,
            "seed": self.seed,
            "identity": self.identity,
            "streams": self.rng.positions(),
            "n_agents": self.n_agents,
            "n_slots": self.n_slots,
            "schedule": self.schedule,
            "holdings": self.holdings,
            "mu": self.mu_own,
            "wealth": self.wealth,
            "traded": self.traded,
            "cluster": self.cluster,
            "target": self.target_gid.astype(np.int32),
            "eta": self.eta,
            "flow": self.flow,
            "extra": self.extra,
        }
