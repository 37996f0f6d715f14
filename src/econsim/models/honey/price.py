"""The Honey price: a random walk pulled towards a fundamental target price.

    target = size / supply · valuation_ratio / max(½, saturation) · (supply / circulation)²

Each step the price moves towards the target with probability ``p_pull`` (away otherwise) by a
relative amount |ε|, ε ~ Normal(0, p_variance):

    notebook walk (default):  price' = price · (1 + direction · |ε|)
    positive walk:            price' = price · exp(direction · |ε|)

The notebook's walk is the seed's own: a move of |ε| > 1 away from zero turns the price negative, after
which it diverges (≈0.4 % of runs at the notebook's settings, 7.6 % in narrowed.yaml; such runs are
counted and left out of figures, see ``analysis.divergence``). The positive walk is its log-space
counterpart — identical to first order in ε — and keeps the price positive.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays, RandomStreams


def price_walk(s: Arrays, p: Arrays, rng: RandomStreams) -> dict[str, np.ndarray]:
    supply_b = s.circulation + s.reserve
    target_b = (
        s.size
        / supply_b
        * p.valuation_ratio
        / np.maximum(0.5, s.saturation)
        * (supply_b / s.circulation) ** 2
    )
    draws = rng("price")
    toward_b = draws.random() < p.p_pull
    below_b = s.price < target_b
    direction_b = np.where(toward_b == below_b, 1.0, -1.0)
    move_b = direction_b * np.abs(draws.standard_normal()) * p.p_variance
    positive_b = p.price_walk == "positive"
    factor_b = np.where(positive_b, np.exp(move_b), 1.0 + move_b) if positive_b.any() else 1.0 + move_b
    return {"price": s.price * factor_b, "target_price": target_b}
