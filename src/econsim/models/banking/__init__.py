"""The banking economy (Ravelin): households, firms, banks, a central bank and a government on one
double-entry ledger, where markets clear by search and matching and no money leaks.

One step (a month by default), in order::

    clock → monetary_policy (every ``policy_every`` steps) → firm_plans → covenants → seized_assets → credit
    → education → labour → production → incomes → house_prices → consumer_credit → peer_spending
    → goods | multiplier_clearing → interest_and_repayment → firm_accounts → bank_accounts → settlement
    → macro → heuristic_switching

Balance sheets live in the ledger (``accounts``); strict mode checks its identities after every step:
every balance-sheet row sums to zero, every holder's net worth ties out, every row and column of the
transactions-flow matrix sums to zero, each bank owes exactly its customers' deposits, and no deposit,
reserve, loan or capital stock is negative. ``survey`` and ``spending`` hold Ravelin's spending model
(``econsim banking train / predict / validate``). The presets are in ``configs/banking/``; ``sim.yaml``
reduces the economy to Godley–Lavoie model SIM; household collateral (``housing``) and labour in depth —
a skill mix with wage differentials from shortages (``skills``), education (``education``), heuristic
switching of expectations (``expectations``) and neighbours' spending (``peers``) — are switched on by their
parameters (off by default); ``bam.yaml`` (``clearing: bam``, module ``bam``) is the BAM
economy of Delli Gatti et al. (2011), in one stage.
"""

from __future__ import annotations

from typing import Any

from econsim.engine import Block, Model
from econsim.engine.report import Report
from econsim.models.banking import (
    accounts,
    asset_market,
    bam,
    bank_runs,
    collateral,
    consumer_credit,
    education,
    expectations,
    housing,
    interbank,
    peers,
    skills,
    sovereign,
    supply_chain,
)
from econsim.models.banking.finance import bank_accounts, credit, interest_and_repayment, settlement
from econsim.models.banking.firms import firm_accounts, firm_plans, production
from econsim.models.banking.goods import goods
from econsim.models.banking.labour import incomes, labour
from econsim.models.banking.macro import OBSERVABLES, macro, stylized_facts_report
from econsim.models.banking.multiplier import multiplier_clearing
from econsim.models.banking.params import PARAMS
from econsim.models.banking.policy import clock, monetary_policy
from econsim.models.banking.setup import initial_economy, static
from econsim.models.banking.state import POPULATIONS, STATE
from econsim.models.registry import ModelExtras

# under ``clearing: bam`` one stage (``bam.bam_step``, which also does the clock's work) makes the whole
# step; the others then do nothing
_STAGES: list[Any] = [
    clock,
    bam.bam_step,
    Block(monetary_policy, every="policy_every"),
    firm_plans,
    collateral.covenants,
    collateral.seized_assets,
    credit,
    education.education,
    labour,
    production,
    incomes,
    housing.house_prices,
    consumer_credit.consumer_credit,
    peers.peer_spending,
    goods,
    multiplier_clearing,
    interest_and_repayment,
    firm_accounts,
    interbank.interbank_clearing,
    bank_accounts,
    bank_runs.bank_run,
    sovereign.sovereign_debt,
    settlement,
    interbank.interbank_market,
    macro,
    expectations.heuristic_switching,
    asset_market.asset_market,
    supply_chain.supply_chain,
    accounts.close_books,
]
STEP: list[Any] = [
    s if s in (bam.bam_step, accounts.close_books) else bam.skipped_under_bam(s) for s in _STAGES
]

FIGURES = [
    {"kind": "timeseries", "vars": ["gdp", "consumption", "investment"], "file": "output.png"},
    {"kind": "timeseries", "vars": ["unemployment", "vacancy_rate"], "file": "labour.png"},
    {"kind": "timeseries", "vars": ["inflation", "policy_rate"], "file": "prices_and_rates.png"},
    {"kind": "timeseries", "vars": ["credit", "m1", "gov_debt"], "file": "money_and_credit.png"},
    {"kind": "timeseries", "vars": ["firm_bankruptcies", "bank_defaults", "deficit"], "file": "stress.png"},
]

model = Model(
    name="banking",
    doc="Ravelin: households, firms, banks, central bank and government on a double-entry ledger; "
    "labour, goods and credit markets; Taylor rule; taxes, benefits and bonds",
    params=[
        *PARAMS,
        *collateral.PARAMS,
        *housing.PARAMS,
        *expectations.PARAMS,
        *peers.PARAMS,
        *skills.PARAMS,
        *education.PARAMS,
        *interbank.PARAMS,
        *sovereign.PARAMS,
        *bank_runs.PARAMS,
        *asset_market.PARAMS,
        *supply_chain.PARAMS,
        *bam.PARAMS,
    ],
    state=[
        *STATE,
        *housing.STATE,
        *expectations.STATE,
        *peers.STATE,
        *skills.STATE,
        *education.STATE,
        *interbank.STATE,
        *sovereign.STATE,
        *bank_runs.STATE,
        *asset_market.STATE,
        *supply_chain.STATE,
    ],
    populations=POPULATIONS,
    static=supply_chain.with_chain_sizes(
        bank_runs.with_depositor_sizes(sovereign.with_bond_sizes(bam.with_bam_static(static)))
    ),
    static_sizes=("n_holders", "bond_slots", "n_bond_holders", "n_depositor_edges", "n_chain"),
    init=supply_chain.with_chain(
        bank_runs.with_depositors(housing.with_houses(bam.with_bam_initial(initial_economy)))
    ),
    step=STEP,
    observables={
        **OBSERVABLES,
        **collateral.OBSERVABLES,
        **housing.OBSERVABLES,
        **skills.OBSERVABLES,
        **bank_runs.OBSERVABLES,
        **supply_chain.OBSERVABLES,
    },
    invariants=[*accounts.INVARIANTS, *interbank.INVARIANTS, *sovereign.INVARIANTS],
    # agents' final state; balance_sheets is every holder's row of the ledger (holders × instruments)
    final_state={
        "firm_output": "firms.output",
        "firm_price": "firms.price",
        "household_wage": "households.wage",
        "household_employer": "households.employer",
        "balance_sheets": "ledger_stock",
        "interbank_network": "interbank_at_default",
        "bank_cascade_round": "bank_cascade_round",
        "bank_pushed_under": "bank_pushed_under",
    },
)


def _crisis_figure(name: str) -> Any:
    """A figure of ``crisis_figures``, imported when drawn (it loads matplotlib)."""

    def draw(results: Any, df: Any, options: Any) -> Any:
        from econsim.models.banking import crisis_figures

        return getattr(crisis_figures, name)(results, df, options)

    return draw


extras = ModelExtras(
    figures={
        name: _crisis_figure(name) for name in ("interbank_cascade", "yield_curve", "bank_run", "bubble")
    },
    default_figures=FIGURES,
    reports={"stylized_facts": Report(stylized_facts_report)},
)
