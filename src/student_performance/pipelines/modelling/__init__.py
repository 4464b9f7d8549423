"""modelling: honest model selection by repeated CV, one holdout score, explanations."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
