"""The drift_simulation pipeline: its contract, and a run on an in-memory catalog."""

from __future__ import annotations

from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from student_performance.drift.settings import DriftTestsParams, SimulationParams
from student_performance.pipelines.drift_simulation import create_pipeline
from tests.conftest import tiny_typed

OUTPUTS = {
    "rpt_drift_simulations",
    "rpt_drift_detection",
    "rpt_drift_simulated_batches",
    "rpt_drift_simulation_html",
    "rpt_drift_simulation_metrics",
}


def test_contract():
    pipeline = create_pipeline()

    assert pipeline.inputs() == {
        "prm_students",
        "params:dataset",
        "params:random_seed",
        "params:drift_monitoring.tests",
        "params:drift_simulation.simulations",
    }
    assert pipeline.all_outputs() == OUTPUTS
    # the JSON summary also feeds the HTML page and the metrics
    assert pipeline.outputs() == OUTPUTS - {"rpt_drift_simulations"}
    assert {n.name for n in pipeline.nodes} == {
        "drift_simulation.simulate_drift",
        "drift_simulation.render_simulation_report",
        "drift_simulation.collect_simulation_metrics",
    }


def test_run_simulates_every_kind(tiny_schema):
    """The invented schema has a numeric feature: shifted in standard deviations."""
    catalog = DataCatalog(
        {
            name: MemoryDataset(value)
            for name, value in {
                "prm_students": tiny_typed(tiny_schema, 300, seed=1),
                "params:dataset": tiny_schema,
                "params:random_seed": 42,
                "params:drift_monitoring.tests": DriftTestsParams(
                    min_rows=20, monte_carlo_samples=499
                ),
                "params:drift_simulation.simulations": SimulationParams(
                    intensities=(0.0, 1.0), repeats=1, batch_size=100
                ),
            }.items()
        }
    )

    outputs = SequentialRunner().run(create_pipeline(), catalog)

    table = outputs["rpt_drift_detection"].load()
    assert set(table["kind"]) == set(SimulationParams().kinds)
    assert table.loc[table["intensity"] == 0.0, "drift"].eq(0.0).all()
    assert table.loc[table["intensity"] == 1.0, "detected"].eq(1.0).all()
    metrics = outputs["rpt_drift_simulation_metrics"].load()
    assert [m["step"] for m in metrics["simulation.combined.detected"]] == [0, 100]
    assert set(outputs["rpt_drift_simulated_batches"].load()) == set(table["kind"])
    assert "Simulated feature_shift" in outputs["rpt_drift_simulation_html"].load()
