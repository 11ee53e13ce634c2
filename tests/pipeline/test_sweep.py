"""Sweep nodes run locally as Azure ML runs them: trials sampled from the
search space, each a step of the trial component, the best by the objective
(read from the trial's MLflow run, or its metrics.json) bound downstream.

The trial's score is a known function of its inputs, so the best trial is
known before the run: lr 0.03 and depth 4 score highest.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from faults import alive, wait_for

from mlops_actions.pipeline import sweep

TRAIN = """
import argparse, json, os, sys
from pathlib import Path
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float)
p.add_argument("--depth", type=int)
p.add_argument("--model")
p.add_argument("--report")
p.add_argument("--fail-above", type=float)
a = p.parse_args()
if os.environ.get("TRIAL_PIDS"):  # the interrupt test: stay until stopped
    Path(os.environ["TRIAL_PIDS"], str(os.getpid())).write_text("")
    import time; time.sleep(120)
if a.lr > a.fail_above:
    sys.exit(f"lr {a.lr} diverged")
score = 1 - abs(a.lr - 0.03) * 10 - abs(a.depth - 4) / 10
Path(a.model, "params.json").write_text(json.dumps(
    {"lr": a.lr, "depth": a.depth,
     "env": os.environ.get("AZUREML_SWEEP_lr")}))
if a.report == "mlflow":
    import mlflow
    with mlflow.start_run():
        mlflow.log_metric("score", 0.0)  # the latest value is the one read
        mlflow.log_metric("score", score)
elif a.report == "file":
    Path(a.model, "metrics.json").write_text(json.dumps(
        {"schema": "mlops-actions/metrics", "version": 1,
         "metrics": {"score": score}}))
"""
USE = """
import shutil, sys
from pathlib import Path
shutil.copy(Path(sys.argv[1], "params.json"), Path(sys.argv[2], "chosen.json"))
"""


def project(folder: Path, tune: dict[str, Any], *, report: str = "file") -> Path:
    """``folder/pipeline.yml``: sweep ``tune`` over ``trial/``, then ``use``
    copying the best model's params.json to the pipeline output ``chosen``."""
    for name, script, component in (
        (
            "trial",
            TRAIN,
            {
                "inputs": {
                    "lr": {"type": "number", "default": 0.1},
                    "depth": {"type": "integer", "default": 1},
                    "report": {"type": "string", "default": report},
                    "fail_above": {"type": "number", "default": 99},
                },
                "outputs": {"model": {"type": "uri_folder"}},
                "command": "python main.py --lr ${{inputs.lr}} --depth "
                "${{inputs.depth}} --model ${{outputs.model}} --report "
                "${{inputs.report}} --fail-above ${{inputs.fail_above}}",
            },
        ),
        (
            "use",
            USE,
            {
                "inputs": {"model": {"type": "uri_folder"}},
                "outputs": {"out": {"type": "uri_folder"}},
                "command": "python main.py ${{inputs.model}} ${{outputs.out}}",
            },
        ),
    ):
        (folder / name).mkdir(parents=True)
        (folder / name / "main.py").write_text(textwrap.dedent(script))
        spec = {
            "type": "command",
            "name": name,
            "code": ".",
            "environment": "azureml:AzureML-sklearn-1.5@latest",
            **component,
        }
        (folder / name / "component.yml").write_text(yaml.safe_dump(spec))
    pipeline = {
        "type": "pipeline",
        "display_name": "tuning",
        "experiment_name": "tuning",
        "settings": {"default_compute": "azureml:cpu-cluster"},
        "outputs": {"chosen": {"type": "uri_folder"}},
        "jobs": {
            "tune": {
                "type": "sweep",
                "trial": "./trial/component.yml",
                "objective": {"goal": "maximize", "primary_metric": "score"},
                **tune,
            },
            "use": {
                "type": "command",
                "component": "./use/component.yml",
                "inputs": {"model": "${{parent.jobs.tune.outputs.model}}"},
                "outputs": {"out": "${{parent.outputs.chosen}}"},
            },
        },
    }
    path = folder / "pipeline.yml"
    path.write_text(yaml.safe_dump(pipeline, sort_keys=False))
    return path


GRID = {
    "search_space": {
        "lr": {"type": "choice", "values": [0.01, 0.03, 0.1]},
        "depth": {"type": "choice", "values": [2, 4]},
    },
    "sampling_algorithm": "grid",
    "limits": {"max_total_trials": 10, "max_concurrent_trials": 2},
}


