"""Pipeline runs started together on a new state folder share one MLflow
database: the runner creates it once, before any step tracks to it."""

from __future__ import annotations

import subprocess
import sys

from faults import one_step

TRACKING_STEP = """\
import argparse
import mlflow

parser = argparse.ArgumentParser()
parser.add_argument("--out")
args = parser.parse_args()
mlflow.set_experiment("together")
with mlflow.start_run():
    mlflow.log_metric("rows", 3)
"""


def test_pipeline_runs_started_together_on_a_new_database_all_complete(
    tmp_path, cli_env
):
    pipeline = one_step(tmp_path, TRACKING_STEP)
    home = tmp_path / "state"
    home.mkdir()
    env = cli_env | {"MLOPS_HOME": str(home)}
    argv = [sys.executable, "-m", "mlops_actions", "pipeline", "run", str(pipeline)]
    procs = [
        subprocess.Popen(
            [*argv, "--no-cache"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        results = [proc.communicate(timeout=240) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert [proc.returncode for proc in procs] == [0, 0, 0], results
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import mlflow; print(len(mlflow.search_runs(experiment_names="
            "['together'])))",
        ],
        env=env | {"MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.stdout.strip() == "3", check.stderr


def test_first_run_prints_no_mlflow_database_creation_logs(tmp_path, mlops_process):
    # MLflow logs "Creating initial MLflow database tables..." at INFO when it
    # migrates a new database; a user's first run showed those lines.
    pipeline = one_step(tmp_path, TRACKING_STEP)
    done = mlops_process("pipeline", "run", str(pipeline), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / ".mlops" / "mlflow.db").is_file()
    assert "mlflow" not in done.stderr.lower(), done.stderr
