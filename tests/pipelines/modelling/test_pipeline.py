"""The modelling pipeline: its contract, and a sliced run on an in-memory catalog."""

from __future__ import annotations

import inspect

from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from student_performance.core.params import (
    CandidatesParams,
    ConformalParams,
    CVParams,
    DecisionParams,
    SelectionParams,
    SplitParams,
)
from student_performance.pipelines.modelling import create_pipeline, nodes
from student_performance.pipelines.modelling import pipeline as modelling_pipeline
from student_performance.pipelines.modelling.params import PreflightParams

OUTPUTS = {
    "mi_trainable_students",
    "mi_development",
    "mi_holdout",
    "mi_raw_rows_example",
    "feat_inference_features",
    "model_selected",
    "model_selected_config",
    "model_dataset_schema",
    "model_set_calibration",
    "model_cv_folds",
    "rpt_cv_summary",
    "rpt_candidate_metrics",
    "rpt_selected_model_metrics",
    "rpt_selected_metrics",
    "rpt_holdout_metrics",
    "rpt_classification_report",
    "rpt_confusion_matrix",
    "rpt_feature_importance",
    "rpt_feature_importance_plot",
    "rpt_model_comparison",
    "rpt_prediction_sets",
    "rpt_model_card",
    "rpt_holdout_explanations",
    "pred_example_predictions",
    "pred_set_rows",
    "rpt_group_report",
    "rpt_fairness_metrics",
    "mi_model_schema",
    "model_features",
}


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
        "params:modelling.preflight",
        "params:modelling.fairness",
        "params:modelling.exclude_features",
    }
    assert pipeline.all_outputs() == OUTPUTS  # every output is a boundary
    inference = pipeline.only_nodes_with_tags("inference")
    assert inference.inputs() == {
        "mi_raw_rows_example",
        "model_selected",
        "model_dataset_schema",
        "model_set_calibration",
    }
    assert inference.outputs() == {"pred_example_predictions"}


def test_docstring_lists_every_output():
    documented = modelling_pipeline.__doc__.split("outputs:")[1].split("Nodes tagged")[
        0
    ]
    assert {name for name in OUTPUTS if f"``{name}``" not in documented} == set()


def test_sliced_run_to_the_selected_model(
    tiny_primary, tiny_schema, tiny_raw, candidates, cv
):
    catalog = DataCatalog(
        {
            "prm_students": MemoryDataset(tiny_primary),
            "raw_students": MemoryDataset(tiny_raw),
            "params:dataset": MemoryDataset(tiny_schema),
            "params:modelling.split": MemoryDataset(
                SplitParams(holdout_share=0.25, seed=0)
            ),
            "params:modelling.candidates": MemoryDataset(
                CandidatesParams.model_validate(candidates)
            ),
            "params:modelling.cv": MemoryDataset(CVParams(**cv)),
            # typed, as Kedro hands them to the nodes
            "params:modelling.selection": MemoryDataset(
                SelectionParams(primary_metric="accuracy")
            ),
            "params:modelling.conformal": MemoryDataset(
                ConformalParams(level=0.9, inner_splits=3)
            ),
            "params:modelling.decision": MemoryDataset(
                DecisionParams(rule="argmax", cost="absolute")
            ),
            "params:modelling.seed": MemoryDataset(0),
            "params:modelling.input_example_rows": MemoryDataset(4),
            "params:modelling.preflight": MemoryDataset(PreflightParams(min_rows=20)),
            "params:modelling.exclude_features": MemoryDataset([]),
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


def test_inference_nodes_keep_the_import_path_registered_models_pickle():
    """A registered MLflow model pickles its inference pipeline: each node's function is
    stored by module and name. Models registered before the core package existed refer
    to these two paths, so they must keep resolving (checked by hand on a model trained
    with the previous layout: it loads and predicts)."""
    pipeline = create_pipeline().only_nodes_with_tags("inference")
    paths = {(n.func.__module__, n.func.__qualname__) for n in pipeline.nodes}
    module = "student_performance.pipelines.modelling.nodes"
    assert paths == {
        (module, "prepare_inference_features"),
        (module, "predict_performance"),
    }
    # their pickled predict_performance node has two inputs (no set calibration)
    calibration = inspect.signature(nodes.predict_performance).parameters[
        "model_set_calibration"
    ]
    assert calibration.default is None
