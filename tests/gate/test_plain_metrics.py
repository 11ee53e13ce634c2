"""A plain ``{name: number}`` metrics.json through gate and register: the two
read it with one reader and agree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gate"

RULES = """\
version: 1
model: {model}
primary: rmse
metrics:
  rmse: {{direction: minimize, ceiling: 10, min_improvement: {{absolute: 0.0}}}}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    return tmp_path


def evaluation(folder: Path, body: dict) -> Path:
    folder.mkdir()
    (folder / "metrics.json").write_text(json.dumps(body))
    return folder


def test_plain_metrics_map_is_not_refused_as_having_no_metrics_mapping(mlops, project):
    (project / "gate.yml").write_text(RULES.format(model="plain"))
    folder = evaluation(project / "eval", {"rmse": 3.0})
    result = mlops("gate", "--metrics", str(folder))
    assert result.code == 0, result
    assert "has no `metrics` mapping" not in result.out + result.err
    assert result.out.splitlines()[0].startswith("**Gate: first**")


def test_gate_first_and_register_agree_on_a_plain_metrics_file(mlops, project):
    (project / "gate.yml").write_text(RULES.format(model="agree"))
    first = evaluation(project / "first", {"rmse": 3.0})
    assert mlops("gate", "--metrics", str(first), "--out", "g1.json").code == 0
    registered = mlops(
        "model",
        "register",
        "--name",
        "agree",
        "--model-dir",
        str(FIXTURES / "model"),
        "--evaluation-dir",
        str(first),
        "--gate",
        "g1.json",
    )
    assert registered.code == 0, registered
    assert json.loads((project / "model.json").read_text())["promoted"] is True
    # the champion's metrics came from the plain file: a worse one is rejected
    worse = evaluation(project / "worse", {"rmse": 4.0})
    rejected = mlops("gate", "--metrics", str(worse), "--out", "g2.json")
    assert rejected.code == 1
    record = json.loads((project / "g2.json").read_text())
    assert record["decision"] == "reject"
    assert record["champion"]["metrics"] == {"rmse": 3.0}


def test_a_file_without_schema_gets_the_same_answer_from_gate_and_register(
    mlops, project
):
    (project / "gate.yml").write_text(RULES.format(model="noschema"))
    folder = evaluation(project / "eval", {"metrics": {"rmse": 2.0}, "rows": 5})
    assert mlops("gate", "--metrics", str(folder), "--out", "g.json").code == 0
    model = project / "model"
    shutil.copytree(FIXTURES / "model", model)
    registered = mlops(
        "model",
        "register",
        "--name",
        "noschema",
        "--model-dir",
        str(model),
        "--evaluation-dir",
        str(folder),
        "--gate",
        "g.json",
    )
    assert registered.code == 0, registered


def test_an_empty_plain_map_is_an_error_decision_naming_the_fix(mlops, project):
    (project / "gate.yml").write_text(RULES.format(model="empty"))
    folder = evaluation(project / "eval", {})
    result = mlops("gate", "--metrics", str(folder))
    assert result.code == 1
    record = json.loads((project / "gate.json").read_text())
    assert record["decision"] == "error"
    assert record["reasons"] == [
        f"{folder / 'metrics.json'} holds no metrics: write {{name: number}} for "
        "each metric"
    ]
