"""Request records, generated from the dataset schema the served model was trained with.

One Pydantic field per feature, named as in the schema (``"Class_ X_Percentage"``, with
its space, is the field's name; ``Class_X_Percentage`` is accepted too). Values are
normalised by the core cleaning code (``clean_text`` then ``type_column``),
memoised per distinct spelling, so ``" eXCELLENT "`` is read as ``Excellent`` exactly as
in training; a missing token (``"nan"``, ``""``...) or ``null`` means missing and is
imputed by the model. A value the schema does not allow, a value of the wrong JSON type
or an unknown field is an error naming the field, the value and what is allowed.
"""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import pandas as pd
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    create_model,
)
from pydantic_core import PydanticCustomError

from student_performance.core.cleaning import (
    clean_text,
    type_column,
)
from student_performance.schema import DatasetSchema, FeatureKind, FeatureSpec

_INVALID = object()  # sentinel: the cleaning code turned a present value into NA
_MAX_SHOWN = 120  # characters of a rejected value echoed in an error
CACHE_SIZE = 4096  # distinct spellings remembered per feature


def shorten(value: Any, limit: int = _MAX_SHOWN) -> Any:
    """A value fit to echo in an error: long strings and containers are cut short."""
    if isinstance(value, str):
        return value if len(value) <= limit else f"{value[:limit]}..."
    if isinstance(value, dict | list | tuple | bytes):
        text = repr(value)
        return text if len(text) <= limit else f"{text[:limit]}..."
    return value


class FeatureNormaliser:
    """Raw value of one feature to its canonical value, by the pipelines' code.

    ``clean_text`` and ``type_column`` run on a one-element series the first time a
    spelling is seen; the answer is memoised (``CACHE_SIZE`` spellings, least recently
    used dropped first), so the hot path is a dictionary look-up.

    Args:
        spec: The feature (kind, allowed values or numeric range).
        missing_tokens: Spellings that mean missing.
    """

    def __init__(self, spec: FeatureSpec, missing_tokens: tuple[str, ...]) -> None:
        self.spec = spec
        self.missing_tokens = tuple(missing_tokens)
        self.codes = {value: code for code, value in enumerate(spec.values)}
        self._lookup = functools.lru_cache(maxsize=CACHE_SIZE)(self._normalise)

    def _normalise(self, raw: str) -> str | float | None | object:
        text = clean_text(pd.Series([raw], dtype="string"), self.missing_tokens)
        if text.isna().iloc[0]:
            return None
        typed = type_column(text, self.spec).iloc[0]
        if pd.isna(typed):
            return _INVALID
        return float(typed) if self.spec.kind is FeatureKind.NUMERIC else str(typed)

    def lookup(self, raw: str) -> str | float | None | object:
        """The memoised cleaning of one spelling (``_INVALID``: not allowed)."""
        return self._lookup(raw)

    def warm(self) -> None:
        """Normalise the likely spellings now: canonical values in three cases and
        the missing tokens, so that first requests do not pay for pandas."""
        for value in self.spec.values:
            for spelling in (value, value.lower(), value.upper()):
                self._lookup(spelling)
        for token in self.missing_tokens:
            self._lookup(token)

    def allowed(self) -> str:
        """What the feature accepts, in words."""
        if self.spec.kind is FeatureKind.NUMERIC:
            low = "-inf" if self.spec.min is None else self.spec.min
            high = "inf" if self.spec.max is None else self.spec.max
            return f"a number in [{low}, {high}]"
        return "one of " + ", ".join(self.spec.values)

    def __call__(self, raw: str | float | None) -> str | float | None:
        """Validate one value (a Pydantic after-validator).

        Args:
            raw: The value as received (a string, a number for numeric features, or
                ``None``).

        Returns:
            The canonical spelling (categorical), the number (numeric) or ``None``
            (missing).

        Raises:
            PydanticCustomError: ``unknown_value``: the schema does not allow it.
        """
        if raw is None:
            return None
        text = raw if isinstance(raw, str) else repr(raw)
        value = self._lookup(text)
        if value is _INVALID:
            raise PydanticCustomError(
                "unknown_value",
                "{reason}",
                {
                    "reason": (
                        f"{shorten(raw)!r} is not an allowed value of "
                        f"{self.spec.name!r}: {self.allowed()} (case, surrounding "
                        "spaces and missing tokens such as '', 'nan' are accepted; "
                        "null means missing)"
                    ),
                    "field": self.spec.name,
                    "allowed": self.allowed_values(),
                },
            )
        return value

    def allowed_values(self) -> list[str] | dict[str, float | None]:
        """The allowed values (categorical) or the range (numeric), as JSON data."""
        if self.spec.kind is FeatureKind.NUMERIC:
            return {"min": self.spec.min, "max": self.spec.max}
        return list(self.spec.values)


def python_name(feature: str, taken: set[str]) -> str:
    """An identifier for a feature name (``"Class_ X_Percentage"`` -> ``Class_X_...``)."""
    name = re.sub(r"\W+", "_", feature).strip("_") or "feature"
    name = re.sub(r"_+", "_", name)
    if name[0].isdigit() or keyword.iskeyword(name) or hasattr(BaseModel, name):
        name = f"f_{name}"
    while name in taken:
        name = f"{name}_"
    return name


