"""The ``fake_kube`` fixture: a fresh fake cluster per test, closed after it.

A conftest takes it with ``from tests.fakes.kube.fixtures import fake_kube``
(tests/deploy does). The fake's own failures (a traceback in its handler or
controller thread) fail the test that met them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.kube import FakeKube


@pytest.fixture
def fake_kube() -> Iterator[FakeKube]:
    fake = FakeKube()
    try:
        yield fake
    finally:
        fake.close()
    if fake.errors:
        pytest.fail("the fake API server failed:\n" + fake.errors[0], pytrace=False)


__all__ = ["fake_kube"]
