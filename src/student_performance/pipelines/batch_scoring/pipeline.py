"""batch_scoring: score a file, a glob or a folder of raw records with a registered model.

inputs: ``raw_scoring_batch`` (``batch.RawBatchDataset``: the path is the runtime
parameter ``batch_scoring.input``), ``model_for_scoring`` (``scoring.
RegisteredModelDataset``: the registry's ``champion``, or ``batch_scoring.alias`` /
``batch_scoring.version``), ``params:batch_scoring.{reading,engine}``
outputs: ``pred_scored_records`` (Parquet partitions, one row per scored record),
``pred_rejected_records`` (Parquet partitions, one row per rejected record, with its
reason), ``rpt_scoring_report`` (JSON, MLflow artifact), ``rpt_scoring_metrics``
(MLflow metrics ``scoring.*``); internal: ``batch_scoring.int_scoring_tally`` (JSON,
the running counts, rewritten after each piece)
"""

from kedro.pipeline import Node, Pipeline

from .nodes import build_scoring_report, collect_scoring_metrics, score_batch


def create_pipeline(**kwargs) -> Pipeline:
    """Score, report, log the figures."""
    return Pipeline(
        [
            Node(
                score_batch,
                inputs=[
                    "raw_scoring_batch",
                    "model_for_scoring",
                    "params:reading",
                    "params:engine",
                ],
                outputs=[
                    "pred_scored_records",
                    "pred_rejected_records",
                    "int_scoring_tally",
                ],
                name="score_batch",
            ),
            Node(
                build_scoring_report,
                inputs="int_scoring_tally",
                outputs="rpt_scoring_report",
                name="build_scoring_report",
            ),
            Node(
                collect_scoring_metrics,
                inputs="rpt_scoring_report",
                outputs="rpt_scoring_metrics",
                name="collect_scoring_metrics",
            ),
        ],
        namespace="batch_scoring",
        inputs={"raw_scoring_batch", "model_for_scoring"},
        outputs={
            "pred_scored_records",
            "pred_rejected_records",
            "rpt_scoring_report",
            "rpt_scoring_metrics",
        },
    )
