"""The served model's answers: the core's inference on validated records.

A thin adapter: records arrive as schema positions (``records``: the pipelines'
cleaning code, memoised per spelling) and are scored by ``core.inference`` (the
look-up encoding of the model's preprocessing, the one-row path for ``/predict``),
the path batch scoring and the bundled MLflow model run. A model whose preprocessing
cannot be tabulated (a numeric feature) is run on the canonical values as text, through
``prepare_features`` and ``predict_frame``. Prediction sets and explanations are the
core's too (``core.conformal``, ``core.explain``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from student_performance.core.conformal import (
    apply_set_calibration,
    row_prediction_set,
    set_labels,
)
from student_performance.core.explain import (
    EXPLANATION_UNITS,
    explanation_kind,
    feature_contributions,
    top_contributions,
)
from student_performance.core.inference import (
    PREDICTION,
    PROBA_PREFIX,
    fast_model,
    feature_dtypes,
    predict_frame,
    prepare_features,
)
from student_performance.schema import DatasetSchema


class Predictor:
    """Predicted class and class probabilities for validated records.

    Args:
        model_selected: The fitted model of the bundled MLflow model.
        model_dataset_schema: The schema it was trained with (as persisted).
        set_calibration: The prediction sets' conformal calibration bundled with the
            model (``None`` for a model trained before sets: no sets).
    """

    def __init__(
        self,
        model_selected: Any,
        model_dataset_schema: dict[str, Any],
        set_calibration: dict[str, Any] | None = None,
    ) -> None:
        self.model = model_selected
        self.set_calibration = set_calibration
        # the calibration's thresholds as an array once, not per request
        self._set_calibration = (
            None
            if set_calibration is None
            else set_calibration
            | {"thresholds": np.asarray(set_calibration["thresholds"], dtype=float)}
        )
        self._set_thresholds = (
            None
            if set_calibration is None
            else [float(t) for t in set_calibration["thresholds"]]
        )
        self.schema_data = model_dataset_schema
        self.dataset = DatasetSchema.model_validate(model_dataset_schema)
        self.classes = [str(c) for c in model_selected.classes_]
        self._class_index = {name: i for i, name in enumerate(self.classes)}
        self.fast = fast_model(
            model_selected, self.dataset.feature_names, feature_dtypes(self.dataset)
        )
        # The reference student of linear explanations: every feature missing, i.e.
        # imputed to its most common training value.
        self._baseline = (
            None
            if self.fast is None
            else self.fast.encoder.transform(
                np.full((1, len(self.dataset.features)), -1, dtype=np.intp)
            )
        )

    @property
    def fast_path(self) -> bool:
        """Whether predictions use the look-up encoding."""
        return self.fast is not None

    @property
    def explanation_units(self) -> str | None:
        """What the contributions measure, or ``None`` when answers are not explained
        (an estimator without cheap exact contributions, or no look-up path)."""
        if self.fast is None:
            return None
        kind = explanation_kind(self.fast.final)
        return None if kind is None else EXPLANATION_UNITS[kind]

    def explain_codes(
        self, codes: Sequence[Sequence[int]], labels: list[str]
    ) -> list[dict[str, float]] | None:
        """Each row's per-feature contributions, largest first (``core.explain``).

        Args:
            codes: Rows of codes, as for ``predict_values``.
            labels: The predicted class of each row.

        Returns:
            Feature to contribution per row, or ``None`` when not available.
        """
        if self.explanation_units is None:
            return None
        fast = self.fast
        codes = np.asarray(codes, dtype=np.intp).reshape(len(labels), -1)
        predicted = np.array([self._class_index[label] for label in labels])
        contributions = feature_contributions(
            fast.final,
            fast.encoder.transform(codes),
            self._baseline,
            fast.encoder.columns,
            predicted,
        )
        names = self.dataset.feature_names
        return [top_contributions(row, names) for row in contributions]

    @property
    def decision_rule(self) -> str:
        """How the class follows from the probabilities, in one sentence."""
        describe = getattr(self.model, "decision_rule", None)
        return describe or "the class is the estimator's own prediction"

    @property
    def set_level(self) -> float | None:
        """The prediction sets' coverage level, or ``None`` without sets."""
        calibration = self.set_calibration
        return None if calibration is None else float(calibration["level"])

    def prediction_sets(
        self, proba: np.ndarray, labels: list[str]
    ) -> list[list[str]] | None:
        """Each row's prediction set (classes in order, holding the row's predicted
        class), or ``None`` without sets."""
        calibration = self._set_calibration
        if calibration is None:
            return None
        if len(labels) == 1:  # one record: plain Python, the same comparisons
            members = row_prediction_set(
                proba[0].tolist(),
                self._set_thresholds,
                calibration["contiguous"],
                self._class_index[labels[0]],
            )
            return [[c for c, m in zip(self.classes, members, strict=True) if m]]
        predicted = np.array([self._class_index[label] for label in labels])
        members = apply_set_calibration(np.asarray(proba), calibration, predicted)
        return set_labels(members, self.classes)

    def predict_values(
        self, rows: Sequence[tuple[str | float | None, ...]], codes: list[list[int]]
    ) -> tuple[list[str], np.ndarray]:
        """Classes and probabilities for rows of canonical values.

        Args:
            rows: Canonical values per row (schema order, ``None`` = missing).
            codes: The same rows as schema positions (used by the look-up path).

        Returns:
            The predicted class of each row and the probabilities (rows x classes).
        """
        if self.fast is not None:
            index, proba = self.fast.predict_codes(
                np.asarray(codes, dtype=np.intp).reshape(len(rows), -1)
            )
            classes = self.classes
            return [classes[i] for i in index.tolist()], proba
        text = pd.DataFrame(
            [["" if v is None else str(v) for v in row] for row in rows],
            columns=self.dataset.feature_names,
            dtype="string",
        )
        result = predict_frame(self.model, prepare_features(text, self.schema_data))
        proba = result[[f"{PROBA_PREFIX}{c}" for c in self.classes]].to_numpy()
        return [str(v) for v in result[PREDICTION]], proba
