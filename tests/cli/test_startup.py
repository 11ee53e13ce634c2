"""The root command: version, unknown commands and the backend choice.

Every command's --help (no SDK imported) is checked in test_command_tree.py.
"""

from __future__ import annotations

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


def test_backend_reads_env(mlops, monkeypatch, tmp_path):
    monkeypatch.setenv("MLOPS_BACKEND", "azure")
    result = mlops("pipeline", "run", str(tmp_path / "x.yml"))
    assert result.code == 2
    assert result.err.startswith("error: --backend azure:")


REGISTRY_ON_AZURE = "error: --backend azure: the Azure ML model registry arrives"


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["pipeline", "run", "x.yml"],
            "error: --backend azure: Azure ML pipeline runs",
        ),
        (["model", "champion", "churn"], REGISTRY_ON_AZURE),
        (["gate", "--rules", "gate.yml", "--metrics", "m.json"], REGISTRY_ON_AZURE),
    ],
    ids=["pipeline run", "model champion", "gate"],
)
@pytest.mark.parametrize("where", ["before", "after"])
def test_backend_before_or_after_the_subcommand(
    mlops, tmp_path, monkeypatch, argv, expected, where
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gate.yml").write_text(GATE_YML)
    (tmp_path / "m.json").write_text('{"metrics": {"accuracy": 0.9}}')
    flag = ["--backend", "azure"]
    result = mlops(*(flag + argv if where == "before" else argv + flag))
    assert result.code == 2
    assert result.err.startswith(expected), result.err


def test_backend_on_a_group_reaches_its_subcommands(mlops):
    result = mlops("model", "--backend", "azure", "champion", "churn")
    assert (result.code, result.err.startswith(REGISTRY_ON_AZURE)) == (2, True)


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
