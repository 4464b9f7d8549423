"""Preprocessing built from the dataset schema, fitted inside every CV training fold."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
)

from student_performance.schema import DatasetSchema, FeatureKind


def _as_object(frame: pd.DataFrame) -> np.ndarray:
    # Categoricals and pandas NA -> object array with np.nan, which SimpleImputer and
    # the encoders understand.
    return frame.astype(object).where(frame.notna(), np.nan).to_numpy()


def _as_float(frame: pd.DataFrame) -> np.ndarray:
    return frame.to_numpy(dtype="float64", na_value=np.nan)


def build_preprocessor(
    dataset: DatasetSchema, ordinal_as: str = "codes"
) -> ColumnTransformer:
    """One-hot for nominal features, order-aware codes for ordinal, scaled numerics.

    Missing values are imputed (most frequent / median) from the training fold only;
    categories unseen in the training fold are ignored (all-zero one-hot) or coded as
    missing (ordinal), never learned.

    Args:
        dataset: The schema (feature kinds and orders).
        ordinal_as: ``codes`` (the class index, scaled) or ``onehot``.

    Returns:
        An unfitted ``ColumnTransformer`` taking the schema's feature columns.
    """
    nominal = dataset.features_of_kind(FeatureKind.NOMINAL)
    ordinal = dataset.features_of_kind(FeatureKind.ORDINAL)
    numeric = dataset.features_of_kind(FeatureKind.NUMERIC)
    to_object = FunctionTransformer(_as_object, feature_names_out="one-to-one")
    one_hot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    steps: list[tuple[str, Pipeline, list[str]]] = []
    onehot_cols = nominal + (ordinal if ordinal_as == "onehot" else [])
    if onehot_cols:
        imputer = SimpleImputer(strategy="most_frequent")
        steps.append(
            ("onehot", make_pipeline(to_object, imputer, one_hot), onehot_cols)
        )
    if ordinal and ordinal_as == "codes":
        orders = [list(dataset.feature(name).values) for name in ordinal]
        encoder = OrdinalEncoder(
            categories=orders, handle_unknown="use_encoded_value", unknown_value=np.nan
        )
        imputer = SimpleImputer(strategy="most_frequent")
        steps.append(
            (
                "ordinal",
                make_pipeline(to_object, encoder, imputer, StandardScaler()),
                ordinal,
            )
        )
    if numeric:
        to_float = FunctionTransformer(_as_float, feature_names_out="one-to-one")
        imputer = SimpleImputer(strategy="median")
        steps.append(
            ("numeric", make_pipeline(to_float, imputer, StandardScaler()), numeric)
        )
    return ColumnTransformer(steps, verbose_feature_names_out=True)
