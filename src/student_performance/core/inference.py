"""Inference: raw rows and a fitted model to classes and probabilities.

The one inference path of the project. The bundled MLflow model (through the modelling
pipeline's inference nodes), batch scoring and drift (``predict_frame``) and the API
(``FastModel.predict_codes`` on one record or a batch) all run these functions:

* ``prepare_features`` cleans raw rows as data_processing does, once per distinct
  spelling of each column (``core.distinct``);
* the model's fitted preprocessing is a table look-up per feature (``core.encoding``),
  built once per model and feature types (``fast_model``) and followed by the fitted
  final estimator, so the probabilities are the model's own to the last bit
  (``tests/core/test_inference.py``);
* one record skips the array machinery where the estimator has a one-row method
  (``OrdinalRidgeClassifier.predict_proba_one``, the same arithmetic);
* a model whose preprocessing cannot be tabulated (a numeric feature, a column
  depending on two features, not a fitted ``Pipeline``) is run as it is.
"""

from __future__ import annotations

import hashlib
import pickle
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from student_performance.core.cleaning import check_columns, clean_text, type_column
from student_performance.core.conformal import apply_set_calibration, set_labels
from student_performance.core.distinct import per_distinct_value
from student_performance.core.encoding import LookupEncoder, probe_codes, tabulate
from student_performance.core.groups import calibration_groups
from student_performance.models.estimators import OrderedClassifier, decide_index
from student_performance.schema import DatasetSchema

PREDICTION = "prediction"
PROBA_PREFIX = "proba_"
PREDICTION_SET = "prediction_set"
SET_SEPARATOR = "|"
_CONTENT_CACHE_SIZE = 8  # fast models kept by model content (copies of one model)


def prepare_features(
    raw_rows: pd.DataFrame, frozen_schema: dict[str, Any] | DatasetSchema
) -> pd.DataFrame:
    """Clean raw rows exactly as data_processing does, features only.

    Each column's distinct spellings are cleaned once (``clean_text`` then
    ``type_column``, the pipelines' code) and spread back to every row.

    Args:
        raw_rows: Raw rows with (at least) the schema's feature columns, as text;
            extra columns such as the target are dropped.
        frozen_schema: The schema the model was trained with (as persisted beside it,
            or already validated).

    Returns:
        The typed feature frame; values outside the allowed sets are NA (imputed by
        the model).
    """
    dataset = (
        frozen_schema
        if isinstance(frozen_schema, DatasetSchema)
        else DatasetSchema.model_validate(frozen_schema)
    )
    features = check_columns(raw_rows, dataset.feature_names, dataset)
    tokens = dataset.missing_tokens
    typed = {
        spec.name: per_distinct_value(
            features[spec.name],
            lambda text, spec=spec: type_column(clean_text(text, tokens), spec),
        )
        for spec in dataset.features
    }
    return pd.DataFrame(typed, index=features.index)


def feature_dtypes(dataset: DatasetSchema) -> list[Any]:
    """Each feature's dtype in ``prepare_features``' output, in schema order."""
    empty = pd.Series([], dtype="string")
    return [type_column(empty, spec).dtype for spec in dataset.features]


