"""Request records and the predictor, without HTTP: normalisation is the pipelines'
cleaning, the look-up path answers as the model, the fallback covers numeric schemas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from student_performance.core.cleaning import clean_text, normalise_frame
from student_performance.core.conformal import fit_prediction_sets
from student_performance.core.inference import predict_frame, prepare_features
from student_performance.core.selection import fit_configuration
from student_performance.models.candidates import build_candidate
from student_performance.models.estimators import OrderedClassifier
from student_performance.serving.predictor import Predictor
from student_performance.serving.records import build_record_schema, python_name

_SPACES = st.text(alphabet=" \t\n", max_size=3)


@st.composite
def _spellings(draw: st.DrawFn, values: tuple[str, ...]) -> str:
    """An allowed value with random case and surrounding white space."""
    value = draw(st.sampled_from(values))
    flips = draw(st.lists(st.booleans(), min_size=len(value), max_size=len(value)))
    cased = "".join(c.swapcase() if f else c for c, f in zip(value, flips, strict=True))
    return draw(_SPACES) + cased + draw(_SPACES)


@pytest.fixture(scope="module")
def records(dataset_schema):
    return build_record_schema(dataset_schema)


@pytest.mark.slow  # property-based: hundreds of generated spellings
@settings(max_examples=150, database=None, deadline=None)
@given(data=st.data())
def test_normalising_a_value_equals_the_pipelines_cleaning(
    dataset_schema, records, data
):
    spec = data.draw(st.sampled_from(dataset_schema.features))
    raw = data.draw(
        st.one_of(
            _spellings(spec.values),
            st.sampled_from(dataset_schema.missing_tokens).map(str.upper),
            st.text(max_size=12),
        )
    )
    text = pd.Series([raw], dtype="string")
    missing = clean_text(text, dataset_schema.missing_tokens).isna().iloc[0]
    typed = normalise_frame(pd.DataFrame({spec.name: text}), dataset_schema)
    expected = typed[spec.name].iloc[0]
    normaliser = records.normaliser(spec.name)

    if missing:
        assert normaliser(raw) is None
    elif pd.isna(expected):
        with pytest.raises(PydanticCustomError, match="is not an allowed value"):
            normaliser(raw)
    else:
        assert normaliser(raw) == expected


def test_record_model_has_one_optional_field_per_feature(dataset_schema, records):
    empty = records.model.model_validate({})
    schema = records.model.model_json_schema(by_alias=True)

    assert set(schema["properties"]) == set(dataset_schema.feature_names)
    assert not schema.get("required")
    assert records.encode(empty)[1] == [-1] * len(dataset_schema.features)


def test_encode_gives_canonical_values_and_schema_positions(dataset_schema, records):
    record = records.model.model_validate(
        {"time": " seven ", "Class_ X_Percentage": "VG", "Gender": None}
    )
    values, codes = records.encode(record)

    names = dataset_schema.feature_names
    assert values[names.index("time")] == "SEVEN"
    assert codes[names.index("time")] == 5
    assert codes[names.index("Class_ X_Percentage")] == 2
    assert codes[names.index("Gender")] == -1


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Class_ X_Percentage", "Class_X_Percentage"),
        ("1st", "f_1st"),
        ("class", "f_class"),
    ],
)
def test_python_names_are_identifiers(name, expected):
    assert python_name(name, set()) == expected


def test_numeric_fields_take_numbers_in_range(tiny_schema):
    records = build_record_schema(tiny_schema)

    ok = records.model.model_validate({"hours": " 4.5 ", "level": "b1"})
    as_number = records.model.model_validate({"hours": 3})

    assert ok.hours == 4.5 and ok.level == "B1"
    assert as_number.hours == 3.0
    with pytest.raises(ValidationError, match="a number in"):
        records.model.model_validate({"hours": 30})
    with pytest.raises(ValidationError, match="valid"):
        records.model.model_validate({"hours": True})


def _tiny_model(tiny_schema, tiny_raw):
    typed = normalise_frame(tiny_raw.drop(columns="junk"), tiny_schema).dropna(
        subset=["grade"]
    )
    typed = pd.concat([typed] * 4, ignore_index=True)
    estimator = build_candidate("logistic_regression", {}, tiny_schema, seed=0)
    return OrderedClassifier(estimator, tiny_schema.target.classes).fit(
        typed[tiny_schema.feature_names], typed["grade"].astype(object)
    )


def test_numeric_schema_falls_back_to_the_inference_nodes(tiny_schema, tiny_raw):
    model = _tiny_model(tiny_schema, tiny_raw)
    predictor = Predictor(model, tiny_schema.model_dump(mode="json"))
    records = build_record_schema(tiny_schema)
    rows = [
        records.encode(records.model.model_validate(r))
        for r in ({"sport": "YES", "level": "a2", "hours": 3}, {"hours": None})
    ]

    labels, proba = predictor.predict_values([v for v, _ in rows], [c for _, c in rows])

    raw = pd.DataFrame(
        {"sport": ["yes", ""], "level": ["A2", ""], "hours": ["3.0", ""]},
        dtype="string",
    )
    expected = predict_frame(
        model, prepare_features(raw, tiny_schema.model_dump(mode="json"))
    )
    assert not predictor.fast_path
    assert labels == list(expected["prediction"])
    np.testing.assert_array_equal(proba, expected.iloc[:, 1:].to_numpy())


def test_look_up_path_is_the_models_own_answer(champion_bundle, raw_records):
    records = champion_bundle.records
    fast = champion_bundle.predictor
    encoded = [records.encode(records.model.model_validate(r)) for r in raw_records]
    values, codes = [v for v, _ in encoded], [c for _, c in encoded]
    text = pd.DataFrame(
        [["" if v is None else str(v) for v in row] for row in values],
        columns=fast.dataset.feature_names,
        dtype="string",
    )
    features = prepare_features(text, fast.schema_data)

    labels, proba = fast.predict_values(values, codes)

    assert fast.fast_path
    assert labels == list(fast.model.predict(features))
    np.testing.assert_array_equal(proba, fast.model.predict_proba(features))


@pytest.fixture(scope="module")
def ridge_predictor(primary_table, dataset_schema) -> Predictor:
    """The served champion's kind: ordinal ridge, out-of-fold link, with sets."""
    configuration = {
        "estimator": "ordinal_ridge",
        "ordinal_as": "onehot",
        "params": {"alpha": 1.0, "link": "out_of_fold"},
        "decision": {"rule": "argmax", "cost": "absolute"},
    }
    model = fit_configuration(primary_table, configuration, dataset_schema, seed=0)
    sets = fit_prediction_sets(
        primary_table, dataset_schema, configuration, {"inner_splits": 3}, seed=0
    )
    return Predictor(
        model, dataset_schema.model_dump(mode="json"), set_calibration=sets
    )


