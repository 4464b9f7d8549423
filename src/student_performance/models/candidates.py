"""Candidate models: each a scikit-learn Pipeline of schema preprocessing + estimator."""

from __future__ import annotations

from typing import Any

from lightgbm import LGBMClassifier
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from student_performance.models.estimators import OrdinalRidgeClassifier
from student_performance.models.preprocessing import build_preprocessor
from student_performance.schema import DatasetSchema


def _estimator(kind: str, params: dict[str, Any], seed: int):
    if kind == "majority":
        return DummyClassifier(strategy="prior", **params)
    if kind == "logistic_regression":
        return LogisticRegression(max_iter=2000, random_state=seed, **params)
    if kind == "random_forest":
        return RandomForestClassifier(random_state=seed, n_jobs=1, **params)
    if kind == "lightgbm":
        return LGBMClassifier(random_state=seed, n_jobs=1, verbose=-1, **params)
    if kind == "ordinal_ridge":
        return OrdinalRidgeClassifier(**params)
    raise ValueError(
        f"unknown estimator {kind!r}: use majority, logistic_regression, random_forest, "
        "lightgbm or ordinal_ridge"
    )


def build_candidate(
    estimator: str,
    params: dict[str, Any],
    dataset: DatasetSchema,
    seed: int,
    ordinal_as: str = "codes",
) -> Pipeline:
    """An unfitted candidate: preprocessing from the schema, then the estimator.

    Args:
        estimator: ``majority``, ``logistic_regression``, ``random_forest``,
            ``lightgbm`` or ``ordinal_ridge``.
        params: Keyword arguments of the estimator.
        dataset: The schema, for the preprocessing.
        seed: Random seed for estimators that draw random numbers.
        ordinal_as: How ordinal features are encoded (``codes`` or ``onehot``).

    Returns:
        ``Pipeline([("preprocess", ...), ("model", ...)])``.
    """
    return Pipeline(
        [
            ("preprocess", build_preprocessor(dataset, ordinal_as)),
            ("model", _estimator(estimator, dict(params), seed)),
        ]
    )
