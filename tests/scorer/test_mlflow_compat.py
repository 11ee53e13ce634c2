"""Drop-in for ``mlflow models serve``: the same payloads get the same answers
from both, for the reference pipeline's model (trained here, epochs=5)."""

from __future__ import annotations

import http.client
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def reference_model(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("reference")
    (work / ".mlops").mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "mlops_actions", "pipeline", "run",
         str(ROOT / "pipelines" / "pipeline.yml"), "--set", "epochs=5"],
        cwd=work, capture_output=True, text=True, timeout=300,
        # host: the reference environments' venvs need the PyTorch index
        env={**os.environ, "MLOPS_HOME": str(work / ".mlops"),
             "MLOPS_PIPELINE_RUN_ENV": "host"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.strip().startswith("model "))
    return work / line.split()[1]


def _port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def servers(reference_model) -> Iterator[dict[str, int]]:
    """Ours and MLflow's, both on 127.0.0.1, started side by side."""
    ports = {"ours": _port(), "mlflow": _port()}
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    commands = {
        "ours": [sys.executable, "-m", "mlops_actions", "scorer", "serve",
                 str(reference_model), "--port", str(ports["ours"])],
        "mlflow": [str(VENV_BIN / "mlflow"), "models", "serve", "-m",
                   str(reference_model), "--env-manager", "local",
                   "-h", "127.0.0.1", "-p", str(ports["mlflow"]), "-w", "1"],
    }  # fmt: skip
    processes = {
        name: subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for name, argv in commands.items()
    }
    try:
        deadline = time.monotonic() + 90
        for name, port in ports.items():
            while _call(port, "GET", "/ping")[0] != 200:
                assert processes[name].poll() is None, f"{name} exited"
                assert time.monotonic() < deadline, f"{name} did not start"
                time.sleep(0.1)
        yield ports
    finally:
        for process in processes.values():
            process.terminate()
            process.wait(30)


def _call(port: int, method: str, path: str, body: bytes = b"", ctype: str = ""):
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request(method, path, body, {"content-type": ctype} if ctype else {})
        response = connection.getresponse()
        return response.status, response.read()
    except OSError:
        return None, b""


def _payloads(model: Path) -> dict[str, tuple[bytes, str]]:
    from palmerpenguins import load_penguins

    frame = load_penguins().drop(columns=["sex", "year"]).head(60)
    frame = frame.astype({"flipper_length_mm": float, "body_mass_g": float})
    records = json.loads(frame.to_json(orient="records"))  # NaN -> null
    split = json.loads(frame.to_json(orient="split", index=False))
    columns = {name: [r.get(name) for r in records[:5]] for name in frame.columns}
    csv = frame.head(20).to_csv(index=False).replace("nan", "")
    sparse = [{"bill_length_mm": 45.0}, {"species": "Gentoo", "island": "Biscoe"}]

    def js(doc: object) -> tuple[bytes, str]:
        return json.dumps(doc).encode(), "application/json"

    return {
        "input example": ((model / "serving_input_example.json").read_bytes(),
                          "application/json"),
        "records with nulls": js({"dataframe_records": records}),
        "split": js({"dataframe_split": split}),
        "instances": js({"instances": records[:7]}),
        "inputs": js({"inputs": columns}),
        "missing columns": js({"dataframe_records": sparse}),
        "csv": (csv.encode(), "text/csv"),
    }  # fmt: skip


def test_same_answers_as_mlflow_models_serve(servers, reference_model):
    for name, (body, ctype) in _payloads(reference_model).items():
        ours = _call(servers["ours"], "POST", "/invocations", body, ctype)
        theirs = _call(servers["mlflow"], "POST", "/invocations", body, ctype)
        assert (ours[0], theirs[0]) == (200, 200), (name, ours, theirs)
        _same(json.loads(ours[1]), json.loads(theirs[1]), name)


def test_same_health_and_version(servers):
    for path in ("/ping", "/health", "/version"):
        ours = _call(servers["ours"], "GET", path)
        theirs = _call(servers["mlflow"], "GET", path)
        assert ours == theirs, path


def _same(ours: object, theirs: object, where: str) -> None:
    if isinstance(theirs, float):
        assert isinstance(ours, float) and math.isclose(
            ours, theirs, rel_tol=1e-6
        ), where
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and ours.keys() == theirs.keys(), where
        for key in theirs:
            _same(ours[key], theirs[key], f"{where}.{key}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _same(a, b, f"{where}[{i}]")
    else:
        assert ours == theirs, where
