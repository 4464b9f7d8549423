"""Nodes of the modelling pipeline: honest selection by repeated CV, and inference.

The selection nodes split, cross-validate, rank and refit; the holdout score and the
report are in ``_report.py``, the prediction sets in ``_sets.py``, the explanations in
``_explain.py``, the figures in ``_figures.py`` and the model card in ``_card.py``, as
eda_reporting keeps its parts. The two inference nodes (``prepare_inference_features``
and ``predict_performance``) turn raw rows into predictions with the persisted model and
are what the bundled MLflow model runs. The CV engine and inference live in
``student_performance.core``; these nodes are thin. The inference nodes keep their
names and module: a registered MLflow model refers to them by import path.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from student_performance.core.cleaning import check_columns
from student_performance.core.inference import predict_frame, prepare_features
from student_performance.core.params import (
    CandidatesParams,
    CVParams,
    DecisionParams,
    SelectionParams,
    SplitParams,
)
from student_performance.core.selection import (
    cross_validate,
    fit_configuration,
    rank_configurations,
)
from student_performance.models.estimators import OrderedClassifier
from student_performance.models.metrics import METRICS
from student_performance.schema import DatasetSchema

logger = logging.getLogger(__name__)


def split_development_holdout(
    prm_students: pd.DataFrame, dataset: DatasetSchema, split: SplitParams
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split once into a stratified development part and a holdout.

    Args:
        prm_students: The primary table (target and features).
        dataset: The schema (target name).
        split: ``holdout_share`` and ``seed``.

    Returns:
        The development part and the holdout, rows unchanged.
    """
    development, holdout = train_test_split(
        prm_students,
        test_size=split.holdout_share,
        random_state=split.seed,
        stratify=prm_students[dataset.target.name],
    )
    logger.info(
        "Split %d rows: %d development, %d holdout",
        len(prm_students),
        len(development),
        len(holdout),
    )
    return development.sort_index(), holdout.sort_index()


def evaluate_candidates(
    mi_development: pd.DataFrame,
    dataset: DatasetSchema,
    candidates: CandidatesParams,
    cv: CVParams,
    decision: DecisionParams,
) -> pd.DataFrame:
    """Repeated stratified CV of every candidate on the development part.

    The node form of ``core.selection.cross_validate`` (its docstring gives the
    parameter fields and the columns of the fold table it returns). Every candidate's
    class follows from its probabilities by the same ``decision`` rule, so the class
    metrics compare like for like.
    """
    return cross_validate(
        mi_development,
        dataset,
        candidates,
        cv,
        decision,
    )


def summarise_candidates(
    model_cv_folds: pd.DataFrame,
    candidates: CandidatesParams,
    selection: SelectionParams,
    decision: DecisionParams,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, dict[str, float]]]:
    """Pick each candidate's best configuration and the overall winner.

    Args:
        model_cv_folds: Output of ``evaluate_candidates``.
        candidates: The candidate specs (``estimator``, ``ordinal_as``).
        selection: ``primary_metric``.
        decision: The decision rule the folds were scored with (kept in the
            selected configuration, so the refit and the gate's re-score use it).

    Returns:
        One row per candidate (its best configuration: mean and std of every metric,
        best first), the selected configuration with its CV means, and the summary as
        MLflow metrics named ``<candidate>.<metric>_mean`` / ``_std``.
    """
    summary, selected = rank_configurations(
        model_cv_folds, candidates, selection.primary_metric, decision
    )
    metrics = {
        f"{row['candidate']}.{m}_{stat}": {
            "value": float(row[f"{m}_{stat}"]),
            "step": 0,
        }
        for _, row in summary.iterrows()
        for m in METRICS
        for stat in ("mean", "std")
    }
    logger.info(
        "Selected %s %s: CV %s = %.3f",
        selected["candidate"],
        selected["params"],
        selected["primary_metric"],
        selected["cv"][selected["primary_metric"]],
    )
    return summary, selected, metrics


def fit_selected_model(
    mi_development: pd.DataFrame,
    selected: dict[str, Any],
    dataset: DatasetSchema,
    seed: int,
) -> OrderedClassifier:
    """Refit the selected configuration on the whole development part.

    Args:
        mi_development: The development part.
        selected: Output of ``summarise_candidates`` (estimator, params, ordinal_as).
        dataset: The schema.
        seed: Random seed of the estimator.

    Returns:
        The fitted model: ``predict`` gives class names, ``predict_proba`` one column
        per class in the target's order.
    """
    model = fit_configuration(mi_development, selected, dataset, seed)
    logger.info("Fitted %s on %d rows", selected["candidate"], len(mi_development))
    return model


def build_input_example(
    raw_students: pd.DataFrame, dataset: DatasetSchema, n_rows: int
) -> pd.DataFrame:
    """Raw feature columns of the first rows, untouched: the bundled model's input.

    Args:
        raw_students: The raw rows, every cell as text.
        dataset: The schema (feature names).
        n_rows: How many rows to keep.

    Returns:
        The first ``n_rows`` raw rows, feature columns only, as text.
    """
    return (
        check_columns(raw_students, dataset.feature_names, dataset)
        .head(n_rows)
        .reset_index(drop=True)
    )


def freeze_dataset_schema(dataset: DatasetSchema) -> dict[str, Any]:
    """The schema the model is trained with, persisted beside it.

    The bundled model cleans its input with this copy, not with whatever conf says at
    prediction time.

    Args:
        dataset: The schema.

    Returns:
        The schema as plain JSON-able data.
    """
    return dataset.model_dump(mode="json")


def prepare_inference_features(
    raw_rows: pd.DataFrame, model_dataset_schema: dict[str, Any]
) -> pd.DataFrame:
    """The node form of ``core.inference.prepare_features``: raw rows cleaned exactly
    as data_processing cleans them, with ``freeze_dataset_schema``'s frozen schema."""
    return prepare_features(raw_rows, model_dataset_schema)


def predict_performance(
    model_selected: OrderedClassifier,
    features: pd.DataFrame,
    model_set_calibration: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """The node form of ``core.inference.predict_frame`` (its docstring gives the
    columns), on ``prepare_inference_features``' output.

    ``model_set_calibration`` is ``calibrate_prediction_sets``' output; it may be
    left out, as the pickled node of a model registered before prediction sets
    does, and then no ``prediction_set`` column is returned.
    """
    return predict_frame(model_selected, features, model_set_calibration)
