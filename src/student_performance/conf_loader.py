"""How the project's conf is read: Kedro's config loader arguments.

A leaf (only ``paths``), so that whatever reads conf outside a Kedro session (the
service, the registry's command line, tests) reads it exactly as ``kedro run`` does
without importing ``settings`` and, through it, the hooks.
"""

from omegaconf.resolvers import oc

from student_performance.paths import find_project_root


def _project_root() -> str:
    """Absolute project root, so that stores such as ``mlflow.db`` never land in cwd.

    Resolved when conf is read, not at import: Kedro imports settings before any
    command runs, possibly before the working directory or the variable is set.
    """
    return find_project_root().as_posix()


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
