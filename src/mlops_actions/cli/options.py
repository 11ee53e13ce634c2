"""Options several commands share, declared once so that their spelling, env
var, type and help read the same wherever they appear.

Each factory returns a Click decorator; a command that needs a different
default or help line passes it, nothing else varies.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from mlops_actions.settings import BACKENDS, DEFAULT_BACKEND


@dataclasses.dataclass(frozen=True)
class Context:
    """What the root group hands every command: the backend chosen (before
    or after the subcommand) and how much to say."""

    backend: str
    verbosity: int


F = TypeVar("F", bound=Callable[..., Any])

FILE = click.Path(path_type=Path, dir_okay=False)


class Port(click.ParamType):
    """A TCP port number, 0 to 65535 (0: the system picks a free one)."""

    name = "port"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = int(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a port number: use 0 to 65535", param, ctx)
        if not 0 <= number <= 65535:
            self.fail(
                f"{number} is out of range for a port: use 0 to 65535 "
                "(0 picks a free one)",
                param,
                ctx,
            )
        return number


PORT = Port()


class FlagNamedOption(click.Option):
    """An option whose automatic env var is named after its flag, not after its
    Python parameter: ``--json`` stored as ``as_json`` reads
    ``MLOPS_<COMMAND>_JSON``, as the MLOPS_<COMMAND>_<OPTION> rule promises."""

    def auto_envvar(self, ctx: click.Context) -> str | None:
        if self.envvar or not ctx.auto_envvar_prefix:
            return None
        flag = max(self.opts, key=len).lstrip("-")
        return f"{ctx.auto_envvar_prefix}_{flag.upper().replace('-', '_')}"

    def resolve_envvar_value(self, ctx: click.Context) -> str | None:
        name = self.auto_envvar(ctx)
        if name is None:
            return super().resolve_envvar_value(ctx)
        return os.environ.get(name) or None

    def get_help_extra(self, ctx: click.Context) -> Any:
        extra = super().get_help_extra(ctx)
        name = self.auto_envvar(ctx)
        if self.show_envvar and name:
            extra["envvars"] = (name,)
        return extra


def envvar_names(param: click.Parameter, ctx: click.Context) -> tuple[str, ...]:
    """Every environment variable ``param`` of ``ctx``'s command reads: its
    ``envvar``, else the ``MLOPS_<COMMAND>_<OPTION>`` name Click derives."""
    if isinstance(param, FlagNamedOption) and (auto := param.auto_envvar(ctx)):
        return (auto,)
    if param.envvar:
        return (param.envvar,) if isinstance(param.envvar, str) else (*param.envvar,)
    if (
        isinstance(param, click.Option)
        and param.allow_from_autoenv
        and ctx.auto_envvar_prefix
        and param.name
    ):
        return (f"{ctx.auto_envvar_prefix}_{param.name.upper()}",)
    return ()


def json_flag(
    help: str = "Print the result as JSON.", **extra: Any
) -> Callable[[F], F]:
    """``--json``: machine output on stdout instead of the text."""
    return click.option(
        "--json",
        "as_json",
        cls=FlagNamedOption,
        is_flag=True,
        show_envvar=True,
        help=help,
        **extra,
    )


def host(
    default: str = "127.0.0.1",
    help: str = "Address to listen on; 0.0.0.0 for every interface.",
    **extra: Any,
) -> Callable[[F], F]:
    """``--host``: where a server listens."""
    return click.option(
        "--host",
        default=default,
        show_default=True,
        show_envvar=True,
        help=help,
        **extra,
    )


def port(
    default: int = 8080, help: str = "Port to listen on.", **extra: Any
) -> Callable[[F], F]:
    """``--port``: one type, one range check and one error wherever it appears."""
    return click.option(
        "--port",
        type=PORT,
        default=default,
        show_default=True,
        show_envvar=True,
        help=help,
        **extra,
    )


def tracking_uri(
    help: str = "MLflow registry [default: MLFLOW_TRACKING_URI, else "
    "sqlite:///.mlops/mlflow.db].",
    **extra: Any,
) -> Callable[[F], F]:
    """``--tracking-uri``: which MLflow server or database holds the models."""
    return click.option(
        "--tracking-uri", metavar="URI", show_envvar=True, help=help, **extra
    )


def out(default: str, help: str) -> Callable[[F], F]:
    """``--out``: where the command writes its record file."""
    return click.option(
        "--out",
        type=FILE,
        default=default,
        show_default=True,
        show_envvar=True,
        help=help,
    )


def model_output(
    help: str = "The pipeline output holding the MLflow model "
    "[default: gate.yml outputs.model, else model].",
) -> Callable[[F], F]:
    """``--model-output``: which pipeline output is the model."""
    return click.option("--model-output", metavar="NAME", show_envvar=True, help=help)


def metrics_output(
    help: str = "The pipeline output holding metrics.json "
    "[default: gate.yml outputs.metrics, else metrics].",
) -> Callable[[F], F]:
    """``--metrics-output``: which pipeline output holds the evaluation."""
    return click.option("--metrics-output", metavar="NAME", show_envvar=True, help=help)


#: where pipeline steps run; the names of pipeline.environments.MODES
ENV_MODES = ("auto", "host", "venv", "container")


def env(default: str, help: str) -> Callable[[F], F]:
    """``--env``: where a pipeline's steps run (see ``mlops pipeline run``)."""
    return click.option(
        "--env",
        type=click.Choice(ENV_MODES),
        default=default,
        show_default=True,
        show_envvar=True,
        help=help,
    )


