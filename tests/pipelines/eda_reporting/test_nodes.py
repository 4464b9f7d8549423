"""Unit tests of the eda_reporting nodes on tiny inline frames (tiny_schema: a nominal,
an ordinal and a numeric feature, an ordinal target)."""

from __future__ import annotations

import copy
import math
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from plotly.offline import get_plotlyjs
from pydantic import ValidationError
from sklearn.metrics import mutual_info_score

from student_performance.pipelines.eda_reporting._stats import (
    cramers_v,
    mutual_information,
)
from student_performance.pipelines.eda_reporting.nodes import (
    build_association_metrics,
    compute_association_matrix,
    rank_associations,
    summarise_columns,
    summarise_dataset,
    summarise_target,
    tabulate_features_by_target,
    write_findings,
)
from student_performance.pipelines.eda_reporting.params import (
    AssociationParams,
    FindingsParams,
)
from student_performance.pipelines.eda_reporting.report_nodes import (
    plot_association_heatmap,
    plot_association_ranking,
    plot_features_by_target,
    plot_target_distribution,
    render_html_report,
)

# --- association measures ------------------------------------------------------------


def test_cramers_v_is_zero_for_independent_columns():
    assert cramers_v(np.array([[10.0, 10.0], [10.0, 10.0]])) == 0.0


def test_cramers_v_applies_bergsma_bias_correction():
    table = np.array([[30.0, 10.0, 5.0], [10.0, 25.0, 20.0]])
    n, rows, cols = table.sum(), 2, 3
    expected_counts = np.outer(table.sum(1), table.sum(0)) / n
    phi2 = ((table - expected_counts) ** 2 / expected_counts).sum() / n
    phi2_corr = phi2 - (rows - 1) * (cols - 1) / (n - 1)
    rows_corr = rows - (rows - 1) ** 2 / (n - 1)
    cols_corr = cols - (cols - 1) ** 2 / (n - 1)
    expected = math.sqrt(phi2_corr / min(rows_corr - 1, cols_corr - 1))
    uncorrected = math.sqrt(phi2 / min(rows - 1, cols - 1))
    assert cramers_v(table) == pytest.approx(expected)
    assert cramers_v(table) < uncorrected


def test_cramers_v_is_undefined_for_a_constant_column():
    assert math.isnan(cramers_v(np.array([[5.0, 7.0]])))


def test_mutual_information_matches_scikit_learn():
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 3, 200), rng.integers(0, 4, 200)
    table = pd.crosstab(x, y).to_numpy(float)
    assert mutual_information(table) == pytest.approx(mutual_info_score(x, y))


# --- summarise_dataset / summarise_columns ---------------------------------------------


def test_summarise_dataset_puts_raw_and_clean_side_by_side(tiny_processed):
    overview = summarise_dataset(
        tiny_processed["raw"], tiny_processed["kept"], tiny_processed["report"]
    )
    assert overview["raw"] == {"rows": 6, "columns": 5}
    assert overview["clean"] == {"rows": 3, "columns": 4}
    assert overview["columns_dropped"] == ["junk"]
    assert overview["quarantined_by_reason"] == {
        "target_missing": 1,
        "target_invalid": 1,
        "duplicate": 1,
    }


def test_summarise_dataset_refuses_a_report_from_another_run(tiny_processed):
    with pytest.raises(ValueError, match="run data_processing again"):
        summarise_dataset(
            tiny_processed["raw"],
            tiny_processed["kept"].iloc[1:],
            tiny_processed["report"],
        )


def test_summarise_columns_counts_what_cleaning_changed(tiny_processed, tiny_schema):
    overview = summarise_columns(
        tiny_processed["raw"],
        tiny_processed["kept"],
        tiny_processed["report"],
        tiny_schema,
    ).set_index("column")
    assert list(overview.index) == ["grade", "sport", "level", "hours"]
    grade, sport, hours = (overview.loc[c] for c in ("grade", "sport", "hours"))
    # grade: " LOW " and "High" respelled, "" missing, "bad" not allowed
    assert (grade["role"], grade["kind"]) == ("target", "ordinal")
    assert grade["raw_distinct"] == 4  # " LOW ", "mid", "High", "bad"
    assert (grade["values_respelled"], grade["values_set_to_na"]) == (2, 1)
    assert grade["clean_type"] == "ordered categorical (3 values)"
    # sport: " NO " twice respelled, "maybe" not allowed
    assert (sport["raw_distinct"], sport["clean_distinct"]) == (3, 2)
    assert (sport["values_respelled"], sport["values_set_to_na"]) == (2, 1)
    # hours (numeric): " 4.5 " respelled; "x", "30" not allowed; "" missing
    assert hours["clean_type"] == "Float64"
    assert (hours["values_respelled"], hours["values_set_to_na"]) == (1, 2)
    assert (hours["raw_missing"], hours["raw_missing_share"]) == (1, 0.1667)
    assert (hours["clean_missing"], hours["clean_missing_share"]) == (1, 0.3333)


