"""The served model's inference, without Kedro's runner on every call.

The bundled MLflow model runs two nodes (``prepare_inference_features`` then
``predict_performance``, thin wrappers of ``core.inference``) through a Kedro runner, after deep-copying its catalog: about
60 ms per call. ``Predictor`` calls the same model object's ``predict_proba`` and
``predict_index`` (what ``core.inference.predict_frame`` calls) on the same encoded matrix, so
the answer is the same to the last bit, only faster:

* Cleaning: request values are already canonical (``records``: the pipelines' cleaning
  code, memoised per spelling), so rows arrive as schema positions (codes, -1 missing).
* Encoding: the fitted preprocessing of this project (impute, one-hot / ordinal codes,
  scale) works column by column on categorical features, so each feature's encoded
  block depends on that feature's value alone. At load time the fitted preprocessor
  itself is run on probe rows covering every value (and missing) of every feature,
  each feature's block is tabulated, and the tables are checked against the fitted
  preprocessor on a second, independent set of random rows, end to end (encoded matrix,
  probabilities and classes, in batches and single rows). Encoding a request is then a
  table look-up instead of ~5 ms of pandas and scikit-learn validation.
* When that check fails, or a feature is numeric (no finite domain to tabulate), the
  predictor falls back to the nodes themselves on a text frame; ``fast_path`` says
  which one is used.
* One record (``/predict``): its row is the features' blocks joined, and an estimator
  with a one-row method (``OrdinalRidgeClassifier.predict_proba_one``) scores it
  without array overhead; used only when it gives ``predict_proba``'s bits on probe
  rows at load.
"""

from __future__ import annotations

import copy
import logging
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
    predict_frame,
    prepare_features,
)
from student_performance.schema import DatasetSchema, FeatureKind

logger = logging.getLogger(__name__)

_PROBE_ROWS = 512
_CHECK_SINGLE_ROWS = 16


class _LookupEncoder:
    """The fitted preprocessor as one table per feature (codes in, matrix out).

    Args:
        columns: Per feature, the output columns it owns.
        tables: Per feature, its block for each value in schema order, then for a
            missing value (code -1 picks the last row).
        width: Number of output columns.
        dtype: The preprocessor's output dtype.
    """

    def __init__(
        self,
        columns: list[np.ndarray],
        tables: list[np.ndarray],
        width: int,
        dtype: np.dtype,
    ) -> None:
        self.columns = columns
        self.tables = tables
        self.width = width
        self.dtype = dtype
        # Every table in one flat array, and for each output column: its feature,
        # where its value for that feature's first row sits, and the step to the
        # next row. Encoding is then one gather for any number of features.
        self._flat = np.concatenate([t.ravel() for t in tables]).astype(dtype)
        self._rows = np.array([len(t) for t in tables], dtype=np.intp)
        self._feature = np.empty(width, dtype=np.intp)
        self._start = np.empty(width, dtype=np.intp)
        self._step = np.empty(width, dtype=np.intp)
        offset = 0
        for j, (owned, table) in enumerate(zip(columns, tables, strict=True)):
            self._feature[owned] = j
            self._start[owned] = offset + np.arange(table.shape[1])
            self._step[owned] = table.shape[1]
            offset += table.size
        # One row: when every feature owns a run of adjacent columns, its encoding
        # is the features' blocks joined in column order (one concatenate).
        order = sorted(range(len(columns)), key=lambda j: int(np.min(columns[j])))
        joined = np.concatenate([np.asarray(columns[j]) for j in order])
        self._row_order = (
            [(j, tables[j]) for j in order]
            if np.array_equal(joined, np.arange(width))
            else None
        )

    def transform(self, codes: np.ndarray) -> np.ndarray:
        """Encode rows of codes (n x features, -1 = missing) into the model matrix.

        Code -1 picks a table's last row (missing), as Python indexing would. The
        matrix is C-ordered like the preprocessor's: the estimator's product then
        sums in the same order, to the same last bit.
        """
        if len(codes) == 1 and self._row_order is not None:
            row = codes[0]
            blocks = [table[row[j]] for j, table in self._row_order]
            return np.concatenate(blocks).astype(self.dtype, copy=False)[None, :]
        rows = (codes % self._rows)[:, self._feature]
        return np.ascontiguousarray(self._flat[self._start + rows * self._step])


class _EncodedEstimator:
    """Look-up encoding followed by the fitted final estimator (a Pipeline's job)."""

    def __init__(self, encoder: _LookupEncoder, final: Any) -> None:
        self.encoder = encoder
        self.final = final

    @property
    def classes_(self) -> np.ndarray:
        return self.final.classes_

    def predict_proba(self, codes: np.ndarray) -> np.ndarray:
        return self.final.predict_proba(self.encoder.transform(np.asarray(codes)))

    def predict(self, codes: np.ndarray) -> np.ndarray:
        return self.final.predict(self.encoder.transform(np.asarray(codes)))


