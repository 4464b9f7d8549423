"""Figures per group of a sensitive feature, on out-of-fold predictions.

For each sensitive feature (``dataset.sensitive_features``) and each of its groups,
fairlearn's ``MetricFrame`` computes accuracy, macro F1, QWK, log loss, top-label ECE,
the prediction sets' coverage and mean size and the share predicted in each class. Rows
are the repeated-CV validation rows of the selected configuration
(``core.conformal.evaluate_prediction_sets``), so each student counts once per repeat;
a group's ``n`` is its distinct students. The largest between-group gap of each figure
gets a bootstrap 95 % interval (students resampled with replacement, every repeat of a
drawn student kept). Groups under ``min_group_rows`` students are flagged ``small`` and
left out of the gaps and the worst group, never hidden. Rows whose value is missing
form the group ``missing``.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score, log_loss

from student_performance.frozen import Frozen
from student_performance.models.metrics import expected_calibration_error

logger = logging.getLogger(__name__)

# Figures the gate guards (lowest group) and the figures whose gap is reported.
WORST_GROUP_METRICS = ("quadratic_weighted_kappa", "coverage")
GROUP_METRICS = (
    "accuracy",
    "f1_macro",
    "quadratic_weighted_kappa",
    "log_loss",
    "ece",
    "coverage",
    "set_size",
)
MISSING = "missing"
_ROW_METRICS = ("log_loss", "ece", "coverage", "set_size")


class FairnessParams(Frozen):
    """``modelling.fairness``: the group report's settings.

    Attributes:
        min_group_rows: Distinct students a group needs to enter the gaps and the
            worst group (smaller groups are reported, flagged ``small``).
        n_bootstrap: Bootstrap resamples of the gaps' 95 % intervals (0: none).
        seed: Seed of the bootstrap.
    """

    min_group_rows: int = Field(30, ge=1)
    n_bootstrap: int = Field(200, ge=0)
    seed: int = 0


def _metric_functions(classes: list[str], arrays: dict[str, np.ndarray]) -> dict:
    """Metric name to ``f(y_true, y_pred, **row_params)`` over class indices.

    A figure of the probabilities or the sets takes the rows' positions ``at`` (a
    ``MetricFrame`` sample parameter is one value per row) and reads ``arrays``.
    """
    labels = np.arange(len(classes))
    proba = arrays["proba"]
    functions = {
        "accuracy": accuracy_score,
        "f1_macro": lambda t, p: f1_score(
            t, p, labels=labels, average="macro", zero_division=0
        ),
        "quadratic_weighted_kappa": lambda t, p: cohen_kappa_score(
            t, p, labels=labels, weights="quadratic"
        ),
        "log_loss": lambda t, p, at: log_loss(
            t, np.clip(proba[at], 1e-15, 1), labels=labels
        ),
        "ece": lambda t, p, at: expected_calibration_error(t, proba[at]),
        "coverage": lambda t, p, at: float(np.mean(arrays["covered"][at])),
        "set_size": lambda t, p, at: float(np.mean(arrays["set_size"][at])),
    }
    for k, name in enumerate(classes):
        functions[f"share_{name}"] = lambda t, p, k=k: float(np.mean(p == k))
    return functions


def _row_arrays(rows: pd.DataFrame, classes: list[str]) -> dict[str, np.ndarray]:
    index = {name: k for k, name in enumerate(classes)}
    proba = rows[[f"proba_{k}" for k in range(len(classes))]].to_numpy()
    return {
        "truth": rows["true_class"].map(index).to_numpy(dtype=int),
        "predicted": rows["predicted_class"].map(index).to_numpy(dtype=int),
        "proba": proba,
        "covered": rows["covered"].to_numpy(dtype=float),
        "set_size": rows["set_size"].to_numpy(dtype=float),
    }


def group_metrics(
    rows: pd.DataFrame, groups: pd.Series, classes: list[str]
) -> pd.DataFrame:
    """Every figure per group (``MetricFrame.by_group``), one row per group.

    Args:
        rows: Out-of-fold rows: ``true_class``, ``predicted_class``,
            ``proba_<k>``, ``covered``, ``set_size``.
        groups: Each row's group (aligned with ``rows``).
        classes: The target's classes in order.

    Returns:
        Groups as the index, ``GROUP_METRICS`` and ``share_<class>`` as columns.
    """
    from fairlearn.metrics import MetricFrame  # noqa: PLC0415 - slow; reports only

    arrays = _row_arrays(rows, classes)
    functions = _metric_functions(classes, arrays)
    at = np.arange(len(rows))
    params = {name: {"at": at} for name in _ROW_METRICS}
    frame = MetricFrame(
        metrics=functions,
        y_true=arrays["truth"],
        y_pred=arrays["predicted"],
        sensitive_features=pd.Series(
            np.asarray(groups, dtype=object).astype(str), name="group"
        ),
        sample_params=params,
    )
    return frame.by_group.astype(float)


def _gaps(by_group: pd.DataFrame, large: list[str]) -> pd.Series:
    """Largest minus smallest figure over the groups large enough."""
    kept = by_group.loc[[g for g in by_group.index if g in large]]
    if len(kept) < 2:  # noqa: PLR2004
        return pd.Series(np.nan, index=by_group.columns)
    return kept.max() - kept.min()


def _bootstrap_gaps(
    rows: pd.DataFrame,
    groups: pd.Series,
    classes: list[str],
    large: list[str],
    params: FairnessParams,
) -> pd.DataFrame:
    """The gaps on ``n_bootstrap`` resamples of the students (the same resamples
    for every feature: one seed)."""
    rng = np.random.default_rng(params.seed)
    arrays = _row_arrays(rows, classes)
    functions = _metric_functions(classes, arrays)
    students, labels = rows["row"].to_numpy(), groups.to_numpy()
    distinct, position = np.unique(students, return_inverse=True)
    gaps = []
    for _ in range(params.n_bootstrap):
        weight = np.bincount(rng.integers(0, len(distinct), len(distinct)))
        weight = np.pad(weight, (0, len(distinct) - len(weight)))[position]
        picked = np.repeat(np.arange(len(rows)), weight)
        by_group = {
            g: {
                name: f(arrays["truth"][at], arrays["predicted"][at], *extra)
                for name, f in functions.items()
                for extra in [(at,) if name in _ROW_METRICS else ()]
            }
            for g in large
            for at in [picked[labels[picked] == g]]
        }
        gaps.append(_gaps(pd.DataFrame(by_group).T.astype(float), large))
    return pd.DataFrame(gaps)


def _feature_report(
    rows: pd.DataFrame, groups: pd.Series, classes: list[str], params: FairnessParams
) -> dict[str, Any]:
    """One sensitive feature: its groups (with n and ``small``) and the gaps."""
    groups = groups.astype(str).reset_index(drop=True)
    rows = rows.reset_index(drop=True)
    by_group = group_metrics(rows, groups, classes)
    students = rows.groupby(groups)["row"].nunique()
    large = [g for g in by_group.index if students[g] >= params.min_group_rows]
    gaps = _gaps(by_group, large)
    boot = (
        _bootstrap_gaps(rows, groups, classes, large, params)
        if params.n_bootstrap and len(large) >= 2  # noqa: PLR2004
        else pd.DataFrame(columns=by_group.columns)
    )
    table = {
        g: {"n": int(students[g]), "small": g not in large, **by_group.loc[g].to_dict()}
        for g in by_group.index
    }
    gap_table = {
        m: {
            "gap": _finite(gaps[m]),
            "low": _finite(boot[m].quantile(0.025)) if len(boot) else None,
            "high": _finite(boot[m].quantile(0.975)) if len(boot) else None,
        }
        for m in by_group.columns
    }
    return {"groups": table, "gaps": gap_table}


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def group_labels(values: pd.Series) -> pd.Series:
    """Each row's group as text; a missing value is the group ``missing``."""
    labels = values.astype(object)
    return labels.where(labels.notna(), MISSING).map(str)


