"""NannyML's CBPE on the batches of ``estimate_quality.py``: an outside anchor.

Runs with a NannyML environment, not the project's (NannyML pins older lightgbm and
plotly); it reads only the CSV files ``estimate_quality.py --export DIR`` writes:

    python3.11 -m venv /tmp/nannyml-venv
    /tmp/nannyml-venv/bin/pip install nannyml statsmodels
    .venv/bin/python studies/estimate_quality.py --export /tmp/estimate-quality
    /tmp/nannyml-venv/bin/python studies/estimate_quality_nannyml.py /tmp/estimate-quality

CBPE is fitted on ``reference.csv`` (the first half's out-of-fold probabilities and
true classes; it recalibrates the probabilities on them, isotonic, as by default) and
estimates accuracy on every batch of ``batches.csv`` (one chunk per batch). Per shift
and intensity it prints NannyML's mean estimate, its mean |estimate - realized|, the
share of batches whose NannyML band holds the realized accuracy, and the mean
|NannyML - project| estimate, the project's being the mean probability of the served
class (``performance.estimate``'s expected accuracy).
"""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path

os.environ["NML_DISABLE_USAGE_LOGGING"] = "1"  # no usage reports over the network

import nannyml  # noqa: E402 - after its usage logging is switched off
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def cbpe_accuracy(reference: pd.DataFrame, batches: pd.DataFrame) -> pd.DataFrame:
    """NannyML's estimated accuracy and band, one row per batch (in batch order)."""
    classes = [c.removeprefix("proba_") for c in reference if c.startswith("proba_")]
    rows = batches.groupby("batch").size()
    if rows.nunique() != 1:
        raise SystemExit("batches must all have the same number of rows")
    estimator = nannyml.CBPE(
        metrics=["accuracy"],
        y_pred_proba={name: f"proba_{name}" for name in classes},
        y_pred="prediction",
        y_true="truth",
        problem_type="classification_multiclass",
        chunk_size=int(rows.iloc[0]),
    )
    estimator.fit(reference)
    ordered = batches.sort_values(["batch"], kind="stable").reset_index(drop=True)
    result = estimator.estimate(ordered.drop(columns="truth"))
    frame = result.filter(period="analysis").to_df()
    accuracy = frame["accuracy"]
    return pd.DataFrame(
        {
            "nannyml": accuracy["value"].to_numpy(),
            "low": accuracy["lower_confidence_boundary"].to_numpy(),
            "high": accuracy["upper_confidence_boundary"].to_numpy(),
        }
    )


def per_batch(batches: pd.DataFrame, nml: pd.DataFrame) -> pd.DataFrame:
    """Realized accuracy, the project's and NannyML's estimates, per batch."""
    proba = batches.filter(like="proba_").to_numpy()
    names = [c.removeprefix("proba_") for c in batches.filter(like="proba_")]
    predicted = batches["prediction"].map(names.index).to_numpy()
    frame = batches.assign(
        correct=(batches["prediction"] == batches["truth"]).astype(float),
        project=proba[np.arange(len(batches)), predicted],
    )
    grouped = frame.groupby("batch", sort=True)
    table = grouped.agg(
        shift=("shift", "first"),
        intensity=("intensity", "first"),
        realized=("correct", "mean"),
        project=("project", "mean"),
    ).reset_index(drop=True)
    return pd.concat([table, nml], axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="estimate_quality.py --export DIR")
    args = parser.parse_args()
    # one chunk per batch is the point: NannyML's "too few chunks" does not apply
    warnings.filterwarnings("ignore", message="The resulting number of chunks")
    reference = pd.read_csv(args.folder / "reference.csv")
    batches = pd.read_csv(args.folder / "batches.csv")
    table = per_batch(batches, cbpe_accuracy(reference, batches))
    table["nml_error"] = (table["nannyml"] - table["realized"]).abs()
    table["nml_held"] = table["realized"].between(table["low"], table["high"])
    table["vs_project"] = (table["nannyml"] - table["project"]).abs()
    table["project_error"] = (table["project"] - table["realized"]).abs()
    summary = table.groupby(["shift", "intensity"], sort=False).agg(
        batches=("realized", "size"),
        realized=("realized", "mean"),
        project=("project", "mean"),
        project_error=("project_error", "mean"),
        nannyml=("nannyml", "mean"),
        nannyml_error=("nml_error", "mean"),
        nannyml_held=("nml_held", "mean"),
        nannyml_vs_project=("vs_project", "mean"),
    )
    print(f"NannyML {nannyml.__version__}, CBPE accuracy, {len(reference)} reference")
    print(summary.round(3).to_string())
    covariate = table[~table["shift"].str.contains(": class")]
    print(
        f"\ncovariate-shift batches: project mean |error| "
        f"{covariate['project_error'].mean():.3f}, NannyML mean |error| "
        f"{covariate['nml_error'].mean():.3f}, NannyML band holds realized in "
        f"{covariate['nml_held'].mean():.1%}, mean |NannyML - project| "
        f"{covariate['vs_project'].mean():.3f}"
    )


if __name__ == "__main__":
    main()
