"""Consumption influenced by the neighbours' spending (``peer_effect`` φ > 0): households keep up with
the people they know.

The social network is the depositors' small world of ``bank_runs`` (Watts–Strogatz, drawn at the start
of every run whether runs are on or not), read through ``mechanisms.graph``. Before the goods market each
household compares its own spending last step c_h with the mean spending of its neighbours c̄_h, and its
spending multiplier (the archetype's m_a, ``setup.ARCHETYPE_PROPENSITY``) moves with the gap:

    m_h = m_a·(1 + φ·clip(c̄_h / c_h − 1, −1, 1))          (c_h = 0: the gap counts as +1 when c̄_h > 0)

so a household whose neighbours outspend it spends more out of the same income and wealth, one whose
neighbours spend less spends less (Duesenberry's relative income; the peer effects of De Giorgi, Frederiksen
and Pistaferri 2020). ``peer_gap`` records the mean of the clipped gap, ``peer_propensity`` the mean
multiplier.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, Param, RandomStreams, Var
from econsim.mechanisms.graph import from_edges
from econsim.models.banking.setup import ARCHETYPE_PROPENSITY

PARAMS: list[Param] = [
    Param(
        "peer_effect",
        0.0,
        "φ: response of a household's spending multiplier to its neighbours' spending relative to its own "
        "(0: none; models/banking/peers.py)",
        bounds=(0.0, 1.0),
    ),
]

STATE: list[Var] = [
    Var("peer_gap", 0.0, "mean over households of clip(c̄_neighbours / c_own − 1, −1, 1) last step"),
    Var("peer_propensity", 1.0, "mean spending multiplier of the households"),
]


def social_network(s: Arrays, n_h: int):
    """The households' network (the depositors' links of ``bank_runs``) as a ``mechanisms.graph.Graph``."""
    edges = s.depositor_edges
    return from_edges(edges[:, 0], edges[:, 1], n_h)


def peer_gap(spending_bh: np.ndarray, neighbours_bh: np.ndarray) -> np.ndarray:
    """clip(c̄/c − 1, −1, 1), +1 where a household spent nothing and its neighbours something."""
    own = np.maximum(spending_bh, 0.0)
    ratio = np.where(
        own > 0, neighbours_bh / np.where(own > 0, own, 1.0) - 1.0, np.where(neighbours_bh > 0, 1.0, 0.0)
    )
    return np.clip(ratio, -1.0, 1.0)


def peer_spending(s: Arrays, p, rng: RandomStreams) -> dict[str, np.ndarray]:
    phi = np.asarray(p.peer_effect, dtype=float).reshape(-1, 1)
    if not (phi > 0).any() or p.clearing != "markets":
        return {}
    h = s.households
    n_h = h.spending.shape[1]
    neighbours = social_network(s, n_h).neighbour_mean(h.spending)
    gap = peer_gap(h.spending, neighbours)
    propensity = ARCHETYPE_PROPENSITY[h.archetype] * (1.0 + phi * gap)
    on = phi[:, 0] > 0  # a run without the effect records nothing, whatever its batch
    return {
        "households.propensity": propensity,
        "peer_gap": np.where(on, gap.mean(axis=1), s.peer_gap),
        "peer_propensity": np.where(on, propensity.mean(axis=1), s.peer_propensity),
    }
