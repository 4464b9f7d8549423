"""Fixtures of the batch scoring library tests: a model fitted on the messy file (no
MLflow), and raw inputs written into ``tmp_path``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from student_performance.core.cleaning import normalise_frame
from student_performance.core.conformal import fit_prediction_sets
from student_performance.models.candidates import build_candidate
from student_performance.models.estimators import OrderedClassifier
from student_performance.schema import DatasetSchema
from student_performance.scoring.registered import ScoringModel

# Records no schema accepts, written among the messy file's own.
BAD_LINES = [
    "Good,male,General,NO,ONE,SEBA\n",  # too few fields
    "Good,male,General,NO,ONE,SEBA,AHSEC,ENGLISH,Good,Good,DOCTOR,OTHERS,1,extra\n",
    "Good,male,Brahmin,NO,ONE,SEBA,AHSEC,ENGLISH,Good,Good,DOCTOR,OTHERS,1\n",
]


def fit_model(messy: pd.DataFrame, dataset: DatasetSchema, estimator: str):
    """A model of the project's kind, fitted on the cleaned messy file."""
    typed = normalise_frame(messy[dataset.columns], dataset)
    typed = typed.dropna(subset=[dataset.target.name])
    model = build_candidate(estimator, {}, dataset, seed=0)
    return OrderedClassifier(model, dataset.target.classes).fit(
        typed[dataset.feature_names], typed[dataset.target.name].astype(object)
    )


@pytest.fixture(scope="session")
def messy_frame(messy_file: Path) -> pd.DataFrame:
    return pd.read_csv(messy_file, dtype="string", keep_default_na=False)


@pytest.fixture(scope="session")
def scoring_model(messy_frame, primary_table, dataset_schema) -> ScoringModel:
    """The project's ordinal ridge, fitted on the messy file, with its prediction
    sets' calibration (90 %), as the registry gives it."""
    sets = fit_prediction_sets(
        primary_table,
        dataset_schema,
        {"estimator": "ordinal_ridge", "ordinal_as": "codes", "params": {}},
        {"level": 0.9, "inner_splits": 3},
        seed=0,
    )
    return ScoringModel(
        name="student_performance",
        version="7",
        alias="champion",
        model=fit_model(messy_frame, dataset_schema, "ordinal_ridge"),
        schema=dataset_schema.model_dump(mode="json"),
        sets=sets,
    )


def write_messy_copies(messy_file: Path, target: Path, copies: int) -> Path:
    """The messy file repeated ``copies`` times, a bad record after each copy."""
    lines = messy_file.read_text().splitlines(keepends=True)
    body = []
    for i in range(copies):
        body += lines[1:] + [BAD_LINES[i % len(BAD_LINES)]]
    target.write_text("".join([lines[0], *body]))
    return target
