"""The eda_reporting pipeline: its contract, and runs on an in-memory catalog."""

from __future__ import annotations

import pandas as pd
import pytest
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from matplotlib.figure import Figure

from student_performance.pipelines.eda_reporting import create_pipeline

BOUNDARY_OUTPUTS = {
    "rpt_eda_report",
    "rpt_eda_dataset_overview",
    "rpt_eda_findings",
    "rpt_eda_column_overview",
    "rpt_eda_target_distribution",
    "rpt_eda_feature_by_target",
    "rpt_eda_association_ranking",
    "rpt_eda_association_matrix",
    "rpt_eda_association_metrics",
    "rpt_eda_target_png",
    "rpt_eda_features_png",
    "rpt_eda_association_ranking_png",
    "rpt_eda_association_heatmap_png",
}


def test_contract():
    pipeline = create_pipeline()
    assert pipeline.inputs() == {
        "raw_students",
        "prm_students",
        "rpt_data_quality",
        "params:dataset",
        "params:eda_reporting.association",
        "params:eda_reporting.findings",
    }
    # every output is a boundary output: no dotted (namespaced) dataset at all
    assert pipeline.all_outputs() == BOUNDARY_OUTPUTS
    assert all(name.startswith("rpt_eda_") for name in pipeline.all_outputs())
    assert {n.name for n in pipeline.nodes} == {
        f"eda_reporting.{n.func.__name__}" for n in pipeline.nodes
    }


@pytest.fixture
def catalog(tiny_processed, tiny_schema, association, thresholds) -> DataCatalog:
    return DataCatalog(
        {
            "raw_students": MemoryDataset(tiny_processed["raw"]),
            "prm_students": MemoryDataset(tiny_processed["kept"]),
            "rpt_data_quality": MemoryDataset(tiny_processed["report"]),
            "params:dataset": MemoryDataset(tiny_schema),
            "params:eda_reporting.association": MemoryDataset(association),
            "params:eda_reporting.findings": MemoryDataset(thresholds),
        }
    )


def test_sliced_run_to_the_findings(catalog):
    pipeline = create_pipeline().to_outputs("rpt_eda_findings")
    assert not {"eda_reporting.render_html_report"} & {n.name for n in pipeline.nodes}
    outputs = SequentialRunner().run(pipeline, catalog)
    findings = outputs["rpt_eda_findings"].load()
    topics = {f["topic"] for f in findings["findings"]}
    assert topics == {"association", "class_balance", "missing", "rare_values"}


def test_full_run_outputs(catalog, tiny_schema):
    outputs = SequentialRunner().run(create_pipeline(), catalog)
    loaded = {name: outputs[name].load() for name in outputs}
    # free outputs: everything no other node consumes
    assert set(loaded) >= {
        "rpt_eda_report",
        "rpt_eda_feature_by_target",
        "rpt_eda_association_metrics",
        "rpt_eda_target_png",
        "rpt_eda_features_png",
        "rpt_eda_association_ranking_png",
        "rpt_eda_association_heatmap_png",
    }
    assert loaded["rpt_eda_report"].startswith("<!DOCTYPE html>")
    for name in (n for n in loaded if n.endswith("_png")):
        assert isinstance(loaded[name], Figure), name
    metrics = loaded["rpt_eda_association_metrics"]
    # 3 rows kept: Cramér's V is undefined (not logged), mutual information is not
    assert set(metrics) >= {
        f"mutual_info.{feature}" for feature in tiny_schema.feature_names
    }
    assert not any(name.startswith("cramers_v.") for name in metrics)
    table = loaded["rpt_eda_feature_by_target"]
    assert isinstance(table, pd.DataFrame)
    assert set(table["feature"]) == set(tiny_schema.feature_names)
