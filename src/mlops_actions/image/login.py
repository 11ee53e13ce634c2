"""Log the image builder in to Azure Container Registry with the Azure session.

After ``azure/login`` (OIDC, no stored secret), ``az acr login --expose-token``
hands out a short-lived ACR access token; the builder logs in with it on
stdin (never on a command line), and the token is masked in the job log
first. The user name ACR expects for such tokens is the all-zero GUID.
"""

from __future__ import annotations

import json
import shutil

from mlops_actions import gha, process
from mlops_actions.errors import BackendError, ToolMissing, UsageError
from mlops_actions.image.reference import Reference

TOKEN_USER = "00000000-0000-0000-0000-000000000000"
_TIMEOUT_S = 120


def acr_login(acr: str, ref: Reference, builder_executable: str) -> str:
    """Log ``builder_executable`` in to ``acr``; return its login server."""
    server = f"{acr.lower()}.azurecr.io"
    if ref.registry != server:
        raise UsageError(
            f"--tag {ref.repository}:{ref.tag}: push to {server}/NAME:TAG "
            f"when --acr {acr} is given"
        )
    az = shutil.which("az")
    if az is None:
        raise ToolMissing(
            "--acr needs the Azure CLI (az) with a logged-in session: run "
            "azure/login (OIDC) before this step on a runner with az"
        )
    answer = _run(
        [az, "acr", "login", "--name", acr, "--expose-token", "--output", "json"],
        None,
        f"az acr login --name {acr}",
    )
    try:
        token = json.loads(answer)["accessToken"]
    except (ValueError, KeyError, TypeError):
        raise BackendError(f"az acr login --name {acr}: no access token in its answer")
    gha.add_mask(token)
    _run(
        [
            builder_executable,
            "login",
            "--username",
            TOKEN_USER,
            "--password-stdin",
            server,
        ],
        token,
        f"login to {server}",
    )
    return server


def _run(argv: list[str], stdin: str | None, what: str) -> str:
    try:
        done = process.capture(argv, input=stdin, timeout=_TIMEOUT_S)
    except process.TimedOut:
        raise BackendError(f"{what} took longer than {_TIMEOUT_S}s") from None
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise BackendError(f"{what} failed: {said[-1] if said else done.returncode}")
    return done.stdout
