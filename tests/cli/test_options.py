"""The shared options: one port type, --json's env var, --out and --tracking-uri."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from mlops_actions.cli import options


@click.group(context_settings={"auto_envvar_prefix": "MLOPS"})
def root() -> None:
    """A stand-in root with the CLI's env var prefix."""


@root.command()
@options.host()
@options.port()
@options.json_flag()
@options.out("thing.json", "Where the thing goes.")
@options.tracking_uri()
def serve(**values) -> None:
    click.echo(repr(sorted(values.items())))


def run(*argv: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(root, list(argv), env=env)


@pytest.mark.parametrize("port", ["0", "8080", "65535"])
def test_port_in_range(port):
    result = run("serve", "--port", port)
    assert result.exit_code == 0, result.output
    assert f"('port', {int(port)})" in result.output


@pytest.mark.parametrize(
    "port, message",
    [
        ("65536", "65536 is out of range for a port: use 0 to 65535"),
        ("-1", "-1 is out of range for a port: use 0 to 65535"),
        ("http", "'http' is not a port number: use 0 to 65535"),
    ],
)
def test_port_out_of_range_is_one_clear_usage_error(port, message):
    result = run("serve", "--port", port)
    assert result.exit_code == 2
    assert f"Invalid value for '--port': {message}" in result.output


def test_port_from_env_is_checked_the_same_way():
    result = run("serve", env={"MLOPS_SERVE_PORT": "70000"})
    assert result.exit_code == 2
    assert "70000 is out of range for a port" in result.output


def test_json_reads_the_env_var_named_after_the_flag():
    assert "('as_json', True)" in run("serve", env={"MLOPS_SERVE_JSON": "1"}).output
    assert "('as_json', False)" in run("serve", env={"MLOPS_SERVE_JSON": ""}).output
    assert "('as_json', False)" in run("serve", env={"MLOPS_SERVE_AS_JSON": "1"}).output


def test_defaults_and_help():
    result = run("serve")
    assert "('host', '127.0.0.1')" in result.output
    assert "('out', PosixPath('thing.json'))" in result.output
    assert "('tracking_uri', None)" in result.output
    text = " ".join(run("serve", "--help").output.split())
    assert "env var: MLOPS_SERVE_PORT" in text
    assert "env var: MLOPS_SERVE_OUT" in text
    assert "env var: MLOPS_SERVE_TRACKING_URI" in text


def test_out_refuses_a_folder(tmp_path):
    result = run("serve", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert "is a directory" in result.output
