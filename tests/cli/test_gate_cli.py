"""`mlops gate` end to end: rules file, registry champion, gate.json, exit codes."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from fakes.github_api import FakeGitHub

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "gate"
RULES = FIXTURES / "gate.yml"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('registry') / 'mlflow.db'}"


@pytest.fixture
def gate(mlops, db, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", db)
    monkeypatch.chdir(tmp_path)

    def run(*args: str):
        return mlops("gate", "--rules", str(RULES), *args)

    return run


def champion(mlops, name: str, metrics_dir: Path = FIXTURES / "champion") -> None:
    """Register and promote a champion for model ``name``."""
    first = mlops(
        "gate",
        "--rules",
        str(RULES),
        "--model",
        name,
        "--metrics",
        str(metrics_dir),
        "--out",
        "first.json",
    )
    assert first.code == 0, first
    result = mlops(
        "model",
        "register",
        "--name",
        name,
        "--model-dir",
        str(FIXTURES / "model"),
        "--evaluation-dir",
        str(metrics_dir),
        "--gate",
        "first.json",
    )
    assert result.code == 0, result


def variant(tmp_path: Path, n: int) -> Path:
    """A model folder whose content (so digest) differs from the fixture's."""
    folder = tmp_path / f"model-{n}"
    shutil.copytree(FIXTURES / "model", folder)
    with (folder / "threshold_model.py").open("a") as handle:
        handle.write(f"# variant {n}\n")
    return folder


def record(path: str = "gate.json") -> dict:
    return json.loads(Path(path).read_text())


def test_first_model_passes_as_first(gate):
    result = gate("--model", "fresh", "--metrics", str(FIXTURES / "champion"))
    assert result.code == 0, result
    assert result.out.splitlines()[0].startswith(
        "**Gate: first**: candidate: no champion"
    )
    data = record()
    assert (data["decision"], data["champion"], data["model"]) == (
        "first",
        None,
        "fresh",
    )
    assert [r["rule"] for r in data["rules"]] == ["floor", "floor", "ceiling"]


def test_better_is_promoted_worse_rejected_dry_run_passes(gate, mlops):
    champion(mlops, "m1")
    better = gate("--model", "m1", "--metrics", str(FIXTURES / "better"))
    assert better.code == 0 and record()["decision"] == "promote"
    assert record()["champion"]["version"] == "1"
    worse = gate("--model", "m1", "--metrics", str(FIXTURES / "worse"))
    assert worse.code == 1
    assert worse.err.splitlines()[-1] == (
        "error: gate decided reject: 3 of the rules above did not pass "
        "(details in gate.json)"
    )
    assert "| accuracy | max_regression | 0.8 | 0.88 | -0.08 | ≥ 0.86 | **fail** |" in (
        worse.out
    )
    assert record()["decision"] == "reject"
    dry = gate(
        "--model", "m1", "--metrics", str(FIXTURES / "worse"), "--mode", "dry-run"
    )
    assert dry.code == 0
    assert dry.out.startswith("**Gate (dry-run): would reject**")
    assert (record()["decision"], record()["would_be"]) == ("reject", "reject")


def test_register_promotes_only_what_the_gate_allowed(gate, mlops):
    champion(mlops, "m2")
    register = ["model", "register", "--name", "m2", "--gate", "gate.json"]
    better_model = ["--model-dir", str(FIXTURES / "model-better")]
    gate("--model", "m2", "--metrics", str(FIXTURES / "worse"), "--mode", "dry-run")
    result = mlops(
        *register, *better_model, "--evaluation-dir", str(FIXTURES / "worse")
    )
    assert result.code == 0
    assert result.out.splitlines() == [
        "registered m2 version 2 (models:/m2/2)",
        "not promoted: the gate ran in dry-run mode (it would reject)",
    ]
    gate("--model", "m2", "--metrics", str(FIXTURES / "better"))
    result = mlops(
        *register, *better_model, "--evaluation-dir", str(FIXTURES / "better")
    )
    digest = json.loads(Path("model.json").read_text())["digest"][:12]
    assert result.out.splitlines() == [
        f"already registered: m2 version 2 for model digest {digest}",
        "promoted m2 version 2 to champion (was 1)",
    ]


