"""Prediction sets by cross-conformal calibration: "Good or Vg, 90 %".

A set holds every class whose probability reaches ``1 - q``, where ``q`` is the
conformal quantile of the non-conformity scores ``1 - p(true class)`` measured on rows
the model was not fitted on: out-of-fold probabilities of an inner K-fold over the
training data (cross-conformal). At level ``1 - alpha`` the set then holds the true
class for at least about ``1 - alpha`` of new rows drawn like the training rows.

* ``marginal``: one ``q`` for all rows; ``class_conditional`` (Mondrian): one ``q`` per
  true class, so each class is covered at the level, at the price of larger sets;
  ``group_conditional`` (Mondrian): one ``q`` per group of one sensitive feature
  (``group_feature``), so each group is covered at the level.
* ``contiguous``: the target is ordinal, so a set is widened to the run of classes
  between its lowest and highest member ("Good or Vg", never "Average or Vg"). With
  ``contiguous: false`` a set may skip a class; the page then names what it skips
  ("Average or Vg (not Good)"). The ordinal ridge's cumulative-logit probabilities
  are unimodal, so its sets are runs either way (``studies/prediction_sets.py``).
* A set is never empty: the most probable class is always in it.

Numpy rather than ``crepes`` or MAPIE (both calibrate a fitted classifier on a held-out
split): cross-conformal over inner folds is a few lines here, and the result is a small
JSON document the served model carries (no pickled third-party object).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from student_performance.core.groups import group_labels
from student_performance.core.params import ConformalParams, CVParams
from student_performance.core.selection import (
    build_model,
    cv_folds,
    features_and_target,
)
from student_performance.schema import DatasetSchema

logger = logging.getLogger(__name__)


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The ``ceil((n + 1) * level) / n`` empirical quantile of the scores.

    Returns 1.0 (every class qualifies) when there are too few scores for the level.
    """
    n = len(scores)
    rank = math.ceil((n + 1) * level)
    if n == 0 or rank > n:
        return 1.0
    return float(np.sort(scores)[rank - 1])


def fit_group_thresholds(
    proba: np.ndarray, truth: np.ndarray, level: float, groups: np.ndarray
) -> dict[str, float]:
    """One quantile of ``1 - p(true class)`` per group (Mondrian by group); a group
    with too few rows for the level gets 1.0 (every class qualifies)."""
    truth, groups = np.asarray(truth, dtype=int), np.asarray(groups, dtype=object)
    scores = 1.0 - proba[np.arange(len(truth)), truth]
    return {
        str(g): conformal_quantile(scores[groups == g], level)
        for g in pd.unique(groups)
    }


def group_threshold_rows(
    calibration: dict[str, Any], groups: np.ndarray | pd.Series
) -> np.ndarray:
    """Per-row thresholds (rows x classes) of a ``group_conditional`` calibration;
    a group the calibration never saw gets the marginal thresholds."""
    marginal = [float(t) for t in calibration["thresholds"]]
    by_group = calibration["group_thresholds"]
    return np.array(
        [by_group.get(str(g), marginal) for g in np.asarray(groups, dtype=object)],
        dtype=float,
    ).reshape(len(groups), len(marginal))


def fit_set_thresholds(
    proba: np.ndarray, truth: np.ndarray, level: float, mode: str = "marginal"
) -> np.ndarray:
    """One quantile of ``1 - p(true class)`` per class (all equal when marginal).

    Args:
        proba: Probabilities of rows the model was not fitted on (rows x classes).
        truth: Their true class indices.
        level: Target coverage, e.g. 0.9.
        mode: ``marginal`` or ``class_conditional`` (``group_conditional``: see
            ``fit_group_thresholds``; here its marginal fallback).

    Returns:
        ``q_k`` per class: class ``k`` is in a row's set when ``p_k >= 1 - q_k``.
    """
    truth = np.asarray(truth, dtype=int)
    scores = 1.0 - proba[np.arange(len(truth)), truth]
    n_classes = proba.shape[1]
    if mode in {"marginal", "group_conditional"}:
        return np.full(n_classes, conformal_quantile(scores, level))
    if mode == "class_conditional":
        return np.array(
            [conformal_quantile(scores[truth == k], level) for k in range(n_classes)]
        )
    raise ValueError(f"mode must be marginal or class_conditional, not {mode!r}")


