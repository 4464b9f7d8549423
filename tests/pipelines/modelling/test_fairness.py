"""The group report node: its table in the model card, the comparison report and the
``fairness.*`` metrics, on the selection's out-of-fold rows."""

from __future__ import annotations

import pytest

from student_performance.core.conformal import evaluate_prediction_sets
from student_performance.core.groups import FairnessParams
from student_performance.core.params import ConformalParams, CVParams
from student_performance.pipelines.modelling._fairness import (
    fairness_metrics,
    group_card_section,
    report_groups,
)
from student_performance.pipelines.modelling._sets import summarise_set_coverage

CONFIGURATION = {
    "candidate": "logistic_regression",
    "estimator": "logistic_regression",
    "ordinal_as": "codes",
    "params": {"C": 1.0},
    "decision": {"rule": "argmax", "cost": "absolute"},
}


@pytest.fixture(scope="module")
def report(tiny_primary, tiny_schema):
    schema = tiny_schema.model_copy(update={"sensitive_features": ("sport",)})
    conformal = ConformalParams(inner_splits=3)
    cv = CVParams(n_splits=3, n_repeats=2, seed=0)
    rows = evaluate_prediction_sets(tiny_primary, schema, CONFIGURATION, cv, conformal)
    sets = summarise_set_coverage(rows, schema, conformal)
    params = FairnessParams(min_group_rows=20, n_bootstrap=10)
    return rows, report_groups(rows, tiny_primary, schema, params, sets)


def test_the_group_report_counts_students_once_and_flags_small_groups(
    report, tiny_primary
):
    rows, (groups, _) = report
    table = groups["features"]["sport"]["groups"]
    sport = tiny_primary["sport"].astype(object)
    assert table["yes"]["n"] == int((sport == "yes").sum())
    assert table["missing"]["n"] == int(sport.isna().sum())
    assert table["missing"]["small"] and not table["yes"]["small"]
    assert rows["row"].nunique() == len(tiny_primary)  # every student, each repeat
    assert groups["per_class"].keys() <= {"low", "mid", "high"}


def test_metrics_name_feature_group_and_figure_and_skip_undefined(report):
    _, (groups, metrics) = report
    yes = groups["features"]["sport"]["groups"]["yes"]
    assert metrics["sport.yes.accuracy"]["value"] == pytest.approx(yes["accuracy"])
    assert metrics["sport.missing.small"]["value"] == 1.0
    assert "sport.gap.coverage" in metrics and "worst.coverage" in metrics
    assert all(v["value"] == v["value"] for v in metrics.values())  # no NaN
    assert fairness_metrics({"features": {}, "worst": {}}) == {}


def test_the_card_section_shows_every_group_and_the_per_class_coverage(report):
    _, (groups, _) = report
    card = "\n".join(group_card_section(groups))
    assert "## Fairness by group" in card
    for group in groups["features"]["sport"]["groups"]:
        assert f"| sport | {group} |" in card
    assert "(small)" in card and "largest gap [95 % CI]" in card
    assert "Set coverage by true class:" in card


def test_excluded_features_leave_the_model_schema(tiny_schema):
    from student_performance.pipelines.modelling._features import (  # noqa: PLC0415
        select_model_features,
    )

    schema = tiny_schema.model_copy(update={"sensitive_features": ("sport",)})
    assert select_model_features(schema, [])[0] is schema
    reduced, names = select_model_features(schema, ["sport"])
    assert names == ["level", "hours"]
    assert "sport" not in reduced.feature_names
    assert reduced.sensitive_features == ()
    frozen = reduced.model_dump(mode="json")  # what the served model is given
    assert [f["name"] for f in frozen["features"]] == ["level", "hours"]


def test_the_card_names_groups_the_sets_under_cover():
    from student_performance.pipelines.modelling._card import (  # noqa: PLC0415
        _group_limits,
    )

    sets = {"level": 0.9}
    groups = {
        "features": {
            "Caste": {
                "groups": {
                    "SC": {"coverage": 0.83, "small": False},
                    "ST": {"coverage": 0.95, "small": False},
                    "missing": {"coverage": 0.33, "small": True},
                }
            }
        }
    }
    (line,) = _group_limits(sets, groups)
    assert "Caste = SC (0.83)" in line and "ST" not in line and "missing" not in line
    assert _group_limits(sets, None) == []
