"""Pytest fixtures for tests that talk to the fake Azure ML service: Azurite,
the fake, and a credential the real azure-ai-ml accepts.

``azurite`` is started once per session; ``azureml`` is a fresh fake per test
(its own containers), with the process environment pointing at it. A
conftest takes them with ``from tests.fakes.azureml.fixtures import *``
(tests/azure does; so can tests/contracts for the Azure pipeline backend).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any, Iterator, NamedTuple

import pytest

from tests.fakes import loopback_dns
from tests.fakes.azureml.service import FakeAzureML
from tests.fakes.azurite import Azurite
from tests.fakes.tls import Authority, make_authority


@pytest.fixture(scope="session")
def tls_authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    return make_authority(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def azurite(
    tls_authority: Authority, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Azurite]:
    emulator = Azurite(tls_authority, tmp_path_factory.mktemp("azurite"))
    try:
        emulator.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def azureml(
    tls_authority: Authority, azurite: Azurite, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeAzureML]:
    from azure.ai.ml.operations import _job_ops_helper

    loopback_dns.install()
    monkeypatch.setattr(_job_ops_helper, "_wait_before_polling", lambda _s: 0)
    try:
        with FakeAzureML(tls_authority, azurite) as fake:
            for name, value in fake.env().items():
                monkeypatch.setenv(name, value)
            yield fake
    finally:
        loopback_dns.uninstall()


class _Token(NamedTuple):
    token: str
    expires_on: int


class _TokenInfo(NamedTuple):
    token: str
    expires_on: int
    token_type: str = "Bearer"
    refresh_on: int | None = None


def unsigned_jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        raw = json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


class StaticCredential:
    """Hands out an unsigned JWT for ml.azure.com; records the scopes asked."""

    def __init__(self, tenant_id: str = "00000000-0000-0000-0000-0000000000aa"):
        self.tenant_id = tenant_id
        self.scopes: list[tuple[str, ...]] = []

    def _token(self, scopes: tuple[str, ...]) -> tuple[str, int]:
        self.scopes.append(scopes)
        expires = int(time.time()) + 3600
        claims = {
            # azure-ai-ml compares with the resource id stripped of "/"
            "aud": "https://ml.azure.com",
            "tid": self.tenant_id,
            "oid": "00000000-0000-0000-0000-0000000000b0",
            "exp": expires,
        }
        return unsigned_jwt(claims), expires

    def get_token(self, *scopes: str, **_: Any) -> _Token:
        return _Token(*self._token(scopes))

    def get_token_info(self, *scopes: str, **_: Any) -> _TokenInfo:
        return _TokenInfo(*self._token(scopes))


@pytest.fixture
def static_credential() -> StaticCredential:
    return StaticCredential()


@pytest.fixture
def ml_client(azureml: FakeAzureML, static_credential: StaticCredential) -> Any:
    """A real MLClient pointed at the fake's cloud."""
    from azure.ai.ml import MLClient

    return MLClient(
        static_credential,
        azureml.subscription_id,
        azureml.resource_group,
        azureml.workspace,
        cloud=azureml.cloud_name,
        cloud_metadata=azureml.cloud_metadata,
    )


__all__ = [
    "StaticCredential",
    "azureml",
    "azurite",
    "ml_client",
    "static_credential",
    "tls_authority",
    "unsigned_jwt",
]
