"""training: data_processing + modelling, logged and registered as one MLflow model.

``pipeline_ml_factory`` bundles the ``inference``-tagged nodes (raw rows ->
``prepare_inference_features`` -> ``predict_performance``) with the artifacts the
``training`` nodes persist (``model_selected``, the parameters) into one MLflow model
whose single input is raw rows (``mi_raw_rows_example``'s columns, as text) and whose
output is the predicted class plus one probability per class; its ``predict`` runs the
nodes with ``runner.SequentialRunner`` (no Kedro INFO lines per call). After a successful run,
``ModelRegistryHook`` registers it and applies the promotion gate
(``parameters_training.yml``).

A folder of its own (rather than a composition in ``pipeline_registry.py``) because
Kedro 1.7 imports only the requested pipeline folders for ``--pipelines``.
"""

from importlib.metadata import version
from pathlib import Path

from kedro.pipeline import Pipeline
from kedro_mlflow.pipeline.pipeline_ml import KedroMlflowPipelineMLError, PipelineML

from student_performance.pipelines import data_processing, modelling
from student_performance.pipelines.training.runner import SequentialRunner

# The bundled model's dependencies, pinned to what is installed: listing them saves
# MLflow the several seconds it spends inferring them on every training run.
_MODEL_REQUIREMENTS = (
    "kedro",
    "kedro-datasets",
    "kedro-mlflow",
    "mlflow",
    "pandas",
    "pyarrow",
    "numpy",
    "scipy",
    "scikit-learn",
    "lightgbm",
    "pydantic",
)
_PACKAGE_DIR = Path(__file__).resolve().parents[2]


class TrainingPipelineML(PipelineML):
    """kedro-mlflow's ``PipelineML`` whose failed runs end with their own exception.

    When a node fails, Kedro's runner computes a "resume from" suggestion by slicing
    the pipeline with ``from_nodes``; on a ``PipelineML`` a slice that lacks the nodes
    making the inference pipeline's inputs raises ``KedroMlflowPipelineMLError`` ("The
    following inputs are free for the inference pipeline"), which replaces the node's
    exception as the last thing printed (kedro-mlflow issue 377). Here such a slice is
    the whole pipeline: the model can only be logged by a complete run, so the
    suggestion names the first nodes, a command that works, and the node's exception
    propagates unchanged. The plain slices the hint also takes (``only_nodes``,
    ``only_nodes_with_outputs``) are returned without kedro-mlflow's "no longer a
    PipelineML" warning, nine of which would otherwise precede it. Every other
    operation is kedro-mlflow's.
    """

    def _turn_pipeline_to_ml(self, pipeline: Pipeline) -> PipelineML:
        return TrainingPipelineML(
            nodes=pipeline.nodes,
            inference=self.inference,
            input_name=self.input_name,
            kpm_kwargs=self.kpm_kwargs,
            log_model_kwargs=self.log_model_kwargs,
        )

    def from_nodes(self, *node_names: str) -> PipelineML:
        """The pipeline from these nodes on, or all of it when the slice cannot log
        the model."""
        try:
            return super().from_nodes(*node_names)
        except KedroMlflowPipelineMLError:
            return self

    def only_nodes(self, *node_names: str) -> Pipeline:
        """These nodes of the training pipeline (a plain ``Pipeline``)."""
        return self.training.only_nodes(*node_names)

    def only_nodes_with_outputs(self, *outputs: str) -> Pipeline:
        """The training nodes making these outputs (a plain ``Pipeline``)."""
        return self.training.only_nodes_with_outputs(*outputs)


def create_pipeline(**kwargs) -> Pipeline:
    """Build the training ``PipelineML`` (what ``pipeline_ml_factory`` builds)."""
    model = modelling.create_pipeline()
    return TrainingPipelineML(
        nodes=(
            data_processing.create_pipeline() + model.only_nodes_with_tags("training")
        ).nodes,
        inference=model.only_nodes_with_tags("inference"),
        input_name="mi_raw_rows_example",
        # the model's predict runs its nodes quietly (runner.py)
        kpm_kwargs={"runner": SequentialRunner()},
        log_model_kwargs={
            "name": "model",
            "pip_requirements": [f"{p}=={version(p)}" for p in _MODEL_REQUIREMENTS],
            # the package travels with the model, so it loads outside this project
            "code_paths": [str(_PACKAGE_DIR)],
        },
    )