def prediction_sets(
    proba: np.ndarray,
    thresholds: np.ndarray,
    contiguous: bool = True,
    predicted: np.ndarray | None = None,
) -> np.ndarray:
    """Membership (rows x classes, bool) of each row's prediction set.

    Args:
        proba: Probabilities (rows x classes, classes in order).
        thresholds: Output of ``fit_set_thresholds`` (or one row of them per row,
            as ``group_threshold_rows`` gives).
        contiguous: Widen each set to the run between its lowest and highest class.
        predicted: Each row's predicted class index (the decision rule's); ``None``:
            the most probable class.

    Returns:
        ``True`` where the class is in the row's set; every row's set holds its
        predicted class, so the set never contradicts the answer.
    """
    members = proba >= np.atleast_2d(1.0 - np.asarray(thresholds)) - 1e-12
    chosen = proba.argmax(axis=1) if predicted is None else np.asarray(predicted)
    members[np.arange(len(proba)), chosen] = True
    if contiguous:
        positions = np.arange(proba.shape[1])[None, :]
        low = np.where(members, positions, proba.shape[1]).min(axis=1)
        high = np.where(members, positions, -1).max(axis=1)
        members = (positions >= low[:, None]) & (positions <= high[:, None])
    return members


def row_prediction_set(
    proba: list[float],
    thresholds: list[float],
    contiguous: bool,
    predicted: int,
) -> list[bool]:
    """``prediction_sets`` for one row, in plain Python (what a served record needs:
    a dozen numpy calls on four numbers cost more than the arithmetic).

    The same double-precision comparisons as ``prediction_sets``, so the same set.
    """
    members = [p >= (1.0 - t) - 1e-12 for p, t in zip(proba, thresholds, strict=True)]
    members[predicted] = True
    if contiguous:
        inside = [k for k, member in enumerate(members) if member]
        low, high = inside[0], inside[-1]
        members = [low <= k <= high for k in range(len(members))]
    return members


def apply_set_calibration(
    proba: np.ndarray,
    calibration: dict[str, Any],
    predicted: np.ndarray | None = None,
    groups: np.ndarray | pd.Series | None = None,
) -> np.ndarray:
    """``prediction_sets`` with a persisted calibration (``fit_prediction_sets``).

    ``groups``: each row's value of the calibration's ``group_feature``, needed
    (and only read) when the calibration is ``group_conditional``.
    """
    thresholds = np.asarray(calibration["thresholds"])
    if calibration.get("group_thresholds") is not None:
        if groups is None:
            raise ValueError(
                f"group_conditional sets need each row's {calibration['group_feature']}"
            )
        thresholds = group_threshold_rows(calibration, groups)
    return prediction_sets(proba, thresholds, calibration["contiguous"], predicted)


def set_labels(members: np.ndarray, classes: list[str]) -> list[list[str]]:
    """Each row's set as class names, lowest first."""
    return [
        [name for name, member in zip(classes, row, strict=True) if member]
        for row in members.tolist()
    ]


def describe_set(
    labels: list[str], level: float, classes: list[str] | None = None
) -> str:
    """``Good or Vg, 90 %`` (what the page shows).

    A set that skips a class in between (``contiguous: false`` allows "Average or Vg")
    names the skipped classes, ``Average or Vg (not Good), 90 %``, so that the gap
    reads as the model's statement rather than as an omission. ``classes``: all the
    classes in order (``None``: no gap check).
    """
    text = " or ".join(labels)
    if classes is not None and labels:
        inside = classes[classes.index(labels[0]) : classes.index(labels[-1]) + 1]
        skipped = [name for name in inside if name not in labels]
        if skipped:
            text += f" (not {' or '.join(skipped)})"
    return f"{text}, {round(level * 100):g} %"


