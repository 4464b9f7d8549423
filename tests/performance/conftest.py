"""Synthetic predictions: Dirichlet probabilities and labels drawn from them, so the
probabilities are calibrated by construction."""

from __future__ import annotations

import numpy as np

from student_performance.performance.realized import Outcomes


def calibrated(n: int, seed: int, k: int = 4, concentration: float = 1.0) -> Outcomes:
    """``n`` rows: probabilities, labels drawn from them, argmax and a 2-class set."""
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.full(k, concentration), size=n)
    truth = (rng.random(n)[:, None] > np.cumsum(proba, axis=1)).sum(axis=1)
    truth = np.minimum(truth, k - 1)
    predicted = proba.argmax(axis=1)
    top_two = np.argsort(-proba, axis=1)[:, :2]
    members = np.zeros((n, k), dtype=bool)
    members[np.arange(n)[:, None], top_two] = True
    return Outcomes(truth, proba, predicted, members)