@pytest.mark.parametrize("kind", ["logistic_regression", "ordinal_ridge"])
def test_one_record_at_a_time_is_the_pandas_path_to_the_last_bit(
    kind, champion_bundle, ridge_predictor, raw_records
):
    """What /predict computes for a single record (the one-row encoding, the
    ridge's plain-Python link, the plain-Python set) equals the inference nodes'
    pandas path on that row alone, for every 10th record of the messy file."""
    records = champion_bundle.records
    fast = (
        champion_bundle.predictor if kind == "logistic_regression" else ridge_predictor
    )
    assert fast.fast_path
    assert kind != "ordinal_ridge" or fast.fast.one_row  # the row path is tested
    for record in raw_records[::10]:
        values, codes = records.encode(records.model.model_validate(record))
        labels, proba = fast.predict_values([values], [codes])
        text = pd.DataFrame(
            [["" if v is None else str(v) for v in values]],
            columns=fast.dataset.feature_names,
            dtype="string",
        )
        features = prepare_features(text, fast.schema_data)
        expected = predict_frame(fast.model, features, fast.set_calibration)
        assert labels == [expected["prediction"].iloc[0]]
        np.testing.assert_array_equal(proba, expected.iloc[:, 1:-1].to_numpy(float))
        assert fast.prediction_sets(proba, labels) == [
            expected["prediction_set"].iloc[0].split("|")
        ]


def test_plain_records_skip_the_model_with_the_same_values(
    champion_bundle, raw_records
):
    records = champion_bundle.records
    for record in raw_records:
        plain = records.encode_plain(record)
        assert plain == records.encode(records.model.model_validate(record))
    attribute = records.attributes[records.feature_names.index("Class_ X_Percentage")]
    assert records.encode_plain({attribute: " vg "}) == records.encode(
        records.model.model_validate({attribute: " vg "})
    )
    # anything but known fields with allowed strings or null goes to the model
    for odd in (
        {"Caste": "Brahmin"},
        {"Caste": 3},
        {"nope": "x"},
        {"Class_ X_Percentage": "vg", attribute: "good"},
        ["Caste"],
        None,
    ):
        assert records.encode_plain(odd) is None
