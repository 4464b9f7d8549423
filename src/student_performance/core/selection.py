"""Model selection by repeated stratified CV: the engine the pipeline and the gate share.

The modelling pipeline selects a configuration with ``cross_validate`` and
``rank_configurations``; the registry gate re-scores the champion's configuration on the
challenger's folds with ``score_configuration``, which runs the very same code, so on
unchanged data it reproduces the champion's own figure exactly.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid, RepeatedStratifiedKFold

from student_performance.core.params import (
    CandidatesParams,
    CVParams,
    DecisionParams,
)
from student_performance.models.candidates import build_candidate
from student_performance.models.estimators import OrderedClassifier
from student_performance.models.metrics import (
    LOWER_IS_BETTER,
    METRICS,
    classification_metrics,
    reliability_sums,
)
from student_performance.schema import DatasetSchema

RELIABILITY = "reliability"  # per fold: top-label bins' rows, confidence, correct

Candidates = CandidatesParams | dict[str, dict[str, Any]]
CV = CVParams | dict[str, Any]

logger = logging.getLogger(__name__)


def features_and_target(
    frame: pd.DataFrame, dataset: DatasetSchema
) -> tuple[pd.DataFrame, np.ndarray]:
    """The schema's feature columns and the target's class names as an array."""
    return frame[dataset.feature_names], frame[dataset.target.name].astype(
        object
    ).to_numpy()


def configurations(
    candidates: Candidates, decision: DecisionParams | dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every enabled candidate's parameter grid expanded to single configurations."""
    rule = DecisionParams.model_validate(decision).model_dump() if decision else None
    configs = []
    for name, spec in CandidatesParams.model_validate(candidates).as_dict().items():
        if not spec.get("enabled", True):
            continue
        for i, params in enumerate(ParameterGrid(spec.get("grid") or [{}])):
            configs.append(
                {
                    "candidate": name,
                    "config": i,
                    "estimator": spec["estimator"],
                    "ordinal_as": spec.get("ordinal_as", "codes"),
                    "params": dict(params),
                    "decision": rule,
                }
            )
    return configs


def build_model(
    config: dict[str, Any], dataset: DatasetSchema, seed: int
) -> OrderedClassifier:
    """An unfitted model (preprocessing + estimator) for one configuration.

    The configuration's ``decision`` (``rule``, ``cost``) turns probabilities into the
    class; a configuration without one (logged before rules existed) keeps the
    estimator's own ``predict``.
    """
    pipeline = build_candidate(
        config["estimator"], config["params"], dataset, seed, config["ordinal_as"]
    )
    decision = config.get("decision") or {"rule": "estimator", "cost": "absolute"}
    return OrderedClassifier(
        pipeline, dataset.target.classes, decision["rule"], decision["cost"]
    )


def _fit_score(model, X, y, train, test) -> dict[str, float]:  # noqa: N803, PLR0917
    fitted = clone(model).fit(X.iloc[train], y[train])
    truth = fitted.to_index(y[test])
    proba = fitted.predict_proba(X.iloc[test])
    predicted = fitted.predict_index(X.iloc[test])
    return classification_metrics(truth, predicted, proba, len(fitted.classes_)) | {
        RELIABILITY: json.dumps(reliability_sums(truth, proba))
    }


