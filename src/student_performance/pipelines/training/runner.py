"""The runner of the registered model's ``predict``: the inference nodes, quietly.

kedro-mlflow's pipeline model runs its inference nodes with the runner it was logged
with, on every ``predict`` call. Kedro's own ``SequentialRunner`` logs about ten INFO
lines per call (each node started and completed, the run's duration), which a user
calling ``mlflow.pyfunc.load_model(...).predict(df)`` in a loop does not want. This
runner calls the nodes in order, passing their outputs in memory, and logs nothing; a
node's exception propagates unchanged.

The class keeps Kedro's name on purpose: the pipeline model uses its own runner only
when the runner asked for (``SequentialRunner`` unless ``params={"runner": ...}``)
has the same class name.
"""

from __future__ import annotations

from typing import Any

from kedro.io import MemoryDataset
from kedro.pipeline import Pipeline
from kedro.runner import SequentialRunner as KedroSequentialRunner


class SequentialRunner(KedroSequentialRunner):
    """Kedro's sequential runner without per-node logging or hooks (inference only)."""

    def run(  # noqa: PLR0913 - Kedro's signature
        self,
        pipeline: Pipeline,
        catalog: Any,
        hook_manager: Any = None,
        run_id: str | None = None,
        only_missing_outputs: bool = False,
    ) -> dict[str, Any]:
        """Run the nodes in topological order; return the pipeline's outputs.

        Args:
            pipeline: The inference pipeline.
            catalog: Its inputs (the model's persisted parts and the input rows).
            hook_manager: Ignored: the pipeline model registers no hooks.
            run_id: Ignored.
            only_missing_outputs: Ignored: every node runs.

        Returns:
            Each pipeline output as a dataset holding its value (what the pipeline
            model loads its answer from).
        """
        data: dict[str, Any] = {}
        for node in pipeline.nodes:  # topological order
            inputs = [_value(name, data, catalog) for name in node.inputs]
            if len(node.outputs) == 1:  # the inference nodes: one output each
                data[node.outputs[0]] = node.func(*inputs)
            else:
                data.update(node.run(dict(zip(node.inputs, inputs, strict=True))))
        return {name: MemoryDataset(data[name]) for name in pipeline.outputs()}


def _value(name: str, data: dict[str, Any], catalog: Any) -> Any:
    """A node input: an earlier node's output, else the catalog's dataset."""
    return data[name] if name in data else catalog[name].load()