def test_summarise_columns_names_a_missing_column(tiny_processed, tiny_schema):
    with pytest.raises(ValueError, match=r"prm_students lacks columns \['hours'\]"):
        summarise_columns(
            tiny_processed["raw"],
            tiny_processed["kept"].drop(columns="hours"),
            tiny_processed["report"],
            tiny_schema,
        )


# --- summarise_target / tabulate_features_by_target --------------------------------------


def test_summarise_target_in_class_order(tiny_clean, tiny_schema):
    clean = tiny_clean.iloc[[0, 1, 3, 4]]  # low, mid, mid, low: no high
    expected = pd.DataFrame(
        {"class": ["low", "mid", "high"], "count": [2, 2, 0], "share": [0.5, 0.5, 0.0]}
    )
    pd.testing.assert_frame_equal(summarise_target(clean, tiny_schema), expected)


def test_summarise_target_without_any_class_fails(tiny_clean, tiny_schema):
    no_target = tiny_clean.assign(grade=pd.NA)
    with pytest.raises(ValueError, match="no row of prm_students has a 'grade' class"):
        summarise_target(no_target, tiny_schema)


def test_tabulate_features_by_target_in_schema_order(
    tiny_clean, tiny_schema, association
):
    table = tabulate_features_by_target(tiny_clean, tiny_schema, association)
    level = table[table["feature"] == "level"]
    assert list(dict.fromkeys(level["value"])) == ["A1", "A2", "B1"]
    assert list(level["class"][:3]) == ["low", "mid", "high"]
    assert level.set_index(["value", "class"]).loc[("B1", "high"), "count"] == 2
    # numeric: two quantile bins; rows with both values only (one hours is NA)
    hours = table[table["feature"] == "hours"]
    assert hours["value"].nunique() == 2
    assert hours["count"].sum() == 5
    # unseen values are listed with share NaN
    unseen = tiny_clean.assign(
        level=pd.Categorical(["A1"] * 6, categories=["A1", "A2", "B1"], ordered=True)
    )
    level = tabulate_features_by_target(unseen, tiny_schema, association).query(
        "feature == 'level' and value == 'B1'"
    )
    assert level["count"].sum() == 0
    assert level["share"].isna().all()


def test_tabulate_features_by_target_names_a_missing_column(
    tiny_clean, tiny_schema, association
):
    with pytest.raises(ValueError, match=r"lacks columns \['level'\]"):
        tabulate_features_by_target(
            tiny_clean.drop(columns="level"), tiny_schema, association
        )


# --- rank_associations / compute_association_matrix --------------------------------------


def test_rank_associations_strongest_first_with_rank_measures_for_ordered_pairs(
    tiny_clean, tiny_schema, association
):
    ranking = rank_associations(tiny_clean, tiny_schema, association)
    assert list(ranking["feature"]) == ["level", "hours", "sport"]
    assert list(ranking["rank"]) == [1, 2, 3]
    level, hours, sport = (ranking.iloc[i] for i in range(3))
    # level follows grade exactly
    assert level["cramers_v"] == pytest.approx(1.0)
    assert level["mutual_info"] == pytest.approx(math.log(3), abs=1e-4)
    assert (level["spearman"], level["kendall"]) == (1.0, 1.0)
    # the numeric feature: complete pairs only, binned for V, raw values for ρ
    assert (hours["n"], hours["levels"]) == (5, 2)
    assert hours["spearman"] == pytest.approx(0.9487, abs=1e-4)
    # a nominal feature gets no rank correlation
    assert math.isnan(sport["spearman"]) and math.isnan(sport["kendall"])
    assert sport["cramers_v"] == 0.0


def test_rank_associations_by_mutual_information(tiny_clean, tiny_schema):
    by_mi = AssociationParams(numeric_bins=2, rank_by="mutual_info")
    ranking = rank_associations(tiny_clean, tiny_schema, by_mi)
    assert ranking["mutual_info"].is_monotonic_decreasing


