"""`mlops deploy` as a group: `deploy local`, `deploy stop`, the deploy record."""

from __future__ import annotations

import json
import socket
from pathlib import Path

MODEL = Path(__file__).resolve().parents[1] / "scorer" / "fixtures" / "slow"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_json_output_is_the_deploy_record_the_target_keeps(tmp_path, mlops_process):
    port = free_port()
    result = mlops_process(
        "deploy",
        "local",
        "--model",
        str(MODEL),
        "--port",
        str(port),
        "--json",
        cwd=tmp_path,
    )
    try:
        assert result.returncode == 0, result.stderr
        printed = json.loads(result.stdout)
        kept = json.loads((tmp_path / ".mlops" / "deploy" / "deploy.json").read_text())
        assert printed == kept
        assert list(printed)[:4] == ["schema", "version", "target", "url"]
        assert (printed["schema"], printed["target"]) == (
            "mlops-actions/deploy",
            "local",
        )
        assert printed["url"] == f"http://127.0.0.1:{port}"
        assert (printed["model"], printed["model_version"]) == (str(MODEL), None)
        assert printed["version"] == 1
        # MLflow's serving example: the answer's shape is checked
        assert printed["smoke"]["ok"] and printed["smoke"]["rows"] == 2
    finally:
        stopped = mlops_process("deploy", "stop", cwd=tmp_path)
    assert stopped.stdout == f"stopped {printed['url']} (pid {printed['pid']})\n"
    # stopping keeps the record of what was deployed
    assert (tmp_path / ".mlops" / "deploy" / "deploy.json").is_file()


def test_options_before_the_subcommand_are_refused(mlops, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = mlops("deploy", "--name", "m", "local")
    assert (result.code, result.err) == (
        2,
        "error: --name before local: put the options after the subcommand: "
        "mlops deploy local --name ...\n",
    )


def test_old_target_spelling_still_reads_its_env_var(mlops, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_DEPLOY_TARGET", "aks")
    result = mlops("deploy", "--stop")
    assert result.code == 2
    assert "Invalid value for '--target'" in result.err


def test_group_help_lists_its_commands(mlops):
    result = mlops("deploy", "--help")
    assert result.code == 0
    listed = result.out.split("Commands:\n", 1)[1].splitlines()
    names = [line.split()[0] for line in listed if line.startswith("  ")]
    assert names == ["aks", "local", "render", "rollback", "stop"]
    assert "mlops deploy --stop" in result.out  # the old spelling is documented


def test_stop_with_nothing_running(mlops, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for spelling in (("deploy", "stop"), ("deploy", "--stop")):
        result = mlops(*spelling)
        assert (result.code, result.out) == (0, "no local deployment is running\n")
