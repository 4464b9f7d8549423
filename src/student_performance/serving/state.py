"""What the service's routes share: the bundle answering now, the log, the metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from student_performance.serving.bundle import ModelBundle
from student_performance.serving.config import ServingParams
from student_performance.serving.metrics import ServingMetrics
from student_performance.serving.prediction_log import PredictionLog


class ServiceState:
    """What the routes share: the current bundle (one reference), log, metrics."""

    def __init__(
        self,
        settings: ServingParams,
        bundle: ModelBundle,
        loader: Callable[[], ModelBundle],
        prediction_log: PredictionLog,
        metrics: ServingMetrics,
    ) -> None:
        self.settings = settings
        self.bundle = bundle
        self.loader = loader
        self.prediction_log = prediction_log
        self.metrics = metrics
        self.reload_lock = asyncio.Lock()
        self.started = time.monotonic()
