"""studies/estimate_quality.py at tiny sizes: the served model's predict path, both
kinds of batches, and every goal's figure computed (the full-size figures are the
study's output, not asserted here)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from student_performance.performance.realized import STATUSES

from .conftest import PROJECT_ROOT, load_study


@pytest.fixture(scope="module")
def study():
    return load_study("estimate_quality")


@pytest.fixture(scope="module")
def served(study, primary_table, dataset_schema):
    modelling = study.modelling_parameters(PROJECT_ROOT, "base")
    return study.serve(primary_table, dataset_schema, modelling, 42, study.SMOKE)


@pytest.mark.slow  # a repeated CV, a fit and a few dozen small batches: seconds
@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_the_study_computes_every_goals_figure(study, served, tmp_path):
    sizes = study.SMOKE
    assert served.promise["set_coverage"] == pytest.approx(0.9)
    assert 0 < served.promise["accuracy"] < 1
    covariate = study.covariate_batches(served, sizes, 42)
    concept = study.concept_batches(served, sizes, 42)
    per_shift = sizes.batches * len(sizes.intensities)
    assert len(covariate) == per_shift * len(study.SHIFTS)
    assert len(concept) == sizes.batches * len(sizes.concept_intensities)
    for batch in covariate + concept:
        assert len(batch.outcomes.truth) == len(batch.rows) == sizes.rows
        assert batch.outcomes.members is not None
        # the batch's rows are rows of the source half
        assert batch.rows.max() < len(served.source)
    # every batch has its own seed
    seeds = [batch.about["seed"] for batch in covariate + concept]
    assert len(set(seeds)) == len(seeds)

    rows = study.compare(covariate, sizes)
    summary = study.summarise(rows)
    assert len(summary) == len(study.SHIFTS) * len(sizes.intensities)
    assert (summary["batches"] == sizes.batches).all()
    for name in study.GOALS:
        for column in (
            "estimated",
            "realized",
            "mean_abs_error",
            "held",
            "held_source",
            "sd",
        ):
            values = summary[f"{name}_{column}"]
            assert values.notna().all(), (name, column)
        assert summary[f"{name}_held"].between(0, 1).all()
        assert summary[f"{name}_held_source"].between(0, 1).all()
    assert (summary["distinct"] <= sizes.rows).all()
    goals = study.goals(rows)
    assert set(goals) == set(study.GOALS)
    for goal in goals.values():
        assert math.isfinite(goal["mean_abs_error"]) and 0 <= goal["held"] <= 1
        assert 0 <= goal["held_source"] <= 1
        assert isinstance(goal["met"], bool)

    judged = study.compare(concept, sizes, served)
    assert set(judged["status"]) <= set(STATUSES)
    concept_summary = study.summarise(judged)
    assert {"warning", "degraded"} <= set(concept_summary.columns)
    assert "| shift | intensity |" in study.text_table(concept_summary)

    study.export(tmp_path / "export", served, covariate[:2])
    batches = pd.read_csv(tmp_path / "export/batches.csv")
    reference = pd.read_csv(tmp_path / "export/reference.csv")
    assert len(batches) == 2 * sizes.rows
    assert len(reference) == len(served.development)
    for frame in (batches, reference):
        assert {"prediction", "truth", "proba_Average", "proba_Excellent"} <= set(
            frame.columns
        )
