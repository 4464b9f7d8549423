"""drift_simulation: seeded drift of known kind and intensity, and how often the
drift checks catch it."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
