"""The Azure registry as a contract subject: the real MLClient against the fake
Azure ML service and Azurite, on loopback, one pair per test module."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


def ml_client(fake: Any) -> Any:
    from azure.ai.ml import MLClient

    from tests.fakes.azureml.fixtures import StaticCredential

    return MLClient(
        StaticCredential(),
        fake.subscription_id,
        fake.resource_group,
        fake.workspace,
        cloud=fake.cloud_name,
        cloud_metadata=fake.cloud_metadata,
    )


@contextmanager
def azure_fake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A started fake Azure ML (and its Azurite), the environment pointing at it."""
    from tests.fakes import loopback_dns
    from tests.fakes.azureml import FakeAzureML
    from tests.fakes.azurite import Azurite
    from tests.fakes.tls import make_authority

    authority = make_authority(tmp_path_factory.mktemp("tls"))
    azurite = Azurite(authority, tmp_path_factory.mktemp("azurite"))
    try:
        azurite.start()
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    loopback_dns.install()
    try:
        with (
            pytest.MonkeyPatch.context() as env,
            FakeAzureML(authority, azurite) as fake,
        ):
            for key, value in fake.env().items():
                env.setenv(key, value)
            env.delenv("GITHUB_SHA", raising=False)
            yield fake
    finally:
        loopback_dns.uninstall()
        azurite.stop()


def loader(registry: Any) -> Any:
    """Loads ``models:/NAME/VERSION`` or ``models:/NAME@ALIAS`` the way a user
    of this registry does: resolve, download, load the local folder."""

    def load(model_uri: str) -> Any:
        import mlflow.pyfunc

        found = re.fullmatch(r"models:/([^/@]+)(?:/(\d+)|@([\w-]+))", model_uri)
        assert found, model_uri
        name, version, alias = found.groups()
        if alias:
            assert alias == "champion", alias
            version = registry.champion(name).version
        folder = registry.download(name, version, Path(tempfile.mkdtemp()))
        return mlflow.pyfunc.load_model(str(folder))

    return load