def _probe_codes(sizes: list[int], n_rows: int, seed: int) -> np.ndarray:
    """Rows of codes: every value and missing of every feature, then random rows."""
    rng = np.random.default_rng(seed)
    cycle = np.array(
        [[(i % (size + 1)) - 1 for size in sizes] for i in range(max(sizes) + 1)]
    )
    random = np.column_stack([rng.integers(-1, size, n_rows) for size in sizes])
    return np.vstack([cycle, random]).astype(np.intp)


def _text_frame(codes: np.ndarray, dataset: DatasetSchema) -> pd.DataFrame:
    """Raw text rows for codes: the canonical spellings, '' for missing."""
    return pd.DataFrame(
        {
            spec.name: pd.Series(
                np.append(np.asarray(spec.values, dtype=object), "")[codes[:, j]],
                dtype="string",
            )
            for j, spec in enumerate(dataset.features)
        }
    )


def _owned_columns(
    matrix: np.ndarray, codes: np.ndarray, sizes: list[int]
) -> list[list[int]] | None:
    """For each feature, the output columns that depend on that feature alone."""
    owned: list[list[int]] = [[] for _ in sizes]
    for column in range(matrix.shape[1]):
        values = matrix[:, column]
        for j, size in enumerate(sizes):
            if all(
                np.unique(values[codes[:, j] == code]).size <= 1
                for code in range(-1, size)
            ):
                owned[j].append(column)
                break
        else:
            return None
    return owned


def _tabulate(
    preprocess: Any, dataset: DatasetSchema, seed: int
) -> _LookupEncoder | None:
    sizes = [len(spec.values) for spec in dataset.features]
    codes = _probe_codes(sizes, _PROBE_ROWS, seed)
    features = prepare_features(_text_frame(codes, dataset), dataset.model_dump())
    matrix = np.asarray(preprocess.transform(features))
    if matrix.ndim != 2 or not np.isfinite(matrix).all():  # noqa: PLR2004
        return None
    owned = _owned_columns(matrix, codes, sizes)
    if owned is None:
        return None
    tables = []
    for j, size in enumerate(sizes):
        columns = owned[j]
        order = list(range(size)) + [-1]
        first = [int(np.flatnonzero(codes[:, j] == code)[0]) for code in order]
        tables.append(matrix[np.ix_(first, columns)])
    return _LookupEncoder(
        [np.asarray(c, dtype=np.intp) for c in owned],
        tables,
        matrix.shape[1],
        matrix.dtype,
    )


def _same(left: Any, right: Any) -> bool:
    left, right = np.asarray(left), np.asarray(right)
    return left.shape == right.shape and bool(np.array_equal(left, right))


def _compile(model: Any, dataset: DatasetSchema, seed: int = 0) -> Any | None:
    """A copy of the model whose preprocessing is table look-ups, or ``None``.

    ``None`` when the model is not a fitted ``Pipeline`` (preprocessing then an
    estimator), a feature is numeric, a column depends on more than one feature, or
    the copy does not answer exactly as the model on fresh random rows.
    """
    from sklearn.pipeline import Pipeline  # noqa: PLC0415

    estimator = getattr(model, "estimator_", None)
    if any(spec.kind is FeatureKind.NUMERIC for spec in dataset.features):
        return None
    if not isinstance(estimator, Pipeline) or len(estimator) < 2:  # noqa: PLR2004
        return None
    preprocess, final = estimator[:-1], estimator[-1]
    encoder = _tabulate(preprocess, dataset, seed)
    if encoder is None:
        return None
    compiled = copy.copy(model)
    compiled.estimator_ = _EncodedEstimator(encoder, final)
    sizes = [len(spec.values) for spec in dataset.features]
    check = _probe_codes(sizes, _PROBE_ROWS, seed + 1)
    features = prepare_features(_text_frame(check, dataset), dataset.model_dump())
    same = _same(encoder.transform(check), preprocess.transform(features))
    same = same and _same_answers(model, compiled, features, check)
    for row in range(_CHECK_SINGLE_ROWS):
        one = features.iloc[[row]]
        same = same and _same_answers(model, compiled, one, check[[row]])
    return compiled if same else None


def _same_answers(
    model: Any, compiled: Any, features: pd.DataFrame, codes: np.ndarray
) -> bool:
    return _same(model.predict_proba(features), compiled.predict_proba(codes)) and (
        _same(model.predict_index(features), compiled.predict_index(codes))
    )


def _direct_is_same(compiled: Any, dataset: DatasetSchema) -> bool:
    """Whether the encoded estimator's own probabilities are the model's: every class
    seen in training, in order, as float64 (the wrapper then only copies them into a
    zero array), checked on probe rows of one and of many."""
    encoded = compiled.estimator_
    seen = np.asarray(encoded.classes_)
    if not np.array_equal(seen, np.arange(len(compiled.classes_))):
        return False
    sizes = [len(spec.values) for spec in dataset.features]
    probe = _probe_codes(sizes, 64, 2)
    direct = encoded.predict_proba(probe)
    return direct.dtype == np.float64 and all(
        _same(encoded.predict_proba(rows), compiled.predict_proba(rows))
        for rows in (probe, probe[:1])
    )


