"""Typed settings of drift monitoring, built by Kedro from ``params:drift_monitoring.*``.

Every threshold lives in conf (``parameters_drift_monitoring.yml``); these models only
check shapes and ranges, so a typo fails before the first node runs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from student_performance.batch.settings import ReadingParams
from student_performance.frozen import Frozen

ReasonKind = Literal[
    "feature_drift",
    "target_drift",
    "missing_values",
    "unseen_values",
    "prediction_drift",
    "performance_drop",
]
SimulationKind = Literal[
    "feature_shift",
    "missing_values",
    "label_imbalance",
    "unseen_categories",
    "combined",
]


class DriftBatchParams(Frozen):
    """Where the current batch comes from.

    ``path`` is set at run time (``--params drift_batch=path.csv``); ``None`` means no
    batch was given: the pipeline then runs the simulations.
    """

    path: str | None = None


class DriftReadingParams(ReadingParams):
    """How a lazy batch (``batch.RawBatchDataset``: a file, glob or folder of CSV /
    Parquet) is read; a batch the catalog gives as one frame is profiled whole.

    ``chunk_rows`` records make a piece (memory is bounded by a piece). The model part
    (``drift_monitoring_model``) predicts every row of a batch of at most
    ``model_rows`` records, else a seeded uniform sample of at most ``model_rows``.
    """

    model_rows: int = Field(100_000, ge=1)


class DriftTestsParams(Frozen):
    """Tests, effect sizes and alert levels.

    A feature's distribution is flagged only when its Benjamini-Hochberg adjusted
    p-value is below ``alpha`` AND its PSI reaches ``psi_warning`` (level warning) or
    ``psi_drift`` (level drift). Missing-value shares and unseen values have their own
    levels; shares are fractions of the batch's rows.
    """

    alpha: float = Field(0.05, gt=0, lt=1)
    psi_warning: float = Field(0.1, ge=0)
    psi_drift: float = Field(0.25, ge=0)
    psi_epsilon: float = Field(1e-4, gt=0, lt=0.01)
    min_expected_count: float = Field(5.0, ge=0)
    monte_carlo_samples: int = Field(2000, ge=99)
    numeric_bins: int = Field(10, ge=2)
    missing_warning: float = Field(0.05, ge=0, le=1)
    missing_drift: float = Field(0.20, ge=0, le=1)
    unseen_warning: float = Field(0.01, ge=0, le=1)
    unseen_drift: float = Field(0.05, ge=0, le=1)
    min_rows: int = Field(50, ge=1)
    retrain_on: tuple[ReasonKind, ...] = (
        "feature_drift",
        "target_drift",
        "prediction_drift",
        "performance_drop",
    )

    @model_validator(mode="after")
    def _check_order(self) -> DriftTestsParams:
        if self.psi_warning > self.psi_drift:
            raise ValueError("psi_warning must not exceed psi_drift")
        if self.missing_warning > self.missing_drift:
            raise ValueError("missing_warning must not exceed missing_drift")
        if self.unseen_warning > self.unseen_drift:
            raise ValueError("unseen_warning must not exceed unseen_drift")
        return self


class PerformanceParams(Frozen):
    """Performance drop against the champion's reference figures.

    A metric is flagged when it is more than ``max_relative_drop`` below the reference
    figure (``reference``: the champion's ``holdout`` or ``cv`` block) AND a one-sided
    bootstrap test says the drop is not noise (p below the thresholds' ``alpha``).
    """

    metrics: tuple[Literal["accuracy", "f1_macro"], ...] = ("accuracy", "f1_macro")
    reference: Literal["holdout", "cv"] = "holdout"
    max_relative_drop: float = Field(0.05, gt=0, lt=1)
    bootstrap_samples: int = Field(1000, ge=99)


class SimulationParams(Frozen):
    """Seeded drift simulations run when no batch is given.

    ``intensity`` runs from 0 (no drift) to 1. Feature shift and label imbalance are
    calibrated in PSI: intensity ``t`` moves mass until the shifted column's PSI
    against the reference is ``t * max_psi`` (0.5 → 0.25, the default drift level);
    numeric features move by ``t * numeric_shift_sd`` reference standard deviations.
    Missing values and unseen categories replace ``t * max_share`` of the values.
    """

    kinds: tuple[SimulationKind, ...] = (
        "feature_shift",
        "missing_values",
        "label_imbalance",
        "unseen_categories",
        "combined",
    )
    intensities: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    repeats: int = Field(10, ge=1)
    batch_size: int = Field(200, ge=1)
    showcase_intensity: float = Field(0.5, ge=0, le=1)
    max_psi: float = Field(0.5, gt=0)
    numeric_shift_sd: float = Field(1.0, gt=0)
    shifted_features: int = Field(1, ge=1)
    missing_features: int = Field(3, ge=1)
    missing_max_share: float = Field(0.5, gt=0, le=1)
    unseen_features: int = Field(1, ge=1)
    unseen_max_share: float = Field(0.2, gt=0, le=1)

    @model_validator(mode="after")
    def _check_intensities(self) -> SimulationParams:
        if not self.intensities or any(not 0 <= i <= 1 for i in self.intensities):
            raise ValueError("intensities must be a non-empty list of values in [0, 1]")
        return self
