"""models.preprocessing: fitted inside the training fold only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from student_performance.models.preprocessing import build_preprocessor


def test_preprocessing_never_learns_a_category_seen_only_in_validation(
    tiny_primary, tiny_schema
):
    """Leakage: encoders are fitted on the training fold only."""
    train = tiny_primary[tiny_primary["level"] != "B1"]
    valid = tiny_primary[tiny_primary["level"] == "B1"]
    pre = build_preprocessor(tiny_schema, ordinal_as="onehot").fit(
        train[tiny_schema.feature_names]
    )
    names = list(pre.get_feature_names_out())
    assert not any("B1" in n for n in names)
    encoded = pre.transform(valid[tiny_schema.feature_names])
    level_columns = [i for i, n in enumerate(names) if n.startswith("onehot__level_")]
    assert np.all(encoded[:, level_columns] == 0)  # ignored, not an error


def test_imputation_statistics_come_from_the_training_fold(tiny_primary, tiny_schema):
    train = tiny_primary.iloc[:60].assign(hours=1.0)
    valid = tiny_primary.iloc[60:].assign(hours=pd.array([pd.NA] * 60, dtype="Float64"))
    pre = build_preprocessor(tiny_schema).fit(train[tiny_schema.feature_names])
    imputer = pre.named_transformers_["numeric"].named_steps["simpleimputer"]
    assert imputer.statistics_.tolist() == [1.0]
    assert np.isfinite(pre.transform(valid[tiny_schema.feature_names])).all()