def backend() -> Callable[[F], F]:
    """The root ``--backend`` (also MLOPS_BACKEND)."""
    return click.option(
        "--backend",
        type=click.Choice(BACKENDS),
        default=DEFAULT_BACKEND,
        show_default=True,
        show_envvar=True,
        help="Where pipelines, registry and deployments run.",
    )


def _backend_later(ctx: click.Context, _param: Any, value: str | None) -> None:
    """``--backend`` given after a subcommand: it overrides the one before (or
    MLOPS_BACKEND) in every context object that carries a backend."""
    if value is None or ctx.resilient_parsing:
        return
    level: click.Context | None = ctx
    while level is not None:
        obj = level.obj
        carries = dataclasses.is_dataclass(obj) and not isinstance(obj, type)
        if carries and hasattr(obj, "backend"):
            level.obj = dataclasses.replace(obj, backend=value)
        level = level.parent


def accept_backend(command: click.Command) -> None:
    """Let ``command`` and every command below it take ``--backend`` too, so
    ``mlops pipeline run F --backend local`` means ``mlops --backend local
    pipeline run F``. Applied once per command, when its module loads."""
    if not any(p.name == "backend" for p in command.params):
        command.params.append(
            click.Option(
                ["--backend"],
                type=click.Choice(BACKENDS),
                expose_value=False,
                allow_from_autoenv=False,
                callback=_backend_later,
                help="Same as `mlops --backend` (either place works).",
            )
        )
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_backend(sub)


def azure_workspace() -> Callable[[F], F]:
    """``--subscription-id``, ``--resource-group``, ``--workspace``: the Azure ML
    workspace, over MLOPS_AZURE_SUBSCRIPTION_ID, MLOPS_AZURE_RESOURCE_GROUP,
    MLOPS_AZURE_WORKSPACE and mlops.yaml's ``azure:`` (read where the
    connection is made, so these flags read no MLOPS_<COMMAND>_* variable)."""
    flags = (
        ("--subscription-id", "MLOPS_AZURE_SUBSCRIPTION_ID", "Azure subscription."),
        ("--resource-group", "MLOPS_AZURE_RESOURCE_GROUP", "The workspace's group."),
        ("--workspace", "MLOPS_AZURE_WORKSPACE", "Azure ML workspace name."),
    )

    def decorate(command: F) -> F:
        for flag, env, text in reversed(flags):
            command = click.option(
                flag,
                default=None,
                allow_from_autoenv=False,
                help=f"{text} [env var: {env}; else mlops.yaml azure:]",
            )(command)
        return command

    return decorate


def workspace_flags(values: dict[str, Any]) -> dict[str, Any]:
    """The workspace flags' values, named as ``resolve_workspace`` takes them."""
    return {
        "subscription_id": values.pop("subscription_id", None),
        "resource_group": values.pop("resource_group", None),
        "workspace": values.pop("workspace", None),
    }


def input_overrides() -> Callable[[F], F]:
    """``--set NAME=VALUE`` (repeatable): a pipeline input's value, or one job's
    (``jobs.NODE.inputs.NAME=VALUE``)."""
    return click.option(
        "--set",
        "overrides",
        multiple=True,
        metavar="NAME=VALUE",
        help="Override a pipeline input, or a job's input as "
        "jobs.NODE.inputs.NAME=VALUE (repeatable).",
    )
