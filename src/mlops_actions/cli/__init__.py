"""The ``mlops`` command: a root group whose subcommands load on first use.

Typed errors become exit codes here and nowhere else.
"""

from __future__ import annotations

import importlib
import sys
import traceback

import click

from mlops_actions import __version__
from mlops_actions.cli import options
from mlops_actions.cli.options import Context
from mlops_actions.errors import ExitCode, MlopsError
from mlops_actions.settings import ENV_PREFIX, debug_enabled

#: command name -> "module:attribute"; importing one never imports the others.
COMMANDS = {
    "pipeline": "mlops_actions.cli.pipeline:pipeline",
    "lint-test": "mlops_actions.cli.lint_test:lint_test",
    "model": "mlops_actions.cli.model:model",
    "gate": "mlops_actions.cli.gate:gate",
    "scorer": "mlops_actions.cli.scorer:scorer",
    "image": "mlops_actions.cli.image:image",
    "deploy": "mlops_actions.cli.deploy:deploy",
    "release": "mlops_actions.cli.release:release",
    "data": "mlops_actions.cli.data:data",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when invoked or listed.

    Each command it loads also takes ``--backend`` after its name (see
    :func:`options.accept_backend`).
    """

    def __init__(self, *args, lazy: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, _, attr = self.lazy[name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            options.accept_backend(command)
            return command
        return super().get_command(ctx, name)


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={
        "auto_envvar_prefix": ENV_PREFIX,
        "help_option_names": ["-h", "--help"],
        "max_content_width": 100,
    },
)
@options.backend()
@click.option("-v", "--verbose", count=True, help="More output (repeatable).")
@click.option("-q", "--quiet", count=True, help="Less output (repeatable).")
@click.version_option(__version__, prog_name="mlops")
@click.pass_context
def cli(ctx: click.Context, backend: str, verbose: int, quiet: int) -> None:
    """MLOps loop as GitHub Actions: pipeline, gate, registry, scorer, rollout.

    Every option also reads an environment variable, MLOPS_<COMMAND>_<OPTION>
    (for example MLOPS_PIPELINE_RUN_CACHE); see each command's --help.
    --backend may also follow the subcommand: `mlops pipeline run F --backend
    local` is `mlops --backend local pipeline run F`.
    """
    ctx.obj = Context(backend=backend, verbosity=verbose - quiet)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and map every outcome to a documented exit code."""
    try:
        rc = cli.main(args=argv, prog_name="mlops", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(ExitCode.BACKEND)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE)
    except MlopsError as exc:
        from mlops_actions import gha

        gha.error(exc.message)  # an annotation on the run, inside Actions only
        # One line, always: a value with a newline must not start a log line
        # of its own, where the runner would read it as a workflow command.
        message = exc.message.replace("\r", "\\r").replace("\n", "\\n")
        click.echo(f"error: {message}", err=True)
        if exc.detail:
            click.echo(exc.detail.rstrip("\n"), err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        sys.exit(ExitCode.BACKEND)
    except Exception as exc:  # noqa: BLE001 - the one place bugs are caught
        if debug_enabled():
            traceback.print_exc()
        else:
            click.echo(
                f"internal error: {type(exc).__name__}: {exc} "
                "(set MLOPS_DEBUG=1 for the traceback)",
                err=True,
            )
        sys.exit(ExitCode.INTERNAL)
    sys.exit(rc if isinstance(rc, int) else ExitCode.OK)