def test_champion_moved_since_the_gate_ran(gate, mlops, tmp_path):
    champion(mlops, "m3")
    gate("--model", "m3", "--metrics", str(FIXTURES / "better"), "--out", "a.json")
    gate("--model", "m3", "--metrics", str(FIXTURES / "better"), "--out", "b.json")
    args = ["--name", "m3", "--evaluation-dir", str(FIXTURES / "better")]
    first = mlops(
        "model",
        "register",
        *args,
        "--model-dir",
        str(variant(tmp_path, 1)),
        "--gate",
        "a.json",
    )
    assert first.code == 0
    # b.json also compared against version 1, which is no longer the champion.
    late = mlops(
        "model",
        "register",
        *args,
        "--model-dir",
        str(variant(tmp_path, 2)),
        "--gate",
        "b.json",
    )
    assert late.code == 1
    assert late.err == (
        "error: champion of m3 is now version 2, not version 1 as the gate "
        "compared: re-run the gate\n"
    )


@pytest.mark.parametrize(
    "content, reason",
    [
        ("", "is unreadable"),
        (
            '{"schema": "mlops-actions/metrics", "metrics": {"roc_auc": 0.9',
            "unreadable",
        ),
        ('{"schema": "mlops-actions/metrics"}', "has no `metrics` mapping"),
    ],
)
def test_empty_or_truncated_metrics_is_an_error_decision(
    gate, tmp_path, content, reason
):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "metrics.json").write_text(content)
    result = gate("--model", "fresh", "--metrics", str(bad))
    assert result.code == 1
    data = record()
    assert data["decision"] == "error"
    assert reason in data["reasons"][0]


@pytest.mark.parametrize(
    "value, why",
    [(math.nan, "NaN"), ("0.9", "string"), (None, "missing")],
)
def test_bad_metric_value_never_promotes(gate, mlops, tmp_path, value, why):
    champion(mlops, f"bad-{why.lower()}")
    data = json.loads((FIXTURES / "better" / "metrics.json").read_text())
    data["metrics"]["roc_auc"] = value
    if value is None:
        del data["metrics"]["roc_auc"]
    folder = tmp_path / "candidate"
    folder.mkdir()
    (folder / "metrics.json").write_text(json.dumps(data))
    result = gate("--model", f"bad-{why.lower()}", "--metrics", str(folder))
    assert result.code == 1
    gate_json = record()
    assert gate_json["decision"] == "error"
    assert any("roc_auc" in reason for reason in gate_json["reasons"])


def test_bad_rules_file_exits_2_and_still_writes_gate_json(
    mlops, db, tmp_path, monkeypatch
):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", db)
    monkeypatch.chdir(tmp_path)
    rules = tmp_path / "gate.yml"
    rules.write_text(
        RULES.read_text().replace("direction: maximize", "direction: up", 1)
    )
    result = mlops("gate", "--rules", str(rules), "--metrics", str(FIXTURES / "better"))
    assert result.code == 2
    assert result.err.startswith(f"error: {rules}:")
    assert (
        "metrics.roc_auc.direction: must be maximize or minimize, got 'up'"
        in result.err
    )
    assert record()["decision"] == "error"
    assert "direction" in record()["reasons"][0]


