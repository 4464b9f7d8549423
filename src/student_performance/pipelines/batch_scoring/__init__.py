"""batch_scoring: a whole cohort of raw records scored with a registered model."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