def calibration_groups(
    calibration: dict[str, Any] | None, features: pd.DataFrame
) -> np.ndarray | None:
    """Each row's group for a ``group_conditional`` set calibration (the ``groups``
    argument of ``core.conformal.apply_set_calibration``); ``None`` for other modes."""
    feature = (calibration or {}).get("group_feature")
    return None if feature is None else group_labels(features[feature]).to_numpy()


def worst_groups(features: dict[str, Any]) -> dict[str, Any]:
    """Per guarded figure, the lowest group (not ``small``) over every feature."""
    worst = {}
    for metric in WORST_GROUP_METRICS:
        candidates = [
            (figures[metric], feature, group)
            for feature, report in features.items()
            for group, figures in report["groups"].items()
            if not figures["small"] and np.isfinite(figures[metric])
        ]
        if candidates:
            value, feature, group = min(candidates)
            worst[metric] = {"feature": feature, "group": group, "value": value}
    return worst


def group_report(
    rows: pd.DataFrame,
    frame: pd.DataFrame,
    sensitive_features: list[str],
    classes: list[str],
    params: FairnessParams,
) -> dict[str, Any]:
    """The group table of every sensitive feature, its gaps and the worst groups.

    Args:
        rows: Out-of-fold rows (``evaluate_prediction_sets``); ``row`` is the
            position in ``frame``.
        frame: The rows that were cross-validated (their sensitive columns).
        sensitive_features: The features to report on.
        classes: The target's classes in order.
        params: ``min_group_rows``, ``n_bootstrap``, ``seed``.

    Returns:
        ``features`` (feature to ``groups`` and ``gaps``), ``worst`` and the settings.
    """
    with warnings.catch_warnings():  # a tiny group's QWK may be undefined: NaN
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        features = {
            name: _feature_report(
                rows,
                group_labels(frame[name]).iloc[rows["row"].to_numpy()],
                classes,
                params,
            )
            for name in sensitive_features
        }
    return {
        "min_group_rows": params.min_group_rows,
        "n_bootstrap": params.n_bootstrap,
        "features": features,
        "worst": worst_groups(features),
    }
