"""drift_simulation: would drift_monitoring catch drift of a known kind and size?

Registered as ``drift_simulation``, part of ``__default__`` (needs neither a batch nor
a model, so it runs in a fresh clone after data_processing). Namespace
``drift_simulation``; the simulated batches are judged with drift_monitoring's own
thresholds (``params:drift_monitoring.tests``).

inputs: ``prm_students`` (the reference, and the rows batches are drawn from),
``params:dataset``, ``params:random_seed``, ``params:drift_monitoring.tests``,
``params:drift_simulation.simulations``

outputs: ``rpt_drift_simulations`` (JSON: settings, detection, one full report per kind,
MLflow artifact), ``rpt_drift_detection`` (detection vs intensity, CSV, MLflow
artifact), ``rpt_drift_simulated_batches`` (one raw CSV per kind),
``rpt_drift_simulation_html`` (self-contained HTML, MLflow artifact),
``rpt_drift_simulation_metrics`` (MLflow metrics ``drift.simulation.*``)
"""

from kedro.pipeline import Node, Pipeline

from .nodes import collect_simulation_metrics, render_simulation_report, simulate_drift


def create_pipeline(**kwargs) -> Pipeline:
    """Simulate, report and log the detection rates."""
    return Pipeline(
        [
            Node(
                simulate_drift,
                inputs=[
                    "prm_students",
                    "params:dataset",
                    "params:tests",
                    "params:simulations",
                    "params:random_seed",
                ],
                outputs=[
                    "rpt_drift_detection",
                    "rpt_drift_simulations",
                    "rpt_drift_simulated_batches",
                ],
                name="simulate_drift",
            ),
            Node(
                render_simulation_report,
                inputs="rpt_drift_simulations",
                outputs="rpt_drift_simulation_html",
                name="render_simulation_report",
            ),
            Node(
                collect_simulation_metrics,
                inputs="rpt_drift_simulations",
                outputs="rpt_drift_simulation_metrics",
                name="collect_simulation_metrics",
            ),
        ],
        namespace="drift_simulation",
        inputs={"prm_students"},
        outputs={
            "rpt_drift_simulations",
            "rpt_drift_detection",
            "rpt_drift_simulated_batches",
            "rpt_drift_simulation_html",
            "rpt_drift_simulation_metrics",
        },
        parameters={
            "params:dataset": "params:dataset",
            "params:random_seed": "params:random_seed",
            "params:tests": "params:drift_monitoring.tests",
        },
    )