def test_rank_associations_without_rank_measures_for_a_nominal_target(
    tiny_clean, tiny_schema, association
):
    nominal = tiny_schema.model_copy(
        update={"target": tiny_schema.target.model_copy(update={"ordinal": False})}
    )
    ranking = rank_associations(tiny_clean, nominal, association)
    assert ranking["spearman"].isna().all()


def test_rank_associations_names_a_missing_column(tiny_clean, tiny_schema, association):
    with pytest.raises(ValueError, match=r"lacks columns \['grade'\]"):
        rank_associations(tiny_clean.drop(columns="grade"), tiny_schema, association)


def test_compute_association_matrix_is_square_symmetric_target_first(
    tiny_clean, tiny_schema, association
):
    matrix = compute_association_matrix(tiny_clean, tiny_schema, association)
    assert list(matrix["column"]) == ["grade", "sport", "level", "hours"]
    values = matrix.set_index("column").to_numpy()
    np.testing.assert_array_equal(values, values.T)
    np.testing.assert_array_equal(np.diag(values), np.ones(4))
    assert matrix.set_index("column").loc["grade", "level"] == pytest.approx(1.0)


def test_compute_association_matrix_names_a_missing_column(
    tiny_clean, tiny_schema, association
):
    with pytest.raises(ValueError, match=r"lacks columns \['sport'\]"):
        compute_association_matrix(
            tiny_clean.drop(columns="sport"), tiny_schema, association
        )


# --- build_association_metrics ----------------------------------------------------------


def _ranking(*features: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rank": range(1, len(features) + 1),
            "feature": list(features),
            "cramers_v": [0.5] * len(features),
            "mutual_info": [0.1] * len(features),
            "spearman": [0.3] + [np.nan] * (len(features) - 1),
            "kendall": [0.2] + [np.nan] * (len(features) - 1),
        }
    )


def test_build_association_metrics_sanitises_names_and_skips_undefined():
    metrics = build_association_metrics(_ranking("Class_ X_Percentage", "a.b/c (d)"))
    assert metrics == {
        "cramers_v.Class_X_Percentage": {"value": 0.5, "step": 0},
        "mutual_info.Class_X_Percentage": {"value": 0.1, "step": 0},
        "spearman.Class_X_Percentage": {"value": 0.3, "step": 0},
        "kendall.Class_X_Percentage": {"value": 0.2, "step": 0},
        "cramers_v.a_b_c_d": {"value": 0.5, "step": 0},
        "mutual_info.a_b_c_d": {"value": 0.1, "step": 0},
    }
    assert all(re.fullmatch(r"[A-Za-z0-9_\-./ ]+", name) for name in metrics)


def test_build_association_metrics_refuses_clashing_names():
    with pytest.raises(ValueError, match="clashing metric names"):
        build_association_metrics(_ranking("time spent", "time_spent"))


# --- write_findings --------------------------------------------------------------------


@pytest.fixture
def findings_inputs(tiny_processed, tiny_schema, tiny_clean, association) -> dict:
    kept = tiny_processed["kept"]
    return {
        "prm_students": tiny_clean,
        "rpt_eda_column_overview": summarise_columns(
            tiny_processed["raw"], kept, tiny_processed["report"], tiny_schema
        ),
        "rpt_eda_target_distribution": summarise_target(tiny_clean, tiny_schema),
        "rpt_eda_association_ranking": rank_associations(
            tiny_clean, tiny_schema, association
        ),
        "dataset": tiny_schema,
    }


def test_write_findings_builds_sentences_from_the_numbers(findings_inputs, thresholds):
    result = write_findings(**findings_inputs, findings=thresholds)
    texts = {}
    for item in result["findings"]:
        texts.setdefault(item["topic"], []).append(item["text"])
    assert texts["association"][:2] == [
        "#1 level (ordinal): Cramér's V 1.00, mutual information 1.099 nats, "
        "Spearman's ρ 1.00, Kendall's τ-b 1.00 with grade (n = 6).",
        "#2 hours (numeric): Cramér's V 0.82, mutual information 0.673 nats, "
        "Spearman's ρ 0.95, Kendall's τ-b 0.89 with grade (n = 5).",
    ]
    assert "below 0.1 for 1 of 3 features" in texts["association"][2]
    assert texts["class_balance"] == ["The grade classes are balanced: 2 rows each."]
    assert any(t.startswith("sport is missing in 33.3 %") for t in texts["missing"])
    assert texts["rare_values"] == [
        "No feature value holds less than 20.0 % of the rows."
    ]
    assert result["thresholds"] == thresholds.model_dump()
    assert "Cramér's V" in result["measure"]


