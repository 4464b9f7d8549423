"""Project settings (https://docs.kedro.org/en/stable/configure/configuration_basics/).

Kept cheap to import: resolvers are plain functions, hooks act only when Kedro calls
them. The one thing done at import is filtering known dependency warnings, because
Kedro raises them while building the config loader, before any hook runs.
"""

from pathlib import Path

from omegaconf.resolvers import oc

from student_performance.hooks import (
    ModelRegistryHook,
    RunSummaryHook,
    TypedParamsLoggingHook,
)
from student_performance.warnings_filter import silence_known_dependency_warnings

silence_known_dependency_warnings()

# Kedro imports this module before any command runs: keep it cheap.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _project_root() -> str:
    """Absolute project root, so that stores such as ``mlflow.db`` never land in cwd."""
    return PROJECT_ROOT.as_posix()


# Both run after kedro-mlflow's hooks (`trylast`), in this order: the registry gate,
# then the summary that reports its decision.
HOOKS = (ModelRegistryHook(), RunSummaryHook(), TypedParamsLoggingHook())

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
