"""Checks over every command the CLI has, found by walking its command tree
(lazy groups included), so a new command is covered without being listed."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import yaml

from mlops_actions.cli import cli
from mlops_actions.cli.options import envvar_names
from mlops_actions.settings import NOT_OPTIONS

ROOT = Path(__file__).resolve().parents[2]
#: what `--help` must not import: the SDKs and what only a command body needs
HEAVY = (
    "azure", "mlflow", "torch", "pandas", "numpy", "sklearn", "yaml",
    "fastapi", "uvicorn", "starlette", "orjson",
)  # fmt: skip

PROBE = """
import json, sys
from mlops_actions.cli import main
try:
    main({argv!r})
except SystemExit as exc:
    code = exc.code
print(json.dumps({{"code": code, "modules": sorted(sys.modules)}}))
"""


def command_tree() -> Iterator[tuple[tuple[str, ...], click.Command, click.Context]]:
    """``(words, command, context)`` for ``mlops`` and every command below it,
    each context set up as Click sets it up for a real invocation (so its
    ``auto_envvar_prefix`` is the one options read)."""
    root = click.Context(cli, info_name="mlops", **cli.context_settings)
    todo: list[tuple[tuple[str, ...], click.Command, click.Context]] = [((), cli, root)]
    while todo:
        words, command, ctx = todo.pop(0)
        yield words, command, ctx
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, f"mlops {' '.join(words)} lists {name}"
                sub_ctx = click.Context(
                    sub, info_name=name, parent=ctx, **sub.context_settings
                )
                todo.append(((*words, name), sub, sub_ctx))


COMMANDS = [words for words, _, _ in command_tree()]


def test_the_walk_reaches_lazy_groups_and_their_subcommands():
    assert ("pipeline", "run") in COMMANDS
    assert ("model", "register") in COMMANDS
    assert ("scorer", "bundle") in COMMANDS  # attached by the scorer module
    assert len(COMMANDS) > 15


@pytest.mark.parametrize("words", COMMANDS, ids=lambda w: " ".join(w) or "mlops")
def test_help_exits_0_and_imports_no_sdk(words):
    argv = [*words, "--help"]
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["code"] == 0, proc.stderr
    heavy = [m for m in report["modules"] if m.split(".")[0] in HEAVY]
    assert heavy == []


def option_envvars() -> set[str]:
    """Every environment variable some option or argument of the CLI reads."""
    return {
        name
        for _, command, ctx in command_tree()
        for param in command.params
        for name in envvar_names(param, ctx)
    }


def action_files() -> list[Path]:
    return [ROOT / "action.yml", *sorted((ROOT / "actions").glob("*/action.yml"))]


def passed_names(action: Path) -> set[str]:
    """The MLOPS_* names ``action``'s steps pass in ``env:``."""
    steps = (yaml.safe_load(action.read_text())["runs"] or {}).get("steps") or []
    return {
        name
        for step in steps
        for name in step.get("env") or {}
        if name.startswith("MLOPS_")
    }


def unread(names: set[str]) -> list[str]:
    """The names no option reads and settings.NOT_OPTIONS does not document."""
    return sorted(names - option_envvars() - set(NOT_OPTIONS))


@pytest.mark.parametrize(
    "action", action_files(), ids=lambda p: str(p.parent.relative_to(ROOT))
)
def test_every_mlops_name_an_action_passes_is_read(action):
    names = passed_names(action)
    assert names, f"{action} passes no MLOPS_* variable"
    assert unread(names) == [], f"{action}: no option reads these"


def test_a_misspelt_name_would_be_caught():
    assert unread({"MLOPS_GATE_RULES", "MLOPS_BACKEND"}) == []
    assert unread({"MLOPS_GATE_RULE", "MLOPS_PIPELINE_RUN_BACKEND"}) == [
        "MLOPS_GATE_RULE",
        "MLOPS_PIPELINE_RUN_BACKEND",
    ]


def test_env_names_follow_the_command_path():
    names = option_envvars()
    assert {
        "MLOPS_BACKEND",
        "MLOPS_MODEL_TRACKING_URI",
        "MLOPS_MODEL_REGISTER_OUT",
        "MLOPS_GATE_JSON",  # the flag's name, not the parameter's (as_json)
        "MLOPS_IMAGE_BUILD_CONTEXT",  # an argument's own envvar
    } <= names
    assert "MLOPS_GATE_AS_JSON" not in names
    assert not names & set(NOT_OPTIONS), "a documented non-option is an option"


def test_the_smoke_option_reads_its_flags_env_var_not_smoke_file():
    # `--smoke` is stored as smoke_file; Click's own rule named its variable
    # MLOPS_DEPLOY_LOCAL_SMOKE_FILE, so an action's MLOPS_DEPLOY_*_SMOKE was
    # silently ignored
    names = option_envvars()
    assert {"MLOPS_DEPLOY_LOCAL_SMOKE", "MLOPS_DEPLOY_AKS_SMOKE"} <= names
    assert not {"MLOPS_DEPLOY_LOCAL_SMOKE_FILE", "MLOPS_DEPLOY_AKS_SMOKE_FILE"} & names
