"""The modelling pipeline: its contract, and a sliced run on an in-memory catalog."""

from __future__ import annotations

from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from student_performance.pipelines.modelling import create_pipeline


def test_contract():
    pipeline = create_pipeline()
    assert pipeline.inputs() == {
        "prm_students",
        "raw_students",
        "params:dataset",
        "params:modelling.split",
        "params:modelling.candidates",
        "params:modelling.cv",
        "params:modelling.selection",
        "params:modelling.decision",
        "params:modelling.conformal",
        "params:modelling.seed",
        "params:modelling.explain",
        "params:modelling.input_example_rows",
    }
    assert {
        "model_selected",
        "model_dataset_schema",
        "rpt_selected_model_metrics",
    } <= pipeline.all_outputs()
    assert not {
        n for n in pipeline.all_outputs() if "." in n
    }  # every output is a boundary
    inference = pipeline.only_nodes_with_tags("inference")
    assert inference.inputs() == {
        "mi_raw_rows_example",
        "model_selected",
        "model_dataset_schema",
        "model_set_calibration",
    }
    assert inference.outputs() == {"pred_example_predictions"}


def test_sliced_run_to_the_selected_model(
    tiny_primary, tiny_schema, tiny_raw, candidates, cv
):
    catalog = DataCatalog(
        {
            "prm_students": MemoryDataset(tiny_primary),
            "raw_students": MemoryDataset(tiny_raw),
            "params:dataset": MemoryDataset(tiny_schema),
            "params:modelling.split": MemoryDataset({"holdout_share": 0.25, "seed": 0}),
            "params:modelling.candidates": MemoryDataset(candidates),
            "params:modelling.cv": MemoryDataset(cv),
            "params:modelling.selection": MemoryDataset({"primary_metric": "accuracy"}),
            "params:modelling.conformal": MemoryDataset(
                {"level": 0.9, "inner_splits": 3}
            ),
            "params:modelling.decision": MemoryDataset(
                {"rule": "argmax", "cost": "absolute"}
            ),
            "params:modelling.seed": MemoryDataset(0),
            "params:modelling.input_example_rows": MemoryDataset(4),
        }
    )
    pipeline = create_pipeline().to_outputs(
        "rpt_selected_model_metrics", "pred_example_predictions"
    )
    outputs = SequentialRunner().run(pipeline, catalog)
    summary = outputs["rpt_selected_model_metrics"].load()
    predictions = outputs["pred_example_predictions"].load()
    assert summary["primary_metric"] == "accuracy"
    assert summary["cv"]["accuracy"] > summary["candidates_cv"]["baseline"]["accuracy"]
    assert set(summary["holdout"]) == set(summary["cv"])
    assert len(predictions) == 4
