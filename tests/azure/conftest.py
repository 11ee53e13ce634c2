"""Fixtures of the Azure tests: the shared ones (Azurite, the fake Azure ML
service, a static credential, an MLClient on the fake) come from
:mod:`tests.fakes.azureml.fixtures`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.azureml.fixtures import (  # noqa: F401 (fixtures)
    StaticCredential,
    azureml,
    azurite,
    ml_client,
    static_credential,
    tls_authority,
    unsigned_jwt,
)


@pytest.fixture
def toy_pipeline() -> Path:
    return Path(__file__).resolve().parents[1] / "fixtures" / "toy" / "pipeline.yml"


#: The runner's OIDC request token in the tests: it must never be shown.
CANARY_REQUEST_TOKEN = "canary-oidc-request-token-9d41"


@pytest.fixture
def signed_in(azureml, tls_authority, monkeypatch):  # noqa: F811 (fixtures)
    """The CLI's own sign-in, as in a workflow with no azure/login step: the
    real ClientAssertionCredential trading fake GitHub OIDC tokens at a fake
    Entra ID (tokens live 60 s, inside the refresh margin: every token request
    asks GitHub again). Yields (entra, oidc)."""
    import json

    from tests.fakes.entra import FakeEntra
    from tests.fakes.github_oidc import FakeGitHubOidc

    oidc_fake = FakeGitHubOidc(request_token=CANARY_REQUEST_TOKEN)
    with FakeEntra(tls_authority, expires_in=60) as entra, oidc_fake as oidc:
        cloud = {**azureml.cloud_metadata, "active_directory": f"{entra.url}/"}
        env = {
            **oidc.env(),
            "MLOPS_AZURE_AUTH": "oidc",
            "MLOPS_AZURE_TENANT_ID": azureml.tenant_id,
            "MLOPS_AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
            "MLOPS_AZURE_CLOUD_METADATA": json.dumps(cloud),
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_REPOSITORY": "octo/shop",
            "GITHUB_RUN_ID": "4242",
            "GITHUB_RUN_ATTEMPT": "1",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield entra, oidc
