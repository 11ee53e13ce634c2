"""`mlops release --backend local` and `mlops deploy`: the loop ends serving."""

from __future__ import annotations

import json
import re
import shutil
import socket
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.cli import free_port, mlops

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    work = tmp_path_factory.mktemp("release")
    for folder in ("pipelines", "environments"):
        shutil.copytree(
            ROOT / folder, work / folder, ignore=shutil.ignore_patterns("__pycache__")
        )
    (work / "src").symlink_to(ROOT / "src")  # evaluate's additional_includes
    shutil.copy(ROOT / "gate.yml", work / "gate.yml")
    yield work
    mlops(work, "deploy", "--stop")


@pytest.fixture(scope="module")
def released(project):
    port = free_port()
    result = mlops(project, "release", "--set", "epochs=10", "--port", str(port))
    return result, port


def test_release_ends_with_the_champion_serving(released, project):
    result, port = released
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("**Gate: first**")
    assert re.fullmatch(
        rf"released models:/reference-tabular/1 \(run \S+, gate first\) at "
        rf"http://127\.0\.0\.1:{port}",
        lines[-4],
    )
    assert lines[-3] == "smoke test passed: 8 rows answered as recorded"
    assert re.fullmatch(
        rf"try it: curl -s http://127\.0\.0\.1:{port}/invocations -H 'Content-Type: "
        r"application/json' -d @\.mlops/releases/\S+/request\.json",
        lines[-2],
    )
    assert lines[-1] == "stop it: mlops deploy stop"
    record = json.loads((project / ".mlops" / "deploy" / "deploy.json").read_text())
    assert (record["model"], record["model_version"]) == (
        "models:/reference-tabular/1",
        "1",
    )
    assert (record["schema"], record["version"]) == ("mlops-actions/deploy", 1)
    assert record["smoke"]["ok"] is True
    request = lines[-2].split("-d @")[1]
    body = (project / request).read_bytes()
    answer = urllib.request.urlopen(
        urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=body,
            headers={"Content-Type": "application/json"},
        ),
        timeout=10,
    )
    predictions = json.loads(answer.read())["predictions"]
    assert len(predictions) == 8
    assert {p["label"] for p in predictions} <= {"female", "male"}


def test_release_leaves_a_build_context(released, project):
    bundles = list((project / ".mlops" / "releases").glob("*/bundle/bundle.json"))
    assert len(bundles) == 1
    record = json.loads(bundles[0].read_text())
    assert record["model"]["name"] == "reference-tabular"
    assert record["model"]["version"] == "1"
    assert (bundles[0].parent / "Dockerfile").is_file()


def test_wrong_smoke_answer_stops_the_new_scorer(released, project, tmp_path):
    _, _ = released
    smoke = json.loads(
        next(
            (project / ".mlops" / "runs").glob("*/evaluate/outputs/metrics/smoke.json")
        ).read_text()
    )
    flip = {"female": "male", "male": "female"}
    first = smoke["expected"]["predictions"][0]
    first["label"] = flip[first["label"]]
    wrong = tmp_path / "smoke.json"
    wrong.write_text(json.dumps(smoke))
    port = free_port()
    result = mlops(
        project,
        "deploy",
        "--name",
        "reference-tabular",
        "--smoke",
        str(wrong),
        "--port",
        str(port),
    )
    assert result.returncode == 1
    assert re.search(
        r"^error: smoke test failed: row 0: label '\w+', expected '\w+'; the scorer "
        rf"at http://127\.0\.0\.1:{port} was stopped$",
        result.stderr,
        re.M,
    ), result.stderr
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)


def test_port_in_use_is_a_usage_error(released, project):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = mlops(
            project,
            "deploy",
            "local",
            "--name",
            "reference-tabular",
            "--port",
            str(port),
        )
    assert result.returncode == 2
    assert f"port {port}" in result.stderr.splitlines()[0]


def test_unchanged_re_release_registers_nothing_new(released, project):
    port = free_port()
    again = mlops(project, "release", "--set", "epochs=10", "--port", str(port))
    assert again.returncode == 0, again.stderr
    assert "release: reference-tabular version 1 is already champion" in again.stderr
    assert re.search(r"^released models:/reference-tabular/1 ", again.stdout, re.M)
    history = json.loads(
        mlops(project, "model", "history", "reference-tabular", "--json").stdout
    )
    assert [(e["action"], e["version"]) for e in history] == [
        ("register", "1"),
        ("promote", "1"),
    ]


def test_rejected_candidate_stops_the_release(tmp_path):
    for folder in ("pipelines", "environments"):
        shutil.copytree(
            ROOT / folder,
            tmp_path / folder,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    (tmp_path / "src").symlink_to(ROOT / "src")  # evaluate's additional_includes
    rules = (ROOT / "gate.yml").read_text().replace("floor: 0.75", "floor: 0.999")
    (tmp_path / "gate.yml").write_text(rules)
    result = mlops(tmp_path, "release", "--set", "epochs=3", "--port", str(free_port()))
    assert result.returncode == 1
    assert result.stdout.startswith("**Gate: reject**")
    assert "| accuracy | floor |" in result.stdout
    assert result.stderr.splitlines()[-1].startswith(
        "error: release stopped at the gate: reject (mode enforce)"
    )
    champion = mlops(tmp_path, "model", "champion", "reference-tabular")
    assert (champion.returncode, champion.stdout) == (
        0,
        "reference-tabular has no champion\n",
    )
    assert not (tmp_path / ".mlops" / "deploy" / "local.json").exists()
