"""The FX valve (README concept 5; not built by the original): nominal fiat and crypto balances convert
into eADP — never eATP — under spreads and a regional cap tied to recently minted eATP.

    offer_i = f_i · ((1 − fx_spread_fiat) fiat_i + (1 − fx_spread_crypto) crypto_i),
              f_i = clip(fx_convert_base_frac + fx_convert_greed_scale · greed_i, 0, 1)
    cap_r = fx_cap_mult · [m_r]₊                                (m: eATP minted this step)
    s_r = min(1, cap_r / (Σ_{i∈r} offer_i + ε));  agent i converts s_r f_i of each balance;
    y_i += s_r · offer_i;  the spread is lost to the valve.
"""

from __future__ import annotations

import numpy as np

from econsim.engine import Arrays


def valve_share(s: Arrays, p: Arrays) -> np.ndarray:
    """s_r: the share of the offered conversions the cap admits this step."""
    cap_r = p.fx_cap_mult[:, None] * np.maximum(s.minted_r, 0.0)
    return np.where(s.fx_want_r > 0, np.minimum(1.0, cap_r / (s.fx_want_r + 1e-9)), 0.0)
