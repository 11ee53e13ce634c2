"""benchmarks/scorer.py's pure parts: wrk's output read, answers checked, the
table and the verdicts written, listeners told apart (no server, no peer venv)."""

from __future__ import annotations

import http.server
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

WRK_OUT = """Running 2s test @ http://127.0.0.1:8911/predict
  1 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    16.28ms   20.53ms 130.37ms   88.12%
    Req/Sec   517.94    181.78   777.00     66.67%
  Latency Distribution
     50%  853.00us
     75%   20.56ms
     90%   40.06ms
     99%    1.03s
  961 requests in 2.00s, 173.80KB read
  Socket errors: connect 0, read 0, write 0, timeout 2
  Non-2xx or 3xx responses: 76
Requests/sec:    480.13
Transfer/sec:     86.83KB
"""


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "bench_scorer", ROOT / "benchmarks" / "scorer.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_scorer"] = module
    spec.loader.exec_module(module)
    return module


def figures(rps, p99, errors=0):
    return {"rps": rps, "p50": p99 / 2, "p99": p99, "errors": errors, "socket": ""}


def test_wrk_output_read_with_units_errors_and_socket_errors(bench):
    assert bench.parse_wrk(WRK_OUT) == {
        "rps": 480.13,
        "p50": pytest.approx(0.853),
        "p99": 1030.0,
        "errors": 76,
        "socket": "connect 0, read 0, write 0, timeout 2",
    }


def test_wrk_output_without_errors_counts_none(bench):
    clean = WRK_OUT.replace("  Non-2xx or 3xx responses: 76\n", "")
    clean = clean.replace(
        "  Socket errors: connect 0, read 0, write 0, timeout 2\n", ""
    )
    read = bench.parse_wrk(clean)
    assert (read["errors"], read["socket"]) == (0, "")


@pytest.mark.parametrize(
    "got, same",
    [
        ([0, 1, 1], True),
        ([0.0, 1.0, 1.0], True),  # a float tensor of the same classes
        ([0, 1, 1 + 1e-12], True),
        ([0, 1, 1.000001], False),
        ([0, 1], False),
        ([0, 1, 1, 0], False),
        ([0, 1, None], False),
        (["0", "1", "1"], False),
        ([[0], [1], [1]], False),
        ({"predictions": [0, 1, 1]}, False),
        ("no predictions (KeyError)", False),
        ([False, True, True], False),
    ],
)
def test_answers_equal_the_estimator_to_1e_9_only(bench, got, same):
    assert bench.same_answer([0, 1, 1], got) is same


def test_record_answers_compared_field_by_field(bench):
    want = [{"label": "a", "score": 0.25}]
    assert bench.same_answer(want, [{"label": "a", "score": 0.25 + 1e-12}])
    assert not bench.same_answer(want, [{"label": "b", "score": 0.25}])
    assert not bench.same_answer(want, [{"label": "a"}])


def test_v2_body_is_one_flat_fp64_tensor_of_the_rows(bench):
    sent = json.loads(bench.v2_body(["a", "b"], [[1.0, 2.0], [3.0, 4.0]]))
    assert sent == {
        "inputs": [
            {"name": "input-0", "shape": [2, 2], "datatype": "FP64",
             "data": [1.0, 2.0, 3.0, 4.0]}
        ]
    }  # fmt: skip
    split = json.loads(bench.split_body(["a", "b"], [[1.0, 2.0]]))
    assert split == {"dataframe_split": {"columns": ["a", "b"], "data": [[1.0, 2.0]]}}
    assert json.loads(bench.rows_body(["a"], [[1.0]])) == {"inputs": [[1.0]]}


def test_each_peer_venv_pins_this_venvs_scikit_learn_and_numpy(bench):
    from importlib import metadata

    for peer in bench.VENV_PEERS:
        wanted = bench.peer_requirements(peer)
        assert wanted[0].startswith(f"{peer}=="), wanted
        assert f"scikit-learn=={metadata.version('scikit-learn')}" in wanted
        assert f"numpy=={metadata.version('numpy')}" in wanted
        assert not any(x.startswith("torch") for x in wanted)


