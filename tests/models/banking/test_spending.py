"""The spending model: the FMLI schema, the synthetic fixture, training, prediction, validation, the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from econsim.cli import app
from econsim.engine.errors import ConfigError
from econsim.engine.streams import RandomStreams
from econsim.models.banking import spending, survey


@pytest.fixture(scope="module")
def fixture_df() -> pd.DataFrame:
    return survey.load_fixture()


@pytest.fixture(scope="module")
def fitted(fixture_df) -> spending.SpendingModel:
    return spending.SpendingModel.fit(fixture_df, max_iter=60)


def oracle_r2(df: pd.DataFrame) -> float:
    """R² of the synthetic process's own conditional mean (see survey.synthetic_fmli): the best any model
    of these features can do in expectation."""
    owner = df.CUTENURE.isin([1, 2, 3]).to_numpy()
    coastal = df.REGION.isin([1, 4]).to_numpy()
    log_mean = (
        1.2
        + 0.62 * np.log(df.FINCBTAX.to_numpy())
        + 0.09 * df.FAM_SIZE.to_numpy()
        + 0.05 * owner
        + 0.04 * coastal
        + (0.25**2 + 0.20**2) / 2
    )
    return spending.weighted_r2(survey.quarterly_spending(df), np.exp(log_mean), df.FINLWT21.to_numpy())


def test_fixture_has_the_exact_schema_and_is_the_scripts_output(fixture_df):
    raw = pd.read_csv(survey.FIXTURE)
    assert tuple(raw.columns) == survey.COLUMNS
    regenerated = survey.synthetic_fmli(survey.FIXTURE_ROWS, survey.FIXTURE_SEED)
    pd.testing.assert_frame_equal(raw, regenerated, check_dtype=False)
    assert "synthetic" in (survey.FIXTURE.parent / "README.md").read_text().lower()
    # NEWID = CU·10 + interview number: several interviews per household, as in the survey
    cu = survey.household_id(fixture_df)
    assert 1 < len(cu) / np.unique(cu).size < 4
    assert set(fixture_df.REGION.unique()) <= set(survey.REGION_CODES)


def test_missing_column_is_named(tmp_path, fixture_df):
    fixture_df.drop(columns=["FINCBTAX", "REGION"]).to_csv(tmp_path / "fmli241.csv", index=False)
    with pytest.raises(ConfigError, match=r"fmli241\.csv.*FINCBTAX, REGION"):
        survey.read_fmli(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match=r"no CE Interview family files"):
        survey.read_fmli(empty)
    with pytest.raises(ConfigError, match=r"does not exist"):
        survey.read_fmli(tmp_path / "missing")


def test_user_files_with_survey_spellings_are_read(tmp_path, fixture_df):
    """Lower-case headers, extra columns, '.' for missing values, rows without weight dropped."""
    df = fixture_df.head(300).copy()
    df.columns = [c.lower() for c in df.columns]
    df["extra_col"] = 1
    df = df.astype(str)
    df.loc[0, "region"] = "."
    df.loc[1, "finlwt21"] = ""
    df.iloc[:150].to_csv(tmp_path / "fmli232.csv", index=False)
    df.iloc[150:].to_csv(tmp_path / "fmli233.csv", index=False)
    read = survey.read_fmli(tmp_path)
    assert len(read) == 299
    assert tuple(read.columns) == survey.COLUMNS
    assert np.isnan(read.REGION.iloc[0])


def test_out_of_sample_r2_approaches_the_process_bound(fixture_df):
    validation = spending.cross_validate(fixture_df, folds=3, max_iter=60)
    bound = oracle_r2(fixture_df)
    assert bound - 0.15 < validation.r2 < bound + 0.03, (validation.r2, bound)
    assert len(validation.by_decile) == 10
    assert validation.by_decile.rows.sum() == (survey.quarterly_spending(fixture_df) > 0).sum()
    # incomes rise by decile, and so does predicted spending
    assert np.all(np.diff(validation.by_decile.income_mean) > 0)
    assert np.all(np.diff(validation.by_decile.predicted_mean) > 0)


def test_folds_never_split_a_household(fixture_df, monkeypatch):
    seen = []
    original = spending.SpendingModel.fit

    def recording_fit(df, **kwargs):
        seen.append(set(survey.household_id(df)))
        return original(df, **kwargs)

    monkeypatch.setattr(spending.SpendingModel, "fit", staticmethod(recording_fit))
    spending.cross_validate(fixture_df, folds=3, max_iter=5)
    everyone = set(survey.household_id(fixture_df))
    for train_households in seen:
        test_households = everyone - train_households
        assert test_households and not (test_households & train_households)


def test_smearing_makes_predictions_unbiased_in_sample(fixture_df, fitted):
    y = survey.quarterly_spending(fixture_df)
    w = fixture_df.FINLWT21.to_numpy()
    # Duan's factor makes the weighted mean of exp(f̂)·S equal the weighted mean of y (in sample)
    log_pred = fitted.estimator.predict(spending.features_matrix(fixture_df))
    assert fitted.smearing == pytest.approx(np.average(y / np.exp(log_pred), weights=w))
    assert fitted.smearing > 1.0


def test_batched_prediction_equals_row_by_row(fixture_df, fitted):
    rows = fixture_df.head(12)
    flat = fitted.predict(rows)
    batch = {name: rows[name].to_numpy().reshape(3, 4) for name in survey.FEATURES}
    np.testing.assert_array_equal(fitted.predict(batch), flat.reshape(3, 4))
    one = [fitted.predict(rows.iloc[[i]])[0] for i in range(len(rows))]
    np.testing.assert_allclose(flat, one, rtol=0, atol=0)
    # spending rises with income, everything else equal
    richer = {k: v.copy() for k, v in batch.items()}
    richer["FINCBTAX"] = batch["FINCBTAX"] * 3
    assert (fitted.predict(richer) >= fitted.predict(batch)).mean() > 0.9


def test_saved_model_carries_schema_and_versions(tmp_path, fitted):
    path = fitted.save(tmp_path / "m.joblib")
    loaded = spending.SpendingModel.load(path)
    assert loaded.features == survey.FEATURES and loaded.info["format"] == spending.FORMAT
    assert loaded.info["sklearn_version"] and loaded.info["econsim_version"]
    import joblib

    payload = joblib.load(path)
    payload["info"]["sklearn_version"] = "0.1.0"
    joblib.dump(payload, tmp_path / "old.joblib")
    with pytest.raises(ConfigError, match=r"scikit-learn 0\.1\.0.*retrain"):
        spending.SpendingModel.load(tmp_path / "old.joblib")
    payload["info"]["sklearn_version"] = loaded.info["sklearn_version"]
    payload["features"] = ["AGE_REF"]
    joblib.dump(payload, tmp_path / "schema.joblib")
    with pytest.raises(ConfigError, match=r"trained on features \['AGE_REF'\]"):
        spending.SpendingModel.load(tmp_path / "schema.joblib")
    (tmp_path / "junk.joblib").write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="not a spending model file"):
        spending.SpendingModel.load(tmp_path / "junk.joblib")


def test_households_are_sampled_in_proportion_to_survey_weights():
    weights = np.array([1.0, 3.0, 0.0, 6.0])
    u = RandomStreams(11, np.arange(4)[:, None])("households").random((50_000,))
    rows = survey.sample_rows(weights, u)
    assert rows.shape == (4, 50_000)
    share = np.bincount(rows.ravel(), minlength=4) / rows.size
    np.testing.assert_allclose(share, weights / weights.sum(), atol=4 * np.sqrt(0.25 / rows.size))
    assert not (rows == 2).any()  # a zero weight is never drawn
    # each run's draw depends only on its own stream: run 2 alone gives the same rows
    alone = survey.sample_rows(weights, RandomStreams(11, np.array([[2]]))("households").random((50_000,)))
    np.testing.assert_array_equal(alone[0], rows[2])
    with pytest.raises(ConfigError, match="survey weights"):
        survey.sample_rows(np.array([-1.0, 2.0]), u)


@pytest.mark.slow  # tens of seconds of subprocesses or training; runs in CI with -m slow
def test_default_model_is_cached(tmp_path):
    first = spending.default_model(tmp_path)
    cached = list(tmp_path.glob("spending-fixture-*.joblib"))
    assert len(cached) == 1
    again = spending.default_model(tmp_path)
    rows = survey.load_fixture().head(5)
    np.testing.assert_array_equal(first.predict(rows), again.predict(rows))


def test_cli_train_predict_validate_on_user_files(tmp_path, fixture_df):
    data = tmp_path / "ce"
    data.mkdir()
    fixture_df.iloc[:1500].to_csv(data / "fmli241x.csv", index=False)
    fixture_df.iloc[1500:].to_csv(data / "fmli242.csv", index=False)
    model = tmp_path / "model.joblib"
    runner = CliRunner()
    trained = runner.invoke(
        app,
        ["banking", "train", "--data", str(data), "--out", str(model), "--folds", "2", "--max-iter", "20"],
    )
    assert trained.exit_code == 0, trained.output
    assert "out-of-sample R²" in trained.output and model.is_file()
    shown = runner.invoke(
        app, ["banking", "predict", "--model", str(model), "--data", str(data), "--rows", "3"]
    )
    assert shown.exit_code == 0 and "predicted" in shown.output
    scored = runner.invoke(app, ["banking", "validate", "--model", str(model), "--data", str(data)])
    assert scored.exit_code == 0 and "error by income decile" in scored.output
    assert scored.output.count("\n") > 10
