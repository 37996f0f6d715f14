"""Ravelin's spending model: quarterly household spending learned from the CE Interview Survey.

A gradient-boosted regression tree ensemble (scikit-learn's ``HistGradientBoostingRegressor``) maps a
household's attributes x = (age, family size, earners, income before tax, education, region, tenure) to its
quarterly spending c. It is fitted on log spending with the survey weights w_i, and returned to levels with
Duan's smearing factor, so that predictions are conditional means rather than medians:

    log c_i = f(x_i) + e_i,        ĉ(x) = exp(f̂(x)) · S,        S = Σ w_i e^{ê_i} / Σ w_i

Out-of-sample quality is measured by K-fold cross-validation grouped by consumer unit (the same household
interviewed in several quarters never sits in both a training and a test fold): the weighted R² of the
levels, R² = 1 − Σ w (c − ĉ)² / Σ w (c − c̄_w)², and the error by income decile.

A saved model (``joblib``) carries its feature schema, the target's definition, the versions of econsim and
scikit-learn that made it, and its cross-validation scores; loading refuses a file made for another schema
or another scikit-learn minor version (tree pickles do not travel between them) with a named error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from econsim.engine.errors import ConfigError
from econsim.models.banking import survey

if TYPE_CHECKING:
    import pandas as pd

FORMAT = 1
TARGET = "quarterly spending = TOTEXPPQ + TOTEXPCQ (USD)"


def _sklearn() -> Any:
    try:
        import sklearn
    except ImportError:
        raise ConfigError("the spending model needs scikit-learn: pip install 'econsim[ml]'") from None
    return sklearn


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def weighted_r2(y: np.ndarray, y_hat: np.ndarray, w: np.ndarray) -> float:
    """1 − Σ w (y − ŷ)² / Σ w (y − ȳ_w)²."""
    mean = np.average(y, weights=w)
    return float(1.0 - np.sum(w * (y - y_hat) ** 2) / np.sum(w * (y - mean) ** 2))


def features_matrix(columns: dict[str, np.ndarray] | pd.DataFrame) -> np.ndarray:
    """(n, F) float matrix of the model's features in schema order, from a frame or a dict of arrays."""
    return np.column_stack([np.asarray(columns[name], dtype=float).reshape(-1) for name in survey.FEATURES])


