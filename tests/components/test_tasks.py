"""The reference pipeline for the three tasks, run end to end through
``mlops pipeline run`` on the penguins sample (light settings), and the ready
gate files of ``examples/gates/`` checked against those runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "pipelines" / "pipeline.yml"
GATES = ROOT / "examples" / "gates"
PREPROCESS = ROOT / "pipelines" / "components" / "preprocess" / "preprocess.py"
LIGHT = ("epochs=8", "learning_rate=0.01", "hidden_sizes=16")
TASKS = {
    "binary": (),
    "multiclass": ("target=species",),
    "regression": ("task=regression", "target=body_mass_g"),
}
METRICS = {
    "binary": {"accuracy", "f1", "roc_auc", "log_loss"},
    "multiclass": {
        "accuracy",
        "macro_f1",
        "weighted_f1",
        "log_loss",
        "balanced_accuracy",
    },
    "regression": {"rmse", "mae", "r2", "mape"},
}


def cli_env(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLOPS_", "MLF"))}
    env.pop("GITHUB_ACTIONS", None)
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{work / 'mlflow.db'}"
    return env


def mlops(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mlops_actions", *args],
        cwd=cwd,
        env=cli_env(cwd),
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """task -> the evaluate step's output folder of a light run of that task."""
    work = tmp_path_factory.mktemp("tasks")
    found = {}
    for task, settings in TASKS.items():
        sets = [arg for value in LIGHT + settings for arg in ("--set", value)]
        result = mlops(
            "pipeline", "run", str(PIPELINE), "--env", "host", *sets, cwd=work
        )
        assert result.returncode == 0, f"{task}:\n{result.stdout}\n{result.stderr}"
        [line] = [x for x in result.stdout.splitlines() if x.startswith("  metrics ")]
        found[task] = work / line.split()[1]
    return found


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.parametrize("task", TASKS)
def test_each_task_writes_its_metrics_with_directions(
    runs: dict[str, Path], task: str
) -> None:
    report = read_json(runs[task] / "metrics.json")

    assert (report["schema"], report["version"]) == ("mlops-actions/metrics", 1)
    assert report["task"] == task
    assert set(report["metrics"]) == METRICS[task] | {"latency_p95_ms"}
    assert set(report["directions"]) == set(report["metrics"])
    assert all(value is not None for value in report["metrics"].values())
    assert (report["positive_class"] is not None) == (task == "binary")
    target = {"binary": "sex", "multiclass": "species", "regression": "body_mass_g"}
    assert report["target"] == target[task]


def test_regression_metrics_are_in_the_targets_units(runs: dict[str, Path]) -> None:
    report = read_json(runs["regression"] / "metrics.json")
    metrics, directions = report["metrics"], report["directions"]

    assert directions == {
        "rmse": "minimize",
        "mae": "minimize",
        "r2": "maximize",
        "mape": "minimize",
        "latency_p95_ms": "minimize",
    }
    # Body mass is about 4200 g with a spread of about 800 g.
    assert 100 < metrics["mae"] <= metrics["rmse"] < 800
    assert 0.5 < metrics["r2"] <= 1 and 0 < metrics["mape"] < 0.2


@pytest.mark.parametrize("task", TASKS)
def test_predictions_have_the_shared_columns(runs: dict[str, Path], task: str) -> None:
    predictions = pd.read_parquet(runs[task] / "predictions.parquet")
    metrics = read_json(runs[task] / "metrics.json")

    extra = {
        "binary": ["probability"],
        "multiclass": [
            "probability_Adelie",
            "probability_Chinstrap",
            "probability_Gentoo",
        ],
        "regression": [],
    }[task]
    assert list(predictions.columns) == ["row_id", "label", "prediction", *extra]
    assert len(predictions) == metrics["rows"]
    if task == "regression":
        assert predictions["label"].dtype == "float64"
        assert predictions["prediction"].dtype == "float64"
    else:
        accuracy = (predictions["label"] == predictions["prediction"]).mean()
        assert accuracy == pytest.approx(metrics["metrics"]["accuracy"])
    if task == "multiclass":
        assert predictions[extra].sum(axis=1).to_numpy() == pytest.approx(1.0)


@pytest.mark.parametrize("task", TASKS)
def test_smoke_answers_are_in_the_models_own_shape(
    runs: dict[str, Path], task: str
) -> None:
    smoke = read_json(runs[task] / "smoke.json")

    expected = smoke["expected"]["predictions"]
    columns = {
        "binary": ["label", "probability"],
        "multiclass": [
            "label",
            "probability_Adelie",
            "probability_Chinstrap",
            "probability_Gentoo",
        ],
        "regression": ["prediction"],
    }[task]
    assert len(expected) == len(smoke["request"]["dataframe_split"]["data"])
    assert all(list(answer) == columns for answer in expected)
    if task != "regression":
        assert all(isinstance(answer["label"], str) for answer in expected)
    numbers = [name for name in columns if name != "label"]
    assert all(isinstance(a[name], float) for name in numbers for a in expected)


