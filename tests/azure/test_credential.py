"""Sign-in: which credential, and GitHub OIDC with a fresh token per refresh.

The real azure-identity ``ClientAssertionCredential`` talks HTTPS to a fake
Entra ID on 127.0.0.1; its assertion callback talks to a fake GitHub OIDC
endpoint.
"""

from __future__ import annotations

import logging
import time

import pytest

from mlops_actions.azure.credential import GitHubOidcCredential, credential_for
from mlops_actions.azure.workspace import Workspace
from mlops_actions.errors import BackendError, UsageError
from tests.fakes.entra import FakeEntra, jwt_claims
from tests.fakes.github_oidc import FakeGitHubOidc
from tests.fakes.tls import make_authority

ML_SCOPE = "https://ml.azure.com/.default"
CANARY_SECRET = "canary-client-secret-7f3a9"
CANARY_REQUEST_TOKEN = "canary-request-token-51c2e"


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    return make_authority(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def entra(authority, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(authority.bundle))
    with FakeEntra(authority, expires_in=60) as fake:
        yield fake


@pytest.fixture
def oidc():
    with FakeGitHubOidc(request_token=CANARY_REQUEST_TOKEN) as fake:
        yield fake


def workspace(**changes) -> Workspace:
    values = dict(
        subscription_id="sub",
        resource_group="rg",
        name="ws",
        tenant_id="tenant-1",
        client_id="client-1",
        auth="auto",
    )
    values.update(changes)
    return Workspace(**values)


def custom_cloud(entra_url: str) -> dict[str, str]:
    return {
        "azure_portal": "https://127.0.0.1/",
        "resource_manager": "https://127.0.0.1/",
        "active_directory": entra_url,
        "aml_resource_id": "https://ml.azure.com/",
        "storage_endpoint": "localhost",
        "registry_discovery_endpoint": "https://127.0.0.1/",
    }


def oidc_credential(entra: FakeEntra, oidc: FakeGitHubOidc) -> GitHubOidcCredential:
    return GitHubOidcCredential(
        tenant_id="tenant-1",
        client_id="client-1",
        request_url=oidc.url,
        request_token=oidc.request_token,
        authority=entra.url,
    )


# -- which credential -------------------------------------------------------

GHA = {"GITHUB_ACTIONS": "true"}
OIDC_ENV = {
    "ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:9/_apis/oidctoken?v=1",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t",
}


@pytest.mark.parametrize(
    "auth, env, ids, chosen",
    [
        ("auto", {}, True, "DefaultAzureCredential"),
        ("auto", {**OIDC_ENV}, True, "DefaultAzureCredential"),
        ("auto", {**GHA, **OIDC_ENV}, True, "GitHubOidcCredential"),
        ("auto", {**GHA, **OIDC_ENV}, False, "AzureCliCredential"),
        ("auto", {**GHA}, True, "AzureCliCredential"),
        ("cli", {**GHA, **OIDC_ENV}, True, "AzureCliCredential"),
        ("default", {**GHA, **OIDC_ENV}, True, "DefaultAzureCredential"),
        ("oidc", {**OIDC_ENV}, True, "GitHubOidcCredential"),
    ],
)
def test_the_credential_chosen(auth, env, ids, chosen):
    ws = workspace(auth=auth) if ids else workspace(auth=auth, client_id=None)
    assert type(credential_for(ws, environ=env)).__name__ == chosen


def test_default_never_signs_in_with_a_client_secret(monkeypatch):
    monkeypatch.setenv("AZURE_CLIENT_SECRET", CANARY_SECRET)
    monkeypatch.setenv("AZURE_CLIENT_ID", "client-1")
    monkeypatch.setenv("AZURE_TENANT_ID", "tenant-1")
    credential = credential_for(workspace(), environ={})
    kinds = [type(c).__name__ for c in credential.credentials]
    assert "EnvironmentCredential" not in kinds
    assert "InteractiveBrowserCredential" not in kinds


def test_oidc_without_a_token_request_says_what_to_add():
    with pytest.raises(UsageError) as caught:
        credential_for(workspace(auth="oidc"), environ={**GHA})
    assert caught.value.message == (
        "MLOPS_AZURE_AUTH=oidc cannot sign in: no GitHub OIDC token to request: "
        "add `permissions: id-token: write` to the job (a pull request from a "
        "fork gets none)"
    )


def test_oidc_without_ids_names_each_missing_one():
    ws = workspace(auth="oidc", client_id=None, tenant_id=None)
    with pytest.raises(UsageError) as caught:
        credential_for(ws, environ={**GHA, **OIDC_ENV})
    assert caught.value.message == (
        "MLOPS_AZURE_AUTH=oidc cannot sign in: no client id: set "
        "MLOPS_AZURE_CLIENT_ID (or azure.client_id in mlops.yaml) to the app with "
        "the federated credential; no tenant id: set MLOPS_AZURE_TENANT_ID (or "
        "azure.tenant_id in mlops.yaml)"
    )


# -- GitHub OIDC against fake Entra ID --------------------------------------


def test_a_token_through_a_custom_clouds_authority(entra, oidc):
    ws = workspace(
        auth="oidc", cloud="FakeStack", cloud_metadata=custom_cloud(entra.url)
    )
    credential = credential_for(ws, environ={**GHA, **oidc.env()})
    token = credential.get_token(ML_SCOPE)
    assert jwt_claims(token.token)["aud"] == "https://ml.azure.com"
    assert oidc.calls == 1 and oidc.audiences == ["api://AzureADTokenExchange"]
    assert entra.assertions == oidc.issued
    form = entra.token_requests[0]
    assert form["client_id"] == "client-1" and form["scope"] == ML_SCOPE
    assert "client_secret" not in form
    assert form["client_assertion_type"] == (
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    )


def test_a_cached_token_asks_github_nothing(entra, oidc):
    entra.expires_in = 3600
    credential = oidc_credential(entra, oidc)
    first = credential.get_token(ML_SCOPE).token
    assert credential.get_token(ML_SCOPE).token == first
    assert oidc.calls == 1


def test_refresh_within_the_margin_asks_github_again(entra, oidc, monkeypatch):
    # Tokens live 60 s, inside azure-identity's 300 s refresh margin; the 30 s
    # pause it keeps between refreshes is taken as already passed.
    import azure.identity._internal.utils as identity_utils

    monkeypatch.setattr(identity_utils, "DEFAULT_TOKEN_REFRESH_RETRY_DELAY", 0)
    credential = oidc_credential(entra, oidc)
    tokens = [credential.get_token(ML_SCOPE).token for _ in range(3)]
    assert oidc.calls == 3
    assert len(set(tokens)) == 3
    assert entra.assertions == oidc.issued
    assert len(set(entra.assertions)) == 3  # no assertion sent twice


def test_an_expired_token_asks_github_again(entra, oidc):
    entra.expires_in = 1
    credential = oidc_credential(entra, oidc)
    first = credential.get_token_info(ML_SCOPE)
    time.sleep(1.2)
    second = credential.get_token_info(ML_SCOPE)
    assert first.token != second.token
    assert oidc.calls == 2 and entra.assertions == oidc.issued


def test_entra_failing_is_retried_with_a_fresh_assertion(entra, oidc):
    entra.fail = [503, 500]
    credential = oidc_credential(entra, oidc)
    token = credential.get_token(ML_SCOPE)
    assert jwt_claims(token.token)["aud"] == "https://ml.azure.com"
    assert len(entra.assertions) == 3 and len(set(entra.assertions)) == 3
    assert entra.assertions == oidc.issued


def test_entra_refusing_is_not_retried(entra, oidc):
    from azure.core.exceptions import ClientAuthenticationError

    entra.fail = [400]
    with pytest.raises(ClientAuthenticationError):
        oidc_credential(entra, oidc).get_token(ML_SCOPE)
    assert len(entra.assertions) == 1


def test_github_failing_then_answering(entra, oidc):
    oidc.fail = [502]
    token = oidc_credential(entra, oidc).get_token(ML_SCOPE)
    assert token.token and oidc.calls == 2
    assert entra.assertions == oidc.issued  # the failed call issued nothing


# -- secrets never shown ----------------------------------------------------


def canary_free(caplog, *messages: str) -> None:
    texts = [*messages, *(r.getMessage() for r in caplog.records)]
    texts += [str(r.exc_info[1]) for r in caplog.records if r.exc_info]
    for text in texts:
        assert CANARY_SECRET not in text and CANARY_REQUEST_TOKEN not in text


@pytest.mark.parametrize("status", [401, 403, 500])
def test_github_errors_name_no_secret(entra, oidc, monkeypatch, caplog, status):
    monkeypatch.setenv("AZURE_CLIENT_SECRET", CANARY_SECRET)
    caplog.set_level(logging.DEBUG)
    oidc.fail = [status] * 3
    with pytest.raises(BackendError) as caught:
        oidc_credential(entra, oidc).get_token(ML_SCOPE)
    message = caught.value.message
    endpoint = oidc.url.split("?")[0]
    if status < 500:
        assert message == (
            f"GitHub's OIDC endpoint {endpoint} refused the token request "
            f"({status} {'Unauthorized' if status == 401 else 'Forbidden'}): "
            "check the job's `permissions: id-token: write`"
        )
    else:
        assert message == (
            f"GitHub's OIDC endpoint {endpoint} failed 3 times: "
            "500 Internal Server Error"
        )
    assert entra.assertions == []
    canary_free(caplog, message, str(caught.value))


def test_github_unreachable_names_no_secret(entra, monkeypatch, caplog):
    monkeypatch.setenv("AZURE_CLIENT_SECRET", CANARY_SECRET)
    caplog.set_level(logging.DEBUG)
    with FakeGitHubOidc() as gone:
        url = gone.url
    credential = GitHubOidcCredential(
        tenant_id="t",
        client_id="c",
        request_url=url,
        request_token=CANARY_REQUEST_TOKEN,
        authority=entra.url,
    )
    with pytest.raises(BackendError) as caught:
        credential.get_token(ML_SCOPE)
    assert "failed 3 times: ConnectionRefusedError" in caught.value.message
    canary_free(caplog, caught.value.message)


def test_entra_errors_name_no_secret(entra, oidc, monkeypatch, caplog):
    from azure.core.exceptions import ClientAuthenticationError

    monkeypatch.setenv("AZURE_CLIENT_SECRET", CANARY_SECRET)
    caplog.set_level(logging.DEBUG)
    entra.fail = [401]
    with pytest.raises(ClientAuthenticationError) as caught:
        oidc_credential(entra, oidc).get_token(ML_SCOPE)
    assert "AADSTS90000" in str(caught.value)
    canary_free(caplog, str(caught.value))


def test_msal_signs_in_through_the_fake_with_a_github_token(entra, oidc, authority):
    # MSAL-based credentials read the OpenID configuration first; for an
    # authority Microsoft does not know they need instance discovery off.
    import msal

    from mlops_actions.azure.credential import GitHubOidcToken

    assertion = GitHubOidcToken(oidc.url, oidc.request_token)
    app = msal.ConfidentialClientApplication(
        "client-1",
        client_credential={"client_assertion": assertion},
        authority=f"{entra.url}/tenant-1",
        instance_discovery=False,
        verify=str(authority.bundle),
    )
    result = app.acquire_token_for_client([ML_SCOPE])
    assert jwt_claims(result["access_token"])["aud"] == "https://ml.azure.com"
    assert entra.assertions == oidc.issued and oidc.calls == 1
