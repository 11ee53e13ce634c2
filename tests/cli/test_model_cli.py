"""``mlops model``: exact output, exit codes and files of each command."""

from __future__ import annotations

import json

import pytest
from registry.tiny import save_model, write_evaluation, write_run

SHA = "c0ffee" * 6 + "abcd"
RUN = "20260101-000000-aaaaaa"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    """One database for the module: each test uses its own model names."""
    return f"sqlite:///{tmp_path_factory.mktemp('registry')}/mlflow.db"


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("built")
    return {
        "model1": save_model(root / "model1", 1),
        "model2": save_model(root / "model2", 2),
        "metrics": write_evaluation(root / "metrics", {"accuracy": 0.8, "f1": 0.625}),
    }


@pytest.fixture
def cli(mlops, store, tmp_path, monkeypatch):
    """``mlops`` in a fresh working directory, as alice at commit SHA."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / ".mlops"))
    (tmp_path / ".mlops").mkdir()
    monkeypatch.setenv("GITHUB_ACTOR", "alice")
    monkeypatch.setenv("GITHUB_SHA", SHA)
    for name in ("GITHUB_RUN_ID", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    return mlops


def _registered(cli, folders, tmp_path, name: str, count: int = 2) -> None:
    for k in range(1, count + 1):
        result = cli(
            "model", "register", "--name", name,
            "--model-dir", str(folders[f"model{k}"]),
            "--out", str(tmp_path / f"{name}-{k}.json"),
        )  # fmt: skip
        assert result.code == 0, result.err


def test_register_a_run_once(cli, folders, tmp_path):
    write_run(tmp_path / ".mlops", RUN, folders["model1"], folders["metrics"])
    args = ("model", "register", "--name", "churn", "--run", RUN, "--commit", "abc1")
    first = cli(*args)
    assert (first.code, first.out) == (
        0,
        "registered churn version 1 (models:/churn/1)\n",
    )
    record = json.loads((tmp_path / "model.json").read_text())
    created = record.pop("created")
    assert record == {
        "schema": "mlops-actions/model",
        "version": 1,
        "name": "churn",
        "model_version": "1",
        "uri": "models:/churn/1",
        "digest": record["digest"],
        "run_id": RUN,
        "commit": "abc1",
        "new": True,
        "promoted": False,
        "metrics": {"accuracy": 0.8, "f1": 0.625},
    }
    assert len(record["digest"]) == 64 and created.endswith("Z")

    again = cli(*args)
    assert (again.code, again.out) == (
        0,
        f"already registered: churn version 1 for run {RUN} at commit abc1\n",
    )
    assert json.loads((tmp_path / "model.json").read_text())["new"] is False
    as_json = json.loads(cli(*args, "--json").out)
    assert (as_json["model_version"], as_json["new"]) == ("1", False)


def test_register_latest_completed_run(cli, folders, tmp_path):
    state = tmp_path / ".mlops"
    none = cli("model", "register", "--name", "latest", "--run", "latest")
    assert none.code == 2
    assert none.err == (
        f"error: --run latest: no completed pipeline run under {state}/runs; "
        "run `mlops pipeline run` first or pass --model-dir\n"
    )
    write_run(state, "20260101-000000-aaaaaa", folders["model1"], folders["metrics"])
    write_run(state, "20260102-000000-bbbbbb", folders["model2"], None, "failed")
    result = cli("model", "register", "--name", "latest", "--run", "latest")
    assert result.out == "registered latest version 1 (models:/latest/1)\n"
    assert json.loads((tmp_path / "model.json").read_text())["commit"] == SHA

    failed = cli(
        "model", "register", "--name", "latest", "--run", "20260102-000000-bbbbbb"
    )
    assert failed.code == 2
    assert failed.err == (
        "error: --run 20260102-000000-bbbbbb: the run did not complete "
        "(status failed); register a completed run\n"
    )


def test_register_a_model_folder_by_digest(cli, folders, tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_SHA")  # and the working folder is no repository
    args = (
        "model",
        "register",
        "--name",
        "folder",
        "--model-dir",
        str(folders["model2"]),
    )
    result = cli(*args, "--evaluation-dir", str(folders["metrics"]))
    assert result.out == "registered folder version 1 (models:/folder/1)\n"
    record = json.loads((tmp_path / "model.json").read_text())
    assert (record["run_id"], record["commit"]) == (None, None)
    again = cli(*args)
    digest = record["digest"][:12]
    assert again.out == (
        f"already registered: folder version 1 for model digest {digest}\n"
    )


EITHER = "pass either --run RUN_ID|latest or --model-dir DIR"


@pytest.mark.parametrize(
    "args, message",
    [
        (
            [],
            "--run latest: no completed pipeline run under .mlops/runs; run "
            "`mlops pipeline run` first or pass --model-dir",
        ),
        (["--run", "x", "--model-dir", "."], EITHER),
        (
            ["--run", "x", "--evaluation-dir", "."],
            "--evaluation-dir goes with --model-dir, not --run",
        ),
        (["--model-dir", ".", "--tag", "nokey"], "--tag 'nokey': use KEY=VALUE"),
    ],
)
def test_register_usage_errors(cli, args, message, tmp_path):
    result = cli("model", "register", "--name", "bad", *args)
    err = result.err.replace(f"{tmp_path}/", "")
    assert (result.code, err) == (2, f"error: {message}\n")


def test_register_sets_github_outputs(cli, folders, tmp_path, monkeypatch):
    outputs = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    result = cli(
        "model", "register", "--name", "gha", "--model-dir", str(folders["model1"]),
        "--out", str(tmp_path / "out" / "m.json"),
    )  # fmt: skip
    assert result.code == 0, result.err
    text = outputs.read_text()
    assert "model-uri<<ghadelimiter_" in text and "\nmodels:/gha/1\n" in text
    assert "model-version<<ghadelimiter_" in text
    assert (
        json.loads((tmp_path / "out" / "m.json").read_text())["uri"] == "models:/gha/1"
    )


def test_promote_rollback_and_history(cli, folders, tmp_path):
    _registered(cli, folders, tmp_path, "flow")
    gate = tmp_path / "gate.json"
    gate.write_text(
        json.dumps(
            {
                "schema": "mlops-actions/gate",
                "decision": "promote",
                "champion": {"version": "1"},
            }
        )
    )
    first = cli("model", "promote", "flow", "1", "--expect-champion", "none")
    assert (first.code, first.out) == (
        0,
        "promoted flow version 1 to champion (was none)\n",
    )
    second = cli(
        "model", "promote", "flow", "2", "--expect-champion", "1", "--gate", str(gate)
    )
    assert (second.code, second.out) == (
        0,
        "promoted flow version 2 to champion (was 1)\n",
    )

    moved = cli("model", "promote", "flow", "1", "--expect-champion", "1")
    assert (moved.code, moved.out) == (1, "")
    assert moved.err == (
        "error: champion of flow is now version 2, not version 1 as the gate compared: "
        "re-run the gate\n"
    )
    back = cli("model", "rollback", "flow", "--reason", "smoke test failed")
    assert (back.code, back.out) == (
        0,
        "rolled back flow: champion is version 1 again (was 2)\n",
    )

    entries = json.loads(cli("model", "history", "flow", "--json").out)
    assert [(e["action"], e["version"], e["previous"]) for e in entries] == [
        ("register", "1", None),
        ("register", "2", None),
        ("promote", "1", None),
        ("promote", "2", "1"),
        ("rollback", "1", "2"),
    ]
    assert entries[3]["audit"] == {
        "actor": "alice",
        "commit": SHA,
        "run_url": None,
        "gate_decision": "promote",
        "reason": "",
    }
    assert entries[4]["audit"]["reason"] == "smoke test failed"
    t = [e["time"] for e in entries]
    table = cli("model", "history", "flow")
    assert table.out == (
        "time                  action    version  previous  actor  commit        gate\n"
        f"{t[0]}  register  1        -         alice  c0ffeec0ffee  -\n"
        f"{t[1]}  register  2        -         alice  c0ffeec0ffee  -\n"
        f"{t[2]}  promote   1        -         alice  c0ffeec0ffee  -\n"
        f"{t[3]}  promote   2        1         alice  c0ffeec0ffee  promote\n"
        f"{t[4]}  rollback  1        2         alice  c0ffeec0ffee  -\n"
    )


def test_rollback_without_previous_is_a_usage_error(cli, folders, tmp_path):
    _registered(cli, folders, tmp_path, "lonely", count=1)
    cli("model", "promote", "lonely", "1", "--expect-champion", "none")
    result = cli("model", "rollback", "lonely")
    assert (result.code, result.err) == (
        2,
        "error: lonely has no previous champion to roll back to\n",
    )


@pytest.mark.parametrize(
    "gate, message",
    [
        (
            {"decision": "reject", "champion": {"version": "1"}},
            "the gate decided 'reject', not promote or first: nothing to promote",
        ),
        (
            {"decision": "promote", "champion": None},
            "the gate compared against champion none, but --expect-champion is 1",
        ),
        (
            {"decision": "promote", "champion_version": "2"},
            "the gate compared against champion 2, but --expect-champion is 1",
        ),
        (
            {"decision": "promote"},
            "no `champion` field saying which champion the gate compared against",
        ),
        (
            {"decision": "promote", "mode": "dry-run", "champion": {"version": "1"}},
            "the gate ran in dry-run mode, which authorises no promotion; run it "
            "with mode enforce",
        ),
        (
            {"decision": "promote", "schema": "other"},
            "not a gate decision (schema " "mlops-actions/gate)",
        ),
    ],
)
def test_promote_refused_by_the_gate(cli, folders, tmp_path, gate, message):
    name = f"gated-{tmp_path.name}"
    _registered(cli, folders, tmp_path, name)
    cli("model", "promote", name, "1", "--expect-champion", "none")
    path = tmp_path / "gate.json"
    path.write_text(json.dumps({"schema": "mlops-actions/gate", **gate}))
    result = cli(
        "model", "promote", name, "2", "--expect-champion", "1", "--gate", str(path)
    )
    assert (result.code, result.err) == (2, f"error: --gate {path}: {message}\n")
    assert json.loads(cli("model", "champion", name, "--json").out)["version"] == "1"


def test_expect_champion_reads_its_env_var(cli, folders, tmp_path, monkeypatch):
    _registered(cli, folders, tmp_path, "envy", count=1)
    monkeypatch.setenv("MLOPS_MODEL_PROMOTE_EXPECT_CHAMPION", "none")
    assert cli("model", "promote", "envy", "1").code == 0
    assert (
        "MLOPS_MODEL_PROMOTE_EXPECT_CHAMPION" in cli("model", "promote", "--help").out
    )


def test_champion(cli, folders, tmp_path):
    none = cli("model", "champion", "shown")
    assert (none.code, none.out) == (0, "shown has no champion\n")
    assert cli("model", "champion", "shown", "--json").out == "null\n"
    write_run(tmp_path / ".mlops", RUN, folders["model1"], folders["metrics"])
    cli("model", "register", "--name", "shown", "--run", RUN)
    cli("model", "promote", "shown", "1", "--expect-champion", "none")
    found = json.loads(cli("model", "champion", "shown", "--json").out)
    assert (found["uri"], found["aliases"]) == ("models:/shown/1", ["champion"])
    result = cli("model", "champion", "shown")
    assert result.out == (
        "champion of shown: version 1 (models:/shown/1)\n"
        f"  run       {RUN}\n"
        f"  commit    {SHA}\n"
        f"  digest    {found['digest']}\n"
        f"  created   {found['created']}\n"
        f"  promoted  {found['tags']['mlops.promoted_at']}\n"
        "  by        alice\n"
        "  gate      none\n"
        "  accuracy  0.8000\n"
        "  f1        0.6250\n"
    )


def test_unknown_model_and_version(cli, folders, tmp_path, store):
    result = cli("model", "history", "ghost")
    assert (result.code, result.err) == (
        2,
        f"error: no model named ghost in registry {store}\n",
    )
    _registered(cli, folders, tmp_path, "known", count=1)
    result = cli("model", "promote", "known", "9", "--expect-champion", "none")
    assert (result.code, result.err) == (
        2,
        f"error: known has no version 9 in registry {store}\n",
    )


def test_unreachable_registry_exits_3(cli):
    result = cli("model", "--tracking-uri", "http://127.0.0.1:9", "champion", "x")
    assert (result.code, result.out) == (3, "")
    assert result.err == (
        "error: registry http://127.0.0.1:9 is unreachable: "
        "[Errno 111] Connection refused\n"
    )
