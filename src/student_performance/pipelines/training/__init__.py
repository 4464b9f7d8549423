"""training: data_processing + modelling bundled as one MLflow model (PipelineML)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
