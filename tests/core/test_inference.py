"""core.inference: raw rows to classes and probabilities, as the served model does."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from student_performance.core.cleaning import normalise_frame
from student_performance.core.inference import (
    fast_model,
    feature_codes,
    feature_dtypes,
    predict_frame,
    prepare_features,
)
from student_performance.core.selection import fit_configuration


def test_prepare_features_cleans_raw_rows_and_drops_the_rest(tiny_raw, tiny_schema):
    before = tiny_raw.copy()

    features = prepare_features(tiny_raw, tiny_schema.model_dump(mode="json"))

    pd.testing.assert_frame_equal(tiny_raw, before)
    assert list(features.columns) == tiny_schema.feature_names
    assert features.loc[1, "sport"] == "no" and features.loc[1, "level"] == "B1"
    assert pd.isna(features.loc[3, "sport"])  # "maybe": not allowed, imputed later


def test_predict_frame_gives_a_class_and_one_probability_per_class(
    tiny_model, tiny_raw, tiny_schema
):
    features = prepare_features(tiny_raw, tiny_schema)

    predictions = predict_frame(tiny_model, features)

    assert list(predictions.columns) == [
        "prediction",
        "proba_low",
        "proba_mid",
        "proba_high",
    ]
    assert predictions.index.equals(features.index)
    assert np.allclose(predictions.filter(like="proba_").sum(axis=1), 1)
    assert set(predictions["prediction"]) <= set(tiny_schema.target.classes)


# --- one inference path: look-up encoding, array path and one-record path ----------
CONFIGURATIONS = {
    "logistic_onehot_argmax": {
        "estimator": "logistic_regression",
        "ordinal_as": "onehot",
        "params": {"C": 1.0},
        "decision": {"rule": "argmax", "cost": "absolute"},
    },
    "ridge_out_of_fold": {
        "estimator": "ordinal_ridge",
        "ordinal_as": "onehot",
        "params": {"alpha": 1.0, "link": "out_of_fold"},
        "decision": {"rule": "argmax", "cost": "absolute"},
    },
    "ridge_codes_estimator_rule": {
        "estimator": "ordinal_ridge",
        "ordinal_as": "codes",
        "params": {"alpha": 3.0, "link": "in_sample"},
    },
    "forest_least_cost": {
        "estimator": "random_forest",
        "ordinal_as": "codes",
        "params": {"n_estimators": 20, "max_depth": 4},
        "decision": {"rule": "least_expected_cost", "cost": "absolute"},
    },
    "lightgbm": {
        "estimator": "lightgbm",
        "ordinal_as": "codes",
        "params": {"n_estimators": 20, "num_leaves": 7},
    },
}


@pytest.fixture(scope="module", params=sorted(CONFIGURATIONS))
def real_model(request, primary_table, dataset_schema):
    configuration = CONFIGURATIONS[request.param]
    return fit_configuration(primary_table, configuration, dataset_schema, seed=0)


@pytest.fixture(scope="module")
def messy_and_random_rows(messy_file, dataset_schema) -> pd.DataFrame:
    """The shipped messy file's feature columns, then 500 random rows of allowed
    spellings, odd cases, missing tokens and values the schema does not allow."""
    raw = pd.read_csv(messy_file, dtype="string", keep_default_na=False)
    rng = np.random.default_rng(7)
    random = {}
    for spec in dataset_schema.features:
        pool = [*spec.values, *(v.upper() for v in spec.values), "", "nan", "??"]
        random[spec.name] = pd.array(rng.choice(pool, 500), dtype="string")
    rows = pd.concat(
        [raw[dataset_schema.feature_names], pd.DataFrame(random)], ignore_index=True
    )
    assert len(rows) > 1100
    return rows


def test_prepare_features_is_the_pipelines_cleaning_on_every_row(
    messy_and_random_rows, dataset_schema
):
    features = prepare_features(messy_and_random_rows, dataset_schema)

    expected = normalise_frame(messy_and_random_rows, dataset_schema)
    pd.testing.assert_frame_equal(features, expected)


def test_predict_frame_is_the_models_own_answer_to_the_last_bit(
    real_model, messy_and_random_rows, dataset_schema
):
    """The look-up encoding gives the fitted pipeline's probabilities and classes."""
    features = prepare_features(messy_and_random_rows, dataset_schema)

    predictions = predict_frame(real_model, features)

    assert fast_model(real_model, list(features.columns), list(features.dtypes))
    np.testing.assert_array_equal(
        predictions.filter(like="proba_").to_numpy(),
        real_model.predict_proba(features),
    )
    np.testing.assert_array_equal(
        predictions["prediction"].to_numpy(), real_model.predict(features)
    )


def test_one_record_at_a_time_is_predict_frame_to_the_last_bit(
    real_model, messy_and_random_rows, dataset_schema
):
    """What /predict runs for one record (the one-row encoding, the ridge's
    plain-Python link) equals the array path on that record, and predict_frame and
    the fitted pipeline's own answer on it for every 50th record. Every record for
    the linear models (whose one-record arithmetic differs); every 10th for the
    trees (slow per call; their one record differs only in its encoding)."""
    features = prepare_features(messy_and_random_rows, dataset_schema)
    fast = fast_model(
        real_model, dataset_schema.feature_names, feature_dtypes(dataset_schema)
    )
    codes = feature_codes(features)
    classes = list(real_model.classes_)

    linear = hasattr(fast.final, "coef_") or fast.one_row
    for i in range(0, len(codes), 1 if linear else 10):
        index, row = fast.predict_codes(codes[i : i + 1])
        array_index, array_row = fast.predict_codes(codes[i : i + 1], row_path=False)
        np.testing.assert_array_equal(row, array_row)
        assert index.tolist() == array_index.tolist()
        if i % 50 == 0:
            one = features.iloc[[i]]
            expected = predict_frame(real_model, one)
            np.testing.assert_array_equal(
                row, expected.filter(like="proba_").to_numpy()
            )
            assert classes[int(index[0])] == expected["prediction"].iloc[0]
            np.testing.assert_array_equal(row, real_model.predict_proba(one))
            assert classes[int(index[0])] == real_model.predict(one)[0]


def test_the_ridge_answers_one_record_through_its_row_method(
    primary_table, dataset_schema
):
    model = fit_configuration(
        primary_table, CONFIGURATIONS["ridge_out_of_fold"], dataset_schema, seed=0
    )
    fast = fast_model(
        model, dataset_schema.feature_names, feature_dtypes(dataset_schema)
    )
    assert fast.direct and fast.one_row


def test_fast_models_are_built_once_per_model_content(primary_table, dataset_schema):
    model = fit_configuration(
        primary_table, CONFIGURATIONS["logistic_onehot_argmax"], dataset_schema, seed=0
    )
    names, dtypes = dataset_schema.feature_names, feature_dtypes(dataset_schema)

    # the bundled model deep-copies its catalog, the model included, on every call
    first, second = copy.deepcopy(model), copy.deepcopy(model)

    assert fast_model(first, names, dtypes) is fast_model(second, names, dtypes)
    assert fast_model(first, names, dtypes) is fast_model(first, names, dtypes)


def test_a_numeric_feature_runs_the_model_as_it_is(tiny_model, tiny_raw, tiny_schema):
    features = prepare_features(tiny_raw, tiny_schema)

    predictions = predict_frame(tiny_model, features)

    assert fast_model(tiny_model, list(features.columns), list(features.dtypes)) is None
    np.testing.assert_array_equal(
        predictions.filter(like="proba_").to_numpy(), tiny_model.predict_proba(features)
    )