def cross_validate(
    frame: pd.DataFrame,
    dataset: DatasetSchema,
    candidates: Candidates,
    cv: CV,
    decision: DecisionParams | dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Score every candidate configuration by repeated stratified CV.

    Preprocessing is part of each candidate, so imputation and encoding are fitted
    inside every training fold and never see the validation fold.

    Args:
        frame: Rows with the target and the features.
        dataset: The schema.
        candidates: Per candidate: ``estimator``, optional ``grid`` (parameter lists),
            ``ordinal_as``, ``enabled``.
        cv: ``n_splits``, ``n_repeats``, ``seed``, ``n_jobs``.
        decision: The rule from probabilities to class (``None``: each estimator's
            own ``predict``).

    Returns:
        One row per configuration and fold: candidate, config, params (JSON), repeat,
        fold, every metric and ``reliability`` (the fold's top-label reliability
        sums, JSON, for the reliability diagram).
    """
    cv = CVParams.model_validate(cv)
    X, y = features_and_target(frame, dataset)
    folds = cv_folds(X, y, cv)
    configs = configurations(candidates, decision)
    jobs = [
        (c, f, train, test) for c in configs for f, (train, test) in enumerate(folds)
    ]
    scores = Parallel(n_jobs=cv.n_jobs)(
        delayed(_fit_score)(build_model(c, dataset, cv.seed), X, y, train, test)
        for c, _, train, test in jobs
    )
    rows = [
        {
            "candidate": c["candidate"],
            "config": c["config"],
            "params": json.dumps(c["params"], sort_keys=True),
            "repeat": f // cv.n_splits,
            "fold": f % cv.n_splits,
            **score,
        }
        for (c, f, _, _), score in zip(jobs, scores, strict=True)
    ]
    logger.info(
        "Repeated CV: %d configurations x %d folds on %d rows",
        len(configs),
        len(folds),
        len(X),
    )
    return pd.DataFrame(rows)


def cv_folds(
    X: pd.DataFrame,  # noqa: N803
    y: np.ndarray,
    cv: CV,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The repeated stratified folds (train, test indices) of ``cv`` on these rows."""
    cv = CVParams.model_validate(cv)
    splitter = RepeatedStratifiedKFold(
        n_splits=cv.n_splits, n_repeats=cv.n_repeats, random_state=cv.seed
    )
    return list(splitter.split(X, y))


def pooled_reliability(
    folds: pd.DataFrame, summary: pd.DataFrame
) -> dict[str, dict[str, list[float]]]:
    """Each candidate's best configuration's reliability bins, pooled over the folds.

    Args:
        folds: Output of ``cross_validate``.
        summary: Output of ``rank_configurations`` (one row per candidate).

    Returns:
        Candidate to ``rows``, ``confidence`` (mean) and ``accuracy`` per bin (NaN
        where a bin is empty).
    """
    pooled = {}
    for _, best in summary.iterrows():
        rows = folds[
            (folds["candidate"] == best["candidate"])
            & (folds["params"] == best["params"])
        ]
        sums = [json.loads(value) for value in rows[RELIABILITY]]
        total = {k: np.sum([s[k] for s in sums], axis=0) for k in sums[0]}
        with np.errstate(invalid="ignore", divide="ignore"):
            pooled[best["candidate"]] = {
                "rows": total["rows"].tolist(),
                "confidence": (total["confidence"] / total["rows"]).tolist(),
                "accuracy": (total["correct"] / total["rows"]).tolist(),
            }
    return pooled


def higher_is_better(metric: str) -> bool:
    """True when larger values of the metric are better."""
    return metric not in LOWER_IS_BETTER


def _by_configuration(folds: pd.DataFrame) -> Any:
    """The folds' metrics grouped by configuration, in the order they came."""
    return folds.groupby(["candidate", "config", "params"], sort=False)[list(METRICS)]


def rank_configurations(
    folds: pd.DataFrame,
    candidates: Candidates,
    primary: str,
    decision: DecisionParams | dict[str, Any] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Each candidate's best configuration, best first, and the overall winner.

    Args:
        folds: Output of ``cross_validate``.
        candidates: The candidate specs (``estimator``, ``ordinal_as``).
        primary: The metric that ranks.
        decision: The rule the folds were scored with (kept in the configuration).

    Returns:
        One row per candidate (mean and std of every metric) and the selected
        configuration with its CV means (``cv``) and standard deviations (``cv_std``).

    Raises:
        ValueError: ``primary`` is not a known metric.
    """
    if primary not in METRICS:
        raise ValueError(f"primary_metric {primary!r} is not one of {METRICS}")
    grouped = _by_configuration(folds)
    stats = (
        grouped.mean()
        .add_suffix("_mean")
        .join(grouped.std(ddof=0).add_suffix("_std"))
        .reset_index()
    )
    ascending = not higher_is_better(primary)
    ranked = stats.sort_values(f"{primary}_mean", ascending=ascending, kind="stable")
    summary = ranked.drop_duplicates("candidate").reset_index(drop=True)
    best = summary.iloc[0]
    spec = CandidatesParams.model_validate(candidates).as_dict()[best["candidate"]]
    selected = {
        "candidate": best["candidate"],
        "estimator": spec["estimator"],
        "ordinal_as": spec["ordinal_as"],
        "params": json.loads(best["params"]),
        "decision": (
            DecisionParams.model_validate(decision).model_dump() if decision else None
        ),
        "primary_metric": primary,
        "cv": {m: float(best[f"{m}_mean"]) for m in METRICS},
        "cv_std": {m: float(best[f"{m}_std"]) for m in METRICS},
    }
    return summary, selected


def configuration_cv_means(
    frame: pd.DataFrame,
    dataset: DatasetSchema,
    configuration: dict[str, Any],
    cv: CV,
) -> dict[str, float]:
    """One configuration's repeated-CV mean of every metric on these folds.

    The registry gate uses it to score the champion's configuration (estimator,
    encoding, parameters, decision rule) on the challenger's development data and
    folds, so that both figures are measured on the same rows.

    Args:
        frame: The development part the challenger was selected on.
        dataset: The schema.
        configuration: ``estimator``, ``params``, ``ordinal_as`` and optionally
            ``decision`` (as in ``model_selected_config``).
        cv: ``n_splits``, ``n_repeats``, ``seed``, ``n_jobs``.

    Returns:
        Metric name to its mean over the folds.
    """
    name = configuration.get("candidate", "configuration")
    spec = {
        "estimator": configuration["estimator"],
        "ordinal_as": configuration.get("ordinal_as", "codes"),
        "grid": {key: [value] for key, value in configuration["params"].items()},
    }
    decision = configuration.get("decision")
    folds = cross_validate(frame, dataset, {name: spec}, cv, decision)
    # the same mean as rank_configurations' (pandas' grouped sum differs from a
    # column's in the last digit): re-scored on the same folds, equal to the recorded
    means = _by_configuration(folds).mean().iloc[0]
    return {m: float(means[m]) for m in METRICS}


def score_configuration(
    frame: pd.DataFrame,
    dataset: DatasetSchema,
    configuration: dict[str, Any],
    cv: CV,
    primary_metric: str,
) -> float:
    """One configuration's repeated-CV mean of the primary metric on these folds.

    Args:
        frame: The development part the challenger was selected on.
        dataset: The schema.
        configuration: As for ``configuration_cv_means``.
        cv: ``n_splits``, ``n_repeats``, ``seed``, ``n_jobs``.
        primary_metric: The metric to return.

    Returns:
        The mean of ``primary_metric`` over the folds.
    """
    return configuration_cv_means(frame, dataset, configuration, cv)[primary_metric]


def fit_configuration(
    frame: pd.DataFrame,
    configuration: dict[str, Any],
    dataset: DatasetSchema,
    seed: int,
) -> OrderedClassifier:
    """Fit one configuration on all of ``frame``."""
    X, y = features_and_target(frame, dataset)
    return build_model(configuration, dataset, seed).fit(X, y)
