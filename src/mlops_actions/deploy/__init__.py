"""Deployments: one target interface, targets chosen by name and imported lazily.

``open_deploy_target("local", state=...)`` gives the scorer under uvicorn on
this machine; the interface and its records live in
:mod:`mlops_actions.deploy.base`, which imports no SDK.
"""

from __future__ import annotations

from pathlib import Path

from mlops_actions.deploy.base import Deployed, Deployment, DeployTarget, ModelRef
from mlops_actions.implementations import implementation

__all__ = ["Deployed", "Deployment", "DeployTarget", "ModelRef", "open_deploy_target"]

#: target name -> "module:class"; importing one never imports the others.
TARGETS = {"local": "mlops_actions.deploy.local_target:LocalTarget"}
#: targets that arrive with the Azure backend
LATER = {"aks": "AKS rollouts", "containerapp": "Azure Container Apps revisions"}


def open_deploy_target(
    target: str, *, state: Path, host: str = "127.0.0.1", port: int = 8080
) -> DeployTarget:
    """The deploy target named ``target`` (``local``).

    ``state`` is the folder holding the deploy records (``.mlops``); ``host``
    and ``port`` are where a local scorer listens.
    """
    later = {
        name: f"--target {name}: {what} arrive with the Azure backend; "
        "use --target local for now"
        for name, what in LATER.items()
    }
    chosen = implementation(
        target, DeployTarget, TARGETS, kind="deploy target", later=later
    )
    return chosen(state, host=host, port=port)
