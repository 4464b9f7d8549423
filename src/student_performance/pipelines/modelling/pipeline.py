"""modelling: the primary table to a selected, evaluated and explained model.

Contract (names outside the ``modelling`` namespace):
    inputs: ``prm_students``, ``raw_students`` (for the raw input example),
        ``params:dataset``, ``params:modelling.*``
        (``modelling.exclude_features``: features the model is not given)
    outputs: ``mi_trainable_students`` (``prm_students`` once the pre-flight accepted
        it), ``model_selected`` (06_models, pickled ``OrderedClassifier``),
        ``model_selected_config`` (06_models, its configuration: the registry gate
        re-scores it), ``model_dataset_schema`` (06_models, the schema it was trained
        with), ``model_set_calibration`` (06_models, the prediction sets' conformal
        thresholds), ``rpt_prediction_sets`` (their coverage on repeated CV),
        ``mi_development`` / ``mi_holdout``, ``mi_raw_rows_example`` (the bundled
        model's input example), ``feat_inference_features`` (the example's features,
        in memory), ``model_cv_folds``, ``rpt_cv_summary``, ``rpt_candidate_metrics``,
        ``rpt_selected_model_metrics``, ``rpt_selected_metrics``,
        ``rpt_holdout_metrics``, ``rpt_classification_report``,
        ``rpt_confusion_matrix``, ``rpt_feature_importance``,
        ``rpt_feature_importance_plot``, ``rpt_model_comparison``, ``rpt_model_card``,
        ``rpt_holdout_explanations`` (each holdout row's feature contributions),
        ``mi_model_schema`` (the schema less the excluded features: what every
        training node and the served model read), ``model_features`` (its feature
        names, an MLflow artifact the gate's re-score reads), ``pred_set_rows`` (the selected model's out-of-fold rows on repeated CV),
        ``rpt_group_report`` (figures per sensitive group, out of fold),
        ``rpt_fairness_metrics`` (the same as ``fairness.*`` MLflow metrics),
        ``pred_example_predictions``

Nodes tagged ``training`` fit and evaluate, after ``check_trainable`` (the pre-flight:
enough rows and classes for the split and CV, else one clear error); nodes tagged
``inference``
(raw rows -> ``prepare_inference_features`` -> ``predict_performance``) are bundled by
``pipeline_ml_factory`` into one MLflow model (see ``pipelines/training/pipeline.py``).
In a plain run they score the raw input example, a smoke test of that path.
"""

from kedro.pipeline import Node, Pipeline

from ._card import build_model_card
from ._explain import explain_holdout_rows, explain_model
from ._fairness import report_groups
from ._features import select_model_features
from ._figures import build_comparison_report
from ._report import evaluate_holdout, report_selected_model
from ._sets import (
    calibrate_prediction_sets,
    cross_validate_sets,
    summarise_set_coverage,
)
from .nodes import (
    build_input_example,
    evaluate_candidates,
    fit_selected_model,
    freeze_dataset_schema,
    predict_performance,
    prepare_inference_features,
    split_development_holdout,
    summarise_candidates,
)
from .preflight import check_trainable

TRAINING, INFERENCE = "training", "inference"

_BOUNDARY_OUTPUTS = {
    "mi_trainable_students",
    "mi_development",
    "mi_holdout",
    "mi_raw_rows_example",
    "model_selected",
    "model_selected_config",
    "model_dataset_schema",
    "model_set_calibration",
    "rpt_prediction_sets",
    "feat_inference_features",
    "rpt_holdout_metrics",
    "model_cv_folds",
    "rpt_cv_summary",
    "rpt_candidate_metrics",
    "rpt_selected_model_metrics",
    "rpt_selected_metrics",
    "rpt_classification_report",
    "rpt_confusion_matrix",
    "rpt_feature_importance",
    "rpt_feature_importance_plot",
    "rpt_model_comparison",
    "rpt_model_card",
    "rpt_holdout_explanations",
    "pred_set_rows",
    "mi_model_schema",
    "model_features",
    "rpt_group_report",
    "rpt_fairness_metrics",
    "pred_example_predictions",
}


def _selection_nodes() -> list[Node]:
    """Pre-flight, split, repeated CV, selection and the refit."""
    return [
        Node(
            check_trainable,
            inputs=[
                "prm_students",
                "mi_model_schema",
                "params:split",
                "params:cv",
                "params:preflight",
            ],
            outputs="mi_trainable_students",
            name="check_trainable",
        ),
        Node(
            split_development_holdout,
            inputs=["mi_trainable_students", "mi_model_schema", "params:split"],
            outputs=["mi_development", "mi_holdout"],
            name="split_development_holdout",
        ),
        Node(
            evaluate_candidates,
            inputs=[
                "mi_development",
                "mi_model_schema",
                "params:candidates",
                "params:cv",
                "params:decision",
            ],
            outputs="model_cv_folds",
            name="evaluate_candidates",
        ),
        Node(
            summarise_candidates,
            inputs=[
                "model_cv_folds",
                "params:candidates",
                "params:selection",
                "params:decision",
            ],
            outputs=[
                "rpt_cv_summary",
                "model_selected_config",
                "rpt_candidate_metrics",
            ],
            name="summarise_candidates",
        ),
        Node(
            fit_selected_model,
            inputs=[
                "mi_development",
                "model_selected_config",
                "mi_model_schema",
                "params:seed",
            ],
            outputs="model_selected",
            name="fit_selected_model",
        ),
    ]


