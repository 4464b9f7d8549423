"""The verdict on a compared batch: each column's alerts, then one status and action.

A tested effect raises an alert only when it is significant AND large enough
(``gate_level``); the worst alert level is the batch's status, and drift of a kind in
``retrain_on`` recommends retraining (``verdict``).
"""

from __future__ import annotations

from typing import Any

from .settings import DriftTestsParams

LEVELS = ("ok", "warning", "drift")
STATUS_CODES = {
    "insufficient_data": -1,
    "ok": 0,
    "warning": 1,
    "drift": 2,
}


def gate_level(
    p_adjusted: float | None,
    effect: float | None,
    warn: float,
    drift: float,
    alpha: float,
) -> str:
    """The level of a tested effect: significant AND large enough."""
    if p_adjusted is None or effect is None or p_adjusted >= alpha:
        return "ok"
    return "drift" if effect >= drift else "warning" if effect >= warn else "ok"


def column_alerts(
    row: dict[str, Any], role: str, thresholds: DriftTestsParams
) -> list[dict[str, Any]]:
    """The alerts (kind, level, message) of one compared column."""
    t, name, alerts = thresholds, row["column"], []
    level = gate_level(
        row["p_adjusted"], row["psi"], t.psi_warning, t.psi_drift, t.alpha
    )
    if level != "ok":
        label = f"{name} (target)" if role == "target" else name
        message = (
            f"{label}: distribution changed (PSI {row['psi']:.3f}, "
            f"adjusted p {row['p_adjusted']:.2g})"
        )
        alerts.append({"kind": f"{role}_drift", "level": level, "message": message})
    missing = row["missing"]
    level = gate_level(
        missing["p_adjusted"],
        missing["change"],
        t.missing_warning,
        t.missing_drift,
        t.alpha,
    )
    if level != "ok":
        message = f"{name}: missing share {missing['reference']:.1%} -> {missing['current']:.1%}"
        alerts.append({"kind": "missing_values", "level": level, "message": message})
    unseen = row["unseen"]
    if unseen["share"] > t.unseen_warning:
        level = "drift" if unseen["share"] > t.unseen_drift else "warning"
        shown = dict(sorted(unseen["values"].items(), key=lambda kv: -kv[1])[:5])
        message = (
            f"{name}: {unseen['count']} values ({unseen['share']:.1%}) never seen in the "
            f"reference: {shown}"
        )
        alerts.append({"kind": "unseen_values", "level": level, "message": message})
    return alerts


def worst_level(levels: list[str]) -> str:
    """The most severe of ``ok`` < ``warning`` < ``drift`` (``ok`` when empty)."""
    return max(levels, key=LEVELS.index, default="ok")


def verdict(
    alerts: list[dict[str, Any]], thresholds: DriftTestsParams
) -> dict[str, Any]:
    """Overall status, reasons, whether to retrain and what to do, from the alerts."""
    status = worst_level([a["level"] for a in alerts])
    retrain = any(
        a["level"] == "drift" and a["kind"] in thresholds.retrain_on for a in alerts
    )
    if retrain:
        action = (
            "retrain: run `kedro run --pipelines training` (scripts/monitor_and_retrain.sh"
            " does it); the model registry's gate decides whether the new model is promoted"
        )
    elif status == "drift":
        action = (
            "fix the data feed (missing or unseen values) before trusting predictions; "
            "retraining would not help"
        )
    elif status == "warning":
        action = "watch: check the next batch; no retraining yet"
    else:
        action = "none: keep serving the current model"
    return {
        "status": status,
        "status_code": STATUS_CODES[status],
        "retrain_recommended": retrain,
        "action": action,
        "reasons": [a["message"] for a in alerts if a["level"] == status],
        "alerts": alerts,
    }


def not_assessed(status: str, n_rows: int, message: str) -> dict[str, Any]:
    """A report without a verdict: no batch, or too few rows to judge."""
    return {
        "status": status,
        "status_code": STATUS_CODES[status],
        "retrain_recommended": False,
        "action": message,
        "reasons": [message] if status == "insufficient_data" else [],
        "alerts": [],
        "rows": n_rows,
        "columns": [],
    }
