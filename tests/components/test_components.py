"""The reference pipeline's four components, run for real as subprocesses.

One module-scoped run of ingest -> preprocess -> train -> evaluate on the
bundled penguins data (few epochs) feeds most tests; each test then checks
what a user of the step would notice: files, fields, exit codes, messages.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import importlib.util
import json
import math
import os
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ROOT / "pipelines" / "components"
STEPS = ("ingest", "preprocess", "train", "evaluate")
EPOCHS = "15"


def script(step: str) -> str:
    return str(COMPONENTS / step / f"{step}.py")


def step_env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLOPS_"))
    }
    env["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    env.update(extra)
    return env


def run_step(
    step: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, script(step), *args],
        cwd=cwd,
        env=env if env is not None else step_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


class PipelineRun:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.snapshot = root / "snapshot"
        self.prepared = root / "prepared"
        self.model = root / "model"
        self.metrics = root / "metrics"
        self.tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
        self.stdout: dict[str, str] = {}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> PipelineRun:
    run = PipelineRun(tmp_path_factory.mktemp("pipeline"))
    # The local runner creates output folders before a step starts.
    run.model.mkdir()
    env = step_env(
        MLFLOW_TRACKING_URI=run.tracking_uri,
        MLFLOW_EXPERIMENT_NAME="components-test",
        MLOPS_PIPELINE_RUN_ID="run-0001",
    )
    snapshot, prepared = str(run.snapshot), str(run.prepared)
    commands = {
        "ingest": ["--source", "sample:penguins", "--snapshot", snapshot],
        "preprocess": ["--snapshot", snapshot, "--target", "sex"]
        + ["--prepared", prepared],
        "train": ["--prepared", prepared, "--epochs", EPOCHS]
        + ["--model", str(run.model)],
        "evaluate": ["--model", str(run.model), "--prepared", prepared]
        + ["--metrics", str(run.metrics)],
    }
    for step in STEPS:
        result = run_step(step, *commands[step], cwd=run.root, env=env)
        assert result.returncode == 0, f"{step} failed:\n{result.stderr}"
        run.stdout[step] = result.stdout
    return run


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_ingest_writes_manifest_matching_the_parquet(pipeline: PipelineRun) -> None:
    manifest = read_json(pipeline.snapshot / "manifest.json")
    data_path = pipeline.snapshot / "data.parquet"
    frame = pd.read_parquet(data_path)

    assert manifest["schema"] == "mlops-actions/snapshot"
    assert manifest["version"] == 1
    assert manifest["source"] == "sample:penguins"
    assert manifest["sha256"] == hashlib.sha256(data_path.read_bytes()).hexdigest()
    assert manifest["rows"] == len(frame) == 344
    columns = {c["name"]: c for c in manifest["columns"]}
    assert list(columns) == list(frame.columns)
    assert columns["sex"]["nulls"] == 11
    assert columns["body_mass_g"]["dtype"] == "float64"
    assert "read 344 rows" in pipeline.stdout["ingest"]


def test_ingest_reads_csv_relative_to_mlops_workdir(tmp_path: Path) -> None:
    workdir = tmp_path / "project"
    (workdir / "data").mkdir(parents=True)
    (workdir / "data" / "table.csv").write_text("a,b,label\n1,x,yes\n2,,no\n3,y,no\n")
    elsewhere = tmp_path / "step"
    elsewhere.mkdir()

    result = run_step(
        "ingest",
        "--source",
        "data/table.csv",
        "--snapshot",
        str(tmp_path / "snap"),
        cwd=elsewhere,
        env=step_env(MLOPS_WORKDIR=str(workdir)),
    )

    assert result.returncode == 0, result.stderr
    manifest = read_json(tmp_path / "snap" / "manifest.json")
    assert manifest["rows"] == 3
    assert {c["name"]: c["nulls"] for c in manifest["columns"]} == {
        "a": 0,
        "b": 1,
        "label": 0,
    }


def test_ingest_downloads_over_http_and_names_a_missing_url(tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    pd.DataFrame({"x": [1.0, None], "label": ["a", "b"]}).to_json(
        served / "table.jsonl", orient="records", lines=True
    )
    handler = functools.partial(QuietHandler, directory=str(served))
    # A proxy configured on the machine must not intercept the loopback server.
    env = step_env(NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        found = run_step(
            "ingest",
            *("--source", f"{base}/table.jsonl", "--snapshot", str(tmp_path / "s")),
            cwd=tmp_path,
            env=env,
        )
        missing = run_step(
            "ingest",
            *("--source", f"{base}/nope.csv", "--snapshot", str(tmp_path / "m")),
            cwd=tmp_path,
            env=env,
        )
        server.shutdown()

    assert found.returncode == 0, found.stderr
    assert read_json(tmp_path / "s" / "manifest.json")["rows"] == 2
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"error: source '{base}/nope.csv' answered HTTP")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def test_splits_are_disjoint_and_cover_rows_with_a_target(
    pipeline: PipelineRun,
) -> None:
    snapshot = pd.read_parquet(pipeline.snapshot / "data.parquet")
    parts = {
        name: pd.read_parquet(pipeline.prepared / f"{name}.parquet")
        for name in ("train", "valid", "test")
    }
    ids = {name: set(part["row_id"]) for name, part in parts.items()}

    assert not ids["train"] & ids["valid"]
    assert not ids["train"] & ids["test"]
    assert not ids["valid"] & ids["test"]
    expected = set(snapshot.index[snapshot["sex"].notna()])
    assert ids["train"] | ids["valid"] | ids["test"] == expected
    assert (len(parts["train"]), len(parts["valid"]), len(parts["test"])) == (
        199,
        67,
        67,
    )
    # Stratified: each split keeps the overall share of the positive class.
    share = (snapshot["sex"].dropna() == "male").mean()
    for part in parts.values():
        assert abs((part["sex"] == "male").mean() - share) < 0.05
    # Features stay raw (row_id is the snapshot position): the model transforms.
    test = parts["test"]
    raw = snapshot.loc[test["row_id"], ["species", "bill_length_mm"]]
    assert test["species"].tolist() == raw["species"].tolist()
    assert test["bill_length_mm"].tolist() == raw["bill_length_mm"].tolist()


def test_preprocessor_is_fitted_on_train_only(pipeline: PipelineRun) -> None:
    spec = read_json(pipeline.prepared / "preprocessor.json")
    train = pd.read_parquet(pipeline.prepared / "train.parquet")

    assert spec["schema"] == "mlops-actions/preprocessor"
    assert spec["version"] == 1
    assert spec["target"] == "sex"
    assert spec["task"] == "binary"
    assert spec["classes"] == ["female", "male"]
    numeric = {c["name"]: c for c in spec["numeric"]}
    assert set(numeric) == {
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
        "year",
    }
    mass = train["body_mass_g"].dropna()
    assert numeric["body_mass_g"]["median"] == pytest.approx(mass.median())
    assert numeric["body_mass_g"]["mean"] == pytest.approx(mass.mean())
    assert numeric["body_mass_g"]["std"] == pytest.approx(mass.std(ddof=0))
    categorical = {c["name"]: c["categories"] for c in spec["categorical"]}
    assert categorical == {
        "species": sorted(train["species"].dropna().unique()),
        "island": sorted(train["island"].dropna().unique()),
    }


PREDICT_RAW_ROWS = """
import json, sys
import numpy as np, pandas as pd, mlflow.pyfunc
model = mlflow.pyfunc.load_model(sys.argv[1])
rows = pd.DataFrame({
    "species": ["Adelie", None, "Unicorn"],
    "island": ["Biscoe", "Dream", None],
    "bill_length_mm": [39.1, np.nan, 50.0],
    "bill_depth_mm": [18.7, 17.0, np.nan],
    "flipper_length_mm": [181.0, np.nan, 230.0],
    "body_mass_g": [3750.0, np.nan, 5000.0],
})  # "year" left out: every feature is optional
out = model.predict(rows)
print(json.dumps({"columns": list(out.columns), "label": out["label"].tolist(),
                  "probability": out["probability"].tolist()}))