@dataclass
class SpendingModel:
    """A fitted spending model with its schema and provenance."""

    estimator: Any
    smearing: float
    features: tuple[str, ...] = survey.FEATURES
    categorical: tuple[str, ...] = survey.CATEGORICAL
    info: dict[str, Any] = field(default_factory=dict)

    # --- fitting ------------------------------------------------------------------------------------
    @staticmethod
    def _estimator(seed: int, max_iter: int) -> Any:
        _sklearn()
        from sklearn.ensemble import HistGradientBoostingRegressor

        categorical = [name in survey.CATEGORICAL for name in survey.FEATURES]
        return HistGradientBoostingRegressor(
            max_iter=max_iter,
            learning_rate=0.08,
            max_leaf_nodes=24,
            min_samples_leaf=30,
            l2_regularization=1.0,
            categorical_features=categorical,
            random_state=seed,
        )

    @classmethod
    def fit(cls, df: pd.DataFrame, seed: int = 0, max_iter: int = 200) -> SpendingModel:
        """Fit on survey rows (a frame with the FMLI columns, e.g. from ``survey.read_fmli``)."""
        y = survey.quarterly_spending(df)
        usable = y > 0  # log target: rows reporting no spending carry no information on its level
        if usable.sum() < 50:
            raise ConfigError(
                f"only {int(usable.sum())} survey rows report positive spending; need at least 50"
            )
        df = df[usable]
        x, y, w = features_matrix(df), y[usable], df[survey.WEIGHT].to_numpy(float)
        from threadpoolctl import threadpool_limits

        # survey files hold thousands of rows: one thread fits them in seconds, while OpenMP threads
        # contending for a busy machine's cores can take minutes
        with threadpool_limits(limits=1, user_api="openmp"):
            est = cls._estimator(seed, max_iter).fit(x, np.log(y), sample_weight=w)
        residual = np.log(y) - est.predict(x)
        smearing = float(np.average(np.exp(residual), weights=w))
        sklearn = _sklearn()
        import econsim

        info = {
            "format": FORMAT,
            "target": TARGET,
            "econsim_version": econsim.__version__,
            "sklearn_version": sklearn.__version__,
            "rows": len(y),
            "households": int(np.unique(survey.household_id(df)).size),
            "seed": seed,
            "max_iter": max_iter,
        }
        return cls(estimator=est, smearing=smearing, info=info)

    # --- using it -----------------------------------------------------------------------------------
    def predict(self, columns: dict[str, np.ndarray] | pd.DataFrame) -> np.ndarray:
        """Quarterly spending of every household given its features: arrays of any common shape
        (e.g. (B, H) for a batch of runs), predicted in one call; the result has that shape."""
        first = np.asarray(columns[self.features[0]])
        x = features_matrix(columns)
        return (np.exp(self.estimator.predict(x)) * self.smearing).reshape(first.shape)

    # --- persistence --------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        import joblib

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "estimator": self.estimator,
            "smearing": self.smearing,
            "features": list(self.features),
            "categorical": list(self.categorical),
            "info": self.info,
        }
        joblib.dump(payload, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> SpendingModel:
        import joblib

        path = Path(path)
        if not path.is_file():
            raise ConfigError(
                f"spending model file '{path}' does not exist; make one with `econsim banking train`"
            )
        try:
            payload = joblib.load(path)
        except Exception as exc:  # a truncated or foreign file: name it rather than show unpickling internals
            raise ConfigError(
                f"'{path}' is not a spending model file ({type(exc).__name__}: {exc})"
            ) from None
        if not isinstance(payload, dict) or payload.get("info", {}).get("format") != FORMAT:
            raise ConfigError(f"'{path}' is not a spending model file of format {FORMAT}")
        if tuple(payload["features"]) != survey.FEATURES:
            raise ConfigError(
                f"'{path}' was trained on features {payload['features']}; this version needs "
                f"{list(survey.FEATURES)}: retrain it with `econsim banking train`"
            )
        made_with, here = payload["info"]["sklearn_version"], _sklearn().__version__
        if _minor(made_with) != _minor(here):
            raise ConfigError(
                f"'{path}' was made with scikit-learn {made_with}, this is {here}: retrain it with "
                "`econsim banking train` (fitted trees do not move between scikit-learn versions)"
            )
        return cls(
            estimator=payload["estimator"],
            smearing=payload["smearing"],
            features=tuple(payload["features"]),
            categorical=tuple(payload["categorical"]),
            info=payload["info"],
        )


@dataclass
class Validation:
    """Out-of-sample scores from household-grouped cross-validation."""

    r2: float
    r2_folds: list[float]
    by_decile: pd.DataFrame
    folds: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "r2": self.r2,
            "r2_folds": self.r2_folds,
            "folds": self.folds,
            "by_decile": self.by_decile.to_dict(orient="records"),
        }


