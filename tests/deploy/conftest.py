"""Fixtures of the deploy tests: the fake Kubernetes API server
(:mod:`tests.fakes.kube`)."""

from __future__ import annotations

from tests.fakes.kube.fixtures import fake_kube  # noqa: F401 (a fixture)
