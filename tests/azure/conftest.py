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
