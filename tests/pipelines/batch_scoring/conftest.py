"""Fixtures of the batch_scoring tests (the model and inputs of tests/scoring)."""

from tests.scoring.conftest import messy_frame, scoring_model  # noqa: F401
