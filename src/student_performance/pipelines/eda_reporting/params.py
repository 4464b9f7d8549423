"""Typed settings of the eda_reporting pipeline (``params:eda_reporting.*``)."""

from typing import Literal

from pydantic import Field

from student_performance.frozen import Frozen


class AssociationParams(Frozen):
    """``eda_reporting.association``: how associations are measured and ranked."""

    numeric_bins: int = Field(5, ge=2)
    rank_by: Literal["cramers_v", "mutual_info"] = "cramers_v"


class FindingsParams(Frozen):
    """``eda_reporting.findings``: the thresholds that turn numbers into findings."""

    top_associations: int = Field(3, ge=1)
    weak_association: float = Field(0.1, ge=0, le=1)
    high_missing_share: float = Field(0.015, ge=0, le=1)
    rare_value_share: float = Field(0.02, ge=0, le=1)
    imbalance_ratio: float = Field(1.5, ge=1)