@pytest.fixture
def run(mlops, tmp_path, monkeypatch):
    """``mlops pipeline run`` in ``tmp_path`` with its own state; returns the
    result and the run record."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "state").mkdir()
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "state"))

    def go(*args: str) -> tuple[Any, dict[str, Any]]:
        result = mlops("pipeline", "run", "pipeline.yml", "--env", "host", *args)
        runs = sorted((tmp_path / "state" / "runs").glob("*/run.json"))
        record = json.loads(runs[-1].read_text()) if runs else {}
        return result, record

    return go


def steps(record: dict[str, Any]) -> dict[str, Any]:
    return {step["name"]: step for step in record["steps"]}


def chosen(record: dict[str, Any]) -> dict[str, Any]:
    return json.loads(Path(record["outputs"]["chosen"], "chosen.json").read_text())


def test_a_sweep_picks_the_best_trial(run, tmp_path):
    project(tmp_path, GRID, report="mlflow")
    result, record = run()
    assert result.code == 0, result.err
    tune = steps(record)["tune"]
    assert [t["values"] for t in tune["trials"]] == [
        {"lr": 0.01, "depth": 2},
        {"lr": 0.01, "depth": 4},
        {"lr": 0.03, "depth": 2},
        {"lr": 0.03, "depth": 4},
        {"lr": 0.1, "depth": 2},
        {"lr": 0.1, "depth": 4},
    ]
    assert {t["status"] for t in tune["trials"]} == {"completed"}
    assert tune["best_trial"] == "tune/trial_4"
    assert tune["metrics"]["score"] == pytest.approx(1.0)
    # The downstream step got the best trial's model, not the last one's.
    assert chosen(record) == {"lr": 0.03, "depth": 4, "env": "0.03"}
    assert tune["outputs"] == tune["trials"][3]["outputs"]
    assert "[1/2] tune: completed in" in result.err
    assert "best trial_4 of 6 (lr=0.03, depth=4): score 1 (maximize)" in result.err
    assert "[1/2] tune/trial_6: completed in" in result.err


def test_each_trial_is_an_mlflow_run_of_the_experiment(run, tmp_path):
    mlflow = pytest.importorskip("mlflow")
    project(tmp_path, {**GRID, "limits": {"max_total_trials": 2}}, report="mlflow")
    result, record = run()
    assert result.code == 0, result.err
    client = mlflow.tracking.MlflowClient(
        f"sqlite:///{tmp_path / 'state' / 'mlflow.db'}"
    )
    experiment = client.get_experiment_by_name("tuning")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.run_name for r in runs) == ["tune_trial_1", "tune_trial_2"]
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert {r.data.tags["mlops.pipeline_run"] for r in runs} == {record["run_id"]}
    # Artifacts beside the database, never ./mlruns in the project.
    assert not (tmp_path / "mlruns").exists()
    assert not (tmp_path / "trial" / "mlruns").exists()


def test_minimize_picks_the_lowest(run, tmp_path):
    tune = {**GRID, "objective": {"goal": "Minimize", "primary_metric": "score"}}
    project(tmp_path, tune)
    result, record = run()
    assert result.code == 0, result.err
    assert chosen(record) == {"lr": 0.1, "depth": 2, "env": "0.1"}


def test_random_sampling_is_seeded_and_rerun_trials_are_reused(run, tmp_path):
    tune = {
        "search_space": {
            "lr": {"type": "uniform", "min_value": 0.0, "max_value": 0.05},
            "depth": {"type": "randint", "upper": 6},
        },
        "sampling_algorithm": {"type": "random", "seed": 7},
        "limits": {"max_total_trials": 4},
    }
    project(tmp_path, tune)
    first, record = run()
    assert first.code == 0, first.err
    trials = steps(record)["tune"]["trials"]
    assert [t["values"] for t in trials] == sweep.sample(tune["search_space"], 4, 7)
    assert all(0 <= t["values"]["lr"] <= 0.05 for t in trials)
    assert all(t["values"]["depth"] in range(6) for t in trials)
    best = max(trials, key=lambda t: t["metrics"]["score"])
    assert chosen(record)["lr"] == best["values"]["lr"]

    again, second = run()
    assert again.code == 0, again.err
    reused = steps(second)["tune"]["trials"]
    assert [t["status"] for t in reused] == ["reused"] * 4
    assert [t["metrics"] for t in reused] == [t["metrics"] for t in trials]
    assert steps(second)["tune"]["best_trial"] == best["name"]
    assert chosen(second) == chosen(record)


def test_failed_trials_are_results_and_the_sweep_goes_on(run, tmp_path):
    project(tmp_path, GRID)
    result, record = run("--set", "jobs.tune.inputs.fail_above=0.05")
    assert result.code == 0, result.err
    tune = steps(record)["tune"]
    statuses = {t["values"]["lr"]: t["status"] for t in tune["trials"]}
    assert statuses == {0.01: "completed", 0.03: "completed", 0.1: "failed"}
    assert "[1/2] tune/trial_5: failed in" in result.err
    assert chosen(record)["lr"] == 0.03


def test_all_trials_failing_fails_the_run(run, tmp_path):
    project(tmp_path, GRID)
    result, record = run("--set", "jobs.tune.inputs.fail_above=0.001")
    assert result.code == 3
    assert "error: sweep tune: all 6 trials failed; the first: step tune/trial_1" in (
        result.err
    )
    assert "lr 0.01 diverged" in result.err
    assert steps(record)["tune"]["status"] == "failed"
    assert steps(record)["use"]["status"] == "pending"


def test_no_trial_logging_the_objective_is_named(run, tmp_path):
    project(tmp_path, GRID, report="none")
    result, _ = run()
    assert result.code == 3
    assert (
        "error: sweep tune: no trial logged its objective 'score' (6 trials, "
        "0 failed); log it from the trial with mlflow.log_metric('score', value), "
        "or write it to a metrics.json output"
    ) in result.err


def test_max_concurrent_trials_is_honoured(run, tmp_path):
    tune = {**GRID, "limits": {"max_total_trials": 3, "max_concurrent_trials": 1}}
    project(tmp_path, tune)
    result, record = run("--jobs", "4")
    assert result.code == 0, result.err
    trials = steps(record)["tune"]["trials"]
    for before, after in zip(trials, trials[1:]):
        ended = datetime.fromisoformat(before["ended"])
        assert datetime.fromisoformat(after["started"]) >= ended


@pytest.mark.parametrize(
    "change, line",
    [
        (
            {
                "search_space": {
                    "lr": {"type": "uniform", "min_value": 0, "max_value": 1}
                }
            },
            "jobs.tune.search_space.lr: grid sampling takes choice, not uniform",
        ),
        (
            {"limits": {}},
            "jobs.tune.limits.max_total_trials: required (the trials to run)",
        ),
        (
            {"sampling_algorithm": "hyperband"},
            "jobs.tune.sampling_algorithm: expected random, grid or bayesian, "
            "got 'hyperband'",
        ),
    ],
)
def test_a_sweep_that_cannot_be_planned_is_refused_before_any_step(
    run, tmp_path, change, line
):
    project(tmp_path, {**GRID, **change})
    result, _ = run()
    assert result.code == 2
    assert line in result.err
    assert "started" not in result.err


def test_grid_varies_the_last_parameter_fastest():
    space = {
        "a": {"type": "choice", "values": [1, 2]},
        "b": {"type": "choice", "values": ["x", "y", "z"]},
    }
    assert sweep.grid(space) == [
        {"a": a, "b": b} for a in (1, 2) for b in ("x", "y", "z")
    ]


def test_distributions_draw_as_azure_ml_defines_them():
    rng = random.Random(3)
    log = [
        sweep.draw({"type": "loguniform", "min_value": -3, "max_value": 0}, rng)
        for _ in range(200)
    ]
    assert all(math.exp(-3) <= v <= 1 for v in log)
    q = [
        sweep.draw({"type": "quniform", "min_value": 0, "max_value": 100, "q": 5}, rng)
        for _ in range(200)
    ]
    assert all(isinstance(v, int) and v % 5 == 0 and 0 <= v <= 100 for v in q)
    normal = [
        sweep.draw({"type": "normal", "mu": 10, "sigma": 0.1}, rng) for _ in range(200)
    ]
    assert all(9 < v < 11 for v in normal)
    assert {sweep.draw({"type": "randint", "upper": 3}, rng) for _ in range(100)} == {
        0,
        1,
        2,
    }
    space = {"lr": {"type": "uniform", "min_value": 0, "max_value": 1}}
    assert sweep.sample(space, 5, 1) == sweep.sample(space, 5, 1)
    assert sweep.sample(space, 5, 1) != sweep.sample(space, 5, 2)


def test_bayesian_sampling_and_early_termination_are_listed_as_not_used_locally(
    run, tmp_path
):
    tune = {
        **GRID,
        "sampling_algorithm": "bayesian",
        "early_termination": {"type": "bandit", "slack_factor": 0.1},
        "limits": {"max_total_trials": 2},
    }
    project(tmp_path, tune)
    result, record = run()
    assert result.code == 0, result.err
    assert record["not_used_locally"] == [
        "compute azureml:cpu-cluster",
        "environment azureml:AzureML-sklearn-1.5@latest",
        "sampling_algorithm bayesian (sampled at random locally)",
        "early_termination bandit",
    ]
    header = result.err.splitlines()[1]
    assert header.startswith("not used locally: compute azureml:cpu-cluster, ")
    assert "early_termination bandit" in header
    assert "sampling_algorithm bayesian (sampled at random locally)" in header


def test_a_required_trial_input_given_by_the_search_space_is_not_missing(
    mlops, tmp_path, monkeypatch
):
    project(tmp_path, GRID)
    component = tmp_path / "trial" / "component.yml"
    spec = yaml.safe_load(component.read_text())
    del spec["inputs"]["lr"]["default"]
    component.write_text(yaml.safe_dump(spec))
    monkeypatch.chdir(tmp_path)
    result = mlops("pipeline", "validate", "pipeline.yml")
    assert "required input not set" not in result.err
    assert result.code == 0, result.err


def test_ctrl_c_during_a_sweep_stops_every_running_trial(tmp_path):
    project(tmp_path, GRID)
    pids = tmp_path / "pids"
    pids.mkdir()
    (tmp_path / "state").mkdir()
    env = {**os.environ, "TRIAL_PIDS": str(pids), "MLOPS_HOME": str(tmp_path / "state")}
    argv = [sys.executable, "-m", "mlops_actions", "pipeline", "run", "pipeline.yml"]
    argv += ["--env", "host", "--jobs", "2"]
    out = tmp_path / "cli.txt"
    with out.open("w") as sink:
        cli = subprocess.Popen(
            argv, cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        assert wait_for(lambda: len(list(pids.iterdir())) == 2, timeout=60)
        running = [int(p.name) for p in pids.iterdir()]
        cli.send_signal(signal.SIGINT)
        assert cli.wait(timeout=30) == 3
        assert wait_for(lambda: not any(alive(pid) for pid in running)), running
    finally:
        if cli.poll() is None:
            cli.kill()
        for pid in [int(p.name) for p in pids.iterdir()]:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    said = out.read_text().splitlines()
    assert said[-1].startswith("error: interrupted (SIGINT) during step tune/trial_")
    record = json.loads(
        next((tmp_path / "state" / "runs").glob("*/run.json")).read_text()
    )
    tune = steps(record)["tune"]
    assert (record["status"], tune["status"]) == ("cancelled", "cancelled")
    assert (
        sorted(t["status"] for t in tune["trials"])
        == ["cancelled"] * 2 + ["pending"] * 4
    )
    assert len(list(pids.iterdir())) == 2  # no trial started after the signal


def test_a_sweep_inside_a_pipeline_component_runs(run, tmp_path):
    inner = project(tmp_path / "tuning", GRID)
    component = yaml.safe_load(inner.read_text())
    component.update(type="pipeline", name="tuning")
    del component["experiment_name"]
    inner.write_text(yaml.safe_dump(component, sort_keys=False))
    top = {
        "type": "pipeline",
        "experiment_name": "nested-tuning",
        "outputs": {"best": {"type": "uri_folder"}},
        "jobs": {
            "search": {
                "type": "pipeline",
                "component": "./tuning/pipeline.yml",
                "outputs": {"chosen": "${{parent.outputs.best}}"},
            }
        },
    }
    (tmp_path / "pipeline.yml").write_text(yaml.safe_dump(top, sort_keys=False))
    result, record = run()
    assert result.code == 0, result.err
    assert steps(record)["search/tune"]["best_trial"] == "search/tune/trial_4"
    best = Path(record["outputs"]["best"], "chosen.json")
    assert json.loads(best.read_text()) == {"lr": 0.03, "depth": 4, "env": "0.03"}
