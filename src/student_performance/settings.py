"""Project settings (https://docs.kedro.org/en/stable/configure/configuration_basics/).

Kept cheap to import: resolvers are plain functions, hooks act only when Kedro calls
them. The one thing done at import is filtering known dependency warnings, because
Kedro raises them while building the config loader, before any hook runs.
"""

from omegaconf.resolvers import oc

from student_performance.hooks import (
    MlflowConfHook,
    ModelRegistryHook,
    RunSummaryHook,
    TypedParamsHook,
)
from student_performance.paths import find_project_root
from student_performance.warnings_filter import silence_known_dependency_warnings

silence_known_dependency_warnings()


def _project_root() -> str:
    """Absolute project root, so that stores such as ``mlflow.db`` never land in cwd.

    Resolved when conf is read, not at import: Kedro imports this module before any
    command runs, possibly before the working directory or the variable is set.
    """
    return find_project_root().as_posix()


# The conf check runs before kedro-mlflow's hooks (`tryfirst`); the others after them
# (`trylast`): the registry gate, then the summary that reports its decision; typed
# parameters logged key by key before each node.
HOOKS = (MlflowConfHook(), ModelRegistryHook(), RunSummaryHook(), TypedParamsHook())

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    "custom_resolvers": {
        "oc.env": oc.env,
        "project_root": _project_root,
    },
    # conf/<env> parameters are deep-merged over conf/base, so an environment states
    # only what it changes (conf/test shrinks the grids, conf/prod the thresholds).
    "merge_strategy": {"parameters": "soft"},
    "config_patterns": {
        "mlflow": ["mlflow*", "mlflow*/**", "**/mlflow*"],
    },
}
