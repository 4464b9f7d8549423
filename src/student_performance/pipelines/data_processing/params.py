"""Typed settings of the data_processing pipeline (``params:data_processing.*``)."""

from pydantic import Field

from student_performance.frozen import Frozen


class QualityParams(Frozen):
    """Data-quality settings (``params:data_processing.quality``).

    Attributes:
        max_missing_share: A column with a larger share of missing values is logged
            as a WARNING.
        max_invalid_share: Same for values outside the allowed set.
        max_malformed_share: The run stops when a larger share of the file's records
            are malformed (probably the wrong delimiter or quoting); below it they are
            quarantined as ``malformed_record``.
        tolerant_headers: Match column names after trimming, case-folding and
            collapsing inner white space; ``False`` requires exact names.
    """

    max_missing_share: float = Field(0.02, ge=0, le=1)
    max_invalid_share: float = Field(0.0, ge=0, le=1)
    max_malformed_share: float = Field(0.10, ge=0, le=1)
    tolerant_headers: bool = True
