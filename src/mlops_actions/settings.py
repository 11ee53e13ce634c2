"""Environment variable names and defaults shared by the CLI and the backends."""

from __future__ import annotations

import os
from pathlib import Path

from mlops_actions.errors import UsageError

#: Every option ``--x`` of ``mlops <group> <command>`` also reads
#: ``MLOPS_<GROUP>_<COMMAND>_<X>``; global options read ``MLOPS_<X>``.
ENV_PREFIX = "MLOPS"
ENV_BACKEND = "MLOPS_BACKEND"
ENV_DEBUG = "MLOPS_DEBUG"
#: Root of local state (runs, step cache, MLflow database).
ENV_HOME = "MLOPS_HOME"

#: MLOPS_* variables that are no option's env var, and what reads each. An
#: action may pass these in ``env:``; any other MLOPS_* name must be read by an
#: option (a test checks every action.yml against the command tree).
NOT_OPTIONS = {
    ENV_HOME: "the CLI: root of local state (runs, step cache, MLflow database)",
    ENV_DEBUG: "the CLI: print the traceback of an internal error",
    "MLOPS_SETUP_EXTRAS": "actions/_shared/setup.sh: extras to install",
    "MLOPS_SETUP_PYTHON": "actions/_shared/setup.sh: interpreter of the venv",
    "MLOPS_SETUP_REQUIREMENTS": (
        "actions/_shared/setup.sh: the project's own requirements file"
    ),
    "MLOPS_ACTIONS_SOURCE": "actions/_shared/setup.sh: wheel or checkout to install",
    "MLOPS_PIPELINE_RUN_ID": "set by the local runner for each step: the run id",
    "MLOPS_STEP": "set by the local runner for each step: the step's name",
    "MLOPS_WORKDIR": "set by the local runner for each step: where mlops ran",
}

BACKENDS = ("local", "azure")
DEFAULT_BACKEND = "local"


def state_dir(environ: dict[str, str] | None = None) -> Path:
    """Where the local backend keeps runs, cache and the MLflow database.

    The default, ``.mlops``, is created by whoever writes there first. A folder
    named by ``MLOPS_HOME`` must already exist (UsageError otherwise): created
    on demand, a mistyped one would hold a new, empty registry, where every
    candidate passes the gate as the first model.
    """
    env = os.environ if environ is None else environ
    named = env.get(ENV_HOME)
    if not named:
        return Path(".mlops")
    if not Path(named).is_dir():
        raise UsageError(
            f"{ENV_HOME} {named} is not a folder: create it, or fix {ENV_HOME} "
            "(a new state folder would start an empty registry)"
        )
    return Path(named)


def default_tracking_uri(state: Path) -> str:
    """MLflow on SQLite inside the state folder (absolute, so steps agree)."""
    return f"sqlite:///{(state / 'mlflow.db').resolve()}"


def debug_enabled() -> bool:
    return os.environ.get(ENV_DEBUG, "") not in ("", "0", "false")
