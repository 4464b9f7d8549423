"""drift_monitoring: input drift of a batch (``create_pipeline``); prediction and
performance drift of the champion (``create_model_drift_pipeline``)."""

from .pipeline import create_model_drift_pipeline, create_pipeline

__all__ = ["create_model_drift_pipeline", "create_pipeline"]
