"""``GET /dashboard``: a live page of the service, and ``GET /dashboard/data``, its JSON.

The page (``static/dashboard.html``) polls the JSON every ``dashboard.refresh_s``
seconds. Everything on it comes from this process's own Prometheus registry (the same
counters ``/metrics`` exports) plus the drift pipelines' last JSON report, so the page
needs no Prometheus; ``monitoring/grafana/`` has the same panels over Prometheus.

Rates and latency percentiles are over the last ``dashboard.window_s`` seconds: each
call to the JSON endpoint keeps a snapshot of the cumulative counters, and the answer
compares the current values with the oldest snapshot inside the window (before the
first window has passed: with the process start). The prediction log's figures include
its spool's counters (``prediction_log_rows_{spooled,replayed,lost,rejected}_total``);
the mean prediction-set size is shown when a ``prediction_set_size`` histogram exists.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse

from student_performance.serving.metrics import TrainingSharesCollector

STATIC_DIR = Path(__file__).resolve().parent / "static"
PREDICTION_ENDPOINTS = frozenset({"/predict", "/predict/batch"})
# requests of the monitoring itself are not traffic
_NOT_TRAFFIC = frozenset({"/metrics", "/dashboard", "/dashboard/data"})
# prediction_log_rows_{spooled,replayed,lost,rejected}_total: the spool's counters
_LOG_ROWS = "prediction_log_rows_"
_SET_SIZE = "prediction_set_size"


def training_class_shares(bundle: Any) -> dict[str, float] | None:
    """``{class: share}`` of the bundle's training data, or ``None`` if not recorded.

    Read from the fitted model (``OrderedClassifier.class_shares_``); models trained
    before the shares were recorded have none.
    """
    shares = getattr(bundle.predictor.model, "class_shares_", None)
    if shares is None:
        return None
    return {
        str(name): float(share)
        for name, share in zip(bundle.predictor.classes, shares, strict=True)
    }


@dataclass
class _Snapshot:
    """The cumulative figures of one moment."""

    at: float
    requests: float = 0.0
    errors: float = 0.0
    predictions: dict[str, float] = field(default_factory=dict)
    buckets: dict[float, float] = field(default_factory=dict)  # le -> count
    set_size_sum: float | None = None
    set_size_count: float | None = None


def _samples(registry: Any) -> Iterable[tuple[str, dict[str, str], float]]:
    for family in registry.collect():
        for sample in family.samples:
            yield sample.name, sample.labels, sample.value


def _take(registry: Any, now: float) -> tuple[_Snapshot, dict[str, Any]]:
    """The cumulative figures (for deltas) and the plain values (shown as they are)."""
    snap = _Snapshot(at=now)
    plain: dict[str, Any] = {"reloads": {}, "log": {}, "status": {}}
    for name, labels, value in _samples(registry):
        if name == "serving_requests_total":
            if labels["endpoint"] in _NOT_TRAFFIC:
                continue
            snap.requests += value
            status = labels["status"]
            plain["status"][status] = plain["status"].get(status, 0) + value
            if status.startswith("5"):
                snap.errors += value
        elif name == "serving_request_duration_seconds_bucket":
            if labels["endpoint"] in PREDICTION_ENDPOINTS:
                le = float(labels["le"])
                snap.buckets[le] = snap.buckets.get(le, 0.0) + value
        elif name == "serving_predictions_total":
            label = labels["predicted_class"]
            snap.predictions[label] = snap.predictions.get(label, 0.0) + value
        elif name == "serving_model_reloads_total":
            plain["reloads"][labels["outcome"]] = value
        else:
            _take_other(snap, plain["log"], name, value)
    return snap, plain


def _take_other(snap: _Snapshot, log: dict[str, float], name: str, value: float):
    """The prediction log's figures, and the metrics other issues may add."""
    if name.startswith("serving_prediction_log_"):
        key = name.removeprefix("serving_prediction_log_").removesuffix("_total")
        log[key.removesuffix("_rows")] = value
    elif name.startswith(_LOG_ROWS) and name.endswith("_total"):
        log[name.removeprefix(_LOG_ROWS).removesuffix("_total")] = value
    elif name.endswith(f"{_SET_SIZE}_sum"):
        snap.set_size_sum = (snap.set_size_sum or 0.0) + value
    elif name.endswith(f"{_SET_SIZE}_count"):
        snap.set_size_count = (snap.set_size_count or 0.0) + value


def histogram_quantile(q: float, buckets: dict[float, float]) -> float | None:
    """Prometheus' ``histogram_quantile`` on cumulative bucket counts (le -> count).

    Linear interpolation inside the bucket holding the rank; a rank in the ``+Inf``
    bucket answers the highest finite bound. ``None`` without observations.
    """
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return None
    rank = q * buckets[bounds[-1]]
    lower_bound, lower_count = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return bounds[-1]


def _delta(now: dict, then: dict) -> dict:
    return {key: value - then.get(key, 0.0) for key, value in now.items()}


def _class_mix(
    counts: dict[str, float], classes: list[str], training: dict[str, float] | None
) -> tuple[dict[str, dict[str, float | None]], float | None]:
    """Per class: count, share, training share; and the total variation distance."""
    total = sum(counts.values())
    rows = {}
    for name in classes:
        share = counts.get(name, 0.0) / total if total else None
        rows[name] = {
            "count": counts.get(name, 0.0),
            "share": share,
            "training_share": training.get(name) if training else None,
        }
    distance = None
    if total and training:
        distance = 0.5 * sum(
            abs((row["share"] or 0.0) - (row["training_share"] or 0.0))
            for row in rows.values()
        )
    return rows, distance