def _one_row_is_same(compiled: Any, dataset: DatasetSchema) -> bool:
    """Whether the final estimator's ``predict_proba_one`` (one row without array
    overhead, e.g. ``OrdinalRidgeClassifier``'s) gives its ``predict_proba`` bit for
    bit, on probe rows one at a time."""
    encoded = compiled.estimator_
    one = getattr(encoded.final, "predict_proba_one", None)
    if one is None:
        return False
    sizes = [len(spec.values) for spec in dataset.features]
    probe = _probe_codes(sizes, 64, 3)
    return all(
        _same(
            np.array([one(encoded.encoder.transform(probe[[i]]))]),
            compiled.predict_proba(probe[[i]]),
        )
        for i in range(len(probe))
    )


class Predictor:
    """Predicted class and class probabilities for validated records.

    Args:
        model_selected: The fitted model of the bundled MLflow model.
        model_dataset_schema: The schema it was trained with (as persisted).
        fast: Try the look-up encoding (see the module docstring).
        set_calibration: The prediction sets' conformal calibration bundled with the
            model (``None`` for a model trained before sets: no sets).
    """

    def __init__(
        self,
        model_selected: Any,
        model_dataset_schema: dict[str, Any],
        fast: bool = True,
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
        self._compiled = _compile(model_selected, self.dataset) if fast else None
        # The reference student of linear explanations: every feature missing, i.e.
        # imputed to its most common training value.
        self._baseline = (
            None
            if self._compiled is None
            else self._compiled.estimator_.encoder.transform(
                np.full((1, len(self.dataset.features)), -1, dtype=np.intp)
            )
        )
        self._direct = self._compiled is not None and _direct_is_same(
            self._compiled, self.dataset
        )
        self._one = self._direct and _one_row_is_same(self._compiled, self.dataset)
        if fast and self._compiled is None:
            logger.warning(
                "Look-up encoding not applicable to this model: serving through the "
                "inference nodes (slower, same answers)"
            )

    @property
    def explanation_units(self) -> str | None:
        """What the contributions measure, or ``None`` when answers are not explained
        (an estimator without cheap exact contributions, or no look-up path)."""
        if self._compiled is None:
            return None
        kind = explanation_kind(self._compiled.estimator_.final)
        return None if kind is None else EXPLANATION_UNITS[kind]

    def explain_codes(
        self, codes: np.ndarray, labels: list[str]
    ) -> list[dict[str, float]] | None:
        """Each row's per-feature contributions, largest first (``core.explain``).

        Args:
            codes: Rows of codes, as for ``predict_codes``.
            labels: The predicted class of each row.

        Returns:
            Feature to contribution per row, or ``None`` when not available.
        """
        if self.explanation_units is None:
            return None
        encoded = self._compiled.estimator_
        codes = np.asarray(codes, dtype=np.intp).reshape(len(labels), -1)
        predicted = np.array([self._class_index[label] for label in labels])
        contributions = feature_contributions(
            encoded.final,
            encoded.encoder.transform(codes),
            self._baseline,
            encoded.encoder.columns,
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

    @property
    def fast_path(self) -> bool:
        """Whether predictions use the look-up encoding."""
        return self._compiled is not None

    def predict_codes(self, codes: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Classes and probabilities for rows of codes (look-up path only).

        Args:
            codes: Integer array (rows x features, schema order, -1 = missing).

        Returns:
            The predicted class of each row and the probabilities (rows x classes).
        """
        model = self._compiled
        encoded = model.estimator_
        if self._one and len(codes) == 1:  # one record: the estimator's row path
            row = encoded.final.predict_proba_one(encoded.encoder.transform(codes))
            proba = np.array([row])
        elif self._direct:  # every class seen: the wrapper would only copy
            proba = encoded.predict_proba(codes)
        else:
            proba = model.predict_proba(codes)
        # The decision rule on the probabilities just computed (not a second pass);
        # the same function predict_index applies, so the same classes.
        index = model.index_from_proba(proba)
        if index is None:
            index = model.predict_index(codes)
        classes = self.classes  # model.classes_ as str
        return [classes[i] for i in index.tolist()], proba

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
        if self._compiled is not None:
            return self.predict_codes(
                np.asarray(codes, dtype=np.intp).reshape(len(rows), -1)
            )
        text = pd.DataFrame(
            [["" if v is None else str(v) for v in row] for row in rows],
            columns=self.dataset.feature_names,
            dtype="string",
        )
        result = self.predict_frame(text)
        proba = result[[f"{PROBA_PREFIX}{c}" for c in self.classes]].to_numpy()
        return [str(v) for v in result[PREDICTION]], proba

    def predict_frame(self, raw_rows: pd.DataFrame) -> pd.DataFrame:
        """The inference nodes on raw text rows, as the bundled model runs them."""
        features = prepare_features(raw_rows, self.schema_data)
        return predict_frame(self.model, features)
