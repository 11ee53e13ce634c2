"""What each Azure ML job state means for a workflow, and where stream logs go."""

from __future__ import annotations

import io
import sys
import threading

import pytest

from mlops_actions.azure import jobs

STILL_GOING = [
    "NotStarted",
    "Queued",
    "Preparing",
    "Provisioning",
    "Starting",
    "Running",
    "Finalizing",
    "CancelRequested",
]
ENDED_BADLY = ["Failed", "Canceled", "NotResponding", "Paused", "Exploded", None, ""]


@pytest.mark.parametrize("state", STILL_GOING)
def test_a_job_on_its_way_has_not_ended(state):
    assert not jobs.has_ended(state)
    assert not jobs.succeeded(state)


@pytest.mark.parametrize("state", ENDED_BADLY)
def test_every_other_state_ends_the_job_without_success(state):
    assert jobs.has_ended(state)
    assert not jobs.succeeded(state)


def test_only_completed_is_success():
    assert jobs.has_ended("Completed")
    assert jobs.succeeded("Completed")
    # Azure spells states in one case; a look-alike is an unknown state
    assert not jobs.succeeded("completed")


def test_stream_output_of_one_thread_goes_to_its_file_and_no_other():
    logs = io.StringIO()
    original = sys.stdout
    seen_inside = []

    def streaming() -> None:
        with jobs._stdout_of_this_thread(logs, lambda: False):
            print("from the stream")
            seen_inside.append(sys.stdout)

    worker = threading.Thread(target=streaming)
    worker.start()
    worker.join()
    assert logs.getvalue() == "from the stream\n"
    assert sys.stdout is original
    assert seen_inside and seen_inside[0] is not original


def test_a_stopped_stream_raises_at_its_next_write():
    stop = threading.Event()
    failures = []

    def streaming() -> None:
        with jobs._stdout_of_this_thread(io.StringIO(), stop.is_set):
            stop.set()
            try:
                print("late line")
            except jobs.StreamStopped:
                failures.append("stopped")

    worker = threading.Thread(target=streaming)
    worker.start()
    worker.join()
    assert failures == ["stopped"]
