"""The root command: version, unknown commands and the backend choice.

Every command's --help (no SDK imported) is checked in test_command_tree.py.
"""

from __future__ import annotations

import os

import pytest

GATE_YML = """\
version: 1
model: churn
primary: accuracy
metrics:
  accuracy: {direction: maximize, floor: 0.5}
"""


def test_version(mlops):
    from mlops_actions import __version__

    result = mlops("--version")
    assert (result.code, result.out) == (0, f"mlops, version {__version__}\n")


def test_unknown_command_is_a_usage_error(mlops):
    result = mlops("pipelin")
    assert result.code == 2
    assert "No such command 'pipelin'" in result.err


def test_bad_backend_is_a_usage_error(mlops):
    result = mlops("--backend", "gcp", "pipeline", "--help")
    assert result.code == 2
    assert "'gcp' is not one of 'local', 'azure'" in result.err


#: What a command that reaches Azure says where no workspace is configured:
#: proof that --backend azure got to it.
NO_WORKSPACE = "error: no Azure ML workspace: give the subscription id"


@pytest.fixture
def no_workspace(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no mlops.yaml here
    for name in ("AZURE_SUBSCRIPTION_ID", "MLOPS_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    for name in [n for n in os.environ if n.startswith("MLOPS_AZURE_")]:
        monkeypatch.delenv(name)


def test_backend_reads_env(mlops, monkeypatch, no_workspace):
    monkeypatch.setenv("MLOPS_BACKEND", "azure")
    result = mlops("pipeline", "wait", "job-1")
    assert result.code == 2
    assert result.err.startswith(NO_WORKSPACE)


@pytest.mark.parametrize(
    "argv",
    [
        ["pipeline", "wait", "job-1"],
        ["model", "champion", "churn"],
        ["gate", "--rules", "gate.yml", "--metrics", "m.json"],
    ],
    ids=["pipeline wait", "model champion", "gate"],
)
@pytest.mark.parametrize("where", ["before", "after"])
def test_backend_before_or_after_the_subcommand(
    mlops, tmp_path, no_workspace, argv, where
):
    (tmp_path / "gate.yml").write_text(GATE_YML)
    (tmp_path / "m.json").write_text('{"metrics": {"accuracy": 0.9}}')
    flag = ["--backend", "azure"]
    result = mlops(*(flag + argv if where == "before" else argv + flag))
    assert result.code == 2
    assert result.err.startswith(NO_WORKSPACE), result.err


def test_backend_on_a_group_reaches_its_subcommands(mlops, no_workspace):
    result = mlops("model", "--backend", "azure", "champion", "churn")
    assert (result.code, result.err.startswith(NO_WORKSPACE)) == (2, True)


def test_backend_after_the_subcommand_overrides_env_and_the_root_flag(
    mlops, monkeypatch, tmp_path
):
    monkeypatch.setenv("MLOPS_BACKEND", "azure")
    missing = tmp_path / "x.yml"
    for argv in (
        ["pipeline", "run", str(missing), "--backend", "local"],
        ["--backend", "azure", "pipeline", "run", str(missing), "--backend=local"],
    ):
        result = mlops(*argv)
        assert result.code == 2
        assert "--backend azure" not in result.err
        assert str(missing) in result.err  # got as far as reading the file


def test_backend_after_the_subcommand_is_checked_and_documented(mlops):
    result = mlops("pipeline", "run", "x.yml", "--backend", "gcp")
    assert result.code == 2
    assert "'gcp' is not one of 'local', 'azure'" in result.err
    assert "Same as `mlops --backend`" in mlops("gate", "--help").out
