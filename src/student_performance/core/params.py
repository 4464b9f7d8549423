"""Typed settings of modelling, built by Kedro from ``params:modelling.*``.

Every value lives in conf (``parameters_modelling.yml``); these models check shapes and
ranges, so a typo (``n_split``, ``holdout_share: 2``) fails before the first node runs.
The CV engine, the registry gate and the nodes all read them; each accepts the plain
mapping too (``model_validate`` of a model returns it unchanged).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, RootModel, model_validator

from student_performance.frozen import Frozen
from student_performance.models.metrics import METRICS

Estimator = Literal[
    "majority", "logistic_regression", "random_forest", "lightgbm", "ordinal_ridge"
]


class SplitParams(Frozen):
    """``modelling.split``: one stratified development / holdout split."""

    holdout_share: float = Field(0.2, gt=0, lt=1)
    seed: int = 0


class CVParams(Frozen):
    """``modelling.cv``: repeated stratified K-fold on the development part."""

    n_splits: int = Field(5, ge=2)
    n_repeats: int = Field(3, ge=1)
    seed: int = 0
    n_jobs: int = Field(1, ge=-1)


class CandidateSpec(Frozen):
    """One candidate: an estimator, how ordinal features are encoded, a small grid."""

    estimator: Estimator
    ordinal_as: Literal["codes", "onehot"] = "codes"
    grid: dict[str, list[Any]] | None = None
    enabled: bool = True

    def as_dict(self) -> dict[str, Any]:
        """The spec as the plain mapping the CV engine and the logs use."""
        return self.model_dump()


class CandidatesParams(RootModel[dict[str, CandidateSpec]]):
    """``modelling.candidates``: candidate name to its spec.

    A mapping of free names, so a ``RootModel`` rather than a ``Frozen`` model: it
    takes ``Frozen``'s settings but ``extra`` (which a ``RootModel`` refuses; each
    spec is ``Frozen`` and refuses unknown keys itself).
    """

    model_config = ConfigDict(
        **{k: v for k, v in Frozen.model_config.items() if k != "extra"}
    )

    @model_validator(mode="after")
    def _some_enabled(self) -> CandidatesParams:
        if not any(spec.enabled for spec in self.root.values()):
            raise ValueError("no candidate is enabled")
        return self

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """Name to plain spec mapping."""
        return {name: spec.as_dict() for name, spec in self.root.items()}


class SelectionParams(Frozen):
    """``modelling.selection``: the metric that ranks the candidates."""

    primary_metric: str = "quadratic_weighted_kappa"

    @model_validator(mode="after")
    def _known_metric(self) -> SelectionParams:
        if self.primary_metric not in METRICS:
            raise ValueError(
                f"primary_metric {self.primary_metric!r} is not one of {METRICS}"
            )
        return self


class DecisionParams(Frozen):
    """``modelling.decision``: how the served class follows from the probabilities.

    ``argmax``: the most probable class. ``least_expected_cost``: the class of least
    expected ``cost`` (``absolute`` |i - j|, ``squared`` (i - j)^2, or a matrix, rows
    the true class, columns the predicted one). The same rule is applied to every
    candidate in CV, to the served model and named in ``/model/info``.
    """

    rule: Literal["argmax", "least_expected_cost"] = "argmax"
    cost: Literal["absolute", "squared"] | list[list[float]] = "absolute"


class ConformalParams(Frozen):
    """``modelling.conformal``: prediction sets calibrated on unseen rows.

    ``level``: the share of new rows whose set should hold the true class.
    ``mode``: one threshold for all rows (``marginal``), one per true class
    (``class_conditional``) or one per group of the sensitive feature
    ``group_feature`` (``group_conditional``). ``contiguous``: sets are runs of
    adjacent classes. ``inner_splits``: folds of the cross-conformal calibration.
    """

    level: float = Field(0.9, gt=0, lt=1)
    mode: Literal["marginal", "class_conditional", "group_conditional"] = "marginal"
    group_feature: str | None = None
    contiguous: bool = True
    inner_splits: int = Field(5, ge=2)

    @model_validator(mode="after")
    def _group_named(self) -> ConformalParams:
        if self.mode == "group_conditional" and not self.group_feature:
            raise ValueError("mode group_conditional needs a group_feature")
        return self


class ExplainParams(Frozen):
    """``modelling.explain``: permutation importance on the holdout."""

    scoring: str = "quadratic_weighted_kappa"
    n_repeats: int = Field(10, ge=1)
    seed: int = 0

    @model_validator(mode="after")
    def _known_metric(self) -> ExplainParams:
        if self.scoring not in METRICS:
            raise ValueError(f"scoring {self.scoring!r} is not one of {METRICS}")
        return self
