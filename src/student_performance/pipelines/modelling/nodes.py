"""Nodes of the modelling pipeline: honest selection by repeated CV, one holdout score.

Training nodes fit and evaluate; the two inference nodes (``prepare_inference_features``
and ``predict_performance``) turn raw rows into predictions with the persisted model and
are what the bundled MLflow model runs. The CV engine and inference live in
``student_performance.core``; these nodes are thin. The inference nodes keep their
names and module: a registered MLflow model refers to them by import path.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from sklearn.metrics import classification_report
from sklearn.model_selection import train_test_split

from student_performance.core.cleaning import check_columns
from student_performance.core.conformal import (
    evaluate_prediction_sets,
    fit_prediction_sets,
    summarise_set_rows,
)
from student_performance.core.explain import (
    EXPLANATION_UNITS,
    explanation_kind,
    feature_contributions,
    owned_columns,
)
from student_performance.core.inference import predict_frame, prepare_features
from student_performance.core.params import (
    CandidatesParams,
    ConformalParams,
    CVParams,
    DecisionParams,
    ExplainParams,
    SelectionParams,
    SplitParams,
)
from student_performance.core.selection import (
    cross_validate,
    features_and_target,
    fit_configuration,
    rank_configurations,
)
from student_performance.models.estimators import OrderedClassifier
from student_performance.models.metrics import METRICS, classification_metrics
from student_performance.schema import DatasetSchema

from ._card import render_model_card
from ._explain import mean_abs_contributions, metric_scorer
from ._figures import confusion_figure, importance_figure

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
    split = SplitParams.model_validate(split)
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
        DecisionParams.model_validate(decision),
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
    selection = SelectionParams.model_validate(selection)
    summary, selected = rank_configurations(
        model_cv_folds,
        candidates,
        selection.primary_metric,
        DecisionParams.model_validate(decision),
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


def calibrate_prediction_sets(
    mi_development: pd.DataFrame,
    model_selected_config: dict[str, Any],
    dataset: DatasetSchema,
    conformal: ConformalParams,
    seed: int,
) -> dict[str, Any]:
    """Cross-conformal thresholds of the served model's prediction sets.

    Out-of-fold probabilities of the selected configuration over the development part
    (``inner_splits`` folds): each row is scored by a model not fitted on it.

    Args:
        mi_development: The development part (what the served model is fitted on).
        model_selected_config: Output of ``summarise_candidates``.
        dataset: The schema.
        conformal: ``level``, ``mode``, ``contiguous``, ``inner_splits``.
        seed: Seed of the folds and of the estimator.

    Returns:
        The calibration (level, mode, contiguous, classes, thresholds), persisted
        beside the model and bundled with it.
    """
    calibration = fit_prediction_sets(
        mi_development, dataset, model_selected_config, conformal, seed
    )
    logger.info(
        "Prediction sets at %s: thresholds %s",
        calibration["level"],
        [round(t, 3) for t in calibration["thresholds"]],
    )
    return calibration


def evaluate_set_coverage(
    mi_development: pd.DataFrame,
    model_selected_config: dict[str, Any],
    dataset: DatasetSchema,
    cv: CVParams,
    conformal: ConformalParams,
) -> dict[str, Any]:
    """Coverage and size of the selected model's sets on the selection's repeated CV.

    Each outer fold calibrates its own thresholds on its training rows only.

    Args:
        mi_development: The development part.
        model_selected_config: Output of ``summarise_candidates``.
        dataset: The schema.
        cv: The repeated-CV settings.
        conformal: The set settings.

    Returns:
        ``level``, ``mode``, ``contiguous``, coverage and mean set size (mean and std
        over folds) and per true class.
    """
    conformal = ConformalParams.model_validate(conformal)
    rows = evaluate_prediction_sets(
        mi_development, dataset, model_selected_config, cv, conformal
    )
    return {
        "level": conformal.level,
        "mode": conformal.mode,
        "contiguous": conformal.contiguous,
        **summarise_set_rows(rows, list(dataset.target.classes)),
    }


def evaluate_holdout(
    model_selected: OrderedClassifier, mi_holdout: pd.DataFrame, dataset: DatasetSchema
) -> tuple[dict[str, float], dict[str, Any], Any]:
    """Score the selected model once on the holdout.

    Args:
        model_selected: Output of ``fit_selected_model``.
        mi_holdout: The holdout.
        dataset: The schema.

    Returns:
        Every metric, the per-class report and a confusion-matrix figure.
    """
    X, y = features_and_target(mi_holdout, dataset)
    truth, predicted = model_selected.to_index(y), model_selected.predict_index(X)
    classes = list(dataset.target.classes)
    metrics = classification_metrics(
        truth, predicted, model_selected.predict_proba(X), len(classes)
    )
    report = classification_report(
        truth,
        predicted,
        labels=range(len(classes)),
        target_names=classes,
        output_dict=True,
        zero_division=0,
    )
    figure = confusion_figure(truth, predicted, classes)
    logger.info(
        "Holdout (%d rows): %s", len(X), {k: round(v, 3) for k, v in metrics.items()}
    )
    return metrics, report, figure


def report_selected_model(
    selected: dict[str, Any],
    holdout_metrics: dict[str, float],
    rpt_cv_summary: pd.DataFrame,
    rpt_prediction_sets: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, dict[str, float]]]:
    """The selected model's figures: CV on development, holdout, and the baseline's CV.

    Args:
        selected: Output of ``summarise_candidates``.
        holdout_metrics: Output of ``evaluate_holdout``.
        rpt_cv_summary: One row per candidate (for the baseline's figures).
        rpt_prediction_sets: Output of ``evaluate_set_coverage``.

    Returns:
        The summary document and its figures as MLflow metrics (``cv_<m>``,
        ``holdout_<m>``, ``cv_set_coverage``, ``cv_set_size`` and
        ``cv_set_coverage_<class>``).
    """
    summary = {
        "model": selected["candidate"],
        "estimator": selected["estimator"],
        "params": selected["params"],
        "primary_metric": selected["primary_metric"],
        "cv": selected["cv"],
        "cv_std": selected["cv_std"],
        "holdout": holdout_metrics,
        "decision": selected.get("decision"),
        "prediction_sets": rpt_prediction_sets,
        "candidates_cv": {
            row["candidate"]: {m: float(row[f"{m}_mean"]) for m in METRICS}
            for _, row in rpt_cv_summary.iterrows()
        },
    }
    metrics = {
        f"cv_{m}": {"value": v, "step": 0} for m, v in selected["cv"].items()
    } | {f"holdout_{m}": {"value": v, "step": 0} for m, v in holdout_metrics.items()}
    sets = rpt_prediction_sets
    metrics |= {
        "cv_set_coverage": {"value": sets["coverage"], "step": 0},
        "cv_set_size": {"value": sets["set_size"], "step": 0},
    } | {
        f"cv_set_coverage_{name}": {"value": figures["coverage"], "step": 0}
        for name, figures in sets["per_class"].items()
    }
    return summary, metrics


def explain_model(
    model_selected: OrderedClassifier,
    mi_holdout: pd.DataFrame,
    dataset: DatasetSchema,
    explain: ExplainParams,
) -> tuple[pd.DataFrame, Any]:
    """Permutation importance on the holdout, plus exact contributions where cheap.

    Permutation importance (drop in the primary metric when a feature's column is
    shuffled) works for every model. Exact per-feature contributions are added for
    linear models (coefficient x centred input, summed over a feature's one-hot
    columns) and LightGBM (its TreeSHAP ``pred_contrib``): the mean absolute
    contribution to the score of the ordinal index (ridge) or, for classifiers, summed
    over classes.

    Args:
        model_selected: The fitted model.
        mi_holdout: The holdout.
        dataset: The schema.
        explain: ``n_repeats``, ``seed`` and ``scoring`` (a metric name).

    Returns:
        A table (feature, importance mean/std, mean |contribution|) sorted by
        importance, and a bar chart of it.
    """
    from sklearn.inspection import permutation_importance  # noqa: PLC0415

    explain = ExplainParams.model_validate(explain)
    X, y = features_and_target(mi_holdout, dataset)
    scorer = metric_scorer(explain.scoring, len(dataset.target.classes))
    result = permutation_importance(
        model_selected,
        X,
        y,
        scoring=scorer,
        n_repeats=explain.n_repeats,
        random_state=explain.seed,
    )
    table = pd.DataFrame(
        {
            "feature": dataset.feature_names,
            "permutation_importance_mean": result.importances_mean,
            "permutation_importance_std": result.importances_std,
            "mean_abs_contribution": mean_abs_contributions(model_selected, X, dataset),
        }
    ).sort_values("permutation_importance_mean", ascending=False, ignore_index=True)
    logger.info(
        "Most important on the holdout: %s", ", ".join(table["feature"].head(3))
    )
    return table, importance_figure(table, explain.scoring)


def explain_holdout_rows(
    model_selected: OrderedClassifier, mi_holdout: pd.DataFrame, dataset: DatasetSchema
) -> pd.DataFrame:
    """Each holdout row's per-feature contributions, as ``/predict?explain=true`` gives.

    Args:
        model_selected: The fitted model (a preprocessing + estimator pipeline).
        mi_holdout: The holdout.
        dataset: The schema.

    Returns:
        One row per holdout row (same index): the true and predicted class, the
        contributions' units and one column per feature (``contribution_<feature>``);
        empty when the estimator has no cheap exact contributions.
    """
    X, y = features_and_target(mi_holdout, dataset)
    preprocess, final = model_selected.estimator_[:-1], model_selected.estimator_[-1]
    kind = explanation_kind(final)
    if kind is None:
        logger.info("No exact contributions for %s", type(final).__name__)
        return pd.DataFrame()
    reference = X.iloc[:1].where(
        pd.DataFrame(False, index=X.index[:1], columns=X.columns)
    )
    predicted = model_selected.predict_index(X)
    contributions = feature_contributions(
        final,
        preprocess.transform(X),
        preprocess.transform(reference),
        owned_columns(preprocess.get_feature_names_out(), dataset.feature_names),
        predicted,
    )
    table = pd.DataFrame(
        contributions,
        index=mi_holdout.index,
        columns=[f"contribution_{f}" for f in dataset.feature_names],
    )
    table.insert(0, "units", EXPLANATION_UNITS[kind])
    table.insert(0, "predicted", model_selected.classes_[predicted])
    table.insert(0, "truth", y)
    return table


def build_model_card(
    rpt_selected_model_metrics: dict[str, Any],
    rpt_cv_summary: pd.DataFrame,
    mi_development: pd.DataFrame,
    mi_holdout: pd.DataFrame,
    dataset: DatasetSchema,
) -> str:
    """A short Markdown card of the trained model (logged with the run's artifacts).

    Args:
        rpt_selected_model_metrics: Output of ``report_selected_model``.
        rpt_cv_summary: One row per candidate.
        mi_development: The development part (its row count).
        mi_holdout: The holdout (its row count).
        dataset: The schema (its name).

    Returns:
        The card: data, rows, candidates (mean ± std), calibration, prediction-set
        coverage, the decision rule and known limits.
    """
    rows = {"development": len(mi_development), "holdout": len(mi_holdout)}
    card = render_model_card(
        rpt_selected_model_metrics, rpt_cv_summary, rows, dataset.name
    )
    logger.info("Model card: %d lines", card.count("\n"))
    return card


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
    """Clean raw rows exactly as data_processing does, features only.

    Args:
        raw_rows: Raw rows with (at least) the schema's feature columns, as text;
            extra columns such as the target are dropped.
        model_dataset_schema: Output of ``freeze_dataset_schema``.

    Returns:
        The typed feature frame; values outside the allowed sets are NA (imputed by
        the model).
    """
    return prepare_features(raw_rows, model_dataset_schema)


def predict_performance(
    model_selected: OrderedClassifier,
    features: pd.DataFrame,
    model_set_calibration: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Predicted class, one probability per class and the prediction set, per row.

    Args:
        model_selected: The fitted model.
        features: Output of ``prepare_inference_features``.
        model_set_calibration: Output of ``calibrate_prediction_sets``; ``None`` (or
            left out, as the pickled node of a model registered before prediction
            sets does): no ``prediction_set`` column.

    Returns:
        ``prediction``, ``proba_<class>`` per class and ``prediction_set`` (classes
        in order joined by ``|``), same index as ``features``.
    """
    return predict_frame(model_selected, features, model_set_calibration)
