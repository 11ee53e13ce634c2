"""Waiting on an Azure ML job: the real azure-ai-ml client against the fake
service, from submission to the state the workflow ends with."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from mlops_actions.azure.waiting import cancel_job, wait_for_job
from mlops_actions.errors import BackendError, ExitCode
from tests.fakes import loopback_dns

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "tests" / "fixtures" / "toy" / "pipeline.yml"


@pytest.fixture
def client(azureml, static_credential):
    from azure.ai.ml import MLClient

    return MLClient(
        static_credential,
        azureml.subscription_id,
        azureml.resource_group,
        azureml.workspace,
        cloud=azureml.cloud_name,
        cloud_metadata=azureml.cloud_metadata,
        # a 500 from a broken stream is retried quickly: these tests are about
        # what comes after the retries
        retry_backoff_factor=0.05,
    )


def submit(client, name: str) -> None:
    from azure.ai.ml import load_job

    job = load_job(TOY)
    job.name = name
    client.jobs.create_or_update(job, skip_validation=True)


def requests_from(fake, first: str) -> list[str]:
    """The requests from the first ``first`` on, as METHOD and the path after
    the workspace (``workspace``: the workspace itself)."""
    seen = []
    for request in fake.requests:
        path = request["path"].split(f"/workspaces/{fake.workspace}", 1)[-1]
        seen.append(f"{request['method']} {path.lstrip('/') or 'workspace'}")
    return seen[seen.index(first) :]


def test_submitted_pipeline_streams_its_logs_and_completes(azureml, client):
    azureml.script(
        "toy-1",
        statuses=["Running", "Running", "Completed"],
        logs=["reading 3 lines", "wrote result"],
    )
    submit(client, "toy-1")
    logs = io.StringIO()
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)

    outcome = wait_for_job(client, "toy-1", timeout_s=60, out=logs, poll_s=0.05)

    assert (outcome.name, outcome.state) == ("toy-1", "Completed")
    assert (outcome.error, outcome.failing_step) == (None, None)
    assert outcome.url and "toy-1" in outcome.url
    assert "reading 3 lines\nwrote result\n" in logs.getvalue()
    # submitted once; streamed from run history until it left the running
    # states; the end read from jobs.get, never taken from the stream
    assert requests_from(azureml, "PUT jobs/toy-1") == [
        "PUT jobs/toy-1",
        "GET jobs/toy-1",
        "GET workspace",
        "GET discovery",
        "GET runs/toy-1/details",
        "GET runs/toy-1/details",
        "GET jobs/toy-1",
    ]
    # the wait's own signal handlers are gone once it returns
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == (
        handlers
    )


def test_a_failed_pipeline_exits_3_naming_the_step_and_its_error(azureml, client):
    azureml.script(
        "toy-2",
        statuses=["Running", "Failed"],
        error={"message": "consume.py: no lines to read", "step": "consume"},
    )
    submit(client, "toy-2")

    with pytest.raises(BackendError) as raised:
        wait_for_job(client, "toy-2", timeout_s=60, out=io.StringIO(), poll_s=0.05)

    assert raised.value.exit_code == ExitCode.BACKEND == 3
    assert raised.value.message == (
        "job toy-2 ended Failed: step consume failed: consume.py: no lines to read"
    )
    assert raised.value.detail.startswith("job page: https://ml.azure.com/runs/toy-2")


@pytest.mark.parametrize("state", ["Canceled", "NotResponding", "Paused", "Lost"])
def test_every_other_end_exits_3_saying_how_it_ended(azureml, client, state):
    azureml.script("toy-3", statuses=["Running", state])
    submit(client, "toy-3")

    with pytest.raises(BackendError) as raised:
        wait_for_job(client, "toy-3", timeout_s=60, out=io.StringIO(), poll_s=0.05)

    assert raised.value.exit_code == 3
    assert raised.value.message == (
        f"job toy-3 ended {state}: Azure ML gave no error text; see the job page"
    )


def test_a_broken_stream_falls_back_to_polling_and_reports_the_true_end(
    azureml, client
):
    azureml.script(
        "toy-9",
        statuses=["Running", "Running", "Running", "Failed"],
        error={"message": "out of memory", "step": "produce"},
    )
    azureml.break_stream("toy-9")
    submit(client, "toy-9")
    logs = io.StringIO()

    with pytest.raises(BackendError) as raised:
        wait_for_job(client, "toy-9", timeout_s=60, out=logs, poll_s=0.05)

    assert raised.value.message.startswith("job toy-9 ended Failed")
    lines = logs.getvalue().splitlines()
    assert any(line.startswith("log stream of job toy-9 broke (") for line in lines)
    assert "polling the status of job toy-9 every 0.05 s" in lines


def test_a_broken_stream_of_a_job_that_completes_still_completes(azureml, client):
    azureml.script("toy-4", statuses=["Running", "Running", "Running", "Completed"])
    azureml.break_stream("toy-4")
    submit(client, "toy-4")

    outcome = wait_for_job(
        client, "toy-4", timeout_s=60, out=io.StringIO(), poll_s=0.05
    )

    assert outcome.state == "Completed"


def test_a_stream_that_stops_at_cancel_requested_is_no_success(azureml, client):
    # the SDK's stream returns once the job leaves the running states, so a
    # job cancelled from the studio ends the stream while still winding down
    azureml.script(
        "toy-10",
        statuses=["Running", "CancelRequested", "CancelRequested", "Canceled"],
    )
    submit(client, "toy-10")
    logs = io.StringIO()

    with pytest.raises(BackendError) as raised:
        wait_for_job(client, "toy-10", timeout_s=60, out=logs, poll_s=0.05)

    assert raised.value.message.startswith("job toy-10 ended Canceled")
    lines = logs.getvalue().splitlines()
    assert "log stream of job toy-10 ended before the job did" in lines


def test_status_polls_ride_out_a_service_outage(azureml, client):
    azureml.script("toy-11", statuses=["Running", "Completed"])
    submit(client, "toy-11")
    # more 503s than the client retries: the stream and one poll give up
    azureml.fail("GET", r"/jobs/toy-11$", 503, times=8)
    logs = io.StringIO()

    outcome = wait_for_job(client, "toy-11", timeout_s=60, out=logs, poll_s=0.05)

    assert outcome.state == "Completed"
    lines = logs.getvalue().splitlines()
    assert any(
        line.startswith("log stream of job toy-11 broke (HttpResponseError: ")
        for line in lines
    )
    assert any(
        line.startswith("reading job toy-11: Azure ML answered 503: ")
        and line.endswith("; asking again")
        for line in lines
    )


def test_waiting_on_an_unknown_job_names_it(azureml, client):
    with pytest.raises(BackendError) as raised:
        wait_for_job(client, "no-such-job", timeout_s=60, out=io.StringIO())

    assert raised.value.exit_code == 3
    assert raised.value.message.startswith("reading job no-such-job: not found")


def test_a_stuck_job_times_out_and_is_cancelled(azureml, client):
    azureml.stuck("toy-5")
    submit(client, "toy-5")
    started = time.monotonic()

    with pytest.raises(BackendError) as raised:
        wait_for_job(client, "toy-5", timeout_s=1.5, out=io.StringIO(), poll_s=0.05)

    assert time.monotonic() - started < 5
    assert raised.value.exit_code == 3
    assert raised.value.message == (
        "timed out after 1.5 s; job toy-5 cancelled (raise --timeout to wait longer)"
    )
    assert len(azureml.calls("POST", r"/jobs/toy-5/cancel$")) == 1


def test_the_timeout_follows_the_clock_it_is_given(azureml, client):
    azureml.stuck("toy-13")
    submit(client, "toy-13")
    ticks = iter(range(0, 10_000, 100))

    with pytest.raises(BackendError) as raised:
        wait_for_job(
            client,
            "toy-13",
            timeout_s=3600,
            out=io.StringIO(),
            poll_s=0.05,
            clock=lambda: float(next(ticks)),
        )

    assert raised.value.message.startswith("timed out after 3600 s; job toy-13")
    assert len(azureml.calls("POST", r"/jobs/toy-13/cancel$")) == 1


def test_a_wait_outside_the_main_thread_leaves_signals_alone(azureml, client):
    azureml.script("toy-14", statuses=["Running", "Completed"])
    submit(client, "toy-14")
    outcomes = []

    def waiting() -> None:
        outcomes.append(wait_for_job(client, "toy-14", timeout_s=60, out=io.StringIO()))

    worker = threading.Thread(target=waiting)
    worker.start()
    worker.join(60)

    assert [outcome.state for outcome in outcomes] == ["Completed"]


def test_a_timeout_whose_cancel_fails_says_how_to_cancel(azureml, client):
    azureml.stuck("toy-12")
    submit(client, "toy-12")
    azureml.fail("POST", r"/jobs/toy-12/cancel$", 500, times=5)

    with pytest.raises(BackendError) as raised:
        wait_for_job(client, "toy-12", timeout_s=1, out=io.StringIO(), poll_s=0.05)

    message = raised.value.message
    assert message.startswith(
        "timed out after 1 s; cancelling job toy-12 failed (cancelling job "
        "toy-12: Azure ML answered 500: "
    )
    assert message.endswith("): run `mlops pipeline cancel toy-12`")


def test_cancel_job_cancels_a_running_job_once(azureml, client):
    azureml.stuck("toy-6")
    submit(client, "toy-6")

    cancelled = cancel_job(client, "toy-6")

    assert cancelled.requested
    assert len(azureml.calls("POST", r"/jobs/toy-6/cancel$")) == 1


def test_cancel_job_leaves_a_finished_job_as_it_is(azureml, client):
    azureml.script("toy-7", statuses=["Completed"])
    submit(client, "toy-7")

    cancelled = cancel_job(client, "toy-7")

    assert (cancelled.requested, cancelled.state) == (False, "Completed")
    assert azureml.calls("POST", r"/jobs/toy-7/cancel$") == []


def test_cancel_job_of_an_unknown_job_names_it(azureml, client):
    with pytest.raises(BackendError) as raised:
        cancel_job(client, "no-such-job")

    assert raised.value.exit_code == 3
    assert raised.value.message.startswith("reading job no-such-job: not found")


# A workflow's cancel reaches the waiting process as signals: the wait runs
# in a child process, as `mlops pipeline wait` does on a runner.
CHILD = textwrap.dedent("""
    import base64, json, os, sys, time
    from azure.core.credentials import AccessToken
    from azure.ai.ml import MLClient
    from mlops_actions.azure.waiting import wait_for_job
    from mlops_actions.errors import MlopsError

    def part(value):
        raw = json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    class Static:
        def get_token(self, *scopes, **kwargs):
            claims = {"aud": "https://ml.azure.com", "tid": "t", "oid": "o",
                      "exp": int(time.time()) + 3600}
            token = part({"alg": "none"}) + "." + part(claims) + "."
            return AccessToken(token, claims["exp"])

    client = MLClient(
        Static(),
        os.environ["MLOPS_AZURE_SUBSCRIPTION_ID"],
        os.environ["MLOPS_AZURE_RESOURCE_GROUP"],
        os.environ["MLOPS_AZURE_WORKSPACE"],
        cloud=os.environ["MLOPS_AZURE_CLOUD"],
        cloud_metadata=json.loads(os.environ["MLOPS_AZURE_CLOUD_METADATA"]),
    )
    try:
        wait_for_job(client, sys.argv[1], timeout_s=120, poll_s=0.2)
    except MlopsError as exc:
        print(exc.message, file=sys.stderr)
        sys.exit(int(exc.exit_code))
    """)


def start_waiting(azureml, name: str) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(azureml.env())
    # set by azure-ai-ml in this process once a client used the fake cloud; a
    # child that inherits it looks that cloud up before registering it
    env.pop("AZUREML_CURRENT_CLOUD", None)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(loopback_dns.SITE), str(ROOT / "src"), env.get("PYTHONPATH", "")]
    )
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, name],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # the wait has begun once the child reads the job's run details
    deadline = time.monotonic() + 60
    while not azureml.calls("GET", rf"/runs/{name}(/details)?$"):
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the child never started waiting"
        time.sleep(0.05)
    return child


def cancel_seen_at(azureml, name: str, signalled: float) -> float:
    """Seconds from the signal to the cancel request reaching the fake."""
    while time.time() - signalled < 10:
        calls = azureml.calls("POST", rf"/jobs/{name}/cancel$")
        if calls:
            # when this loop saw it: never earlier than its arrival
            return time.time() - signalled
        time.sleep(0.02)
    raise AssertionError("no cancel request reached the fake")


@pytest.mark.parametrize(
    ("signals", "name"),
    [
        ([signal.SIGINT], "SIGINT"),
        ([signal.SIGTERM], "SIGTERM"),
        # GitHub's order; here the second comes while the first is handled
        ([signal.SIGINT, signal.SIGTERM], "SIGINT"),
    ],
)
def test_a_cancelled_workflow_cancels_the_job_within_2_s(
    azureml, client, signals, name
):
    azureml.stuck("toy-8")
    submit(client, "toy-8")
    child = start_waiting(azureml, "toy-8")

    signalled = time.time()
    for signum in signals:
        child.send_signal(signum)
        time.sleep(0.02)
    delay = cancel_seen_at(azureml, "toy-8", signalled)
    _, err = child.communicate(timeout=30)

    assert delay < 2
    assert child.returncode == 3
    assert f"job toy-8 cancelled because the workflow was cancelled ({name})" in err
    assert len(azureml.calls("POST", r"/jobs/toy-8/cancel$")) == 1


def test_a_job_that_ended_before_the_timeout_is_checked_is_not_cancelled(
    client, azureml
):
    # the fault: with the stream slow (here broken, polled every 30 s) and the
    # timeout already past (0 s), the wait cancelled a job that had completed
    # and reported a timeout; it must answer as the job ended
    azureml.script("toy-done", statuses=["Completed"])
    submit(client, "toy-done")
    client.jobs.get("toy-done")  # it has completed by now
    azureml.break_stream("toy-done")
    outcome = wait_for_job(
        client, "toy-done", timeout_s=0, out=io.StringIO(), poll_s=30
    )
    assert outcome.state == "Completed"
    assert azureml.calls("POST", r"/jobs/toy-done/cancel$") == []
