"""Deploy real scikit-learn models (a regressor, a multiclass classifier)
saved with mlflow.sklearn, served by the real scorer under uvicorn on
127.0.0.1, and smoke-test them: answers as recorded, or shape only when no
answers are recorded; the scorer is gone after every failure."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

SMOKE = "mlops-actions/smoke"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nothing_listens(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict:
    """Model folders with a serving input example, and the rows to send."""
    import mlflow.sklearn
    import pandas as pd
    from sklearn.datasets import load_diabetes, load_iris
    from sklearn.linear_model import LogisticRegression, Ridge

    root = tmp_path_factory.mktemp("sklearn")
    diabetes = load_diabetes(as_frame=True)
    x, y = diabetes.data, diabetes.target
    regressor = Ridge().fit(x, y)
    iris = load_iris(as_frame=True)
    names = iris.target_names[iris.target]  # class names: strings
    classifier = LogisticRegression(max_iter=500).fit(iris.data, names)
    found = {}
    for kind, model, features in (
        ("regression", regressor, x),
        ("multiclass", classifier, iris.data.iloc[::30]),
    ):
        folder = root / kind
        mlflow.sklearn.save_model(
            model,
            str(folder),
            input_example=features.head(3),
            # explicit: inferring requirements costs seconds per model
            pip_requirements=["mlflow", "scikit-learn"],
        )
        split = json.loads(features.head(5).to_json(orient="split", index=False))
        # predicted on the rows as sent: JSON keeps 10 digits of each input
        sent = pd.DataFrame(split["data"], columns=split["columns"])
        found[kind] = {
            "model": folder,
            "request": {"dataframe_split": split},
            "answer": model.predict(sent).tolist(),
        }
    return found


@pytest.fixture
def work(tmp_path, mlops_process):
    """A project folder; every test stops what it deployed."""
    yield tmp_path
    mlops_process("deploy", "stop", cwd=tmp_path)


def write_smoke(folder: Path, request: dict, expected: dict, **more) -> Path:
    path = folder / "smoke.json"
    body = {"schema": SMOKE, "version": 1, "request": request, "expected": expected}
    path.write_text(json.dumps(body | more))
    return path


def deploy(mlops_process, work: Path, port: int, *args: str):
    return mlops_process(
        "deploy", "local", *args, "--port", str(port), cwd=work, timeout=180
    )


@pytest.mark.parametrize("kind", ["regression", "multiclass"])
def test_recorded_answers_of_a_real_model_pass_as_recorded(
    built, work, mlops_process, kind
):
    model = built[kind]
    smoke = write_smoke(work, model["request"], {"predictions": model["answer"]})
    port = free_port()
    result = deploy(
        mlops_process, work, port, "--model", str(model["model"]), "--smoke", str(smoke)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == (
        "smoke test passed: 5 rows answered as recorded"
    )


def test_a_regressor_off_by_more_than_the_tolerance_fails_and_is_stopped(
    built, work, mlops_process
):
    model = built["regression"]
    answer = list(model["answer"])
    answer[2] += 0.5
    smoke = write_smoke(work, model["request"], {"predictions": answer})
    port = free_port()
    args = ("--model", str(model["model"]), "--smoke", str(smoke))
    result = deploy(mlops_process, work, port, *args)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[0] == (
        f"error: smoke test failed: row 2: {model['answer'][2]!r}, expected "
        f"{answer[2]!r}; the scorer at http://127.0.0.1:{port} was stopped"
    )
    assert nothing_listens(port)
    assert not (work / ".mlops" / "deploy" / "local.json").exists()
    # the tolerance is the user's to set
    again = deploy(mlops_process, work, port, *args, "--tolerance", "0.6")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[1] == (
        "smoke test passed: 5 rows answered as recorded"
    )


def test_a_wrong_class_name_fails_and_is_stopped(built, work, mlops_process):
    model = built["multiclass"]
    answer = list(model["answer"])
    wrong = "virginica" if answer[0] != "virginica" else "setosa"
    answer[0] = wrong
    smoke = write_smoke(work, model["request"], {"predictions": answer})
    port = free_port()
    args = ("--model", str(model["model"]), "--smoke", str(smoke))
    result = deploy(mlops_process, work, port, *args)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[0].startswith(
        f"error: smoke test failed: row 0: {model['answer'][0]!r}, expected {wrong!r}"
    )
    assert nothing_listens(port)


def test_a_request_the_scorer_refuses_fails_and_is_stopped(built, work, mlops_process):
    model = built["regression"]
    request = {"dataframe_split": {"columns": ["nope"], "data": [[1.0]]}}
    smoke = write_smoke(work, request, {"predictions": [1.0]})
    port = free_port()
    args = ("--model", str(model["model"]), "--smoke", str(smoke))
    result = deploy(mlops_process, work, port, *args)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("error: smoke test failed: HTTP 422: ")
    assert nothing_listens(port)


def test_deploy_model_dir_without_answers_says_shape_only_not_as_evaluated(
    built, work, mlops_process
):
    port = free_port()
    result = deploy(
        mlops_process, work, port, "--model", str(built["regression"]["model"])
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1] == (
        "smoke test passed: 3 rows answered (shape only: no recorded answers)"
    )


@pytest.mark.parametrize(
    "expected, said",
    [
        pytest.param(
            {"prediction": [1.0]},
            "expected: no recorded answers (keys: prediction); give the answers "
            'the model gave as {"predictions": [...]} (README "Smoke test")',
            id="guessed-key",
        ),
        pytest.param(
            {"label": [1.0, 2.0, 3.0, 4.0, 5.0]},
            None,  # the first form without probabilities: labels compared
            id="labels-only",
        ),
    ],
)
def test_guessed_smoke_json_exits_2_or_1_never_70_and_leaves_no_scorer(
    built, work, mlops_process, expected, said
):
    model = built["regression"]
    smoke = write_smoke(work, model["request"], expected)
    port = free_port()
    args = ("--model", str(model["model"]), "--smoke", str(smoke))
    result = deploy(mlops_process, work, port, *args)
    if said is None:
        # a regressor answers numbers, not records with labels
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith(
            f"error: smoke test failed: row 0: {model['answer'][0]!r}, expected a "
            "record; "
        )
    else:
        assert (result.returncode, result.stderr.splitlines()[0]) == (
            2,
            f"error: {smoke}: {said}",
        )
    assert nothing_listens(port)
    assert not (work / ".mlops" / "deploy" / "local.json").exists()


def test_an_internal_error_in_the_smoke_test_stops_the_scorer(
    built, tmp_path, mlops, monkeypatch
):
    from mlops_actions.deploy import local, local_target
    from mlops_actions.process import ProcessId

    monkeypatch.chdir(tmp_path)
    seen = []

    def broken(url, smoke):
        seen.append(local.current(tmp_path / ".mlops"))
        raise RuntimeError("a bug in the smoke test")

    monkeypatch.setattr(local_target, "smoke_test", broken)
    port = free_port()
    result = mlops(
        "deploy", "local", "--model", str(built["regression"]["model"]),
        "--port", str(port),
    )  # fmt: skip
    assert result.code == 70, result.err
    assert "RuntimeError: a bug in the smoke test" in result.err
    scorer = seen[0]
    assert scorer is not None
    assert not ProcessId(scorer.pid, scorer.process_started).alive()
    assert nothing_listens(port)


@pytest.fixture
def registered(built, tmp_path, mlops_process, cli_env):
    """The multiclass model registered without recorded answers and promoted;
    returns a runner in that project."""
    env = cli_env | {
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db",
        "MLOPS_HOME": str(tmp_path / ".mlops"),
    }
    (tmp_path / ".mlops").mkdir()
    evaluation = tmp_path / "evaluation"
    evaluation.mkdir()
    metrics = {"schema": "mlops-actions/metrics", "version": 1}
    (evaluation / "metrics.json").write_text(
        json.dumps(metrics | {"metrics": {"accuracy": 0.9}})
    )

    def run(*args: str):
        return mlops_process(*args, cwd=tmp_path, env=env, timeout=180)

    done = run(
        "model", "register", "--name", "iris",
        "--model-dir", str(built["multiclass"]["model"]),
        "--evaluation-dir", str(evaluation), "--commit", "abc1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    promoted = run("model", "promote", "iris", "1", "--expect-champion", "none")
    assert promoted.returncode == 0, promoted.stderr
    yield run
    run("deploy", "stop")


def test_deploy_name_without_recorded_answers_uses_the_serving_example(registered):
    port = free_port()
    result = registered("deploy", "local", "--name", "iris", "--port", str(port))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"deployed iris version 1 at http://127.0.0.1:{port} "
        f"({result.stdout.split('(', 1)[1].split(')')[0]})",
        "smoke test passed: 3 rows answered (shape only: no recorded answers)",
    ]
    again = registered(
        "deploy", "local", "--name", "iris", "--port", str(port), "--json"
    )
    assert again.returncode == 0, again.stderr
    smoke = json.loads(again.stdout)["smoke"]
    assert (smoke["ok"], smoke["rows"], smoke["shape_only"]) == (True, 3, True)


def test_deploy_model_uri_of_a_version_uses_its_serving_example(registered):
    port = free_port()
    result = registered(
        "deploy", "local", "--model", "models:/iris/1", "--port", str(port)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        "smoke test passed: 3 rows answered (shape only: no recorded answers)",
    ]