@pytest.mark.parametrize(
    "address, local",
    [
        ("0100007F:1F90", True),  # 127.0.0.1:8080
        ("0101007F:1F90", True),  # 127.0.1.1
        ("00000000:1F90", False),  # 0.0.0.0
        ("0A00A8C0:1F90", False),  # 192.168.0.10
        ("00000000000000000000000001000000:1F90", True),  # ::1
        ("00000000000000000000000000000000:1F90", False),  # ::
        ("0000000000000000FFFF00000100007F:1F90", True),  # ::ffff:127.0.0.1
    ],
)
def test_loopback_addresses_told_from_exposed_ones(bench, address, local):
    assert bench.loopback(address) is local


def test_listeners_of_a_process_are_found(bench):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        found = bench.listeners(os.getpid())
    assert f"0100007F:{port:04X}" in found


def results_of(peers: dict, ours=None) -> dict:
    """Results for loads c1 and c8, 1 and 10 rows: {name: {(c, rows): ...}}."""
    ours = ours or {1: (700, 2.0), 8: (4500, 2.5)}
    table = {"ours": {(c, r): figures(*ours[c]) for c in (1, 8) for r in (1, 10)}}
    for name, per_load in peers.items():
        if isinstance(per_load, str):
            table[name] = per_load
        else:
            table[name] = {
                (c, r): figures(*per_load[c]) if per_load[c] else "wrong answer: [1]"
                for c in (1, 8)
                for r in (1, 10)
            }
    return table


def test_verdicts_against_the_best_peer_at_each_load(bench):
    results = results_of(
        {
            "mlserver": {1: (1300, 1.5), 8: (1600, 6.7)},
            "kserve": {1: (1350, 1.4), 8: (1400, 6.2)},
        }
    )
    lines = bench.verdicts(results, [1, 8], ("mlserver", "kserve"))
    assert lines == [
        "verdict c1 req/s >= 1.2x the best peer: NOT met "
        "(1-row 0.52x kserve; 10-row 0.52x kserve)",
        "verdict c1 lowest p99 of the field: NOT met "
        "(1-row 2.00 vs 1.40 ms kserve; 10-row 2.00 vs 1.40 ms kserve)",
        "verdict c8 req/s >= 3x the best peer: NOT met "
        "(1-row 2.81x mlserver; 10-row 2.81x mlserver)",
        "verdict c8 lowest p99 of the field: met "
        "(1-row 2.50 vs 6.20 ms kserve; 10-row 2.50 vs 6.20 ms kserve)",
    ]


def test_verdicts_name_the_missing_peers_and_skip_wrong_answers(bench):
    results = results_of(
        {
            "mlserver": {1: None, 8: None},  # wrong answers everywhere
            "mlflow": {1: (130, 10.0), 8: (150, 100.0)},
            "kserve": "unavailable: its venv could not be made: no wheel",
        }
    )
    lines = bench.verdicts(results, [8], ("mlflow", "mlserver", "kserve", "bentoml"))
    assert lines == [
        "verdict c8 req/s >= 3x the best peer: met "
        "(1-row 30.00x mlflow; 10-row 30.00x mlflow) (without kserve, bentoml)",
        "verdict c8 lowest p99 of the field: met "
        "(1-row 2.50 vs 100.00 ms mlflow; 10-row 2.50 vs 100.00 ms mlflow) "
        "(without kserve, bentoml)",
    ]


def test_goal_not_met_when_ours_answers_with_errors(bench):
    results = results_of({"mlflow": {1: (130, 10.0), 8: (150, 100.0)}})
    results["ours"][8, 1]["errors"] = 3
    lines = bench.verdicts(results, [8], ("mlflow",))
    assert lines[0].startswith("verdict c8 req/s >= 3x the best peer: NOT met")
    assert lines[1].startswith("verdict c8 lowest p99 of the field: NOT met")


def test_verdict_without_any_peer_says_so(bench):
    lines = bench.verdicts(results_of({}), [1], ("mlflow",))
    assert lines[0] == (
        "verdict c1 req/s >= 1.2x the best peer: NOT met (1-row no peer measured; "
        "10-row no peer measured) (without mlflow)"
    )


