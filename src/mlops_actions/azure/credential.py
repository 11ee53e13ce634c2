"""How the toolkit signs in to Azure: OIDC only, never a client secret.

``auth: auto`` (the default) picks, in order:

- inside GitHub Actions with an OIDC token request (the job has
  ``permissions: id-token: write``) and a client id and tenant id known:
  :class:`GitHubOidcCredential`, which asks GitHub for a fresh OIDC token at
  every token refresh, so a wait longer than that token's few minutes of life
  keeps working (a one-time assertion reused fails with AADSTS700024);
- inside GitHub Actions otherwise: the ``azure/login`` session
  (``AzureCliCredential``);
- outside GitHub: ``DefaultAzureCredential`` without the interactive browser
  and without the environment credential (it would sign in with
  ``AZURE_CLIENT_SECRET``).

``cli``, ``oidc`` and ``default`` force one of them.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Mapping

from mlops_actions.azure.workspace import Workspace
from mlops_actions.errors import BackendError, UsageError
from mlops_actions.settings import ENV_AZURE_AUTH, ENV_AZURE_CLIENT_ID
from mlops_actions.settings import ENV_AZURE_TENANT_ID

log = logging.getLogger(__name__)

ENV_REQUEST_URL = "ACTIONS_ID_TOKEN_REQUEST_URL"
ENV_REQUEST_TOKEN = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
#: The audience Entra ID expects of a federated credential's GitHub token.
AUDIENCE = "api://AzureADTokenExchange"
#: Entra ID sign-in host of each cloud azure-ai-ml knows by name.
AUTHORITIES = {
    "AzureCloud": "login.microsoftonline.com",
    "AzureChinaCloud": "login.chinacloudapi.cn",
    "AzureUSGovernment": "login.microsoftonline.us",
}
#: GitHub's token endpoint: seconds per try, tries, first pause between them.
OIDC_TIMEOUT_S = 10.0
OIDC_TRIES = 3
OIDC_BACKOFF_S = 0.5
#: Fresh assertions tried when Entra ID fails for a reason a retry can fix.
TOKEN_TRIES = 3


def in_github_actions(environ: Mapping[str, str]) -> bool:
    return environ.get("GITHUB_ACTIONS") == "true"


def authority_for(workspace: Workspace) -> str:
    """The Entra ID endpoint: the custom cloud's own, or the named cloud's."""
    if workspace.cloud_metadata is not None:
        return workspace.cloud_metadata["active_directory"]
    return AUTHORITIES.get(workspace.cloud, AUTHORITIES["AzureCloud"])


def credential_for(workspace: Workspace, environ: Mapping[str, str] | None = None):
    """The credential for ``workspace.auth`` (see the module docstring)."""
    env = os.environ if environ is None else environ
    mode = workspace.auth
    if mode == "auto":
        if in_github_actions(env):
            ready = not _oidc_missing(workspace, env)
            mode = "oidc" if ready else "cli"
        else:
            mode = "default"
    if mode == "oidc":
        missing = _oidc_missing(workspace, env)
        if missing:
            raise UsageError(
                f"{ENV_AZURE_AUTH}=oidc cannot sign in: " + "; ".join(missing)
            )
        return GitHubOidcCredential(
            tenant_id=str(workspace.tenant_id),
            client_id=str(workspace.client_id),
            request_url=env[ENV_REQUEST_URL],
            request_token=env[ENV_REQUEST_TOKEN],
            authority=authority_for(workspace),
        )
    if mode == "cli":
        from azure.identity import AzureCliCredential

        return AzureCliCredential()
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(
        authority=authority_for(workspace),
        exclude_interactive_browser_credential=True,
        exclude_environment_credential=True,
    )


def _oidc_missing(workspace: Workspace, env: Mapping[str, str]) -> list[str]:
    missing = []
    if not (env.get(ENV_REQUEST_URL) and env.get(ENV_REQUEST_TOKEN)):
        missing.append(
            "no GitHub OIDC token to request: add `permissions: id-token: write` "
            "to the job (a pull request from a fork gets none)"
        )
    if not workspace.client_id:
        missing.append(
            f"no client id: set {ENV_AZURE_CLIENT_ID} (or azure.client_id in "
            "mlops.yaml) to the app with the federated credential"
        )
    if not workspace.tenant_id:
        missing.append(
            f"no tenant id: set {ENV_AZURE_TENANT_ID} (or azure.tenant_id in "
            "mlops.yaml)"
        )
    return missing


class GitHubOidcToken:
    """The assertion callback: a fresh GitHub OIDC token on every call.

    Never cached: each token goes to Entra ID once. The request token is sent
    only in the Authorization header and never appears in an error.
    """

    def __init__(
        self, request_url: str, request_token: str, audience: str = AUDIENCE
    ) -> None:
        joiner = "&" if urllib.parse.urlsplit(request_url).query else "?"
        self._url = f"{request_url}{joiner}audience={urllib.parse.quote(audience)}"
        parts = urllib.parse.urlsplit(request_url)
        #: where, for messages: no query string
        self.endpoint = f"{parts.scheme}://{parts.netloc}{parts.path}"
        self._token = request_token
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        why = ""
        for attempt in range(1, OIDC_TRIES + 1):
            if attempt > 1:
                time.sleep(OIDC_BACKOFF_S * 2 ** (attempt - 2))
            try:
                return self._fetch()
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    raise BackendError(
                        f"GitHub's OIDC endpoint {self.endpoint} refused the token "
                        f"request ({exc.code} {exc.reason}): check the job's "
                        "`permissions: id-token: write`"
                    ) from None
                why = f"{exc.code} {exc.reason}"
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                why = f"{type(reason).__name__}: {reason}"
            log.debug(
                "OIDC token request %d of %d failed: %s", attempt, OIDC_TRIES, why
            )
        raise BackendError(
            f"GitHub's OIDC endpoint {self.endpoint} failed {OIDC_TRIES} times: "
            f"{_scrub(why, self._token)}"
        )

    def _fetch(self) -> str:
        request = urllib.request.Request(
            self._url,
            headers={
                "Authorization": f"bearer {self._token}",
                "Accept": "application/json",
                "User-Agent": "mlops-actions",
            },
        )
        with urllib.request.urlopen(request, timeout=OIDC_TIMEOUT_S) as response:
            body = response.read()
        try:
            value = json.loads(body)["value"]
        except (ValueError, KeyError, TypeError):
            value = None
        if not isinstance(value, str) or not value:
            raise BackendError(
                f"GitHub's OIDC endpoint {self.endpoint} answered without a token "
                '(expected JSON {"value": "<jwt>"})'
            )
        return value


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


class GitHubOidcCredential:
    """azure-identity's ``ClientAssertionCredential`` fed by :class:`GitHubOidcToken`.

    Entra ID token requests are not retried with the same assertion (the
    client's own retry is off); a transient failure is retried here with a
    fresh one. Reads no client secret.
    """

    def __init__(
        self,
        *,
        tenant_id: str,
        client_id: str,
        request_url: str,
        request_token: str,
        authority: str | None = None,
    ) -> None:
        from azure.identity import ClientAssertionCredential

        self.assertion = GitHubOidcToken(request_url, request_token)
        self._inner = ClientAssertionCredential(
            tenant_id,
            client_id,
            self.assertion,
            authority=authority,
            retry_total=0,  # a retried POST would resend the one-time assertion
        )

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return self._with_retries(self._inner.get_token, scopes, kwargs)

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        return self._with_retries(
            self._inner.get_token_info, scopes, {"options": options}
        )

    def _with_retries(self, method: Any, scopes: tuple, kwargs: dict) -> Any:
        from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

        for attempt in range(1, TOKEN_TRIES + 1):
            try:
                return method(*scopes, **kwargs)
            except (ClientAuthenticationError, ServiceRequestError) as exc:
                status = getattr(exc, "status_code", None)
                transient = status is None or status == 429 or status >= 500
                if not transient or attempt == TOKEN_TRIES:
                    raise
                time.sleep(OIDC_BACKOFF_S * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> "GitHubOidcCredential":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