def read_drift_verdict(project: Path, reports: Iterable[str]) -> dict[str, Any]:
    """The last drift verdict: the newest of the drift pipelines' JSON reports.

    Returns:
        ``status``, ``action``, ``reasons``, ``retrain_recommended``, ``batch``,
        ``rows``, ``report`` (its path) and ``written_at``; ``status`` ``unknown``
        when no report exists or none can be read.
    """
    paths = [p if p.is_absolute() else project / p for p in map(Path, reports)]
    found = sorted((p for p in paths if p.is_file()), key=lambda p: p.stat().st_mtime)
    if not found:
        return {
            "status": "unknown",
            "reasons": [],
            "action": "no drift report yet: run kedro run --pipelines drift_monitoring "
            "--params drift_batch=<batch.csv>",
        }
    newest = found[-1]
    try:
        report = json.loads(newest.read_text())
    except (OSError, ValueError) as err:
        return {"status": "unknown", "reasons": [], "action": f"{newest}: {err}"}
    written = datetime.fromtimestamp(newest.stat().st_mtime, UTC)
    return {
        "status": report.get("status", "unknown"),
        "action": report.get("action"),
        "reasons": report.get("reasons", []),
        "retrain_recommended": report.get("retrain_recommended"),
        "batch": report.get("batch"),
        "rows": report.get("rows"),
        "report": str(newest),
        "written_at": written.isoformat(timespec="seconds"),
    }


class Dashboard:
    """The figures of the page, from the service's state.

    Args:
        state: The app's ``ServiceState`` (bundle, metrics, settings, start time).
        clock: Seconds, monotonic (tests pass their own).
    """

    def __init__(self, state: Any, clock: Callable[[], float] = time.monotonic):
        self.state = state
        self.clock = clock
        self.window_s = state.settings.dashboard.window_s
        self._history: deque[_Snapshot] = deque()
        self._lock = threading.Lock()
        self._start = _Snapshot(at=state.started)

    def _reference(self, snap: _Snapshot) -> _Snapshot:
        """The oldest snapshot inside the window (the process start at first)."""
        with self._lock:
            self._history.append(snap)
            while self._history and self._history[0].at < snap.at - self.window_s:
                self._history.popleft()
            oldest = self._history[0]
        return oldest if oldest is not snap else self._start

    def data(self) -> dict[str, Any]:
        """Everything ``GET /dashboard/data`` answers."""
        state = self.state
        bundle = state.bundle
        snap, plain = _take(state.metrics.registry, self.clock())
        then = self._reference(snap)
        seconds = max(snap.at - then.at, 1e-9)
        requests = snap.requests - then.requests
        errors = snap.errors - then.errors
        buckets = _delta(snap.buckets, then.buckets)
        window = "window"
        if not buckets or max(buckets.values(), default=0.0) <= 0:
            buckets, window = snap.buckets, "since start"
        latency = {
            f"p{round(q * 100)}": _ms(histogram_quantile(q, buckets))
            for q in (0.5, 0.95, 0.99)
        }
        training = training_class_shares(bundle)
        classes = list(bundle.predictor.classes)
        in_window, distance = _class_mix(
            _delta(snap.predictions, then.predictions), classes, training
        )
        overall, _ = _class_mix(snap.predictions, classes, training)
        return {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "uptime_s": round(self.clock() - state.started, 1),
            "window_s": round(seconds, 1),
            "refresh_s": state.settings.dashboard.refresh_s,
            "requests": {
                "total": snap.requests,
                "rate_per_s": requests / seconds,
                "errors_5xx_total": snap.errors,
                "error_ratio": errors / requests if requests else None,
                "by_status": plain["status"],
            },
            "latency_ms": latency | {"over": window},
            "predictions": {
                "total": sum(snap.predictions.values()),
                "rate_per_s": sum(_delta(snap.predictions, then.predictions).values())
                / seconds,
                "window": in_window,
                "overall": overall,
                "class_mix_distance": distance,
                "training_shares_known": training is not None,
            },
            "prediction_set_size": _set_size(snap),
            "model": {
                "name": bundle.name,
                "version": bundle.version,
                "alias": bundle.alias,
                "run_id": bundle.run_id,
                "loaded_at": bundle.loaded_at,
                "reloads": plain["reloads"],
            },
            "prediction_log": plain["log"],
            "drift": read_drift_verdict(
                state.settings.project_path, state.settings.dashboard.drift_reports
            ),
        }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def _set_size(snap: _Snapshot) -> dict[str, float] | None:
    """Mean prediction-set size, once a ``prediction_set_size`` histogram exists."""
    if snap.set_size_count is None:
        return None
    count = snap.set_size_count
    return {"mean": snap.set_size_sum / count if count else None, "count": count}


def add_dashboard(app: FastAPI, state: Any) -> None:
    """Mount ``GET /dashboard`` and ``GET /dashboard/data``; export training shares."""
    dashboard = Dashboard(state)
    state.metrics.registry.register(
        TrainingSharesCollector(lambda: training_class_shares(state.bundle))
    )
    router = APIRouter()

    @router.get("/dashboard", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "dashboard.html")

    @router.get("/dashboard/data", summary="The live dashboard's figures (JSON)")
    async def data() -> dict[str, Any]:
        return dashboard.data()

    app.include_router(router)
