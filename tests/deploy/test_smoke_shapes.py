"""The smoke test compares answers of any shape: numbers within the
tolerance, the rest exactly (a stand-in scorer on 127.0.0.1 answers)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mlops_actions.deploy.smoke import check_smoke, smoke_test
from mlops_actions.errors import UsageError

REQUEST = {"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.0]]}}


@pytest.fixture
def answer():
    """A server answering ``{"predictions": state["predictions"]}``."""
    state: dict = {"predictions": []}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"predictions": state["predictions"]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"

    def run(got, want, **more):
        state["predictions"] = got
        expected = more.pop("expected", {"predictions": want})
        return smoke_test(url, {"request": REQUEST, "expected": expected, **more})

    yield run
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "got, want",
    [
        pytest.param([151.2, 75.0000004], [151.2, 75.0], id="numbers"),
        pytest.param([3, 4], [3.0, 4.0], id="ints-as-floats"),
        pytest.param(["Adelie", "Gentoo"], ["Adelie", "Gentoo"], id="strings"),
        pytest.param([[0.1, 0.9], [0.7, 0.3]], [[0.1, 0.9], [0.7, 0.3]], id="lists"),
        pytest.param(
            [{"label": "a", "p": 0.25}, {"label": "b", "p": None}],
            [{"label": "a", "p": 0.25}, {"label": "b", "p": None}],
            id="records",
        ),
        pytest.param(
            {"label": ["a", "b"], "score": [1.5, 2.5]},
            {"label": ["a", "b"], "score": [1.5, 2.5]},
            id="columns",
        ),
        pytest.param([1e9 + 0.5], [1e9 + 0.5000001], id="relative"),
    ],
)
def test_answers_of_any_shape_pass_as_recorded(answer, got, want):
    result = answer(got, want)
    assert result.mismatches == [] and result.ok
    assert result.summary() == "smoke test passed: 2 rows answered as recorded" or (
        result.rows == 1
        and result.summary() == "smoke test passed: 1 row answered as recorded"
    )


@pytest.mark.parametrize(
    "got, want, mismatches",
    [
        pytest.param(
            [151.2, 75.1], [151.2, 75.0], ["row 1: 75.1, expected 75.0"], id="number"
        ),
        pytest.param(["1", 2], [1, 2], ["row 0: '1', expected 1"], id="text-number"),
        pytest.param([True, 1], [1, 1], ["row 0: True, expected 1"], id="bool-number"),
        pytest.param(["Adelie"] * 2, ["adelie"] * 2, [
            "row 0: 'Adelie', expected 'adelie'",
            "row 1: 'Adelie', expected 'adelie'",
        ], id="strings-exact"),
        pytest.param(
            [[0.1, 0.9], [0.7]],
            [[0.1, 0.9], [0.7, 0.3]],
            ["row 1: 1 items, expected 2"],
            id="list-length",
        ),
        pytest.param(
            [{"label": "a"}, {"label": "b", "p": 1.0, "x": 0}],
            [{"label": "a", "p": 0.25}, {"label": "b", "p": 0.5}],
            [
                "row 0: missing 'p'",
                "row 1: p 1.0, expected 0.5",
                "row 1: unexpected 'x'",
            ],
            id="records",
        ),
        pytest.param(
            {"label": ["a", "c"]},
            {"label": ["a", "b"]},
            ["label[1] 'c', expected 'b'"],
            id="columns",
        ),
        pytest.param(
            [3.5, 4.5], [{"label": "a"}, {"label": "b"}],
            ["row 0: 3.5, expected a record", "row 1: 4.5, expected a record"],
            id="not-records",
        ),
        pytest.param([1.0], [1.0, 2.0], ["expected 2 predictions, got 1"], id="count"),
    ],
)  # fmt: skip
def test_each_difference_is_named(answer, got, want, mismatches):
    result = answer(got, want)
    assert not result.ok
    assert result.mismatches == mismatches


def test_the_tolerance_is_configurable(answer):
    assert not answer([10.0, 20.0], [10.0, 20.4]).ok
    assert answer([10.0, 20.0], [10.0, 20.4], tolerance=0.5).ok
    assert answer([10.0, 20.0], [10.0, 20.4], relative_tolerance=0.05).ok


def test_shape_only_checks_the_count_and_says_so(answer):
    shape = {"expected": {"rows": 2}, "shape_only": True}
    result = answer([{"z": 1}, 7.5], None, **shape)
    assert (result.ok, result.shape_only) == (True, True)
    assert result.summary() == (
        "smoke test passed: 2 rows answered (shape only: no recorded answers)"
    )
    assert answer([1.0], None, **shape).mismatches == ["expected 2 predictions, got 1"]


@pytest.mark.parametrize(
    "expected, line",
    [
        pytest.param(
            {"prediction": [1.0]},
            "smoke.json: expected: no recorded answers (keys: prediction); give "
            'the answers the model gave as {"predictions": [...]} (README "Smoke '
            'test")',
            id="guessed-key",
        ),
        pytest.param(
            {"label": "a"},
            "smoke.json: expected.label: give a list, one per row",
            id="label-not-a-list",
        ),
        pytest.param(
            {"label": ["a", "b"], "probability": [0.5]},
            "smoke.json: expected.probability: give a list of numbers, one per "
            "label (2)",
            id="probabilities-short",
        ),
    ],
)
def test_a_guessed_expected_answer_is_refused_naming_what_to_change(expected, line):
    with pytest.raises(UsageError) as raised:
        check_smoke({"request": REQUEST, "expected": expected}, "smoke.json")
    assert str(raised.value) == line


def test_a_negative_tolerance_is_refused():
    with pytest.raises(UsageError, match="^s: tolerance: give a number of 0 or more"):
        check_smoke(
            {"request": REQUEST, "expected": {"predictions": []}, "tolerance": -1}, "s"
        )
