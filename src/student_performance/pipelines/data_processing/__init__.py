"""data_processing: the raw file to typed, validated, accounted-for rows."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
