"""Deployments: one target interface, targets chosen by name and imported lazily.

``open_deploy_target("local", state=...)`` gives the scorer under uvicorn on
this machine; the interface and its records live in
:mod:`mlops_actions.deploy.base`, which imports no SDK.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlops_actions.deploy.base import Deployed, Deployment, DeployTarget, ModelRef
from mlops_actions.implementations import implementation

__all__ = ["Deployed", "Deployment", "DeployTarget", "ModelRef", "open_deploy_target"]

#: target name -> "module:class"; importing one never imports the others.
TARGETS = {
    "local": "mlops_actions.deploy.local_target:LocalTarget",
    "aks": "mlops_actions.deploy.aks:AksTarget",
}
#: targets that arrive later
LATER = {"containerapp": "Azure Container Apps revisions"}


def open_deploy_target(target: str, *, state: Path, **options: Any) -> DeployTarget:
    """The deploy target named ``target`` (``local`` or ``aks``).

    ``state`` is the folder holding the deploy records (``.mlops``); the
    options are the target's own: ``host`` and ``port`` where a local scorer
    listens; ``kube`` and ``settings`` (and ``image_for``) for AKS.
    """
    later = {
        name: f"--target {name}: {what} arrive later; use --target local or aks"
        for name, what in LATER.items()
    }
    chosen = implementation(
        target, DeployTarget, TARGETS, kind="deploy target", later=later
    )
    return chosen(state, **options)
