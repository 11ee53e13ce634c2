"""The README's main job: the reference pipeline end to end on the sample data."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "pipelines" / "pipeline.yml"
METRICS = ("accuracy", "f1", "roc_auc", "log_loss", "latency_p95_ms")

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("reference")


@pytest.fixture(scope="module")
def cold(workdir):
    return _mlops(workdir, "pipeline", "run", str(PIPELINE), "--set", "epochs=20")


def _mlops(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(cwd), "LANG": "C.UTF-8"}
    # The reference environments pin torch from the PyTorch index: no venv
    # can be built offline, so the steps run in this venv, as before --env.
    env["MLOPS_PIPELINE_RUN_ENV"] = "host"
    return subprocess.run(
        [sys.executable, "-m", "mlops_actions", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_cold_run_trains_and_prints_metrics(cold, workdir):
    assert cold.returncode == 0, cold.stderr
    steps = [line for line in cold.stderr.splitlines() if line.startswith("[")]
    assert [re.sub(r" in [\d.]+s$", "", s) for s in steps] == [
        "[1/4] ingest: started",
        "[1/4] ingest: completed",
        "[2/4] preprocess: started",
        "[2/4] preprocess: completed",
        "[3/4] train: started",
        "[3/4] train: completed",
        "[4/4] evaluate: started",
        "[4/4] evaluate: completed",
    ]
    assert (
        "not used locally: compute azureml:cpu-cluster, compute azureml:gpu-cluster"
        in (cold.stderr)
    )
    out = cold.stdout.splitlines()
    assert re.fullmatch(
        r"metrics \(evaluate: \.mlops/runs/\S+/evaluate/outputs/metrics/"
        r"metrics\.json\):",
        out[0],
    )
    printed = dict(line.split() for line in out[1:6])
    assert sorted(printed) == sorted(METRICS)
    assert float(printed["accuracy"]) > 0.75
    assert out[6] == "outputs:"
    assert re.fullmatch(r"  model    \.mlops/runs/\S+/train/outputs/model", out[7])
    assert re.fullmatch(r"  metrics  \.mlops/runs/\S+/evaluate/outputs/metrics", out[8])
    assert (workdir / ".mlops" / "mlflow.db").is_file()


def test_metrics_file_and_predictions(cold, workdir):
    run = json.loads(next((workdir / ".mlops" / "runs").glob("*/run.json")).read_text())
    metrics_dir = Path(run["outputs"]["metrics"])
    metrics = json.loads((metrics_dir / "metrics.json").read_text())
    assert metrics["schema"] == "mlops-actions/metrics" and metrics["version"] == 1
    assert set(metrics["metrics"]) == set(METRICS)
    assert metrics["rows"] > 50
    import pandas as pd

    predictions = pd.read_parquet(metrics_dir / "predictions.parquet")
    assert len(predictions) == metrics["rows"]
    assert {"row_id", "label", "prediction", "probability"} <= set(predictions)


def test_model_serves_raw_rows_in_a_fresh_process(cold, workdir):
    run = json.loads(next((workdir / ".mlops" / "runs").glob("*/run.json")).read_text())
    probe = (
        "import sys, mlflow.pyfunc, pandas as pd\n"
        "m = mlflow.pyfunc.load_model(sys.argv[1])\n"
        "rows = pd.DataFrame([{'species': 'Gentoo', 'island': 'Atlantis',"
        " 'bill_length_mm': None, 'bill_depth_mm': 15.0,"
        " 'flipper_length_mm': 220.0, 'body_mass_g': 5400.0}])\n"
        "p = m.predict(rows)\n"
        "print(list(p.columns), p['label'][0], 0 <= p['probability'][0] <= 1)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, run["outputs"]["model"]],
        capture_output=True,
        text=True,
        check=True,
    )
    columns, label, in_range = out.stdout.split("] ")[0] + "]", *out.stdout.split()[-2:]
    assert columns == "['label', 'probability']"
    assert label in ("female", "male") and in_range == "True"


def test_unchanged_rerun_reuses_every_step(cold, workdir):
    warm = _mlops(workdir, "pipeline", "run", str(PIPELINE), "--set", "epochs=20")
    assert warm.returncode == 0, warm.stderr
    reused = [ln for ln in warm.stderr.splitlines() if ": reused from run " in ln]
    assert len(reused) == 4
    assert re.search(r"completed in [\d.]+s: 4 steps, 4 reused", warm.stdout)
    assert warm.stdout.splitlines()[1:6] == cold.stdout.splitlines()[1:6]


def test_missing_source_is_a_usage_error(workdir):
    result = _mlops(
        workdir, "pipeline", "run", str(PIPELINE), "--set", "source=data/nope.csv"
    )
    assert result.returncode == 2
    last = result.stderr.splitlines()[-1]
    assert last.startswith("error: step ingest: source 'data/nope.csv' not found")


def test_a_task_that_does_not_fit_the_target_is_a_usage_error(workdir):
    result = _mlops(
        workdir,
        "pipeline",
        "run",
        str(PIPELINE),
        "--set",
        "target=species",
        "--set",
        "task=binary",
    )
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith("error: step preprocess: ")
    assert "species" in result.stderr.splitlines()[-1]


@pytest.mark.parametrize(
    "setting, message",
    [
        (
            "epochs=0",
            "error: --set epochs=0: 0 is below the minimum 1 "
            "(input epochs of step train)",
        ),
        ("epochs=2.5", "error: --set epochs=2.5: expected an integer"),
    ],
)
def test_bad_hyperparameter_is_refused_before_any_step(workdir, setting, message):
    result = _mlops(workdir, "pipeline", "run", str(PIPELINE), "--set", setting)
    assert result.returncode == 2
    assert result.stderr == message + "\n"


def test_gate_and_register_the_pipelines_model(cold, workdir):
    """The README's release loop: gate (first), register and promote, load it."""
    gate = _mlops(workdir, "gate", "--rules", str(ROOT / "gate.yml"))
    assert gate.returncode == 0, gate.stderr
    assert gate.stdout.startswith("**Gate: first**")
    decision = json.loads((workdir / "gate.json").read_text())
    assert decision["decision"] == "first"
    run_id = decision["candidate"]["run_id"]
    register = _mlops(
        workdir,
        "model",
        "register",
        "--name",
        "reference-tabular",
        "--gate",
        "gate.json",
    )
    assert register.returncode == 0, register.stderr
    assert register.stdout.splitlines() == [
        "registered reference-tabular version 1 (models:/reference-tabular/1)",
        "promoted reference-tabular version 1 to champion (was none)",
    ]
    model = json.loads((workdir / "model.json").read_text())
    assert (model["run_id"], model["model_version"]) == (run_id, "1")
    again = _mlops(workdir, "model", "register", "--name", "reference-tabular")
    assert again.stdout.startswith("already registered: reference-tabular version 1")
    probe = (
        "import mlflow.pyfunc, pandas as pd\n"
        "m = mlflow.pyfunc.load_model('models:/reference-tabular@champion')\n"
        "print(m.predict(pd.DataFrame([{'species': 'Adelie', 'island': 'Dream',"
        " 'bill_length_mm': 39.0, 'bill_depth_mm': 18.5,"
        " 'flipper_length_mm': 190.0, 'body_mass_g': 3700.0}]))['label'][0])\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(workdir),
        "MLFLOW_TRACKING_URI": f"sqlite:///{workdir}/.mlops/mlflow.db",
    }
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in ("female", "male")
