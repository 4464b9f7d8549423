"""eda_reporting: the exploratory analysis of the data, as tables, figures and a report.

Contract (names outside the ``eda_reporting`` namespace):
    inputs: ``raw_students``, ``prm_students``, ``rpt_data_quality`` (from
    data_processing), ``params:dataset``, ``params:eda_reporting.association``,
    ``params:eda_reporting.findings``
    outputs (all in ``data/08_reporting`` and logged to MLflow):
    ``rpt_eda_report`` (interactive HTML), ``rpt_eda_dataset_overview``,
    ``rpt_eda_findings`` (JSON), ``rpt_eda_column_overview``,
    ``rpt_eda_target_distribution``, ``rpt_eda_feature_by_target``,
    ``rpt_eda_association_ranking``, ``rpt_eda_association_matrix`` (CSV),
    ``rpt_eda_target_png``, ``rpt_eda_features_png``,
    ``rpt_eda_association_ranking_png``, ``rpt_eda_association_heatmap_png`` (PNG),
    ``rpt_eda_association_metrics`` (MLflow metrics ``eda.*``)
"""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    build_association_metrics,
    compute_association_matrix,
    rank_associations,
    summarise_columns,
    summarise_dataset,
    summarise_target,
    tabulate_features_by_target,
    write_findings,
)
from .report_nodes import (
    plot_association_heatmap,
    plot_association_ranking,
    plot_features_by_target,
    plot_target_distribution,
    render_html_report,
)

OUTPUTS = {
    "rpt_eda_dataset_overview",
    "rpt_eda_column_overview",
    "rpt_eda_target_distribution",
    "rpt_eda_feature_by_target",
    "rpt_eda_association_ranking",
    "rpt_eda_association_matrix",
    "rpt_eda_association_metrics",
    "rpt_eda_findings",
    "rpt_eda_report",
    "rpt_eda_target_png",
    "rpt_eda_features_png",
    "rpt_eda_association_ranking_png",
    "rpt_eda_association_heatmap_png",
}


def _table_nodes() -> list[Node]:
    return [
        Node(
            summarise_dataset,
            inputs=["raw_students", "prm_students", "rpt_data_quality"],
            outputs="rpt_eda_dataset_overview",
            name="summarise_dataset",
        ),
        Node(
            summarise_columns,
            inputs=[
                "raw_students",
                "prm_students",
                "rpt_data_quality",
                "params:dataset",
            ],
            outputs="rpt_eda_column_overview",
            name="summarise_columns",
        ),
        Node(
            summarise_target,
            inputs=["prm_students", "params:dataset"],
            outputs="rpt_eda_target_distribution",
            name="summarise_target",
        ),
        Node(
            write_findings,
            inputs=[
                "prm_students",
                "rpt_eda_column_overview",
                "rpt_eda_target_distribution",
                "rpt_eda_association_ranking",
                "params:dataset",
                "params:findings",
            ],
            outputs="rpt_eda_findings",
            name="write_findings",
        ),
    ]


def _association_nodes() -> list[Node]:
    return [
        Node(
            tabulate_features_by_target,
            inputs=["prm_students", "params:dataset", "params:association"],
            outputs="rpt_eda_feature_by_target",
            name="tabulate_features_by_target",
        ),
        Node(
            rank_associations,
            inputs=["prm_students", "params:dataset", "params:association"],
            outputs="rpt_eda_association_ranking",
            name="rank_associations",
        ),
        Node(
            compute_association_matrix,
            inputs=["prm_students", "params:dataset", "params:association"],
            outputs="rpt_eda_association_matrix",
            name="compute_association_matrix",
        ),
        Node(
            build_association_metrics,
            inputs="rpt_eda_association_ranking",
            outputs="rpt_eda_association_metrics",
            name="build_association_metrics",
        ),
    ]


def _figure_nodes() -> list[Node]:
    return [
        Node(
            render_html_report,
            inputs=[
                "rpt_eda_dataset_overview",
                "rpt_eda_column_overview",
                "rpt_eda_target_distribution",
                "rpt_eda_association_ranking",
                "rpt_eda_association_matrix",
                "rpt_eda_findings",
                "prm_students",
                "params:dataset",
            ],
            outputs="rpt_eda_report",
            name="render_html_report",
        ),
        Node(
            plot_target_distribution,
            inputs=["rpt_eda_target_distribution", "params:dataset"],
            outputs="rpt_eda_target_png",
            name="plot_target_distribution",
        ),
        Node(
            plot_features_by_target,
            inputs=["prm_students", "rpt_eda_association_ranking", "params:dataset"],
            outputs="rpt_eda_features_png",
            name="plot_features_by_target",
        ),
        Node(
            plot_association_ranking,
            inputs="rpt_eda_association_ranking",
            outputs="rpt_eda_association_ranking_png",
            name="plot_association_ranking",
        ),
        Node(
            plot_association_heatmap,
            inputs="rpt_eda_association_matrix",
            outputs="rpt_eda_association_heatmap_png",
            name="plot_association_heatmap",
        ),
    ]


def create_pipeline(**kwargs) -> Pipeline:
    """Build the eda_reporting pipeline."""
    return Pipeline(
        [*_table_nodes(), *_association_nodes(), *_figure_nodes()],
        namespace="eda_reporting",
        inputs={"raw_students", "prm_students", "rpt_data_quality"},
        outputs=OUTPUTS,
        parameters={"params:dataset"},
    )
