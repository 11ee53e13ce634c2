"""The smoke test against a stand-in scorer on 127.0.0.1: right, wrong, broken."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mlops_actions.deploy.smoke import smoke_test

SMOKE = {
    "schema": "mlops-actions/smoke",
    "version": 1,
    "request": {"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.0]]}},
    "expected": {"label": ["a", "b"], "probability": [0.25, 0.75]},
    "tolerance": 1e-6,
}


@pytest.fixture
def scorer():
    """A server answering whatever ``answer`` holds; records request bodies."""
    state = {"answer": (200, {"predictions": []}), "bodies": []}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            length = int(self.headers["Content-Length"])
            state["bodies"].append((self.path, json.loads(self.rfile.read(length))))
            status, payload = state["answer"]
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def records(labels, probabilities):
    return {
        "predictions": [
            {"label": label, "probability": p}
            for label, p in zip(labels, probabilities)
        ]
    }


def test_same_answers_pass(scorer):
    scorer["answer"] = (200, records(["a", "b"], [0.25, 0.7500000001]))
    result = smoke_test(scorer["url"], SMOKE)
    assert result.ok and result.rows == 2 and result.status == 200
    assert result.summary() == "smoke test passed: 2 rows answered as recorded"
    assert scorer["bodies"] == [("/invocations", SMOKE["request"])]


def test_wrong_label_and_probability_are_named(scorer):
    scorer["answer"] = (200, records(["a", "a"], [0.25, 0.5]))
    result = smoke_test(scorer["url"], SMOKE)
    assert not result.ok
    assert result.mismatches == [
        "row 1: label 'a', expected 'b'",
        "row 1: probability 0.5, expected 0.75",
    ]


def test_wrong_shape_fails(scorer):
    scorer["answer"] = (200, records(["a"], [0.25]))
    assert smoke_test(scorer["url"], SMOKE).mismatches == [
        "expected 2 predictions, got 1"
    ]


def test_server_error_fails(scorer):
    scorer["answer"] = (500, {"error": "boom"})
    result = smoke_test(scorer["url"], SMOKE)
    assert (result.ok, result.status) == (False, 500)
    assert result.mismatches[0].startswith("HTTP 500: ")


def test_no_server_fails_quickly():
    result = smoke_test("http://127.0.0.1:9", SMOKE, timeout=2)
    assert not result.ok and result.mismatches[0].startswith("no answer: ")


def test_shape_only_smoke_checks_the_count(scorer):
    scorer["answer"] = (200, records(["z", "y"], [0.9, 0.1]))
    shape_only = {
        "request": SMOKE["request"],
        "expected": {"rows": 2},
        "shape_only": True,
    }
    assert smoke_test(scorer["url"], shape_only).ok