@pytest.mark.parametrize("task", TASKS)
def test_regression_smoke_json_refused_by_deploy(
    runs: dict[str, Path], task: str
) -> None:
    """The fault: the regression run's smoke.json ({"prediction": [...]}, no
    recorded answers deploy could read) stopped `mlops deploy local` with exit
    2. Every task's smoke.json is now read by deploy's own reader, answers and
    all."""
    from mlops_actions.deploy.smoke import load_smoke

    smoke = load_smoke(runs[task] / "smoke.json")
    assert len(smoke["expected"]["predictions"]) == 8


def gate_file(task: str) -> dict:
    return yaml.safe_load((GATES / f"{task}.yml").read_text())


@pytest.mark.parametrize("task", TASKS)
def test_gate_example_fits_the_tasks_metrics_and_its_bounds_pass(
    runs: dict[str, Path], task: str
) -> None:
    rules = gate_file(task)
    report = read_json(runs[task] / "metrics.json")

    assert rules["task"] == task == report["task"]
    assert rules["primary"] in rules["metrics"]
    assert set(rules["metrics"]) == set(report["metrics"])
    for name, rule in rules["metrics"].items():
        value = report["metrics"][name]
        assert rule["direction"] == report["directions"][name], name
        if "floor" in rule:
            assert value >= rule["floor"], (name, value)
        if "ceiling" in rule:
            assert value <= rule["ceiling"], (name, value)


@pytest.mark.parametrize("task", TASKS)
def test_gate_example_passes_a_first_model_through_mlops_gate(
    runs: dict[str, Path], task: str, tmp_path: Path
) -> None:
    rules = GATES / f"{task}.yml"

    result = mlops(
        "gate", "--rules", str(rules), "--metrics", str(runs[task]), "--no-comment",
        cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("**Gate: first**")
    assert read_json(tmp_path / "gate.json")["decision"] == "first"


def preprocess(tmp_path: Path, table: pd.DataFrame, *args: str):
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    table.to_parquet(snapshot / "data.parquet", index=False)
    return subprocess.run(
        [sys.executable, str(PREPROCESS), "--snapshot", str(snapshot)]
        + ["--prepared", str(tmp_path / "prepared"), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def small_table(rows: int = 60) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": [float(i % 7) for i in range(rows)],
            "colour": [("red", "blue", "green")[i % 3] for i in range(rows)],
            "label": [("yes", "no")[i % 2] for i in range(rows)],
        }
    )


def test_drop_columns_absent_from_the_table_is_a_notice_not_an_error(
    tmp_path: Path,
) -> None:
    # The pipeline's default drop_columns (year) fits penguins only.
    result = preprocess(
        tmp_path, small_table(), "--target", "label", "--drop_columns", "year"
    )

    assert result.returncode == 0, result.stderr
    assert "notice: drop_columns names 'year', which the table lacks" in (
        result.stdout.splitlines()
    )
    assert result.stderr == ""
    spec = read_json(tmp_path / "prepared" / "preprocessor.json")
    assert spec["task"] == "binary"
    assert [c["name"] for c in spec["numeric"]] == ["x"]


def test_another_table_runs_through_the_pipeline_with_the_default_drop_columns(
    tmp_path: Path,
) -> None:
    small_table(90).to_csv(tmp_path / "table.csv", index=False)

    result = mlops(
        "pipeline", "run", str(PIPELINE), "--env", "host",
        "--set", "source=table.csv", "--set", "target=label", "--set", "epochs=2",
        cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "accuracy" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--target", "colour", "--task", "regression"],
            "error: target 'colour' is not numeric, so it cannot be regressed: "
            "pass --task auto (classification) or a numeric --target",
        ),
        (
            ["--target", "colour", "--task", "binary"],
            "error: target 'colour' has 3 classes (blue, green, red), so the task "
            "is multiclass, not binary: pass --task multiclass (or auto), or a "
            "--target with exactly 2 classes",
        ),
        (
            ["--target", "label", "--task", "ranking"],
            "error: task 'ranking' is not one of auto, binary, multiclass, "
            "regression: pass --task with one of them",
        ),
        (
            ["--target", "label", "--drop_columns", "label"],
            "error: drop_columns names the target 'label': pass a comma list of "
            "x, colour",
        ),
    ],
    ids=["regress-text", "binary-of-three", "unknown-task", "drop-the-target"],
)
def test_a_task_that_does_not_fit_the_target_exits_2_naming_it(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = preprocess(tmp_path, small_table(), *args)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [message]


def test_readme_shows_the_regression_gate_as_it_is_in_examples() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Three tasks") :]
    shown = section[section.index("```yaml\n") + 8 :]
    shown = shown[: shown.index("```")]
    example = (GATES / "regression.yml").read_text()

    assert shown == example[example.index("version: 1") :]
    for task in TASKS:
        assert f"`examples/gates/{task}.yml`" in section