def test_unreachable_registry_exits_3(mlops, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    monkeypatch.chdir(tmp_path)
    result = mlops("gate", "--rules", str(RULES), "--metrics", str(FIXTURES / "better"))
    assert result.code == 3
    assert "127.0.0.1:9" in result.err
    assert record()["decision"] == "error"


def test_pull_request_gets_one_sticky_comment(gate, tmp_path, monkeypatch):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 12}}))
    with FakeGitHub() as github:
        for name, value in {
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_API_URL": github.url,
            "GITHUB_REPOSITORY": "octo/models",
            "GITHUB_TOKEN": github.token,
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
            "GITHUB_OUTPUT": str(tmp_path / "output.txt"),
        }.items():
            monkeypatch.setenv(name, value)
        gate("--model", "fresh", "--metrics", str(FIXTURES / "champion"))
        gate("--model", "fresh", "--metrics", str(FIXTURES / "better"))
        comments = github.issue_comments(12)
        assert len(comments) == 1
        assert comments[0]["body"].startswith(
            "<!-- mlops-actions:gate -->\n**Gate: first**"
        )
        github.fail["PATCH"] = 500
        failed = gate("--model", "fresh", "--metrics", str(FIXTURES / "better"))
    assert failed.code == 0  # a comment is a view: the decision stands
    assert "::warning::gate comment not posted: GitHub API PATCH" in failed.out
    assert (tmp_path / "summary.md").read_text().count("**Gate: first**") == 3
    outputs = (tmp_path / "output.txt").read_text()
    assert "decision<<" in outputs and "\nfirst\n" in outputs


def test_paired_bootstrap_on_shared_rows(gate, mlops, tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    truth = rng.choice(["female", "male"], size=400)

    def evaluation(name: str, accuracy: float) -> Path:
        folder = tmp_path / name
        shutil.copytree(FIXTURES / "better", folder)
        right = rng.random(400) < accuracy
        flip = {"female": "male", "male": "female"}
        predicted = [t if ok else flip[t] for t, ok in zip(truth, right)]
        pd.DataFrame(
            {
                "row_id": np.arange(400),
                "label": truth,
                "prediction": predicted,
                "probability": [0.9 if p == "male" else 0.1 for p in predicted],
            }
        ).to_parquet(folder / "predictions.parquet")
        return folder

    rules = tmp_path / "gate.yml"
    rules.write_text(
        RULES.read_text().replace("primary: roc_auc", "primary: accuracy")
        + "bootstrap:\n  resamples: 2000\n  seed: 1\n"
    )
    champion(mlops, "paired", evaluation("champion-eval", 0.85))
    result = mlops(
        "gate",
        "--rules",
        str(rules),
        "--model",
        "paired",
        "--metrics",
        str(evaluation("candidate-eval", 0.86)),
    )
    data = record()
    bootstrap = data["bootstrap"]
    assert (bootstrap["metric"], bootstrap["rows"], bootstrap["resamples"]) == (
        "accuracy",
        400,
        2000,
    )
    assert bootstrap["lower"] < bootstrap["estimate"] < bootstrap["upper"]
    assert "Paired bootstrap of accuracy on 400 shared rows" in result.out
    # Predictions over other rows cannot be paired: an error, never a pass.
    other = evaluation("other-rows", 0.9)
    frame = pd.read_parquet(other / "predictions.parquet")
    frame["row_id"] += 1000
    frame.to_parquet(other / "predictions.parquet")
    unpaired = mlops(
        "gate", "--rules", str(rules), "--model", "paired", "--metrics", str(other)
    )
    assert unpaired.code == 1
    assert record()["decision"] == "error"


def test_truncated_metrics_says_why_not_a_count_of_rules(gate, tmp_path):
    # The fault: "0 rules could not be checked", then "1 of the rules above did
    # not pass", about a file whose only problem is that it was cut short.
    bad = tmp_path / "cut"
    bad.mkdir()
    (bad / "metrics.json").write_text('{"schema": "mlops-actions/metrics", "met')
    result = gate("--model", "fresh", "--metrics", str(bad))
    assert result.code == 1
    path = bad / "metrics.json"
    headline = result.out.splitlines()[0]
    assert headline.startswith(f"**Gate: error**: candidate: {path} is unreadable: ")
    assert "rules could not be checked" not in result.out
    (line,) = [x for x in result.err.splitlines() if x.startswith("error:")]
    assert line.startswith(f"error: gate decided error: {path} is unreadable: ")
    assert line.endswith("(details in gate.json)")
