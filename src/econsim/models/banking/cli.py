"""``econsim banking train / predict / validate``: the spending model from the command line (as Ravelin's)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="The banking model's spending model: train, predict, validate.")

DATA_HELP = "folder of CE Interview family files (fmli*.csv) or one file; default: the synthetic fixture"


def _console():
    from rich.console import Console

    return Console(soft_wrap=True)


def _frame(data: Path | None):
    from econsim.models.banking import survey

    return survey.read_fmli(data) if data is not None else survey.load_fixture()


@app.command()
def train(
    data: Annotated[Path | None, typer.Option(help=DATA_HELP)] = None,
    out: Annotated[Path, typer.Option(help="where to save the fitted model")] = Path("spending_model.joblib"),
    folds: Annotated[int, typer.Option(min=2, help="household-grouped cross-validation folds")] = 5,
    seed: Annotated[int, typer.Option(help="seed of the boosting")] = 0,
    max_iter: Annotated[int, typer.Option(min=1, help="boosting iterations (trees) per fit")] = 200,
) -> None:
    """Fit the spending model on survey rows, with household-grouped cross-validation."""
    from econsim.models.banking.spending import train as fit

    console = _console()
    model, validation = fit(data, out, folds=folds, seed=seed, max_iter=max_iter)
    source = model.info["source"]
    console.print(f"trained on {model.info['rows']} rows ({model.info['households']} households) of {source}")
    console.print(
        f"out-of-sample R² ({folds}-fold, grouped by household): {validation.r2:.3f} "
        f"(folds {', '.join(f'{r:.3f}' for r in validation.r2_folds)})"
    )
    console.print(f"saved: {out}")


@app.command()
def predict(
    model: Annotated[Path, typer.Option(help="a model saved by `econsim banking train`")] = Path(
        "spending_model.joblib"
    ),
    data: Annotated[Path | None, typer.Option(help=DATA_HELP)] = None,
    rows: Annotated[int, typer.Option(min=1, help="how many rows to show")] = 10,
) -> None:
    """Show the model's predictions beside the recorded spending for a few survey rows."""
    from rich.table import Table

    from econsim.models.banking import survey
    from econsim.models.banking.spending import SpendingModel

    fitted = SpendingModel.load(model)
    df = _frame(data).head(rows)
    predicted = fitted.predict(df)
    table = Table("NEWID", "age", "size", "earners", "income", "spending", "predicted", box=None)
    for (_, row), spent, guess in zip(df.iterrows(), survey.quarterly_spending(df), predicted, strict=True):
        table.add_row(
            str(int(row.NEWID)),
            f"{row.AGE_REF:.0f}",
            f"{row.FAM_SIZE:.0f}",
            f"{row.NO_EARNR:.0f}",
            f"{row.FINCBTAX:,.0f}",
            f"{spent:,.0f}",
            f"{guess:,.0f}",
        )
    _console().print(table)


@app.command()
def validate(
    model: Annotated[Path, typer.Option(help="a model saved by `econsim banking train`")] = Path(
        "spending_model.joblib"
    ),
    data: Annotated[Path | None, typer.Option(help=DATA_HELP)] = None,
) -> None:
    """Score a saved model on survey rows: weighted R² and the error by income decile.

    On the rows it was trained on this is an in-sample score; the out-of-sample score from training is
    printed beside it."""
    from rich.table import Table

    from econsim.models.banking import survey
    from econsim.models.banking.spending import SpendingModel, error_by_decile, weighted_r2

    fitted = SpendingModel.load(model)
    df = _frame(data)
    y = survey.quarterly_spending(df)
    df, y = df[y > 0], y[y > 0]
    w = df[survey.WEIGHT].to_numpy(float)
    y_hat = fitted.predict(df)
    console = _console()
    console.print(
        f"R² on {len(y)} rows: {weighted_r2(y, y_hat, w):.3f}; out-of-sample R² at training: "
        f"{fitted.info.get('cv_r2', float('nan')):.3f} ({fitted.info.get('source', '?')})"
    )
    table = Table(
        "decile",
        "rows",
        "income",
        "spending",
        "predicted",
        "bias",
        "MAE",
        box=None,
        title="error by income decile (survey-weighted means, USD per quarter)",
    )
    for r in error_by_decile(df["FINCBTAX"].fillna(0).to_numpy(float), y, y_hat, w).itertuples():
        table.add_row(
            str(r.decile),
            str(r.rows),
            f"{r.income_mean:,.0f}",
            f"{r.spending_mean:,.0f}",
            f"{r.predicted_mean:,.0f}",
            f"{r.bias:+,.0f}",
            f"{r.mae:,.0f}",
        )
    console.print(table)
