"""Labelled simulations: seeded, the intensity moves what it says, labels stay true
under covariate shift and move under concept shift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from student_performance.performance.simulate import (
    ConceptShiftParams,
    ShiftParams,
    concept_shift,
    covariate_shift,
)

FEATURE, VALUES = "coaching", ["OA"]


def _rows(frame: pd.DataFrame) -> pd.Series:
    return pd.util.hash_pandas_object(frame, index=False)


def _shift(intensity: float, seed: int = 0, n_rows: int = 2000) -> ShiftParams:
    return ShiftParams(
        feature=FEATURE,
        values=VALUES,
        intensity=intensity,
        n_rows=n_rows,
        seed=seed,
    )


def test_covariate_shift_moves_the_share_and_keeps_every_row_true(primary_table):
    base = primary_table[FEATURE].astype(object).isin(VALUES).mean()
    shares = []
    for intensity in (0.0, 0.5, 1.0):
        batch = covariate_shift(primary_table, _shift(intensity))
        assert len(batch) == 2000
        assert list(batch.columns) == list(primary_table.columns)
        assert (batch.dtypes == primary_table.dtypes).all()
        # every drawn row (features and class) is a row of the source
        assert _rows(batch).isin(set(_rows(primary_table))).all()
        shares.append(batch[FEATURE].astype(object).isin(VALUES).mean())
    assert shares[0] == pytest.approx(base, abs=0.03)
    assert shares[1] == pytest.approx((base + 1) / 2, abs=0.03)
    assert shares[2] == 1.0


def test_simulations_are_seeded(primary_table, dataset_schema):
    first = covariate_shift(primary_table, _shift(0.3, seed=4))
    assert first.equals(covariate_shift(primary_table, _shift(0.3, seed=4)))
    assert not first.equals(covariate_shift(primary_table, _shift(0.3, seed=5)))
    concept = ConceptShiftParams(**_shift(0.3, seed=4).model_dump())
    again = concept_shift(primary_table, concept, dataset_schema)
    assert again.equals(concept_shift(primary_table, concept, dataset_schema))


def test_concept_shift_moves_only_the_concerned_rows_class(
    primary_table, dataset_schema
):
    classes = list(dataset_schema.target.classes)
    target = dataset_schema.target.name
    keyed = primary_table.assign(_key=np.arange(len(primary_table)))
    moved = {}
    for intensity in (0.0, 0.5, 1.0):
        params = ConceptShiftParams(
            feature=FEATURE, values=VALUES, intensity=intensity, n_rows=3000, step=1
        )
        batch = concept_shift(keyed, params, dataset_schema)
        assert batch[target].dtype == primary_table[target].dtype
        source = keyed[target].astype(object).to_numpy()[batch["_key"]]
        before = pd.Series(source).map(classes.index).to_numpy()
        after = batch[target].astype(object).map(classes.index).to_numpy()
        concerned = batch[FEATURE].astype(object).isin(VALUES).to_numpy()
        # features unchanged; others keep their class; moves are one class up
        assert (after[~concerned] == before[~concerned]).all()
        assert set(after[concerned] - before[concerned]) <= {0, 1}
        room = concerned & (before < len(classes) - 1)
        moved[intensity] = (after[room] != before[room]).mean()
    assert moved[0.0] == 0
    assert moved[0.5] == pytest.approx(0.5, abs=0.1)
    assert moved[1.0] == 1


def test_a_shift_on_values_no_row_has_is_refused(primary_table):
    params = ShiftParams(feature=FEATURE, values=["nowhere"], intensity=0.5, n_rows=5)
    with pytest.raises(ValueError, match="no rows to shift"):
        covariate_shift(primary_table, params)
    with pytest.raises(ValueError, match="no column"):
        covariate_shift(primary_table, params.model_copy(update={"feature": "x"}))


def test_intensity_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="intensity"):
        ShiftParams(feature=FEATURE, values=VALUES, intensity=1.5, n_rows=5)