def test_write_findings_states_imbalance_and_rare_values(findings_inputs, thresholds):
    skewed = pd.concat(
        [findings_inputs["prm_students"]]
        + [findings_inputs["prm_students"].iloc[[0]]] * 6
    )  # low: 8 rows, mid 2, high 2; A2 and B1 rare at 20 %
    inputs = findings_inputs | {
        "prm_students": skewed,
        "rpt_eda_target_distribution": summarise_target(
            skewed, findings_inputs["dataset"]
        ),
    }
    texts = [
        f["text"] for f in write_findings(**inputs, findings=thresholds)["findings"]
    ]
    assert (
        "The grade classes are imbalanced. low is the largest class (8 rows, 66.7 %), "
        "mid the smallest (2, 16.7 %): a ratio of 4.0 : 1, above 1.5. Always "
        "predicting low scores 66.7 % accuracy" in " ".join(texts)
    )
    assert (
        "level has 2 rare values (under 20.0 % of the 12 rows): A2 (2 rows), "
        "B1 (2 rows)." in " ".join(texts)
    )


def test_write_findings_refuses_a_ranking_of_other_features(
    findings_inputs, thresholds
):
    ranking = findings_inputs["rpt_eda_association_ranking"].replace("sport", "golf")
    with pytest.raises(ValueError, match=r"unknown: \['golf'\]"):
        write_findings(
            **findings_inputs | {"rpt_eda_association_ranking": ranking},
            findings=thresholds,
        )


def test_parameters_are_validated():
    with pytest.raises(ValidationError):
        FindingsParams(rare_value_share=2.0)
    with pytest.raises(ValidationError):
        AssociationParams(numeric_bins=5, bins=3)


# --- figures -------------------------------------------------------------------------


def test_plot_target_distribution(tiny_clean, tiny_schema):
    figure = plot_target_distribution(
        summarise_target(tiny_clean, tiny_schema), tiny_schema
    )
    assert isinstance(figure, Figure)
    (ax,) = figure.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["low", "mid", "high"]
    assert "grade" in ax.get_title()


def test_plot_target_distribution_refuses_an_empty_table(tiny_schema):
    with pytest.raises(ValueError, match="empty"):
        plot_target_distribution(pd.DataFrame(columns=["class", "count"]), tiny_schema)


def test_plot_features_by_target_one_panel_per_feature_strongest_first(
    tiny_clean, tiny_schema, association
):
    ranking = rank_associations(tiny_clean, tiny_schema, association)
    figure = plot_features_by_target(tiny_clean, ranking, tiny_schema)
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert titles == [
        "#1 level  (V = 1.00)",
        "#2 hours  (V = 0.82)",
        "#3 sport  (V = 0.00)",
    ]
    level = figure.axes[0]
    assert [t.get_text() for t in level.get_yticklabels()] == [
        "(all rows)  (n=6)",
        "A1  (n=2)",
        "A2  (n=2)",
        "B1  (n=2)",
    ]
    assert [t.get_text() for t in figure.legends[0].get_texts()] == [
        "low",
        "mid",
        "high",
    ]


def test_plot_features_by_target_refuses_a_ranking_of_other_features(
    tiny_clean, tiny_schema, association
):
    ranking = rank_associations(tiny_clean, tiny_schema, association).iloc[:2]
    with pytest.raises(ValueError, match=r"different features: \['sport'\]"):
        plot_features_by_target(tiny_clean, ranking, tiny_schema)


def test_plot_association_ranking_and_heatmap(tiny_clean, tiny_schema, association):
    ranking = rank_associations(tiny_clean, tiny_schema, association)
    matrix = compute_association_matrix(tiny_clean, tiny_schema, association)
    bars = plot_association_ranking(ranking)
    heatmap = plot_association_heatmap(matrix)
    assert [ax.get_title() for ax in bars.axes] == [
        "Cramér's V (bias-corrected)",
        "mutual information (nats)",
    ]
    ax = heatmap.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == list(matrix["column"])
    assert len(ax.texts) == 16  # every cell annotated


