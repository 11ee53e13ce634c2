"""Deployments: one target interface, targets chosen by name and imported lazily.

``open_deploy_target("local", state=...)`` gives the scorer under uvicorn on
this machine; the interface and its records live in
:mod:`mlops_actions.deploy.base`, which imports no SDK.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from mlops_actions.deploy.base import Deployed, Deployment, DeployTarget, ModelRef
from mlops_actions.errors import UsageError

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
    if target in LATER:
        raise UsageError(
            f"--target {target}: {LATER[target]} arrive with the Azure backend; "
            "use --target local for now"
        )
    if target not in TARGETS:
        known = ", ".join(sorted(TARGETS))
        raise UsageError(f"unknown deploy target {target!r}: use one of {known}")
    module, _, attr = TARGETS[target].partition(":")
    implementation = getattr(importlib.import_module(module), attr)
    return implementation(state, host=host, port=port)
