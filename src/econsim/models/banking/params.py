"""Parameters of the banking economy. Rates are annual; a step is ``1/steps_per_year`` of a year."""

from __future__ import annotations

from econsim.engine import Param

UNIT = (0.0, 1.0)
POS = (0.0, None)

PARAMS: list[Param] = [
    # --- sizes and time (per batch: they size arrays or pick code paths)
    Param(
        "n_households",
        2000,
        "households (one worker each)",
        bounds=(1, 10_000_000),
        kind="int",
        per_batch=True,
    ),
    Param(
        "n_firms",
        200,
        "firms (consumption- and capital-goods producers)",
        bounds=(2, 1_000_000),
        kind="int",
        per_batch=True,
    ),
    Param("n_banks", 5, "commercial banks", bounds=(1, 50), kind="int", per_batch=True),
    Param(
        "capital_firm_share", 0.1, "share of firms producing capital goods", bounds=(0.0, 0.9), per_batch=True
    ),
    Param(
        "steps_per_year",
        12,
        "steps per year (12: a month per step)",
        bounds=(1, 365),
        kind="int",
        per_batch=True,
    ),
    Param(
        "consumption_rule",
        "buffer_stock",
        "household spending: 'spending_model' (the CE-trained model), "
        "'buffer_stock' (a wealth-to-income target) or 'sim' (Godley–Lavoie SIM: α1·YD + α2·M)",
        kind="choice",
        choices=("spending_model", "buffer_stock", "sim"),
        per_batch=True,
    ),
    Param(
        "clearing",
        "markets",
        "'markets': decentralised search and matching; 'multiplier': output meets "
        "demand within the step (Godley–Lavoie SIM's assumption); 'bam': the BAM economy of Delli Gatti "
        "et al. 2011 (models/banking/bam.py)",
        kind="choice",
        choices=("markets", "multiplier", "bam"),
        per_batch=True,
    ),
    Param(
        "visits_labour",
        4,
        "vacancies a job seeker visits per step",
        bounds=(1, 50),
        kind="int",
        per_batch=True,
    ),
    Param("visits_goods", 3, "firms a household visits per step", bounds=(1, 50), kind="int", per_batch=True),
    Param("visits_credit", 2, "banks a firm applies to per step", bounds=(1, 50), kind="int", per_batch=True),
    Param(
        "policy_every",
        3,
        "steps between monetary-policy meetings",
        bounds=(1, 120),
        kind="int",
        per_batch=True,
    ),
    # --- households
    Param(
        "propensity_income", 0.9, "buffer-stock rule: spending out of expected disposable income", bounds=UNIT
    ),
    Param(
        "propensity_wealth",
        0.05,
        "buffer-stock rule: spending out of deposits above the target, per step",
        bounds=UNIT,
    ),
    Param(
        "wealth_target", 3.0, "buffer-stock rule: target deposits in months of disposable income", bounds=POS
    ),
    Param("alpha1", 0.6, "SIM: propensity to consume out of disposable income", bounds=UNIT),
    Param("alpha2", 0.4, "SIM: propensity to consume out of money held", bounds=UNIT),
    Param(
        "spending_propensity",
        0.9,
        "spending model: aggregate spending per unit of disposable income at the "
        "start (scales the model's level; the model sets who spends how much)",
        bounds=(0.0, 2.0),
    ),
    Param("reservation_decay", 0.05, "fall of the reservation wage per unemployed step", bounds=UNIT),
    Param("expectation_gain", 0.2, "λ in π^e ← π^e + λ(π − π^e)", bounds=UNIT),
    Param("initial_wage", 4000.0, "monthly wage of an unskilled worker at the start", bounds=(1e-9, None)),
    Param(
        "initial_deposits", 0.0, "household deposits at the start, in money (added to the buffer)", bounds=POS
    ),
    Param(
        "initial_wealth_months",
        -1.0,
        "household deposits at the start in months of its disposable income; −1: the buffer-stock rule's "
        "steady state for the household's archetype (where it spends its income), 0 with the SIM rule",
        bounds=(-1.0, 120.0),
    ),
    # --- firms
    Param("alpha", 0.3, "capital share α in Y = A·K^α·L^(1−α)", bounds=(0.0, 0.99)),
    Param("productivity", 1.0, "total factor productivity A of consumption-goods firms", bounds=(1e-9, None)),
    Param(
        "capital_productivity",
        1.0,
        "output per skill unit of labour of capital-goods firms",
        bounds=(1e-9, None),
    ),
    Param("depreciation", 0.08, "annual depreciation of capital", bounds=UNIT),
    Param(
        "initial_capital",
        60.0,
        "capital (units) of a consumption-goods firm at the start",
        bounds=(1e-9, None),
    ),
    Param("markup", 0.15, "initial (and normal) markup over unit labour cost", bounds=(0.0, 5.0)),
    Param("markup_step", 0.02, "markup adjustment per step when inventories are off target", bounds=UNIT),
    Param(
        "markup_reversion",
        0.05,
        "share of the gap to the normal markup ``markup`` closed per step (competition)",
        bounds=UNIT,
    ),
    Param(
        "stockout_signal",
        0.1,
        "demand a sold-out firm reads beyond its sales (share of sales)",
        bounds=(0.0, 1.0),
    ),
    Param(
        "demand_floor",
        0.25,
        "least a firm expects to sell, as a share of its market per firm (orders per capital-goods firm, "
        "mean expected sales of consumption-goods firms)",
        bounds=UNIT,
    ),
    Param("inventory_target", 0.5, "target inventories in steps of expected sales", bounds=POS),
    Param(
        "inventory_adjustment",
        0.25,
        "share of the gap between target and actual inventories closed by production per step",
        bounds=UNIT,
    ),
    Param(
        "price_adjustment",
        0.25,
        "share of the gap between the normal-cost price and the current price closed per step",
        bounds=UNIT,
    ),
    Param("price_step_max", 0.02, "largest price change of a firm per step (menu costs)", bounds=UNIT),
    Param("expectation_weight", 0.3, "weight of the latest sales in expected sales", bounds=UNIT),
    Param("wage_step", 0.002, "wage-offer rise per step when vacancies went unfilled", bounds=UNIT),
    Param(
        "wage_indexation",
        0.5,
        "share of expected inflation passed into wage offers each step",
        bounds=UNIT,
    ),
    Param("payout", 0.5, "share of positive profits paid as dividends", bounds=UNIT),
    Param(
        "cash_buffer",
        1.0,
        "deposits a firm keeps, in steps of its wage bill (plus its planned investment); the rest is paid out",
        bounds=POS,
    ),
    Param("loan_term_years", 3.0, "years over which loans amortize", bounds=(1e-3, None)),
    Param("investment_speed", 0.05, "share of the capital gap closed by investment per step", bounds=UNIT),
    # --- banks
    Param("consumer_spread", 0.05, "consumer-loan rate above the policy rate", bounds=POS),
    Param("consumer_loan_years", 3.0, "years over which consumer loans amortize", bounds=(1e-3, None)),
    Param(
        "consumer_credit_months",
        3.0,
        "most a household may owe on consumer loans, in months of disposable income (0: no consumer credit)",
        bounds=(0.0, 120.0),
    ),
    Param("capital_requirement", 0.08, "minimum equity / loans", bounds=UNIT),
    Param("reserve_requirement", 0.02, "minimum reserves / deposits", bounds=UNIT),
    Param("loan_spread", 0.03, "bank markup of the loan rate over the policy rate", bounds=POS),
    Param(
        "savings_markdown",
        0.005,
        "savings-deposit rate below the policy rate (floored at zero; above the deposit rate)",
        bounds=POS,
    ),
    Param(
        "liquidity_months",
        1.0,
        "deposits a household keeps for payments, in months of disposable income; the rest is saved in "
        "savings deposits and drawn back when spending needs it",
        bounds=POS,
    ),
    Param("deposit_markdown", 0.01, "deposit rate below the policy rate (floored at zero)", bounds=POS),
    Param("risk_premium", 0.1, "loan-rate premium per unit of default probability", bounds=POS),
    Param("bank_equity", 0.12, "initial bank equity / loans", bounds=(1e-9, 1.0)),
    Param("credit_supply", 1.0, "scale of what banks are willing to lend (<1: a credit crunch)", bounds=UNIT),
    # --- central bank
    Param(
        "taylor_inflation",
        0.5,
        "Taylor rule: response to inflation above the target (Taylor 1993)",
        bounds=POS,
    ),
    Param("taylor_gap", 0.5, "Taylor rule: response to the output gap", bounds=POS),
    Param("neutral_rate", 0.02, "Taylor rule: neutral real rate r*", bounds=(-0.1, 0.2)),
    Param("inflation_target", 0.02, "Taylor rule: inflation target π* (annual)", bounds=(-0.1, 0.2)),
    Param(
        "corridor",
        0.01,
        "width of the rate corridor (deposit facility i − c/2, lending facility i + c/2)",
        bounds=POS,
    ),
    Param("rate_shock", 0.0, "added to the policy rate (a rate hike scenario)", bounds=(-0.2, 0.2)),
    Param(
        "rule_rate",
        True,
        "the policy rate follows the Taylor rule (false: held at neutral + target)",
        kind="bool",
    ),
    # --- government
    Param(
        "government_spending", 0.15, "government purchases as a share of initial output", bounds=(0.0, 1.0)
    ),
    Param(
        "government_spending_level",
        0.0,
        "SIM: government purchases per step in money (overrides the share when positive)",
        bounds=POS,
    ),
    Param("tax_rate", 0.0, "SIM: flat income tax θ (overrides the brackets when positive)", bounds=UNIT),
    Param("tax_low", 0.10, "income tax rate of the first bracket", bounds=UNIT),
    Param("tax_mid", 0.22, "income tax rate of the second bracket", bounds=UNIT),
    Param("tax_high", 0.32, "income tax rate of the top bracket", bounds=UNIT),
    Param("bracket_mid", 40_000.0, "annual income where the second bracket starts", bounds=POS),
    Param("bracket_high", 100_000.0, "annual income where the top bracket starts", bounds=POS),
    Param("corporate_tax", 0.21, "tax on positive firm profits", bounds=UNIT),
    Param("sales_tax", 0.05, "tax on consumer purchases", bounds=UNIT),
    Param("benefit_replacement", 0.4, "unemployment benefit / average wage", bounds=UNIT),
    Param(
        "debt_target",
        0.6,
        "fiscal rule: target government debt / annual nominal trend output",
        bounds=(0.0, 10.0),
    ),
    Param(
        "debt_response",
        0.1,
        "fiscal rule: cut of government purchases (share of output) per unit of debt ratio above the "
        "target (raise below it); 0 switches the rule off",
        bounds=(0.0, 2.0),
    ),
    Param("bond_premium", 0.005, "government bond rate above the policy rate", bounds=POS),
    Param(
        "stimulus",
        0.0,
        "extra government purchases as a share of initial output (fiscal stimulus)",
        bounds=(0.0, 1.0),
    ),
    Param("stimulus_start", 0, "first step of the stimulus", bounds=(0, None), kind="int"),
    Param("stimulus_steps", 0, "steps the stimulus lasts", bounds=(0, None), kind="int"),
]
