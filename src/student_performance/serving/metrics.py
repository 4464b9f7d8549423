"""Prometheus metrics of one service instance (its own registry, text format).

``serving_requests_total{endpoint,method,status}``, ``serving_request_duration_seconds``
(histogram by endpoint), ``serving_predictions_total{model_version,predicted_class}``,
``serving_model_info{name,version,alias,run_id}`` (info: the model answering now),
``serving_model_reloads_total{outcome}`` (both outcomes exported from the start, so
the first failure is an increase), ``serving_model_training_class_share
{predicted_class}`` (the loaded model's training class mix, read at scrape time), and
the prediction log's queue and counters:
``serving_prediction_log_pending_rows``, ``serving_prediction_log_written_rows_total``,
``prediction_log_spool_rows`` (rows in the spool now),
``prediction_log_rows_spooled_total``, ``prediction_log_rows_replayed_total``,
``prediction_log_rows_lost_total`` (spool full) and
``prediction_log_rows_rejected_total`` (refused by the database).
Endpoints are labelled by route template; paths that match no route share ``other``,
so random URLs cannot blow up the label set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    Info,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.015,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)
SET_SIZE_BUCKETS = (1, 2, 3, 4, 5, 6, 8)  # classes in a set (le: 1 = one class)


class _PredictionLogCollector(Collector):
    """Reads the prediction log's counters at scrape time."""

    def __init__(self, source: Callable[[], Any]) -> None:
        self._source = source

    def collect(self) -> Iterator[Any]:
        log = self._source()
        if log is None:
            return
        pending = GaugeMetricFamily(
            "serving_prediction_log_pending_rows", "Rows queued for the prediction log"
        )
        pending.add_metric([], log.pending)
        yield pending
        spool = GaugeMetricFamily(
            "prediction_log_spool_rows",
            "Rows in the prediction log's spool now, waiting for the database",
        )
        spool.add_metric([], log.spool.rows if log.spool else 0)
        yield spool
        for name, value, doc in (
            (
                "serving_prediction_log_written_rows",
                log.written,
                "Rows written to the prediction log's database",
            ),
            (
                "prediction_log_rows_spooled",
                log.spooled,
                "Rows sent to the spool (database down or slow, or queue full)",
            ),
            (
                "prediction_log_rows_replayed",
                log.replayed,
                "Rows moved from the spool to the database",
            ),
            (
                "prediction_log_rows_lost",
                log.lost,
                "Rows lost: the database could not take them and the spool was full",
            ),
            (
                "prediction_log_rows_rejected",
                log.rejected,
                "Rows the database refused one by one (bad data, not an outage)",
            ),
        ):
            family = CounterMetricFamily(name, doc)
            family.add_metric([], value)
            yield family


class TrainingSharesCollector(Collector):
    """The class shares of the loaded model's training data, read at scrape time.

    Args:
        shares: Returns ``{class: share}`` of the model answering now, or ``None``
            when the model does not record them (trained before they were recorded).
    """

    def __init__(self, shares: Callable[[], dict[str, float] | None]) -> None:
        self._shares = shares

    def collect(self) -> Iterator[Any]:
        shares = self._shares()
        if not shares:
            return
        family = GaugeMetricFamily(
            "serving_model_training_class_share",
            "Share of each class in the training data of the model answering now",
            labels=["predicted_class"],
        )
        for name, share in shares.items():
            family.add_metric([name], share)
        yield family


class ServingMetrics:
    """The metrics of one app instance.

    Args:
        prediction_log: Returns the prediction log (or ``None``) at scrape time.
    """

    def __init__(self, prediction_log: Callable[[], Any]) -> None:
        disable_created_metrics()  # no *_created series: noise for dashboards
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "serving_requests",
            "HTTP requests by endpoint, method and status",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "serving_request_duration_seconds",
            "Time from request to response, by endpoint",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.predictions = Counter(
            "serving_predictions",
            "Predicted records by model version and predicted class",
            ["model_version", "predicted_class"],
            registry=self.registry,
        )
        self.model = Info(
            "serving_model",
            "The model answering requests now",
            registry=self.registry,
        )
        self.set_sizes = Histogram(
            "prediction_set_size",
            "Classes in each answered record's prediction set",
            ["model_version"],
            buckets=SET_SIZE_BUCKETS,
            registry=self.registry,
        )
        self.reloads = Counter(
            "serving_model_reloads",
            "Admin reloads by outcome",
            ["outcome"],
            registry=self.registry,
        )
        for outcome in ("reloaded", "failed"):
            self.reloads.labels(outcome)
        self.registry.register(_PredictionLogCollector(prediction_log))
        self._children: dict[tuple, Any] = {}

    def set_model(
        self, name: str, version: str, alias: str, run_id: str | None
    ) -> None:
        """Name the model answering now (replaces the previous one)."""
        self.model.info(
            {"name": name, "version": version, "alias": alias, "run_id": run_id or ""}
        )

    def _child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, remembered: the client's own look-up takes a
        lock and checks every label on each call (the children are never removed)."""
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children.setdefault(key, metric.labels(*labels))
        return child

    def observe(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        """Count one request and its latency."""
        self._child(self.requests, endpoint, method, str(status)).inc()
        self._child(self.latency, endpoint).observe(seconds)

    def count_predictions(self, version: str, labels: list[str]) -> None:
        """Count predicted records by class."""
        if len(labels) == 1:
            self._child(self.predictions, version, labels[0]).inc()
            return
        counts: dict[str, int] = {}
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
        for label, count in counts.items():
            self._child(self.predictions, version, label).inc(count)

    def observe_set_sizes(self, version: str, sizes: list[int]) -> None:
        """Record each answered record's prediction-set size."""
        histogram = self._child(self.set_sizes, version)
        for size in sizes:
            histogram.observe(size)

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
