"""drift_monitoring_model: ``drift_monitoring`` plus the model's side of drift.

Input drift (as ``drift_monitoring``), then the selected model's prediction drift and,
when the batch has the target, its accuracy / macro-F1 drop against the reference
figures (``create_model_drift_pipeline`` in the drift_monitoring folder). Needs a
batch and a trained model (``kedro run --pipelines training``), so it stays out of
``__default__``.

A folder of its own because Kedro 1.7 imports only the requested pipeline folders for
``--pipelines``; its parameters are drift_monitoring's.
"""

from kedro.pipeline import Pipeline

from student_performance.pipelines import drift_monitoring


def create_pipeline(**kwargs) -> Pipeline:
    """Build drift_monitoring + the model drift nodes."""
    return (
        drift_monitoring.create_pipeline()
        + drift_monitoring.create_model_drift_pipeline()
    )
