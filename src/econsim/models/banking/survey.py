"""Household microdata in the schema of the BLS Consumer Expenditure Interview Survey family files.

The CE Interview Survey publishes one family file per quarter (``fmli232.csv``, ``fmli233.csv``, …, and
``fmli241x.csv`` for the first quarter of the next year). One row is one interview of one consumer unit
(CU, a household): ``NEWID = CUID·10 + interview number``, so the same CU appears in up to four quarterly
files. The columns this project reads:

    NEWID       interview id (CU id × 10 + interview number)
    AGE_REF     age of the reference person
    FAM_SIZE    number of members in the CU
    NO_EARNR    number of earners
    FINCBTAX    income before taxes over the past 12 months (USD)
    EDUC_REF    education of the reference person (00 never attended … 17 professional/doctorate)
    REGION      1 Northeast, 2 Midwest, 3 South, 4 West
    CUTENURE    housing tenure (1 owned with mortgage, 2 owned without, 3 owned, mortgage not
                reported, 4 rented, 5 occupied without payment, 6 student housing)
    FINLWT21    final survey weight (CUs in the population the row stands for)
    TOTEXPPQ    total expenditures of the interview's reference period in the previous quarter
    TOTEXPCQ    … and in the current quarter

The quarterly spending the model predicts is ``TOTEXPPQ + TOTEXPCQ``: the interview covers the three
months before it, split across two calendar quarters.

The real files cannot be downloaded here. ``synthetic_fmli`` generates rows with exactly these columns from
a stated data-generating process (incomes log-normal by education, age and earners; spending log-linear in
income with a household effect); the package ships one such file, labelled synthetic, for tests and the
default run. It is not survey data and says nothing about US households.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from econsim.engine.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

ID = "NEWID"
WEIGHT = "FINLWT21"
SPENDING_PARTS = ("TOTEXPPQ", "TOTEXPCQ")
#: features of the spending model, in the order the model sees them
FEATURES = ("AGE_REF", "FAM_SIZE", "NO_EARNR", "FINCBTAX", "EDUC_REF", "REGION", "CUTENURE")
#: features that are codes, not quantities (the model treats them as categories)
CATEGORICAL = ("REGION", "CUTENURE")
COLUMNS = (ID, *FEATURES, WEIGHT, *SPENDING_PARTS)

EDUCATION_CODES = (0, 10, 11, 12, 13, 14, 15, 16, 17)
REGION_CODES = (1, 2, 3, 4)
TENURE_CODES = (1, 2, 3, 4, 5, 6)

#: where the synthetic file ships, and how it was made (``scripts/make_fmli_fixture.py`` rewrites it)
FIXTURE = Path(__file__).with_name("data") / "fmli_synthetic.csv"
FIXTURE_ROWS = 4000
FIXTURE_SEED = 20260101


def quarterly_spending(df: pd.DataFrame) -> np.ndarray:
    """The target: spending over the interview's three-month reference period, in USD."""
    return (df[SPENDING_PARTS[0]].to_numpy(float) + df[SPENDING_PARTS[1]].to_numpy(float)).astype(float)


def household_id(df: pd.DataFrame) -> np.ndarray:
    """The consumer unit of each interview row: NEWID // 10 (the last digit numbers the interview)."""
    return df[ID].to_numpy(np.int64) // 10


def read_fmli(source: str | Path) -> pd.DataFrame:
    """Rows of every ``fmli*.csv`` file in a folder (or one file), checked against the schema.

    Only the schema's columns are kept; blanks and the survey's '.' become NaN in features (the model
    handles missing values) and rows without spending, weight or id are dropped. A file missing a needed
    column is refused naming the file and the columns.
    """
    import pandas as pd

    source = Path(source)
    if source.is_dir():
        files = sorted(
            p
            for p in source.iterdir()
            if p.is_file() and p.name.lower().startswith("fmli") and p.suffix.lower() == ".csv"
        )
        if not files:
            raise ConfigError(
                f"no CE Interview family files (fmli*.csv) in '{source}'; extract the CSVs of a BLS CE "
                "Interview Survey year into that folder"
            )
    elif source.is_file():
        files = [source]
    else:
        raise ConfigError(f"survey data '{source}' does not exist (give a folder of fmli*.csv files)")
    frames = []
    for path in files:
        try:
            header = pd.read_csv(path, nrows=0)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise ConfigError(f"'{path}' is not a readable CSV file: {exc}") from None
        upper = {c.upper(): c for c in header.columns}
        missing = [c for c in COLUMNS if c not in upper]
        if missing:
            raise ConfigError(
                f"'{path}' lacks the CE Interview column(s) {', '.join(missing)}; "
                f"the spending model needs: {', '.join(COLUMNS)}"
            )
        frame = pd.read_csv(path, usecols=[upper[c] for c in COLUMNS], na_values=[".", ""], dtype=str)
        frame.columns = [c.upper() for c in frame.columns]
        frames.append(frame[list(COLUMNS)].apply(pd.to_numeric, errors="coerce"))
    df = pd.concat(frames, ignore_index=True)
    keep = df[[ID, WEIGHT, *SPENDING_PARTS]].notna().all(axis=1) & (df[WEIGHT] > 0)
    df = df[keep].reset_index(drop=True)
    if df.empty:
        raise ConfigError(f"no usable rows in '{source}' (every row lacks spending, weight or NEWID)")
    return df