@pytest.mark.parametrize(
    ("plot", "bad", "message"),
    [
        (plot_association_ranking, pd.DataFrame(columns=["feature"]), "empty"),
        (
            plot_association_heatmap,
            pd.DataFrame({"column": ["a", "b"], "a": [1.0, 0.2], "c": [0.2, 1.0]}),
            "not square",
        ),
    ],
)
def test_association_plots_refuse_bad_tables(plot, bad, message):
    with pytest.raises(ValueError, match=message):
        plot(bad)


# --- the HTML report --------------------------------------------------------------------


@pytest.fixture
def report_inputs(findings_inputs, tiny_processed, thresholds, association) -> dict:
    clean, schema = findings_inputs["prm_students"], findings_inputs["dataset"]
    return {
        "rpt_eda_dataset_overview": summarise_dataset(
            tiny_processed["raw"], tiny_processed["kept"], tiny_processed["report"]
        ),
        "rpt_eda_column_overview": findings_inputs["rpt_eda_column_overview"],
        "rpt_eda_target_distribution": findings_inputs["rpt_eda_target_distribution"],
        "rpt_eda_association_ranking": findings_inputs["rpt_eda_association_ranking"],
        "rpt_eda_association_matrix": compute_association_matrix(
            clean, schema, association
        ),
        "rpt_eda_findings": write_findings(**findings_inputs, findings=thresholds),
        "prm_students": clean,
        "dataset": schema,
    }


def test_render_html_report_is_self_contained(report_inputs):
    page = render_html_report(**report_inputs)
    assert page.startswith("<!DOCTYPE html>")
    # plotly.js embedded once, nothing loaded from elsewhere
    assert page.count("<script") == 1 + 6  # plotly.js, then one per figure
    assert not re.search(r"<script[^>]*\bsrc=|<link\b|<img\b", page)
    assert get_plotlyjs() in page
    assert "http" not in page.replace(get_plotlyjs(), "")  # no URL of our own
    # one figure per feature plus target, ranking and heat map, in ranking order
    ids = re.findall(r'<div id="(fig-[\w-]+)"', page)
    assert ids == ["fig-target", "fig-1", "fig-2", "fig-3", "fig-rank", "fig-heat"]
    for section in ("findings", "overview", "target", "features", "association"):
        assert f'<section id="{section}">' in page
    assert "Measures shown." in page
    assert "#1 level (ordinal): Cramér&#x27;s V 1.00" in page
    assert render_html_report(**report_inputs) == page  # same data, same bytes


def test_render_html_report_escapes_names_from_the_data(report_inputs):
    schema = report_inputs["dataset"]
    odd = schema.model_copy(update={"name": "<script>alert(1)</script>"})
    page = render_html_report(**report_inputs | {"dataset": odd})
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_render_html_report_refuses_a_ranking_of_other_features(report_inputs):
    ranking = report_inputs["rpt_eda_association_ranking"].iloc[:2]
    with pytest.raises(ValueError, match="different features"):
        render_html_report(**report_inputs | {"rpt_eda_association_ranking": ranking})


# --- inputs are never changed ------------------------------------------------------------


def test_no_node_mutates_its_inputs(report_inputs, tiny_processed, association):
    inputs = report_inputs | {
        "raw_students": tiny_processed["raw"],
        "kept": tiny_processed["kept"],
        "report": tiny_processed["report"],
    }
    before = copy.deepcopy(inputs)
    raw, kept, report = inputs["raw_students"], inputs["kept"], inputs["report"]
    schema, clean = inputs["dataset"], inputs["prm_students"]
    ranking = inputs["rpt_eda_association_ranking"]
    summarise_dataset(raw, kept, report)
    overview = summarise_columns(raw, kept, report, schema)
    distribution = summarise_target(clean, schema)
    tabulate_features_by_target(clean, schema, association)
    rank_associations(clean, schema, association)
    compute_association_matrix(clean, schema, association)
    build_association_metrics(ranking)
    write_findings(clean, overview, distribution, ranking, schema, FindingsParams())
    plot_target_distribution(inputs["rpt_eda_target_distribution"], schema)
    plot_features_by_target(clean, ranking, schema)
    plot_association_ranking(ranking)
    plot_association_heatmap(inputs["rpt_eda_association_matrix"])
    render_html_report(**report_inputs)
    for name, value in before.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(inputs[name], value, obj=name)
        else:
            assert inputs[name] == value, name
