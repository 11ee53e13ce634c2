"""schemathesis, from the app's own OpenAPI, in-process: no request gets a 5xx."""

from __future__ import annotations

import time

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.python import asgi

from mlops_actions.scorer.http.app import create_app
from mlops_actions.scorer.config import ScorerConfig

EXAMPLES = 150  # per generation mode, over all routes: about 3 s


def test_no_server_error_from_generated_requests(typed_model):
    app = create_app(ScorerConfig(model_uri="typed"), model=typed_model)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    try:
        with asgi.get_client(app) as client:  # starts the app's lifespan
            deadline = time.monotonic() + 10
            while client.get("/health/ready").status_code != 200:
                assert time.monotonic() < deadline, "never ready"
                time.sleep(0.01)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(schema, mode)
    finally:
        asgi.shutdown_lifespans()


def _fuzz(schema, mode: GenerationMode) -> None:
    @given(case=schema.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def no_5xx(case) -> None:
        response = case.call()
        assert response.status_code < 500, (
            f"{case.method} {case.path} {case.media_type} {case.body!r} -> "
            f"{response.status_code}: {response.text}"
        )

    no_5xx()
