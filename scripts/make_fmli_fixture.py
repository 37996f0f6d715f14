"""Write the synthetic CE Interview family file shipped with the package.

    python scripts/make_fmli_fixture.py

The rows come from ``econsim.models.banking.survey.synthetic_fmli`` (a stated data-generating process, no
survey data); the test suite checks that the shipped file equals this script's output.
"""

from econsim.models.banking import survey

if __name__ == "__main__":
    df = survey.synthetic_fmli(survey.FIXTURE_ROWS, survey.FIXTURE_SEED)
    survey.FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(survey.FIXTURE, index=False)
    print(f"wrote {len(df)} synthetic rows to {survey.FIXTURE}")