"""


def test_model_predicts_raw_rows_in_a_fresh_process(pipeline: PipelineRun) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PREDICT_RAW_ROWS, str(pipeline.model)],
        cwd=pipeline.root,
        env=step_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["columns"] == ["label", "probability"]
    assert set(out["label"]) <= {"female", "male"}
    assert len(out["probability"]) == 3
    assert all(0.0 <= p <= 1.0 for p in out["probability"])
    requirements = (pipeline.model / "requirements.txt").read_text().split()
    # served in numpy from weights.npz: the model installs without torch
    assert not any(line.startswith("torch") for line in requirements)
    assert any(line.startswith("numpy==") for line in requirements)
    assert any(line.startswith("mlflow") for line in requirements)


def test_training_is_deterministic_on_cpu_and_runs_without_tracking(
    pipeline: PipelineRun, tmp_path: Path
) -> None:
    again = tmp_path / "model"
    result = run_step(
        "train",
        *("--prepared", str(pipeline.prepared), "--epochs", EPOCHS),
        *("--device", "cpu", "--model", str(again)),
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert "MLFLOW_TRACKING_URI is not set" in result.stdout
    first = read_json(pipeline.model / "training.json")["history"]
    second = read_json(again / "training.json")["history"]
    assert first == second
    assert len(first) == int(EPOCHS)


def test_metrics_json_holds_every_metric_in_range(pipeline: PipelineRun) -> None:
    report = read_json(pipeline.metrics / "metrics.json")
    test_rows = len(pd.read_parquet(pipeline.prepared / "test.parquet"))

    assert report["schema"] == "mlops-actions/metrics"
    assert report["version"] == 1
    assert report["rows"] == test_rows
    assert report["target"] == "sex"
    assert report["positive_class"] == "male"
    metrics = report["metrics"]
    assert report["directions"] == {
        "accuracy": "maximize",
        "f1": "maximize",
        "roc_auc": "maximize",
        "log_loss": "minimize",
        "latency_p95_ms": "minimize",
    }
    assert set(metrics) == set(report["directions"])
    assert all(math.isfinite(value) for value in metrics.values())
    assert metrics["accuracy"] > 0.75
    assert 0 <= metrics["f1"] <= 1 and 0.5 < metrics["roc_auc"] <= 1
    assert 0 < metrics["log_loss"] < 1
    assert 0 < metrics["latency_p95_ms"] < 1000


def test_predictions_pair_up_with_test_rows(pipeline: PipelineRun) -> None:
    predictions = pd.read_parquet(pipeline.metrics / "predictions.parquet")
    test = pd.read_parquet(pipeline.prepared / "test.parquet")

    assert list(predictions.columns) == ["row_id", "label", "prediction", "probability"]
    assert len(predictions) == len(test)
    assert predictions["row_id"].tolist() == test["row_id"].tolist()
    assert predictions["label"].tolist() == test["sex"].tolist()
    accuracy = (predictions["label"] == predictions["prediction"]).mean()
    metrics = read_json(pipeline.metrics / "metrics.json")["metrics"]
    assert accuracy == pytest.approx(metrics["accuracy"])


def test_smoke_request_holds_the_models_own_answers(pipeline: PipelineRun) -> None:
    import mlflow.pyfunc

    smoke = read_json(pipeline.metrics / "smoke.json")
    assert (smoke["schema"], smoke["version"]) == ("mlops-actions/smoke", 1)
    split = smoke["request"]["dataframe_split"]
    rows = pd.DataFrame(split["data"], columns=split["columns"])
    assert len(rows) == 3 + 5  # the input example, then five test rows
    answer = mlflow.pyfunc.load_model(str(pipeline.model)).predict(rows)
    recorded = smoke["expected"]["predictions"]
    assert answer["label"].tolist() == [row["label"] for row in recorded]
    assert answer["probability"].tolist() == pytest.approx(
        [row["probability"] for row in recorded], abs=1e-6
    )


def test_train_and_evaluate_are_tracked_in_mlflow(pipeline: PipelineRun) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=pipeline.tracking_uri)
    experiment = client.get_experiment_by_name("components-test")
    runs = {
        run.info.run_name: run for run in client.search_runs([experiment.experiment_id])
    }

    assert set(runs) == {"train", "evaluate"}
    for name, run in runs.items():
        assert run.data.tags["mlops.pipeline_run"] == "run-0001"
        assert run.data.tags["mlops.step"] == name
    train = runs["train"]
    assert train.data.params["epochs"] == EPOCHS
    history = client.get_metric_history(train.info.run_id, "valid_loss")
    assert [m.step for m in history] == list(range(1, int(EPOCHS) + 1))
    assert runs["evaluate"].data.metrics["accuracy"] > 0.75


@pytest.mark.parametrize(
    ("step", "args", "names"),
    [
        ("ingest", ["--source", "data/missing.csv"], "data/missing.csv"),
        ("ingest", ["--source", "sample:nope"], "sample:nope"),
        ("preprocess", ["--target", "species", "--task", "binary"], "species"),
        ("train", ["--hidden_sizes", "a,b"], "hidden_sizes"),
    ],
    ids=["missing-source", "unknown-sample", "non-binary-target", "bad-hidden"],
)
def test_user_errors_exit_2_with_one_error_line(
    pipeline: PipelineRun, tmp_path: Path, step: str, args: list[str], names: str
) -> None:
    io_args = {
        "ingest": ["--snapshot", str(tmp_path / "out")],
        "preprocess": ["--snapshot", str(pipeline.snapshot)]
        + ["--prepared", str(tmp_path / "out")],
        "train": ["--prepared", str(pipeline.prepared), "--model", str(tmp_path / "m")],
    }[step]

    result = run_step(step, *io_args, *args, cwd=tmp_path)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert names in lines[0]


def load_samples_module():
    path = COMPONENTS / "ingest" / "samples.py"
    spec = importlib.util.spec_from_file_location("mlops_samples", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_synthetic_table_is_seeded_with_nulls_and_both_classes() -> None:
    synthetic_table = load_samples_module().synthetic_table

    table = synthetic_table(5000, 7)

    assert table.equals(synthetic_table(5000, 7))
    assert not table.equals(synthetic_table(5000, 8))
    numeric = [f"num_{i:02d}" for i in range(15)]
    categorical = [f"cat_{i}" for i in range(5)]
    assert list(table.columns) == numeric + categorical + ["label"]
    assert set(table["label"]) == {"yes", "no"}
    assert 0.1 < (table["label"] == "yes").mean() < 0.9
    null_share = table[numeric + categorical].isna().to_numpy().mean()
    assert 0.01 < null_share < 0.03
    assert table["label"].notna().all()
    levels = [table[name].nunique() for name in categorical]
    assert min(levels) >= 3 and max(levels) <= 20


def test_component_yaml_loads_and_validates_offline() -> None:
    azure_ml = pytest.importorskip("azure.ai.ml")

    for step in STEPS:
        path = COMPONENTS / step / "component.yml"
        component = azure_ml.load_component(str(path))
        assert component._validate().passed, step
        assert component.name == f"mlops_{step}"
        assert component.command.startswith(f"python {step}.py ")
        assert (COMPONENTS / step / f"{step}.py").is_file()
        # On Azure each folder is uploaded alone: only evaluate uses the
        # toolkit (its stdlib-only contract module), which it ships along.
        for source in (COMPONENTS / step).glob("*.py"):
            if step != "evaluate":
                assert "mlops_actions" not in source.read_text(), source


def test_evaluate_ships_the_contract_module_to_azure_ml() -> None:
    azure_ml = pytest.importorskip("azure.ai.ml")
    component = azure_ml.load_component(str(COMPONENTS / "evaluate" / "component.yml"))

    # The code snapshot Azure ML uploads, additional_includes resolved.
    with component._build_code() as code:
        snapshot = Path(code.path)
        assert (snapshot / "evaluate.py").is_file()
        assert (snapshot / "mlops_actions" / "contract.py").is_file()
