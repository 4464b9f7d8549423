"""The dataset schema: the one description of the table that every pipeline reads.

The schema itself lives in conf (``parameters.yml``, key ``dataset``); these Pydantic
models only check its shape. Kedro (>= 1.4) builds them from the parameters for any
node whose argument is annotated with ``DatasetSchema``, so a malformed schema fails
before the first node runs.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from student_performance.frozen import Frozen


class FeatureKind(StrEnum):
    """How a feature is typed and encoded."""

    NOMINAL = "nominal"
    ORDINAL = "ordinal"
    NUMERIC = "numeric"


class FeatureSpec(Frozen):
    """One feature column.

    ``values`` lists the allowed canonical spellings (nominal) or the order from
    lowest to highest (ordinal); numeric features take an optional ``min`` / ``max``.
    """

    name: str
    kind: FeatureKind
    values: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _check_kind(self) -> FeatureSpec:
        if self.kind is FeatureKind.NUMERIC and self.values:
            raise ValueError(f"numeric feature {self.name!r} cannot list values")
        if self.kind is not FeatureKind.NUMERIC and len(self.values) < 2:  # noqa: PLR2004
            raise ValueError(f"feature {self.name!r} needs at least two values")
        if len({v.casefold() for v in self.values}) != len(self.values):
            raise ValueError(f"feature {self.name!r} lists a value twice")
        return self

    @property
    def is_categorical(self) -> bool:
        return self.kind is not FeatureKind.NUMERIC


class TargetSpec(Frozen):
    """The target column and its classes, lowest first when ``ordinal``."""

    name: str
    classes: tuple[str, ...] = Field(min_length=2)
    ordinal: bool = True


class DatasetSchema(Frozen):
    """Everything the code needs to know about one tabular dataset."""

    name: str
    target: TargetSpec
    features: tuple[FeatureSpec, ...] = Field(min_length=1)
    missing_tokens: tuple[str, ...] = ("", "nan", "none", "null", "na", "n/a", "?")
    drop_columns: tuple[str, ...] = ()
    unknown_columns: Literal["drop", "error"] = "drop"
    duplicates: Literal["keep_first", "keep_all"] = "keep_first"
    sensitive_features: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check_names(self) -> DatasetSchema:
        names = [self.target.name, *self.feature_names]
        if len(set(names)) != len(names):
            raise ValueError("column names in the schema must be unique")
        overlap = set(names) & set(self.drop_columns)
        if overlap:
            raise ValueError(f"columns both used and dropped: {sorted(overlap)}")
        return self

    @model_validator(mode="after")
    def _check_sensitive(self) -> DatasetSchema:
        """Sensitive features are categorical features of this schema, once each."""
        names = self.sensitive_features
        if len(set(names)) != len(names):
            raise ValueError("a sensitive feature is listed twice")
        for name in names:
            if name not in self.feature_names:
                raise ValueError(f"sensitive feature {name!r} is not a feature")
            if not self.feature(name).is_categorical:
                raise ValueError(f"sensitive feature {name!r} must be categorical")
        return self

    def without(self, names: tuple[str, ...] | list[str]) -> DatasetSchema:
        """This schema with the named features left out (and out of the sensitive
        list): what a model trained without them is given and asks for."""
        unknown = set(names) - set(self.feature_names)
        if unknown:
            raise ValueError(f"cannot exclude unknown features {sorted(unknown)}")
        return self.model_copy(
            update={
                "features": tuple(f for f in self.features if f.name not in names),
                "sensitive_features": tuple(
                    f for f in self.sensitive_features if f not in names
                ),
            }
        )

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def columns(self) -> list[str]:
        """Target first, then the features, in schema order."""
        return [self.target.name, *self.feature_names]

    def feature(self, name: str) -> FeatureSpec:
        return next(f for f in self.features if f.name == name)

    def features_of_kind(self, kind: FeatureKind) -> list[str]:
        return [f.name for f in self.features if f.kind is kind]
