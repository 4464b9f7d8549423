"""drift_monitoring: has a batch moved away from what the champion was trained on?

Two pipelines, one namespace (``drift_monitoring``); the seeded simulations are the
``drift_simulation`` pipeline.

``create_pipeline`` (registered as ``drift_monitoring``; needs a batch, so it is not in
``__default__``; needs no model):
    inputs: ``prm_students`` (the reference), ``raw_drift_batch`` (the current batch,
    raw text: a lazy file, glob or folder profiled piece by piece, here or with
    ``--env dask`` on a Dask cluster; ``--env served``: one frame; its path is the
    runtime parameter ``drift_batch``), ``params:dataset``, ``params:random_seed``,
    ``params:drift_monitoring.{batch,reading,engine,tests}``
    outputs: ``rpt_drift_report`` (JSON verdict, MLflow artifact), ``rpt_drift_html``
    (self-contained HTML, MLflow artifact), ``rpt_drift_metrics`` (MLflow metrics
    ``drift.*``), ``rpt_drift_gauges`` (the verdict pushed to a Pushgateway when one
    is configured); internal: ``drift_monitoring.int_current_profile`` (the column
    profiles, pickle), ``drift_monitoring.int_current_batch`` (typed rows for the
    model part: a large lazy batch's bounded sample) and
    ``drift_monitoring.int_unseen_values`` (parquet)

``create_model_drift_pipeline`` (to register as ``drift_monitoring_model``, outside
``__default__``: it needs the trained champion):
    inputs: ``model_selected``, ``rpt_selected_model_metrics``, ``prm_students``,
    ``rpt_drift_report`` and ``drift_monitoring.int_current_batch`` (from the pipeline
    above), ``params:dataset``, ``params:random_seed``,
    ``params:drift_monitoring.{tests,performance}``
    outputs: ``pred_drift_reference``, ``pred_drift_current`` (predicted classes),
    ``rpt_model_drift_report`` (JSON verdict over inputs, predictions and performance,
    MLflow artifact), ``rpt_model_drift_metrics`` (MLflow metrics ``drift_model.*``),
    ``rpt_model_drift_gauges`` (its verdict for the Pushgateway)
"""

from kedro.pipeline import Node, Pipeline

from .model_nodes import (
    collect_model_drift_gauges,
    compare_prediction_set_sizes,
    detect_model_drift,
    predict_for_drift,
)
from .nodes import (
    collect_drift_gauges,
    collect_drift_metrics,
    detect_batch_drift,
    profile_current_batch,
    render_drift_report,
)

SHARED_PARAMETERS = {"params:dataset", "params:random_seed"}


def _input_drift_nodes() -> list[Node]:
    """Profile the batch, compare it, render and publish the verdict."""
    return [
        Node(
            profile_current_batch,
            inputs=[
                "raw_drift_batch",
                "params:dataset",
                "params:batch",
                "params:reading",
                "params:engine",
                "params:random_seed",
            ],
            outputs=[
                "int_current_profile",
                "int_current_batch",
                "int_unseen_values",
            ],
            name="profile_current_batch",
        ),
        Node(
            detect_batch_drift,
            inputs=[
                "prm_students",
                "int_current_profile",
                "int_unseen_values",
                "params:dataset",
                "params:tests",
                "params:batch",
                "params:random_seed",
            ],
            outputs="rpt_drift_report",
            name="detect_batch_drift",
        ),
        Node(
            render_drift_report,
            inputs="rpt_drift_report",
            outputs="rpt_drift_html",
            name="render_drift_report",
        ),
        Node(
            collect_drift_metrics,
            inputs="rpt_drift_report",
            outputs="rpt_drift_metrics",
            name="collect_drift_metrics",
        ),
        Node(
            collect_drift_gauges,
            inputs=["rpt_drift_report", "rpt_drift_report"],
            outputs="rpt_drift_gauges",
            name="collect_drift_gauges",
        ),
    ]


def create_pipeline(**kwargs) -> Pipeline:
    """Input drift of the current batch: cleaned and profiled, compared, reported."""
    return Pipeline(
        _input_drift_nodes(),
        namespace="drift_monitoring",
        inputs={"prm_students", "raw_drift_batch"},
        outputs={
            "rpt_drift_report",
            "rpt_drift_html",
            "rpt_drift_metrics",
            "rpt_drift_gauges",
        },
        parameters=SHARED_PARAMETERS,
    )


def _model_drift_nodes() -> list[Node]:
    """Predict, compare predictions and performance, publish, compare set sizes."""
    return [
        Node(
            predict_for_drift,
            inputs=[
                "model_selected",
                "prm_students",
                "int_current_batch",
                "params:dataset",
            ],
            outputs=["pred_drift_reference", "pred_drift_current"],
            name="predict_for_drift",
        ),
        Node(
            detect_model_drift,
            inputs=[
                "pred_drift_reference",
                "pred_drift_current",
                "rpt_selected_model_metrics",
                "rpt_drift_report",
                "params:tests",
                "params:performance",
                "params:dataset",
                "params:random_seed",
            ],
            outputs=["rpt_model_drift_report", "rpt_model_drift_metrics"],
            name="detect_model_drift",
        ),
        Node(
            collect_model_drift_gauges,
            inputs=["rpt_model_drift_report", "rpt_drift_report"],
            outputs="rpt_model_drift_gauges",
            name="collect_model_drift_gauges",
        ),
        Node(
            compare_prediction_set_sizes,
            inputs=[
                "model_selected",
                "model_set_calibration",
                "prm_students",
                "int_current_batch",
                "params:dataset",
            ],
            outputs=["rpt_set_size_drift", "rpt_set_size_drift_metrics"],
            name="compare_prediction_set_sizes",
        ),
    ]


def create_model_drift_pipeline(**kwargs) -> Pipeline:
    """Prediction drift and performance drop of the champion on the current batch."""
    return Pipeline(
        _model_drift_nodes(),
        namespace="drift_monitoring",
        inputs={
            "model_selected",
            "model_set_calibration",
            "prm_students",
            "rpt_selected_model_metrics",
            "rpt_drift_report",
        },
        outputs={
            "pred_drift_reference",
            "pred_drift_current",
            "rpt_model_drift_report",
            "rpt_model_drift_metrics",
            "rpt_model_drift_gauges",
            "rpt_set_size_drift",
            "rpt_set_size_drift_metrics",
        },
        parameters=SHARED_PARAMETERS,
    )