def load_fixture() -> pd.DataFrame:
    """The synthetic FMLI file shipped with the package (see the module docstring)."""
    return read_fmli(FIXTURE)


def synthetic_fmli(n_rows: int, seed: int) -> pd.DataFrame:
    """Rows with the FMLI columns drawn from a known process (synthetic: no survey data inside).

    Consumer units c = 1 … n_cu are interviewed 1–4 times. For a CU with reference age a, education e,
    earners k and household effect u_c ~ N(0, 0.25²):

        log income  = 9.6 + 0.09·rank(e) + 0.045·(a − 18) − 0.0005·(a − 18)² + 0.35·k + N(0, 0.45²)
        log spend_q = 1.2 + 0.62·log income + 0.09·size + 0.05·[owner] + 0.04·[Northeast or West]
                      + u_c + N(0, 0.20²)

    where ``spend_q`` is the quarterly spending, split evenly at random between the two quarter columns.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    n_cu = max(1, n_rows // 2)
    interviews = rng.integers(1, 5, size=n_cu)
    cu = np.repeat(np.arange(1, n_cu + 1), interviews)[:n_rows]
    interview = np.concatenate([np.arange(2, 2 + k) for k in interviews])[:n_rows]
    n = len(cu)

    age_c = np.clip(rng.normal(50, 17, n_cu), 18, 90).round()
    size_c = np.clip(rng.poisson(1.5, n_cu) + 1, 1, 9)
    earners_c = np.minimum(rng.binomial(size_c, 0.45), size_c)
    earners_c[(age_c > 67) & (rng.random(n_cu) < 0.7)] = 0
    educ_rank_c = np.clip(rng.normal(4.3, 1.8, n_cu).round(), 0, len(EDUCATION_CODES) - 1).astype(int)
    region_c = rng.choice(REGION_CODES, n_cu, p=(0.18, 0.22, 0.38, 0.22))
    tenure_c = rng.choice(TENURE_CODES, n_cu, p=(0.38, 0.24, 0.02, 0.33, 0.02, 0.01))
    effect_c = rng.normal(0, 0.25, n_cu)
    weight_c = rng.uniform(8_000, 40_000, n_cu)

    idx = cu - 1
    years = age_c[idx] - 18
    log_income = (
        9.6
        + 0.09 * educ_rank_c[idx]
        + 0.045 * years
        - 0.0005 * years**2
        + 0.35 * earners_c[idx]
        + rng.normal(0, 0.45, n)
    )
    income = np.exp(log_income)
    owner = np.isin(tenure_c[idx], (1, 2, 3))
    coastal = np.isin(region_c[idx], (1, 4))
    log_spend = (
        1.2
        + 0.62 * log_income
        + 0.09 * size_c[idx]
        + 0.05 * owner
        + 0.04 * coastal
        + effect_c[idx]
        + rng.normal(0, 0.20, n)
    )
    spend = np.exp(log_spend)
    share = rng.uniform(0, 1, n)
    return pd.DataFrame(
        {
            ID: cu * 10 + interview,
            "AGE_REF": age_c[idx].astype(int),
            "FAM_SIZE": size_c[idx].astype(int),
            "NO_EARNR": earners_c[idx].astype(int),
            "FINCBTAX": income.round(0),
            "EDUC_REF": np.asarray(EDUCATION_CODES)[educ_rank_c[idx]],
            "REGION": region_c[idx],
            "CUTENURE": tenure_c[idx],
            WEIGHT: weight_c[idx].round(4),
            "TOTEXPPQ": (spend * share).round(2),
            "TOTEXPCQ": (spend * (1 - share)).round(2),
        }
    )


def sample_rows(weights_n: np.ndarray, u_bh: np.ndarray) -> np.ndarray:
    """Survey rows for households, drawn with probability proportional to the survey weights.

    ``u_bh`` are uniforms on [0, 1) from the engine's streams, one per run and household; row i is taken
    where the weights' cumulative share first exceeds u (inverse-CDF sampling): (B, H) row indices.
    """
    weights_n = np.asarray(weights_n, dtype=float)
    if weights_n.ndim != 1 or weights_n.size == 0 or not np.all(weights_n >= 0) or weights_n.sum() <= 0:
        raise ConfigError(
            "survey weights must be a non-empty list of non-negative numbers with a positive sum"
        )
    cdf_n = np.cumsum(weights_n)
    cdf_n /= cdf_n[-1]
    return np.minimum(np.searchsorted(cdf_n, u_bh, side="right"), len(weights_n) - 1)
