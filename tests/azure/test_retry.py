"""Our retry policy in force for MLClient's ARM and run-history calls.

The real azure-ai-ml code runs against a small scripted HTTPS fake on
127.0.0.1 (a custom cloud whose endpoints point at it): each test scripts the
answers to one or two requests and asserts the requests that arrived, how long
the call took and the one line a user would read.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from mlops_actions.azure import retry
from mlops_actions.azure.client import azure_error, ml_client
from mlops_actions.azure.credential import GitHubOidcCredential
from mlops_actions.azure.workspace import Workspace
from mlops_actions.errors import BackendError
from tests.fakes.entra import FakeEntra, jwt_claims, unsigned_jwt
from tests.fakes.github_oidc import FakeGitHubOidc
from tests.fakes.tls import make_authority

ARM = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.MachineLearningServices"
MODEL = {
    "id": f"{ARM}/workspaces/ws/models/m/versions/1",
    "name": "1",
    "type": "Microsoft.MachineLearningServices/workspaces/models/versions",
    "properties": {
        "modelType": "custom_model",
        "modelUri": "azureml://jobs/j/outputs/model",
        "flavors": {},
        "properties": {},
        "tags": {},
    },
}
DATA = {
    "id": f"{ARM}/workspaces/ws/data/d/versions/1",
    "name": "1",
    "properties": {
        "dataType": "uri_folder",
        "dataUri": "azureml://datastores/workspaceblobstore/paths/x/",
        "properties": {},
        "tags": {},
    },
}
BUSY = {"error": {"code": "ServiceUnavailable", "message": "The service is busy"}}
DROP = "drop"  # close the connection without answering
_clouds = itertools.count()


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # a client that gave up on a hung answer closed its socket


class ScriptedAzure:
    """Answers each (method, path from the workspace on) from a script; the
    last answer repeats. Unscripted: 404."""

    def __init__(self, authority) -> None:
        self.script: dict[tuple[str, str], list] = {}
        self.requests: list[dict] = []
        self.server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.server.socket = authority.server_context().wrap_socket(
            self.server.socket, server_side=True
        )
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"

    def on(self, method: str, suffix: str, *answers) -> None:
        self.script[(method, suffix)] = list(answers)

    def arrived(self, method: str, suffix: str) -> list[dict]:
        return [
            r for r in self.requests if (r["method"], r["suffix"]) == (method, suffix)
        ]

    def __enter__(self) -> "ScriptedAzure":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _next(self, method: str, path: str, authorization: str | None):
        match = re.search(r"/workspaces/[^/]+/(.+)$", path)
        suffix = match.group(1) if match else path
        self.requests.append(
            {
                "method": method,
                "suffix": suffix,
                "at": time.monotonic(),
                "authorization": authorization,
            }
        )
        answers = self.script.get((method, suffix))
        if not answers:
            return 404, {}, {"error": {"code": "NotFound", "message": "no such thing"}}
        return answers.pop(0) if len(answers) > 1 else answers[0]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _do(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                answer = fake._next(
                    method, urlsplit(self.path).path, self.headers.get("Authorization")
                )
                if answer == DROP:
                    self.close_connection = True
                    return
                status, headers, payload = answer
                if "sleep" in headers:
                    time.sleep(float(headers.pop("sleep")))
                body = json.dumps(payload).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._do("GET")

            def do_POST(self) -> None:
                self._do("POST")

        return Handler


class StaticCredential:
    def get_token(self, *scopes: str, **kwargs):
        from azure.core.credentials import AccessToken

        expires = int(time.time()) + 3600
        token = unsigned_jwt({"aud": "https://ml.azure.com/", "exp": expires})
        return AccessToken(token, expires)


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    return make_authority(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def fake(authority, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(authority.bundle))
    with ScriptedAzure(authority) as server:
        yield server


def workspace_for(url: str, active_directory: str | None = None) -> Workspace:
    metadata = {
        "azure_portal": f"{url}/",
        "resource_manager": f"{url}/",
        "active_directory": active_directory or url,
        "aml_resource_id": f"{url}/",
        "storage_endpoint": "localhost",
        "registry_discovery_endpoint": f"{url}/",
    }
    name = f"MlopsRetryTest{next(_clouds)}"
    return Workspace("sub", "rg", "ws", cloud=name, cloud_metadata=metadata)


def client(fake: ScriptedAzure, deadline_s: float | None = None, credential=None):
    credential = credential or StaticCredential()
    return ml_client(
        workspace_for(fake.url), credential=credential, deadline_s=deadline_s
    )


def gaps(requests: list[dict]) -> list[float]:
    return [b["at"] - a["at"] for a, b in zip(requests, requests[1:])]


# -- pure rules -------------------------------------------------------------


@pytest.mark.parametrize(
    "method, status, retried",
    [
        ("GET", 429, True),
        ("POST", 429, True),
        ("POST", 408, True),
        ("GET", 503, True),
        ("PUT", 500, True),
        ("DELETE", 504, True),
        ("HEAD", 502, True),
        ("POST", 503, False),
        ("PATCH", 500, False),
        ("GET", 501, False),
        ("GET", 404, False),
        ("GET", 409, False),
    ],
)
def test_what_is_retried(method, status, retried):
    assert retry.should_retry(method, status) is retried


def test_backoff_is_full_jitter_capped():
    assert retry.backoff_s(1, rand=lambda: 1.0) == 1.0
    assert retry.backoff_s(4, rand=lambda: 1.0) == 8.0
    assert retry.backoff_s(12, rand=lambda: 1.0) == 30.0
    assert retry.backoff_s(12, rand=lambda: 0.0) == 0.0


# -- the policy in force ----------------------------------------------------


def test_every_service_client_of_mlclient_has_our_policy(fake):
    ml = client(fake)
    ours = retry._policy_class()
    clients = [v for k, v in vars(ml).items() if k.startswith("_service_client")]
    assert len(clients) > 5
    for service in clients:
        assert isinstance(service._config.retry_policy, ours)
        assert service._config.retry_policy.deadline_s == retry.DEFAULT_DEADLINE_S


def test_429_with_retry_after_then_200_succeeds_after_about_a_second(fake, caplog):
    caplog.set_level(logging.INFO, logger="mlops_actions.azure.retry")
    slow = {"error": {"code": "TooManyRequests", "message": "slow down"}}
    fake.on(
        "GET",
        "models/m/versions/1",
        (429, {"Retry-After": "1"}, slow),
        (200, {}, MODEL),
    )
    started = time.monotonic()
    model = client(fake).models.get("m", "1")
    took = time.monotonic() - started
    assert (model.name, model.version) == ("m", "1")
    arrived = fake.arrived("GET", "models/m/versions/1")
    assert len(arrived) == 2
    assert 0.95 <= gaps(arrived)[0] < 2.0 and took < 3.0
    (record,) = [r for r in caplog.records if r.name == "mlops_actions.azure.retry"]
    assert record.getMessage() == (
        f"Azure answered 429 to GET {ARM}/workspaces/ws/models/m/versions/1 "
        "(try 1); retrying in 1.0 s"
    )


def test_x_ms_retry_after_ms_is_honoured(fake):
    fake.on(
        "GET",
        "data/d/versions/1",
        (429, {"x-ms-retry-after-ms": "400"}, {}),
        (200, {}, DATA),
    )
    assert client(fake).data.get("d", "1").version == "1"
    arrived = fake.arrived("GET", "data/d/versions/1")
    assert len(arrived) == 2 and 0.38 <= gaps(arrived)[0] < 1.5


def test_a_persistent_503_gives_up_inside_the_deadline(fake):
    fake.on("GET", "jobs/train-1", (503, {}, BUSY))
    started = time.monotonic()
    with pytest.raises(Exception) as caught:
        client(fake, deadline_s=4).jobs.get("train-1")
    took = time.monotonic() - started
    message = azure_error(caught.value, "get job train-1").message
    tries = len(fake.arrived("GET", "jobs/train-1"))
    assert took < 4.0 and tries >= 2
    assert re.fullmatch(
        rf"Azure ML answered 503 Service Unavailable to GET jobs/train-1 {tries} "
        r"times over \d+ s; giving up: The service is busy",
        message,
    ), message
    assert "\n" not in message and "?" not in message and "api-version" not in message


def test_the_default_deadline_is_two_minutes_not_seven_days(fake):
    ml = client(fake)
    policy = ml._service_client_10_2023._config.retry_policy
    assert policy.deadline_s == 120 and policy.timeout == 120


def test_post_503_is_not_retried(fake):
    fake.on("POST", "jobs/train-1/cancel", (503, {}, BUSY))
    with pytest.raises(Exception) as caught:
        client(fake).jobs.begin_cancel("train-1")
    assert len(fake.arrived("POST", "jobs/train-1/cancel")) == 1
    assert azure_error(caught.value, "cancel job train-1").message == (
        "Azure ML answered 503 Service Unavailable to POST jobs/train-1/cancel: "
        "The service is busy"
    )


def test_post_429_is_retried(fake):
    fake.on(
        "POST",
        "jobs/train-1/cancel",
        (429, {"Retry-After": "0"}, {}),
        (200, {}, {}),
    )
    client(fake).jobs.begin_cancel("train-1")
    assert len(fake.arrived("POST", "jobs/train-1/cancel")) == 2


def test_run_history_calls_behind_jobs_stream_are_retried(fake):
    ml = client(fake, deadline_s=10)
    # jobs.stream finds the run history host through the workspace's
    # discovery document; here it is the fake itself.
    ml.jobs._api_base_url = fake.url
    fake.on(
        "GET",
        "runs/train-1/details",
        (503, {}, BUSY),
        (504, {}, BUSY),
        (200, {}, {"runId": "train-1", "status": "Completed"}),
    )
    assert ml.jobs._runs_operations.get_run_details("train-1").status == "Completed"
    assert len(fake.arrived("GET", "runs/train-1/details")) == 3


def test_run_history_gives_up_with_the_one_line_message(fake):
    ml = client(fake, deadline_s=3)
    ml.jobs._api_base_url = fake.url
    fake.on("GET", "runs/train-1/details", (503, {}, BUSY))
    with pytest.raises(Exception) as caught:
        ml.jobs._runs_operations.get_run_details("train-1")
    assert re.fullmatch(
        r"Azure ML answered 503 Service Unavailable to GET runs/train-1/details \d+ "
        r"times over \d+ s; giving up: The service is busy",
        azure_error(caught.value, "wait for job train-1").message,
    )


def test_a_dropped_connection_is_retried_on_get(fake):
    fake.on("GET", "models/m/versions/1", DROP, (200, {}, MODEL))
    assert client(fake).models.get("m", "1").version == "1"
    assert len(fake.arrived("GET", "models/m/versions/1")) == 2


def test_a_dropped_connection_is_not_retried_on_post(fake):
    fake.on("POST", "jobs/train-1/cancel", DROP)
    with pytest.raises(Exception) as caught:
        client(fake).jobs.begin_cancel("train-1")
    assert len(fake.arrived("POST", "jobs/train-1/cancel")) == 1
    message = azure_error(caught.value, "cancel job train-1").message
    assert message.startswith("could not cancel job train-1 on Azure ML (1 try")


def test_a_hung_answer_is_cut_at_the_deadline(fake):
    fake.on("GET", "models/m/versions/1", (200, {"sleep": "5"}, MODEL))
    started = time.monotonic()
    with pytest.raises(Exception) as caught:
        client(fake, deadline_s=1.5).models.get("m", "1")
    assert time.monotonic() - started < 3.5
    message = azure_error(caught.value, "get model m:1").message
    assert message.startswith("could not get model m:1 on Azure ML (1 try over")


def test_sas_signatures_never_reach_the_message(fake):
    leaky = {
        "error": {
            "code": "BadBlob",
            "message": "cannot read https://a.blob.localhost/c/x?sv=2024&sig=S3CRETSIG",
        }
    }
    fake.on("GET", "models/m/versions/1", (400, {}, leaky))
    with pytest.raises(Exception) as caught:
        client(fake).models.get("m", "1")
    message = azure_error(caught.value, "get model m:1").message
    assert "S3CRETSIG" not in message and "sig=***" in message
    assert message.startswith("Azure ML answered 400 Bad Request to GET models/m/")


def test_a_second_client_for_the_same_custom_cloud(fake):
    ws = workspace_for(fake.url)
    fake.on("GET", "models/m/versions/1", (200, {}, MODEL))
    for _ in range(2):  # azure-ai-ml refuses to register a cloud name twice
        ml = ml_client(ws, credential=StaticCredential())
        assert ml.models.get("m", "1").version == "1"


def test_a_token_refresh_during_a_long_wait_asks_github_again(
    fake, authority, monkeypatch
):
    fake.on("GET", "models/m/versions/1", (200, {}, MODEL))
    with FakeEntra(authority, expires_in=1) as entra, FakeGitHubOidc() as oidc:
        ws = workspace_for(fake.url, active_directory=entra.url)
        credential = GitHubOidcCredential(
            tenant_id="tenant-1",
            client_id="client-1",
            request_url=oidc.url,
            request_token=oidc.request_token,
            authority=entra.url,
        )
        ml = ml_client(ws, credential=credential)
        ml.models.get("m", "1")
        time.sleep(1.2)  # longer than the token lives
        ml.models.get("m", "1")
    bearers = [r["authorization"] for r in fake.arrived("GET", "models/m/versions/1")]
    assert len(bearers) == 2 and bearers[0] != bearers[1]
    assert oidc.calls == 2
    assert entra.assertions == oidc.issued and len(set(entra.assertions)) == 2
    assert (
        jwt_claims(bearers[1].split()[1])["aud"] == fake.url
    )  # the ARM scope, named without the slash


def test_github_failing_during_a_call_reaches_the_user_as_our_error(
    fake, authority, monkeypatch
):
    monkeypatch.setattr("mlops_actions.azure.credential.OIDC_BACKOFF_S", 0.0)
    fake.on("GET", "models/m/versions/1", (200, {}, MODEL))
    with FakeEntra(authority) as entra, FakeGitHubOidc() as oidc:
        oidc.fail = [500] * 3
        credential = GitHubOidcCredential(
            tenant_id="tenant-1",
            client_id="client-1",
            request_url=oidc.url,
            request_token=oidc.request_token,
            authority=entra.url,
        )
        with pytest.raises(BackendError) as caught:
            ml_client(workspace_for(fake.url), credential=credential).models.get(
                "m", "1"
            )
    assert azure_error(caught.value, "get model m:1") is caught.value
    assert caught.value.message == (
        f"GitHub's OIDC endpoint {oidc.url.split('?')[0]} failed 3 times: "
        "500 Internal Server Error"
    )
    assert fake.requests == [] and entra.assertions == []


# -- against the full fake Azure ML service (tests/azure/conftest.py) -------


def test_submit_and_stream_go_through_our_policy(
    azureml, static_credential, toy_pipeline, capsys, caplog
):
    from azure.ai.ml import load_job

    from mlops_actions.azure.workspace import resolve_workspace
    from mlops_actions.project import Project

    # the workspace comes from the MLOPS_AZURE_* variables the fake sets
    ws = resolve_workspace(project=Project())
    assert (ws.name, ws.cloud) == (azureml.workspace, azureml.cloud_name)
    ml = ml_client(ws, credential=static_credential, deadline_s=30)
    caplog.set_level(logging.INFO, logger="mlops_actions.azure.retry")
    azureml.script(None, statuses=["Running", "Running", "Completed"], logs=["line 1"])
    azureml.fail("PUT", r"/jobs/toy-run-1$", 503, times=1)
    job = load_job(toy_pipeline)
    job.name = "toy-run-1"
    ml.jobs.create_or_update(job)
    assert len(azureml.calls("PUT", r"/jobs/toy-run-1$")) == 2

    details = r"/history/v1.0/.*/runs/toy-run-1/details$"
    azureml.fail("GET", details, 503, times=2)
    azureml.fail("GET", r"/jobs/toy-run-1$", 429, times=1, headers={"Retry-After": "0"})
    ml.jobs.stream("toy-run-1")
    assert "line 1" in capsys.readouterr().out
    assert len(azureml.calls("GET", details)) >= 3
    assert len(azureml.calls("GET", r"/jobs/toy-run-1$")) >= 2
    assert ml.jobs.get("toy-run-1").status == "Completed"
    # retried by our policy (its log), not by azure-core's default one
    ours = [r.getMessage() for r in caplog.records if r.name.endswith("azure.retry")]
    assert [m.split(" (try")[0].split("/")[-1] for m in ours] == [
        "toy-run-1",  # the PUT
        "toy-run-1",  # the 429 on GET jobs/toy-run-1
        "details",
        "details",
    ]
    assert ours[0].startswith("Azure answered 503 to PUT /subscriptions/")
    assert ours[1].startswith("Azure answered 429 to GET /subscriptions/")
    assert ours[2].startswith("Azure answered 503 to GET /history/v1.0/subscriptions/")