def _set_nodes() -> list[Node]:
    """Prediction sets: calibrated out of fold, coverage on repeated CV."""
    return [
        Node(
            calibrate_prediction_sets,
            inputs=[
                "mi_development",
                "model_selected_config",
                "mi_model_schema",
                "params:conformal",
                "params:seed",
            ],
            outputs="model_set_calibration",
            name="calibrate_prediction_sets",
        ),
        Node(
            cross_validate_sets,
            inputs=[
                "mi_development",
                "model_selected_config",
                "mi_model_schema",
                "params:cv",
                "params:conformal",
            ],
            outputs="pred_set_rows",
            name="cross_validate_sets",
        ),
        Node(
            summarise_set_coverage,
            inputs=["pred_set_rows", "mi_model_schema", "params:conformal"],
            outputs="rpt_prediction_sets",
            name="summarise_set_coverage",
        ),
        Node(
            report_groups,
            inputs=[
                "pred_set_rows",
                "mi_development",
                "params:dataset",
                "params:fairness",
                "rpt_prediction_sets",
            ],
            outputs=["rpt_group_report", "rpt_fairness_metrics"],
            name="report_groups",
        ),
    ]


def _report_nodes() -> list[Node]:
    """The holdout score, explanations and the comparison report."""
    return [
        Node(
            evaluate_holdout,
            inputs=["model_selected", "mi_holdout", "mi_model_schema"],
            outputs=[
                "rpt_holdout_metrics",
                "rpt_classification_report",
                "rpt_confusion_matrix",
            ],
            name="evaluate_holdout",
        ),
        Node(
            report_selected_model,
            inputs=[
                "model_selected_config",
                "rpt_holdout_metrics",
                "rpt_cv_summary",
                "rpt_prediction_sets",
            ],
            outputs=["rpt_selected_model_metrics", "rpt_selected_metrics"],
            name="report_selected_model",
        ),
        Node(
            explain_model,
            inputs=[
                "model_selected",
                "mi_holdout",
                "mi_model_schema",
                "params:explain",
            ],
            outputs=["rpt_feature_importance", "rpt_feature_importance_plot"],
            name="explain_model",
        ),
        Node(
            build_comparison_report,
            inputs=[
                "rpt_cv_summary",
                "rpt_selected_model_metrics",
                "model_cv_folds",
                "rpt_group_report",
            ],
            outputs="rpt_model_comparison",
            name="build_comparison_report",
        ),
        Node(
            explain_holdout_rows,
            inputs=["model_selected", "mi_holdout", "mi_model_schema"],
            outputs="rpt_holdout_explanations",
            name="explain_holdout_rows",
        ),
    ]


def _card_nodes() -> list[Node]:
    """The model card."""
    return [
        Node(
            build_model_card,
            inputs=[
                "rpt_selected_model_metrics",
                "rpt_cv_summary",
                "mi_development",
                "mi_holdout",
                "mi_model_schema",
                "rpt_group_report",
            ],
            outputs="rpt_model_card",
            name="build_model_card",
        ),
    ]


def _bundle_nodes() -> list[Node]:
    """What the bundled MLflow model carries besides the fitted model."""
    return [
        Node(
            build_input_example,
            inputs=["raw_students", "mi_model_schema", "params:input_example_rows"],
            outputs="mi_raw_rows_example",
            name="build_input_example",
        ),
        Node(
            freeze_dataset_schema,
            inputs="mi_model_schema",
            outputs="model_dataset_schema",
            name="freeze_dataset_schema",
        ),
    ]


def _training_nodes() -> list[Node]:
    features = Node(
        select_model_features,
        inputs=["params:dataset", "params:exclude_features"],
        outputs=["mi_model_schema", "model_features"],
        name="select_model_features",
    )
    return [
        features,
        *_selection_nodes(),
        *_set_nodes(),
        *_report_nodes(),
        *_card_nodes(),
        *_bundle_nodes(),
    ]


def _inference_nodes() -> list[Node]:
    return [
        Node(
            prepare_inference_features,
            inputs=["mi_raw_rows_example", "model_dataset_schema"],
            outputs="feat_inference_features",
            name="prepare_inference_features",
        ),
        Node(
            predict_performance,
            inputs=[
                "model_selected",
                "feat_inference_features",
                "model_set_calibration",
            ],
            outputs="pred_example_predictions",
            name="predict_performance",
        ),
    ]


def create_pipeline(**kwargs) -> Pipeline:
    """Build the modelling pipeline (training and inference nodes, tagged)."""
    return Pipeline(
        [
            Pipeline(_training_nodes(), tags=TRAINING),
            Pipeline(_inference_nodes(), tags=INFERENCE),
        ],
        namespace="modelling",
        inputs={"prm_students", "raw_students"},
        outputs=_BOUNDARY_OUTPUTS,
        parameters={"params:dataset"},
    )
