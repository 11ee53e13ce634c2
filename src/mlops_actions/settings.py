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
#: The project config (``mlops.yaml`` in the working directory by default).
ENV_CONFIG = "MLOPS_CONFIG"
#: The Azure ML workspace and how to sign in to it (see ``mlops_actions.project``).
ENV_AZURE_SUBSCRIPTION_ID = "MLOPS_AZURE_SUBSCRIPTION_ID"
ENV_AZURE_RESOURCE_GROUP = "MLOPS_AZURE_RESOURCE_GROUP"
ENV_AZURE_WORKSPACE = "MLOPS_AZURE_WORKSPACE"
ENV_AZURE_TENANT_ID = "MLOPS_AZURE_TENANT_ID"
ENV_AZURE_CLIENT_ID = "MLOPS_AZURE_CLIENT_ID"
ENV_AZURE_CLOUD = "MLOPS_AZURE_CLOUD"
ENV_AZURE_CLOUD_METADATA = "MLOPS_AZURE_CLOUD_METADATA"
ENV_AZURE_AUTH = "MLOPS_AZURE_AUTH"

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
    "MLOPS_ACTIONS_PIPELINE": (
        "actions/submit-pipeline: the pipeline file, passed as the argument"
    ),
    "MLOPS_ACTIONS_SET": (
        "actions/submit-pipeline: the `set` input's lines, each passed as one --set"
    ),
    "MLOPS_PIPELINE_RUN_ID": "set by the local runner for each step: the run id",
    "MLOPS_STEP": "set by the local runner for each step: the step's name",
    "MLOPS_WORKDIR": "set by the local runner for each step: where mlops ran",
    ENV_CONFIG: "the CLI: the project config file (default ./mlops.yaml)",
    ENV_AZURE_SUBSCRIPTION_ID: "the azure backend: the workspace's subscription id",
    ENV_AZURE_RESOURCE_GROUP: "the azure backend: the workspace's resource group",
    ENV_AZURE_WORKSPACE: "the azure backend: the Azure ML workspace name",
    ENV_AZURE_TENANT_ID: "the azure backend: Entra ID tenant for OIDC sign-in",
    ENV_AZURE_CLIENT_ID: (
        "the azure backend: app (client) id with a federated credential for OIDC"
    ),
    ENV_AZURE_CLOUD: "the azure backend: cloud name (AzureCloud, AzureChinaCloud...)",
    ENV_AZURE_CLOUD_METADATA: (
        "the azure backend: a custom cloud's endpoints, as a JSON object"
    ),
    ENV_AZURE_AUTH: "the azure backend: sign-in (auto, cli, oidc or default)",
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