def income_deciles(income: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted income decile (0 … 9) of every row."""
    order = np.argsort(income, kind="stable")
    share = np.empty(len(income))
    share[order] = (np.cumsum(w[order]) - 0.5 * w[order]) / w.sum()
    return np.minimum((share * 10).astype(int), 9)


def error_by_decile(income: np.ndarray, y: np.ndarray, y_hat: np.ndarray, w: np.ndarray) -> pd.DataFrame:
    """Weighted mean spending, mean prediction, bias and mean absolute error per income decile."""
    import pandas as pd

    decile = income_deciles(income, w)
    rows = []
    for d in range(10):
        m = decile == d
        if not m.any():
            continue
        wd = w[m]
        rows.append(
            {
                "decile": d + 1,
                "rows": int(m.sum()),
                "income_mean": float(np.average(income[m], weights=wd)),
                "spending_mean": float(np.average(y[m], weights=wd)),
                "predicted_mean": float(np.average(y_hat[m], weights=wd)),
                "bias": float(np.average(y_hat[m] - y[m], weights=wd)),
                "mae": float(np.average(np.abs(y_hat[m] - y[m]), weights=wd)),
            }
        )
    return pd.DataFrame(rows)


def cross_validate(df: pd.DataFrame, folds: int = 5, seed: int = 0, max_iter: int = 200) -> Validation:
    """Household-grouped K-fold cross-validation of the spending model on survey rows."""
    _sklearn()
    from sklearn.model_selection import GroupKFold

    y_all = survey.quarterly_spending(df)
    df = df[y_all > 0].reset_index(drop=True)
    y, w = survey.quarterly_spending(df), df[survey.WEIGHT].to_numpy(float)
    groups = survey.household_id(df)
    n_groups = np.unique(groups).size
    if n_groups < folds:
        raise ConfigError(f"{n_groups} households are too few for {folds}-fold cross-validation")
    y_hat = np.empty_like(y)
    r2_folds = []
    for train, test in GroupKFold(n_splits=folds).split(df, groups=groups):
        model = SpendingModel.fit(df.iloc[train], seed=seed, max_iter=max_iter)
        y_hat[test] = model.predict(df.iloc[test])
        r2_folds.append(weighted_r2(y[test], y_hat[test], w[test]))
    income = df["FINCBTAX"].to_numpy(float)
    return Validation(
        r2=weighted_r2(y, y_hat, w),
        r2_folds=r2_folds,
        by_decile=error_by_decile(np.nan_to_num(income), y, y_hat, w),
        folds=folds,
    )


def train(
    data: str | Path | None, out: str | Path, folds: int = 5, seed: int = 0, max_iter: int = 200
) -> tuple[SpendingModel, Validation]:
    """Read survey files (or the synthetic fixture when ``data`` is None), cross-validate, fit on all rows,
    save to ``out`` with the scores in the model's info."""
    df = survey.read_fmli(data) if data is not None else survey.load_fixture()
    validation = cross_validate(df, folds=folds, seed=seed, max_iter=max_iter)
    model = SpendingModel.fit(df, seed=seed, max_iter=max_iter)
    model.info["source"] = str(data) if data is not None else f"synthetic fixture {survey.FIXTURE.name}"
    model.info["cv_r2"] = validation.r2
    model.info["cv_r2_folds"] = validation.r2_folds
    model.save(out)
    return model, validation


def default_model(cache_dir: str | Path | None = None) -> SpendingModel:
    """The model fitted on the shipped synthetic fixture, trained once and cached per scikit-learn version.

    The cache lives in ``$ECONSIM_CACHE`` (default ``~/.cache/econsim``), keyed by the fixture's checksum
    and the scikit-learn version, so a changed fixture or library retrains instead of loading a stale file.
    """
    import hashlib
    import os

    sklearn = _sklearn()
    folder = Path(cache_dir or os.environ.get("ECONSIM_CACHE") or Path.home() / ".cache" / "econsim")
    digest = hashlib.sha256(survey.FIXTURE.read_bytes()).hexdigest()[:12]
    path = folder / f"spending-fixture-{digest}-sklearn{sklearn.__version__}.joblib"
    if path.is_file():
        try:
            return SpendingModel.load(path)
        except ConfigError:
            pass  # an unreadable cache entry is rebuilt below
    model = SpendingModel.fit(survey.load_fixture())
    model.info["source"] = f"synthetic fixture {survey.FIXTURE.name}"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    model.save(tmp)
    os.replace(tmp, path)
    return model
