"""data_processing: the raw file to typed, validated, accounted-for rows.

Contract (names outside the ``data_processing`` namespace):
    inputs: ``raw_students`` (the rows), ``raw_students_source`` (the same file's path,
    encoding, record count and malformed records), ``params:dataset``,
    ``params:data_processing.quality``
    outputs: ``prm_students`` (rows kept, typed), ``int_quarantined_rows`` (rows set
    aside with their reason and original values), ``rpt_data_quality`` (JSON report,
    logged to MLflow), ``rpt_data_quality_metrics`` (MLflow metrics)

The last node, ``check_usable_rows``, reads the saved report and fails the run when no
row was kept: the quarantine and the report are on disk by then.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    build_quality_report,
    check_raw_structure,
    check_usable_rows,
    normalise_values,
    quarantine_rows,
)


def _cleaning_nodes() -> list[Node]:
    return [
        Node(
            check_raw_structure,
            inputs=[
                "raw_students",
                "raw_students_source",
                "params:dataset",
                "params:quality",
            ],
            outputs="int_students_raw",
            name="check_raw_structure",
        ),
        Node(
            normalise_values,
            inputs=["int_students_raw", "params:dataset", "params:quality"],
            outputs="int_students_typed",
            name="normalise_values",
        ),
        Node(
            quarantine_rows,
            inputs=[
                "int_students_raw",
                "int_students_typed",
                "raw_students",
                "raw_students_source",
                "params:dataset",
            ],
            outputs=["prm_students", "int_quarantined_rows"],
            name="quarantine_rows",
        ),
    ]


def _report_nodes() -> list[Node]:
    return [
        Node(
            build_quality_report,
            inputs=[
                "raw_students",
                "raw_students_source",
                "int_students_typed",
                "prm_students",
                "int_quarantined_rows",
                "params:dataset",
                "params:quality",
            ],
            outputs=["rpt_data_quality", "rpt_data_quality_metrics"],
            name="build_quality_report",
        ),
        Node(
            check_usable_rows,
            inputs="rpt_data_quality",
            outputs=None,
            name="check_usable_rows",
        ),
    ]


def create_pipeline(**kwargs) -> Pipeline:
    """Build the data_processing pipeline."""
    return Pipeline(
        [*_cleaning_nodes(), *_report_nodes()],
        namespace="data_processing",
        inputs={"raw_students", "raw_students_source"},
        outputs={
            "prm_students",
            "int_quarantined_rows",
            "rpt_data_quality",
            "rpt_data_quality_metrics",
        },
        parameters={"params:dataset"},
    )
