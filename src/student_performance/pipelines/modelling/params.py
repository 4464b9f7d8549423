"""Typed settings of the modelling pipeline's own nodes (``params:modelling.*``).

The groups the CV engine shares with the registry gate and the studies (split, cv,
candidates, selection, decision, conformal, explain) are in ``core/params.py``.
"""

from pydantic import Field

from student_performance.frozen import Frozen


class PreflightParams(Frozen):
    """Minimums for training (``params:modelling.preflight``).

    Attributes:
        min_rows: Rows the primary table must hold.
        min_class_rows: Development rows every class present must hold after the
            holdout; ``None`` means one per CV fold (``cv.n_splits``).
    """

    min_rows: int = Field(50, ge=2)
    min_class_rows: int | None = Field(None, ge=1)