@dataclass(frozen=True)
class RecordSchema:
    """The request record of one served model: Pydantic model plus field look-ups.

    Attributes:
        dataset: The schema the model was trained with.
        model: The generated Pydantic model (one optional field per feature).
        many: Validates a list of records in one call.
        normalisers: One per feature, in schema order.
        attributes: The model's attribute name of each feature, in schema order.
        by_key: Every accepted key (schema name or identifier) to its feature.
        code_tables: Per feature, each allowed value's position in the schema.
    """

    dataset: DatasetSchema
    model: type[BaseModel]
    many: TypeAdapter
    normalisers: tuple[FeatureNormaliser, ...]
    attributes: tuple[str, ...]
    by_key: dict[str, str]
    code_tables: tuple[dict[str, int], ...]

    @property
    def feature_names(self) -> list[str]:
        return self.dataset.feature_names

    def encode(self, record: BaseModel) -> tuple[tuple, list[int]]:
        """A validated record's canonical values and their schema positions.

        Numeric features get -1: the predictor then works on the values (see
        ``Predictor``).
        """
        data = record.__dict__
        values = tuple(data[attribute] for attribute in self.attributes)
        codes = [
            table.get(value, -1) if value is not None else -1
            for table, value in zip(self.code_tables, values, strict=True)
        ]
        return values, codes

    def encode_plain(self, payload: Any) -> tuple[tuple, list[int]] | None:
        """``encode`` of a record that needs no more than the normalisers, without
        building the Pydantic model (most of the cost of a served record's check).

        Only for the plain case: a JSON object whose keys each name a different
        feature and whose values are strings (or ``null``) the schema allows. Anything
        else returns ``None``: the caller validates with ``model``, which accepts or
        refuses it with its error. Plain records get the values ``model`` would give:
        the same normaliser per feature, ``None`` for an absent field.
        """
        if type(payload) is not dict:
            return None
        index, by_key = self._feature_index, self.by_key
        values: list[Any] = [None] * len(self.normalisers)
        seen = set()
        for key, raw in payload.items():
            feature = by_key.get(key)
            if feature is None or feature in seen:
                return None
            seen.add(feature)
            if raw is None:
                continue
            if type(raw) is not str:
                return None
            j = index[feature]
            try:
                value = self.normalisers[j].lookup(raw)
            except (ValueError, AssertionError):  # the model turns these into errors
                return None
            if value is _INVALID:
                return None
            values[j] = value
        codes = [
            table.get(value, -1) if value is not None else -1
            for table, value in zip(self.code_tables, values, strict=True)
        ]
        return tuple(values), codes

    @functools.cached_property
    def _feature_index(self) -> dict[str, int]:
        return {name: j for j, name in enumerate(self.feature_names)}

    def normaliser(self, key: str) -> FeatureNormaliser | None:
        """The normaliser of the feature a request key names, if any."""
        feature = self.by_key.get(key)
        if feature is None:
            return None
        return self.normalisers[self.feature_names.index(feature)]

    def describe(self) -> dict[str, Any]:
        """The schema as the page and ``/model/info`` show it."""
        dataset = self.dataset
        return {
            "name": dataset.name,
            "target": {
                "name": dataset.target.name,
                "classes": list(dataset.target.classes),
            },
            "features": [
                {
                    "name": n.spec.name,
                    "kind": n.spec.kind.value,
                    "allowed": n.allowed_values(),
                }
                for n in self.normalisers
            ],
            "missing_tokens": list(dataset.missing_tokens),
        }


def _field(normaliser: FeatureNormaliser, attribute: str) -> tuple[Any, Any]:
    spec = normaliser.spec
    base: Any = (
        StrictFloat | StrictInt | StrictStr | None
        if spec.kind is FeatureKind.NUMERIC
        else StrictStr | None
    )
    choices = [spec.name] + ([attribute] if attribute != spec.name else [])
    validator: Callable[[Any], Any] = normaliser
    extra: dict[str, Any] = {"x-allowed": normaliser.allowed_values()}
    if spec.values:
        extra["examples"] = list(spec.values)
    return (
        Annotated[base, AfterValidator(validator)],
        Field(
            None,
            validation_alias=AliasChoices(*choices),
            serialization_alias=spec.name,
            description=(
                f"{spec.kind.value}: {normaliser.allowed()}; any case, surrounding "
                "spaces and missing tokens accepted; null or absent means missing "
                "(imputed by the model)"
            ),
            json_schema_extra=extra,
        ),
    )


def build_record_schema(dataset: DatasetSchema) -> RecordSchema:
    """Generate the request record for a dataset schema.

    Args:
        dataset: The schema the served model was trained with.

    Returns:
        The record: a Pydantic model forbidding unknown fields, every feature optional
        (missing values are imputed by the model), plus its look-ups.
    """
    normalisers = tuple(
        FeatureNormaliser(spec, dataset.missing_tokens) for spec in dataset.features
    )
    for normaliser in normalisers:
        normaliser.warm()
    taken: set[str] = set(dataset.feature_names)
    attributes: list[str] = []
    fields: dict[str, Any] = {}
    by_key: dict[str, str] = {}
    for normaliser in normalisers:
        name = normaliser.spec.name
        attribute = name if name.isidentifier() and not keyword.iskeyword(name) else ""
        if not attribute or hasattr(BaseModel, attribute):
            attribute = python_name(name, taken)
        taken.add(attribute)
        attributes.append(attribute)
        fields[attribute] = _field(normaliser, attribute)
        by_key[name] = by_key[attribute] = name
    model = create_model(
        "Record",
        __config__=ConfigDict(extra="forbid", frozen=True),
        __doc__=f"One {dataset.name} record: raw feature values, as text.",
        **fields,
    )
    return RecordSchema(
        dataset=dataset,
        model=model,
        many=TypeAdapter(list[model]),
        normalisers=normalisers,
        attributes=tuple(attributes),
        by_key=by_key,
        code_tables=tuple(n.codes for n in normalisers),
    )
