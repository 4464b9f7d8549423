"""A write-only dataset that pushes gauges to a Prometheus Pushgateway.

Batch jobs (drift monitoring; batch scoring later) are not scraped: they push their
status and key figures to a Pushgateway, which Prometheus scrapes, and alert rules
(``monitoring/prometheus/rules/alerts.yml``) fire on them. The push is the dataset's
save, so the nodes stay free of I/O: a node returns the figures, the catalog says where
they go. Without a gateway URL (the embedded default) saving does nothing but log.
"""

from __future__ import annotations

import logging
from typing import Any

from kedro.io import AbstractDataset, DatasetError

logger = logging.getLogger(__name__)


class PushgatewayDataset(AbstractDataset[None, dict[str, Any]]):
    """Push ``{name: value}`` (or ``{name: {"value": v, "help": text}}``) as gauges.

    Each save replaces every metric of the job's group on the gateway (``PUT``, as
    ``prometheus_client.push_to_gateway`` does), so a run's figures never mix with the
    previous run's. An empty dict pushes nothing (e.g. no batch to judge).

    Example catalog entry::

        rpt_drift_gauges:
          type: student_performance.datasets.PushgatewayDataset
          gateway: ${oc.env:PUSHGATEWAY_URL, null}
          job: drift_monitoring
          prefix: drift_monitoring_
          grouping_key: {pipeline: drift_monitoring}

    Args:
        gateway: The Pushgateway's URL (``http://127.0.0.1:9091``); ``None`` or empty:
            do nothing.
        job: The ``job`` label of the pushed group.
        prefix: Put before every metric name.
        grouping_key: More labels that identify the group (one group per pipeline).
        timeout_s: Timeout of the push.
        labels_from: Names in the saved dict whose values become labels of every
            metric (e.g. the batch's file name) instead of metrics.
    """

    def __init__(  # noqa: PLR0913 - catalog arguments
        self,
        *,
        gateway: str | None = None,
        job: str,
        prefix: str = "",
        grouping_key: dict[str, str] | None = None,
        timeout_s: float = 10.0,
        labels_from: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._gateway = (gateway or "").strip() or None
        self._job = job
        self._prefix = prefix
        self._grouping_key = dict(grouping_key or {})
        self._timeout_s = timeout_s
        self._labels_from = list(labels_from or [])
        self.metadata = metadata

    def load(self) -> None:
        raise DatasetError(
            "PushgatewayDataset is write-only: query Prometheus for what was pushed"
        )

    def save(self, data: dict[str, Any]) -> None:
        if not data:
            logger.info("Nothing to push to the Pushgateway for job %s", self._job)
            return
        if self._gateway is None:
            logger.debug("No Pushgateway URL: %d figures not pushed", len(data))
            return
        from prometheus_client import (  # noqa: PLC0415 - only when pushing
            CollectorRegistry,
            Gauge,
            push_to_gateway,
        )

        labels = {name: str(data[name]) for name in self._labels_from if name in data}
        registry = CollectorRegistry()
        for name, item in data.items():
            if name in self._labels_from:
                continue
            value, doc = (
                (item["value"], item.get("help", name))
                if isinstance(item, dict)
                else (item, name)
            )
            gauge = Gauge(f"{self._prefix}{name}", doc, list(labels), registry=registry)
            (gauge.labels(**labels) if labels else gauge).set(float(value))
        try:
            push_to_gateway(
                self._gateway,
                job=self._job,
                registry=registry,
                grouping_key=self._grouping_key,
                timeout=self._timeout_s,
            )
        except OSError as err:
            raise DatasetError(
                f"cannot push {len(data)} figures of job {self._job!r} to the "
                f"Pushgateway at {self._gateway}: {err}"
            ) from err
        logger.info(
            "Pushed %d figures of job %s to %s", len(data), self._job, self._gateway
        )

    def _describe(self) -> dict[str, Any]:
        return {
            "gateway": self._gateway,
            "job": self._job,
            "prefix": self._prefix,
            "grouping_key": self._grouping_key,
        }