def test_table_marks_wrong_answers_errors_and_unavailable_peers(bench):
    results = results_of(
        {
            "mlserver": {1: None, 8: None},
            "mlflow": {1: (140, 10.0), 8: (150, 100.0)},
            "kserve": "unavailable: exited with 1",
        }
    )
    results["mlflow"][8, 10]["errors"] = 5
    results["mlflow"][8, 10]["socket"] = "connect 0, read 0, write 0, timeout 1"
    lines = bench.report(results, [8])
    assert lines[1] == "kserve      unavailable: exited with 1"
    assert lines[2] == (
        "ours            8    1     4,500     4,500     1.25     2.50    1.00x  0"
    )
    assert lines[3] == "mlserver        8    1 wrong answer: [1]"
    assert lines[4] == (
        "mlflow          8    1       150       150    50.00   100.00   30.00x  0"
    )
    assert lines[7] == (
        "mlflow          8   10       150     1,500    50.00   100.00   30.00x"
        "  5 non-2xx, socket errors (connect 0, read 0, write 0, timeout 1)"
    )


def test_a_peer_venv_made_before_is_reused_while_its_pins_hold(bench, tmp_path):
    wanted = bench.peer_requirements("litserve")
    venv = tmp_path / f"litserve-{wanted[0].split('==')[1]}"
    venv.mkdir()
    (venv / "mlops-bench-requirements.txt").write_text("\n".join(wanted) + "\n")
    assert bench.peer_venv("litserve", tmp_path) == venv / "bin" / "python"


def test_a_peer_venv_that_cannot_be_made_says_why(bench, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    why = bench.peer_venv("kserve", blocked)
    assert isinstance(why, str) and why.startswith("its venv could not be made: ")


def test_litserve_workers_left_behind_are_ended_with_their_server(bench, tmp_path):
    # LitServe's inference workers outlived a SIGTERM to its main process and
    # kept running through the next contenders' timings.
    worker = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "time.sleep(120)"
    )
    parent = (
        "import subprocess, sys, time; "
        f"child = subprocess.Popen([sys.executable, '-c', {worker!r}]); "
        f"open({str(tmp_path / 'pid')!r}, 'w').write(str(child.pid)); "
        "time.sleep(120)"
    )
    server = subprocess.Popen([sys.executable, "-c", parent], start_new_session=True)
    pid_file = tmp_path / "pid"
    for _ in range(200):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.05)
    child = int(pid_file.read_text())
    bench.stop(server)
    assert server.returncode is not None
    for _ in range(100):  # the child's reaper (init) may take a moment
        state = Path(f"/proc/{child}/stat")
        if not state.exists() or state.read_text().split(") ")[1][0] == "Z":
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"worker {child} still runs after its server was stopped")


class Answering(http.server.BaseHTTPRequestHandler):
    """Answers every POST with the predictions the test server was given."""

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        raw = json.dumps({"predictions": self.server.answer}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args):
        pass


@pytest.fixture
def answering():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answering)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_server_answering_wrong_is_marked_and_not_timed(bench, answering):
    spec = bench.Server([], 0, "/", "/", bench.rows_body, bench.predictions)
    url = f"http://127.0.0.1:{answering.server_address[1]}/"
    data = (["a"], [[float(i)] for i in range(10)])
    answering.answer = [0]
    bodies = bench.checked_bodies(spec, url, data, {1: [0], 10: [0] * 10})
    assert bodies == {1: b'{"inputs": [[0.0]]}', 10: "wrong answer: [0]"}
    answering.answer = [1]
    bodies = bench.checked_bodies(spec, url, data, {1: [0], 10: [0] * 10})
    assert bodies == {1: "wrong answer: [1]", 10: "wrong answer: [1]"}


def test_a_server_that_exits_is_unavailable_with_its_last_words(bench, tmp_path):
    argv = [sys.executable, "-c", "print('no model here'); raise SystemExit(3)"]
    spec = bench.Server(argv, 9, "/", "/", bench.rows_body, bench.predictions)
    args = types.SimpleNamespace(connections=[1], duration=1.0)
    got = bench.measure("peer", spec, ([], []), {}, args, tmp_path, dict(os.environ))
    assert got == "unavailable: exited with 3 (no model here)"