def out_of_fold_proba(
    model: Any,
    X: pd.DataFrame,  # noqa: N803
    y: np.ndarray,
    inner_splits: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities of every row from a copy of ``model`` not fitted on it.

    Args:
        model: An unfitted ``OrderedClassifier``.
        X: Features.
        y: Class names.
        inner_splits: Folds (stratified, shuffled with ``seed``).
        seed: Shuffling seed.

    Returns:
        The out-of-fold probabilities and the true class indices.
    """
    truth = clone(model).fit(X, y).to_index(y)
    smallest = int(np.bincount(truth).min())
    splits = max(2, min(inner_splits, smallest))
    folds = StratifiedKFold(splits, shuffle=True, random_state=seed)
    proba = np.zeros((len(X), len(model.classes)))
    for train, test in folds.split(np.zeros(len(truth)), truth):
        fitted = clone(model).fit(X.iloc[train], y[train])
        proba[test] = fitted.predict_proba(X.iloc[test])
    return proba, truth


def _group_values(
    frame: pd.DataFrame, dataset: DatasetSchema, conformal: ConformalParams
) -> np.ndarray | None:
    """Each row's group for ``group_conditional`` sets (``None`` in other modes)."""
    if conformal.mode != "group_conditional":
        return None
    if conformal.group_feature not in dataset.sensitive_features:
        raise ValueError(f"{conformal.group_feature!r} is not a sensitive feature")
    return group_labels(frame[conformal.group_feature]).to_numpy()


def _thresholds(proba, truth, conformal: ConformalParams, groups) -> dict[str, Any]:
    """The thresholds, and by group the Mondrian ones (``group_conditional``)."""
    thresholds = fit_set_thresholds(proba, truth, conformal.level, conformal.mode)
    document: dict[str, Any] = {"thresholds": [float(t) for t in thresholds]}
    if groups is not None:
        by_group = fit_group_thresholds(proba, truth, conformal.level, groups)
        document["group_feature"] = conformal.group_feature
        document["group_thresholds"] = {
            g: [q] * proba.shape[1] for g, q in by_group.items()
        }
    return document


def fit_prediction_sets(
    frame: pd.DataFrame,
    dataset: DatasetSchema,
    configuration: dict[str, Any],
    conformal: ConformalParams | dict[str, Any],
    seed: int,
) -> dict[str, Any]:
    """Cross-conformal calibration of one configuration on ``frame``.

    Args:
        frame: The rows the served model is fitted on (development part).
        dataset: The schema.
        configuration: The selected configuration (``model_selected_config``).
        conformal: ``level``, ``mode``, ``contiguous``, ``inner_splits``,
            ``group_feature``.
        seed: Seed of the inner folds and of the estimator.

    Returns:
        A JSON-able document: level, mode, contiguous, classes, thresholds and the
        number of calibration rows (``group_conditional``: also ``group_feature``
        and ``group_thresholds``, group to thresholds).
    """
    conformal = ConformalParams.model_validate(conformal)
    groups = _group_values(frame, dataset, conformal)
    X, y = features_and_target(frame, dataset)
    model = build_model(configuration, dataset, seed)
    proba, truth = out_of_fold_proba(model, X, y, conformal.inner_splits, seed)
    return {
        "level": conformal.level,
        "mode": conformal.mode,
        "contiguous": conformal.contiguous,
        "classes": list(dataset.target.classes),
        **_thresholds(proba, truth, conformal, groups),
        "calibration_rows": len(truth),
    }


def _fold_sets(model, X, y, train, test, conformal: ConformalParams, seed, groups):  # noqa: N803, PLR0913, PLR0917
    inner_proba, inner_truth = out_of_fold_proba(
        model, X.iloc[train], y[train], conformal.inner_splits, seed
    )
    inner_groups = None if groups is None else groups[train]
    calibration = {
        "contiguous": conformal.contiguous,
        **_thresholds(inner_proba, inner_truth, conformal, inner_groups),
    }
    fitted = clone(model).fit(X.iloc[train], y[train])
    proba = fitted.predict_proba(X.iloc[test])
    predicted = fitted.predict_index(X.iloc[test])
    members = apply_set_calibration(
        proba, calibration, predicted, None if groups is None else groups[test]
    )
    truth = fitted.to_index(y[test])
    covered = members[np.arange(len(truth)), truth]
    return test, covered, members.sum(axis=1), truth, predicted, proba


def _fold_frame(f: int, result, classes: np.ndarray, n_splits: int) -> pd.DataFrame:
    test, covered, size, truth, predicted, proba = result
    columns = {"repeat": f // n_splits, "fold": f % n_splits}
    columns |= {"true_class": classes[truth], "covered": covered, "set_size": size}
    columns |= {"row": test, "predicted_class": classes[predicted]}
    columns |= {f"proba_{k}": proba[:, k] for k in range(proba.shape[1])}
    return pd.DataFrame(columns)


def evaluate_prediction_sets(
    frame: pd.DataFrame,
    dataset: DatasetSchema,
    configuration: dict[str, Any],
    cv: CVParams | dict[str, Any],
    conformal: ConformalParams | dict[str, Any],
) -> pd.DataFrame:
    """Coverage and size of the sets on repeated CV, calibrated inside each fold.

    In every outer fold the thresholds come from an inner cross-conformal split of the
    outer training rows only; the outer validation rows are never seen.

    Args:
        frame: The development part.
        dataset: The schema.
        configuration: The selected configuration.
        cv: The repeated-CV settings (same folds as model selection).
        conformal: ``level``, ``mode``, ``contiguous``, ``inner_splits``.

    Returns:
        One row per validation row and repeat: repeat, fold, true class, covered
        (bool), set size, the row's position in ``frame``, the predicted class and
        the out-of-fold probabilities (``proba_<k>``, classes in order).
    """
    cv, conformal = (
        CVParams.model_validate(cv),
        ConformalParams.model_validate(conformal),
    )
    groups = _group_values(frame, dataset, conformal)
    X, y = features_and_target(frame, dataset)
    model = build_model(configuration, dataset, cv.seed)
    classes = np.asarray(dataset.target.classes, dtype=object)
    folds = cv_folds(X, y, cv)
    results = Parallel(n_jobs=cv.n_jobs)(
        delayed(_fold_sets)(model, X, y, train, test, conformal, cv.seed + f, groups)
        for f, (train, test) in enumerate(folds)
    )
    parts = [_fold_frame(f, r, classes, cv.n_splits) for f, r in enumerate(results)]
    rows = pd.concat(parts, ignore_index=True)
    logger.info(
        "Prediction sets at %.0f %% on repeated CV: coverage %.3f, mean size %.2f",
        conformal.level * 100,
        rows["covered"].mean(),
        rows["set_size"].mean(),
    )
    return rows


def summarise_set_rows(rows: pd.DataFrame, classes: list[str]) -> dict[str, Any]:
    """Coverage and mean size overall (mean and std over folds) and per true class."""
    per_fold = rows.groupby(["repeat", "fold"])[["covered", "set_size"]].mean()
    per_class = rows.groupby("true_class")[["covered", "set_size"]].mean()
    return {
        "coverage": float(rows["covered"].mean()),
        "coverage_std": float(per_fold["covered"].std(ddof=0)),
        "set_size": float(rows["set_size"].mean()),
        "set_size_std": float(per_fold["set_size"].std(ddof=0)),
        "rows": len(rows),
        "per_class": {
            c: {
                "coverage": float(per_class.loc[c, "covered"]),
                "set_size": float(per_class.loc[c, "set_size"]),
            }
            for c in classes
            if c in per_class.index
        },
    }
