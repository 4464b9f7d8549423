"""drift_monitoring_model: input drift plus the champion's prediction and performance drift."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
