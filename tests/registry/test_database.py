"""The local registry database: created once however many commands start
together, and an empty or foreign file is never taken for a new registry."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

#: A command that waits for ``go`` (after importing MLflow, so all start the
#: database at the same moment), then asks for the champion, as users would.
RACER = """
import sys, time
from pathlib import Path
import mlflow  # noqa: F401 - the slow import happens before the start line
from mlops_actions.cli import main
go = Path(sys.argv[1])
Path(sys.argv[2]).touch()
while not go.exists():
    time.sleep(0.005)
main(["model", "champion", "raced"])
"""


@pytest.fixture
def env(tmp_path, cli_env) -> dict[str, str]:
    home = tmp_path / "state"
    home.mkdir()
    return cli_env | {"MLOPS_HOME": str(home)}


@pytest.fixture
def run(mlops_process, env):
    def call(args: list[str], env: dict[str, str] = env, cwd: Path | None = None):
        return mlops_process(*args, cwd=cwd, env=env)

    return call


def test_commands_started_together_on_a_new_database_all_succeed(tmp_path, env, run):
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(go), str(tmp_path / f"ready-{n}")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    try:
        deadline = time.monotonic() + 120
        while not all((tmp_path / f"ready-{n}").exists() for n in range(4)):
            assert time.monotonic() < deadline, "the racers never got ready"
            time.sleep(0.02)
        go.touch()
        results = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert [proc.returncode for proc in procs] == [0, 0, 0, 0], results
    assert [out for out, _ in results] == ["raced has no champion\n"] * 4
    # and the database is whole: any later command opens it
    later = run(["model", "champion", "raced"], env)
    assert (later.returncode, later.stdout) == (0, "raced has no champion\n")
    leftovers = [p.name for p in Path(env["MLOPS_HOME"]).iterdir()]
    assert sorted(leftovers) == ["mlflow.db", "mlflow.db.lock"]


@pytest.mark.parametrize(
    "content, why",
    [
        (b"", "is an empty file, not an MLflow database"),
        (None, "is an SQLite database but not MLflow's (no table alembic_version"),
        (b"plain text\n", "cannot be read as a database (file is not a database)"),
    ],
    ids=["empty", "foreign-sqlite", "not-a-database"],
)
def test_an_empty_or_foreign_database_is_refused_not_taken_for_a_new_registry(
    tmp_path, env, run, content, why
):
    database = Path(env["MLOPS_HOME"]) / "mlflow.db"
    if content is None:
        with sqlite3.connect(database) as made:
            made.execute("CREATE TABLE notes (text TEXT)")
        made.close()
    else:
        database.write_bytes(content)
    before = database.read_bytes()
    metrics = tmp_path / "metrics.json"
    metrics.write_text('{"schema": "mlops-actions/metrics", "metrics": {"acc": 0.1}}')
    rules = tmp_path / "gate.yml"
    rules.write_text(
        "version: 1\nmodel: m\nprimary: acc\n"
        "metrics:\n  acc: {direction: maximize, floor: 0.0}\n"
    )
    result = run(
        ["gate", "--rules", str(rules), "--metrics", str(metrics), "--out", "g.json"],
        env,
        cwd=tmp_path,
    )
    assert result.returncode == 3, result
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    uri = f"sqlite:///{database.resolve()}"
    assert line.startswith(f"error: registry {uri} is unusable: {database.resolve()} ")
    assert why in line
    assert line.endswith(
        "move it away to start a new registry, or point MLFLOW_TRACKING_URI or "
        "MLOPS_HOME at the registry's database"
    )
    assert database.read_bytes() == before  # not migrated into a fresh registry


def test_a_mistyped_mlops_home_is_refused_not_created(tmp_path, env, run):
    typo = tmp_path / "stat"
    result = run(["model", "champion", "m"], env | {"MLOPS_HOME": str(typo)})
    assert result.returncode == 2, result
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: MLOPS_HOME {typo} is not a folder: create it, or fix MLOPS_HOME "
        "(a new state folder would start an empty registry)"
    )
    assert not typo.exists()


def test_a_database_made_by_mlflow_itself_is_used_as_it_is(tmp_path, env, run):
    from mlflow import MlflowClient

    database = Path(env["MLOPS_HOME"]) / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{database}").search_experiments()
    result = run(["model", "champion", "m"], env)
    assert (result.returncode, result.stdout) == (0, "m has no champion\n"), result
