"""Project settings (https://docs.kedro.org/en/stable/configure/configuration_basics/).

Kept cheap to import: resolvers are plain functions, hooks act only when Kedro calls
them. The one thing done at import is filtering known dependency warnings, because
Kedro raises them while building the config loader, before any hook runs.
"""

from student_performance.conf_loader import CONFIG_LOADER_ARGS
from student_performance.hooks import (
    BatchInputHook,
    MlflowConfHook,
    ModelRegistryHook,
    RunSummaryHook,
    TypedParamsHook,
)
from student_performance.warnings_filter import silence_known_dependency_warnings

silence_known_dependency_warnings()

# The conf and input checks run before kedro-mlflow's hooks (`tryfirst`); the others
# after them (`trylast`): the registry gate, then the summary that reports its
# decision; typed parameters logged key by key before each node.
HOOKS = (
    MlflowConfHook(),
    BatchInputHook(),
    ModelRegistryHook(),
    RunSummaryHook(),
    TypedParamsHook(),
)

__all__ = ["CONFIG_LOADER_ARGS", "HOOKS"]
