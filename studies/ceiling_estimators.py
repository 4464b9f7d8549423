"""The study-only estimators and encodings of ``model_ceiling.py``.

Regressors on the class index (cut at the training class shares by ``ShareCut``, the
rule of the pipeline's ``OrdinalRidgeClassifier``) and the one-hot, code and
interaction encodings the families are built from.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
)

from student_performance.models.estimators import class_share_thresholds
from student_performance.models.preprocessing import (  # the shipped converter
    _as_object,
)
from student_performance.schema import DatasetSchema


class ShareCut(ClassifierMixin, BaseEstimator):
    """Any regressor on the class index, cut where the training class shares are.

    The same decision rule as ``OrdinalRidgeClassifier`` (and the reference ridge),
    generalised to any regressor so that the study compares regressors, not rules.
    """

    def __init__(self, regressor: BaseEstimator) -> None:
        self.regressor = regressor

    def fit(self, X, y) -> ShareCut:  # noqa: N803 - scikit-learn's names
        y = np.asarray(y)
        self.classes_ = np.arange(y.max() + 1)
        self.regressor_ = clone(self.regressor).fit(X, y)
        self.thresholds_ = class_share_thresholds(
            self.regressor_.predict(X), y, len(self.classes_)
        )
        return self

    def predict(self, X) -> np.ndarray:  # noqa: N803
        return np.searchsorted(self.thresholds_, self.regressor_.predict(X))


class CumulativeBinary(RegressorMixin, BaseEstimator):
    """Frank & Hall: one logistic model per "above class k"; the score is their sum.

    The sum of P(y > k) is the expected class index under the cumulative model, so it
    is a regressor on the class index that ``ShareCut`` can cut.
    """

    def __init__(self, C: float = 0.3) -> None:  # noqa: N803
        self.C = C

    def fit(self, X, y) -> CumulativeBinary:  # noqa: N803
        y = np.asarray(y)
        self.models_ = [
            LogisticRegression(C=self.C, max_iter=2000).fit(X, (y > k).astype(int))
            for k in range(y.max())
        ]
        return self

    def predict(self, X) -> np.ndarray:  # noqa: N803
        return sum(model.predict_proba(X)[:, 1] for model in self.models_)


class ExpectedIndex(RegressorMixin, BaseEstimator):
    """Multinomial logistic regression, read as the expected class index."""

    def __init__(self, C: float = 0.3) -> None:  # noqa: N803
        self.C = C

    def fit(self, X, y) -> ExpectedIndex:  # noqa: N803
        self.model_ = LogisticRegression(C=self.C, max_iter=2000).fit(X, y)
        return self

    def predict(self, X) -> np.ndarray:  # noqa: N803
        return self.model_.predict_proba(X) @ self.model_.classes_


class Average(RegressorMixin, BaseEstimator):
    """The mean of several regressors' predictions."""

    def __init__(self, regressors: list[BaseEstimator]) -> None:
        self.regressors = regressors

    def fit(self, X, y) -> Average:  # noqa: N803
        self.fitted_ = [clone(r).fit(X, y) for r in self.regressors]
        return self

    def predict(self, X) -> np.ndarray:  # noqa: N803
        return np.mean([r.predict(X) for r in self.fitted_], axis=0)


def onehot(schema: DatasetSchema, missing: str = "most_frequent") -> ColumnTransformer:
    """One-hot for every feature; ``missing`` = ``most_frequent`` or ``category``."""
    imputer = (
        SimpleImputer(strategy="most_frequent")
        if missing == "most_frequent"
        else SimpleImputer(strategy="constant", fill_value="__missing__")
    )
    encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    steps = make_pipeline(FunctionTransformer(_as_object), imputer, encoder)
    return ColumnTransformer([("onehot", steps, schema.feature_names)])


def codes(schema: DatasetSchema) -> ColumnTransformer:
    """Every feature as integer codes (naive Bayes wants them; unseen -> missing)."""
    encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan)
    steps = make_pipeline(
        FunctionTransformer(_as_object),
        SimpleImputer(strategy="most_frequent"),
        encoder,
        SimpleImputer(strategy="most_frequent"),
    )
    return ColumnTransformer([("codes", steps, schema.feature_names)])


def scaled_interactions(scale: float) -> FunctionTransformer:
    """Main effects plus every pairwise product, the products shrunk by ``scale``.

    Scaling a column by s makes ridge's penalty on it 1/s^2 times stronger: the
    interactions are allowed in but kept on a much shorter leash than main effects.
    """
    poly = PolynomialFeatures(2, interaction_only=True, include_bias=False)

    def transform(X: np.ndarray) -> np.ndarray:  # noqa: N803
        expanded = poly.fit_transform(X)
        expanded[:, X.shape[1] :] *= scale
        return expanded

    return FunctionTransformer(transform)