@dataclass(frozen=True, eq=False)
class FastModel:
    """A fitted ``OrderedClassifier`` with its preprocessing as table look-ups.

    Attributes:
        encoder: The preprocessing (codes to the model matrix).
        final: The fitted final estimator of the model's pipeline.
        n_classes: The model's classes.
        seen: The class indices the final estimator was fitted on.
        rule: The model's decision rule (``estimator``: the estimator's ``predict``).
        cost: The cost of ``least_expected_cost``.
        direct: The final estimator's probabilities are the model's (every class
            seen, in order, as float64): no zero-padded copy.
        one_row: One record goes through ``final.predict_proba_one``.
    """

    encoder: LookupEncoder
    final: Any
    n_classes: int
    seen: np.ndarray
    rule: str
    cost: Any
    direct: bool
    one_row: bool

    def proba(self, matrix: np.ndarray) -> np.ndarray:
        """The model's ``predict_proba`` of an encoded matrix."""
        if self.direct:
            return self.final.predict_proba(matrix)
        proba = np.zeros((len(matrix), self.n_classes))
        proba[:, self.seen] = self.final.predict_proba(matrix)
        return proba

    def predict_codes(
        self, codes: np.ndarray, *, row_path: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Class indices and probabilities of rows of codes.

        Args:
            codes: Integer array (rows x features, -1 = missing).
            row_path: One row goes through the estimator's one-row method when it
                has one (``False``: always the array path).

        Returns:
            The predicted class index per row and the probabilities (rows x classes).
        """
        matrix = self.encoder.transform(codes)
        if row_path and self.one_row and len(codes) == 1:
            proba = np.array([self.final.predict_proba_one(matrix)])
        else:
            proba = self.proba(matrix)
        if self.rule == "estimator":
            return np.asarray(self.final.predict(matrix), dtype=int), proba
        # the decision rule on the probabilities just computed, as predict_index
        return decide_index(proba, self.rule, self.cost), proba


def _build(model: Any, names: Sequence[str], dtypes: Sequence[Any]) -> FastModel | None:
    """The ``FastModel`` of a model, or ``None`` when its preprocessing cannot be
    tabulated (see the module docstring)."""
    from sklearn.pipeline import Pipeline  # noqa: PLC0415

    estimator = getattr(model, "estimator_", None)
    if not isinstance(estimator, Pipeline) or len(estimator) < 2:  # noqa: PLR2004
        return None
    if not all(isinstance(d, pd.CategoricalDtype) for d in dtypes):
        return None
    encoder = tabulate(estimator[:-1], names, dtypes)
    if encoder is None:
        return None
    final = estimator[-1]
    n_classes = len(model.classes_)
    seen = np.asarray(final.classes_, dtype=int)
    sizes = [len(d.categories) for d in dtypes]
    probe = encoder.transform(probe_codes(sizes, 2, 0))
    direct = bool(
        np.array_equal(seen, np.arange(n_classes))
        and final.predict_proba(probe).dtype == np.float64
    )
    return FastModel(
        encoder=encoder,
        final=final,
        n_classes=n_classes,
        seen=seen,
        rule=getattr(model, "decision", "estimator"),
        cost=getattr(model, "cost", "absolute"),
        direct=direct,
        one_row=direct and hasattr(final, "predict_proba_one"),
    )


_LOCK = threading.Lock()
_BY_OBJECT: weakref.WeakKeyDictionary[Any, dict[tuple, FastModel | None]] = (
    weakref.WeakKeyDictionary()
)
_BY_CONTENT: OrderedDict[tuple, FastModel | None] = OrderedDict()


def _content_key(model: Any) -> bytes | None:
    """A digest of the pickled model: copies of one model (the bundled model's
    catalog is deep-copied on every ``predict``) share their fast model."""
    try:
        return hashlib.blake2b(pickle.dumps(model, protocol=5), digest_size=16).digest()
    except Exception:  # noqa: BLE001 - an unpicklable model is built per object
        return None


def fast_model(
    model: Any, names: Sequence[str], dtypes: Sequence[Any]
) -> FastModel | None:
    """The model's ``FastModel`` for these feature columns and dtypes (built once per
    model, kept while the model lives), or ``None`` (run the model as it is)."""
    key = (tuple(names), tuple(dtypes))
    with _LOCK:
        per_object = _BY_OBJECT.get(model)
        if per_object is not None and key in per_object:
            return per_object[key]
    content = _content_key(model)
    with _LOCK:
        hit = content is not None and (content, key) in _BY_CONTENT
        built = _BY_CONTENT.get((content, key)) if hit else None
    if not hit:
        built = _build(model, names, dtypes)
    with _LOCK:
        if content is not None:
            _BY_CONTENT[(content, key)] = built
            while len(_BY_CONTENT) > _CONTENT_CACHE_SIZE:
                _BY_CONTENT.popitem(last=False)
        _BY_OBJECT.setdefault(model, {})[key] = built
    return built


def feature_codes(features: pd.DataFrame) -> np.ndarray:
    """Rows of codes (positions in each column's categories, -1 missing)."""
    return np.column_stack(
        [features[name].cat.codes.to_numpy(dtype=np.intp) for name in features]
    )


def predict_frame(
    model: OrderedClassifier,
    features: pd.DataFrame,
    set_calibration: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """Predicted class, one probability per class and the prediction set, per row.

    Args:
        model: The fitted model.
        features: Output of ``prepare_features``.
        set_calibration: The conformal calibration persisted beside the model
            (``core.conformal.fit_prediction_sets``); ``None``: no set column.

    Returns:
        ``prediction``, ``proba_<class>`` per class, then ``prediction_set`` (the
        set's classes in order, joined by ``|``), same index as ``features``.
    """
    fast = (
        fast_model(model, list(features.columns), list(features.dtypes))
        if len(features) and len(features.columns)
        else None
    )
    if fast is None:
        proba = model.predict_proba(features)
        predicted = model.predict_index(features)
    else:
        predicted, proba = fast.predict_codes(feature_codes(features), row_path=False)
    columns = [f"{PROBA_PREFIX}{c}" for c in model.classes_]
    result = pd.DataFrame(proba, columns=columns, index=features.index)
    result.insert(0, PREDICTION, model.classes_[predicted])
    if set_calibration is not None:
        groups = calibration_groups(set_calibration, features)
        members = apply_set_calibration(proba, set_calibration, predicted, groups)
        result[PREDICTION_SET] = _set_texts(members, list(model.classes_), result.index)
    return result


def _set_texts(members: np.ndarray, classes: list[str], index: pd.Index) -> pd.Series:
    """Each row's set as text (its classes in order, joined by ``|``), written once
    per distinct set (rows x classes of membership, as one integer per row)."""
    bits = 1 << np.arange(len(classes), dtype=np.int64)
    pattern = pd.Series(np.asarray(members, dtype=np.int64) @ bits, index=index)

    def texts(distinct: pd.Series) -> pd.Series:
        rows = (distinct.to_numpy()[:, None] & bits) > 0
        return pd.Series(
            [SET_SEPARATOR.join(labels) for labels in set_labels(rows, classes)],
            dtype=object,
        )

    return per_distinct_value(pattern, texts)
