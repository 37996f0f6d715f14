"""The ATP economy: a multi-region world whose money (eATP / eADP / eAMP) is bound to primary energy flows.

Production is gated by energy and by a finite environmental sink; the shadow prices μ (exergy) and λ (sink)
come from controllers; innovation, extraction, demography and inheritance drive the long run. A port of
MichaelMcCulloch/ATP-Economy (specification: ``SPEC.md`` beside this file) with its bugs fixed and its README's
missing parts built; every deviation is listed in ``README.md`` beside this file.

One step (one day), in the original's order::

    recharge → capital_adequacy (inflow, AEC, allowance) → demand → innovation → extraction → production
    → trade → consumption → environment → storage_investment → price_update → shadow_prices → demurrage
    → value_added → demography → inheritance (with the FX valve and birth endowments)
"""

from __future__ import annotations

from econsim.engine import Model
from econsim.models.atp.config import adapt_config
from econsim.models.atp.consumption import consumption
from econsim.models.atp.demand import capital_adequacy, demand
from econsim.models.atp.demography import demography
from econsim.models.atp.demurrage import demurrage
from econsim.models.atp.duals import shadow_prices
from econsim.models.atp.energy import recharge, storage_investment
from econsim.models.atp.extraction import extraction
from econsim.models.atp.inheritance import inheritance
from econsim.models.atp.innovation import innovation
from econsim.models.atp.metrics import METRICS, SUMMARIES, progress_fields, value_added
from econsim.models.atp.params import PARAMS
from econsim.models.atp.prices import price_update
from econsim.models.atp.production import production
from econsim.models.atp.sinks import environment
from econsim.models.atp.state import STATE
from econsim.models.atp.trade import trade
from econsim.models.atp.world import generate_world
from econsim.models.registry import ModelExtras


def atp_panels(results, df, options):
    """The six-panel figure (``figure.py``; imported on use, as it loads matplotlib)."""
    from econsim.models.atp.figure import atp_panels as draw

    return draw(results, df, options)


STEP = [
    recharge,  # 1  energy bank: mint eATP from generation and storage
    capital_adequacy,  # 2–4 exogenous inflow, AEC, eATP allowance
    demand,  # 5  budgets and demand
    innovation,  # 6
    extraction,  # 7
    production,  # 8
    trade,  # 9
    consumption,  # 10
    environment,  # 11 pollutant stock
    storage_investment,  # 12
    price_update,  # 13a
    shadow_prices,  # 13b μ, λ
    demurrage,  # 14 demurrage and AMP leak
    value_added,  # 15 GDP
    demography,  # 16 population
    inheritance,  # 16 wallets: inheritance, FX valve, birth endowments
]

model = Model(
    name="atp",
    doc="ATP economy: energy-backed money (eATP/eADP/eAMP), sink-gated production, μ/λ controllers, "
    "innovation, extraction, demography",
    params=PARAMS,
    state=STATE,
    step=STEP,
    observables={**METRICS, **SUMMARIES},
    init=generate_world,
    final_state={"pop_age_final": "pop_ra"},  # SPEC.md §7.1: the metrics file carries the final age structure
)

extras = ModelExtras(
    figures={"atp_panels": atp_panels},
    default_figures=[{"kind": "model", "name": "atp_panels", "file": "atp_panels.png"}],
    adapt_config=adapt_config,
    progress_fields=progress_fields,
)
