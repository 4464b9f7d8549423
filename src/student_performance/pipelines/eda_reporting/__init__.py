"""eda_reporting: the exploratory analysis of the cleaned data, as reports."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
