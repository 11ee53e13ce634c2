"""``mlops scorer``: serve an MLflow model over HTTP."""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Any

import click

from mlops_actions.cli import options
from mlops_actions.cli.options import Context
from mlops_actions.scorer.config import LOG_FORMATS, default

DIR = click.Path(path_type=Path, file_okay=False)


@click.group()
def scorer() -> None:
    """Serve MLflow models over HTTP (`mlops image` packages the server)."""


@scorer.command()
@click.argument("model")
@options.host(
    default("host"),
    "Address to listen on; 0.0.0.0 for every interface (in a container).",
)
@options.port(default("port"))
@click.option(
    "--max-batch-rows",
    type=click.IntRange(min=1),
    default=default("max_batch_rows"),
    show_default=True,
    show_envvar=True,
    help="Most rows coalesced into one predict call; 1 turns micro-batching off.",
)
@click.option(
    "--max-wait-ms",
    type=click.FloatRange(min=0),
    default=default("max_wait_ms"),
    show_default=True,
    show_envvar=True,
    help="Most a batch waits for the next request of clients sending right now; "
    "an idle server never waits.",
)
@click.option(
    "--body-limit",
    type=click.IntRange(min=1),
    default=default("body_limit"),
    metavar="BYTES",
    show_default=True,
    show_envvar=True,
    help="Larger request bodies get 413, unread.",
)
@click.option(
    "--log-inputs",
    type=DIR,
    default=default("log_inputs"),
    metavar="DIR",
    show_envvar=True,
    help="Write sampled input rows here, for drift monitoring.",
)
@click.option(
    "--log-sample-rate",
    type=click.FloatRange(0, 1),
    default=default("log_sample_rate"),
    show_default=True,
    show_envvar=True,
    help="Share of requests whose rows --log-inputs writes.",
)
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default=default("log_format"),
    show_default=True,
    show_envvar=True,
)
@click.option(
    "--log-rotate-bytes",
    type=click.IntRange(min=1),
    default=default("log_rotate_bytes"),
    show_default=True,
    show_envvar=True,
    help="Start a new input log file past this size...",
)
@click.option(
    "--log-rotate-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=default("log_rotate_seconds"),
    show_default=True,
    show_envvar=True,
    help="...or this age.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=default("threads"),
    show_envvar=True,
    help="Intra-op threads of the model's numeric libraries (OpenMP, MKL, "
    "torch) [default: OMP_NUM_THREADS, else 1].",
)
@click.option(
    "--header-limit",
    type=click.IntRange(min=1),
    default=default("header_limit"),
    metavar="BYTES",
    show_default=True,
    show_envvar=True,
    help="A request line and headers larger than this get 431 and the "
    "connection is closed.",
)
@click.option(
    "--request-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=default("request_timeout"),
    metavar="SECONDS",
    show_default=True,
    show_envvar=True,
    help="A request whose headers and body are not all in this long after its "
    "first byte gets 408; an answer left unread this long closes the "
    "connection too.",
)
@click.option(
    "--keep-alive-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=default("keep_alive_timeout"),
    metavar="SECONDS",
    show_default=True,
    show_envvar=True,
    help="Close a connection idle this long (no request in progress).",
)
@click.option(
    "--instance-id",
    metavar="ID",
    default=None,  # the config's random one, made per process
    show_envvar=True,
    help="Reported by /health/ready as `instance`, so whoever started this "
    "scorer can tell it from another server on the port [default: random].",
)
@click.pass_obj
def serve(obj: Context, model: str, **options: Any) -> None:
    """Serve MODEL (an MLflow model folder, or models:/NAME@ALIAS) over HTTP.

    Drop-in for `mlflow models serve`: POST /invocations speaks MLflow's
    scoring protocol (dataframe_split, dataframe_records, instances, inputs,
    CSV); GET /ping, /health, /version. Also /health/live, /health/ready,
    /metrics (Prometheus) and /docs. The model loads and answers a warm-up
    prediction before the port opens; SIGTERM drains in-flight requests and
    exits 0. Exits 2 when MODEL is not an MLflow model or the port is in use,
    3 when the model fails to load, 4 without the `serve` extra.

    Input is checked against the model's signature before predict: bad JSON
    400; unknown or missing columns, wrong types or shapes 422 naming the
    field; a body over --body-limit 413 (a gzip or deflate body is decoded,
    and the limit applies to it decoded; another Content-Encoding is 415). A
    missing value is null (JSON) or an empty cell (CSV) in an optional column;
    NaN and Infinity are not JSON (400), and a CSV number is read as a JSON
    number (nan, inf, 3_9.1 are 422). A key twice in one JSON object is 422.
    A finite value the model cannot compute with (the reference model: 1e308,
    past float32 once standardised) is 422 naming the column, when the model
    says so with MLflow's INVALID_PARAMETER_VALUE as the reference model does.
    """
    from mlops_actions.scorer.config import ScorerConfig
    from mlops_actions.scorer.http.server import Started, serve as run_server

    if options["instance_id"] is None:
        del options["instance_id"]  # the config's random default
    config = ScorerConfig(model_uri=model, **options)

    def listening(started: Started) -> None:
        _log_to_stderr(obj.verbosity)
        batching = (
            f"micro-batching up to {config.max_batch_rows} rows"
            if config.max_batch_rows > 1
            else "micro-batching off"
        )
        click.echo(
            f"serving {model} at {started.url} (loaded in "
            f"{started.load_seconds:.1f} s; {batching})",
            err=True,
        )

    run_server(config, on_listening=listening)


def _log_to_stderr(verbosity: int) -> None:
    """The server's own log lines (no access log) on stderr, once."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    level = logging.WARNING if verbosity < 0 else logging.INFO
    for name in ("mlops_actions.scorer", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False


def _attach_bundle() -> None:
    # `mlops scorer bundle` is `mlops image bundle` under its old name, kept
    # for one release: the same options, env vars and outputs, and a help and
    # a warning on stderr that name the new spelling.
    from mlops_actions.cli.image_bundle import bundle

    scorer.add_command(
        click.Command(
            "bundle",
            params=bundle.params,
            callback=bundle.callback,
            help="Deprecated: use `mlops image bundle` (same options, same "
            "outputs); this name goes in the next release.\n\n"
            + inspect.cleandoc(bundle.help or ""),
            short_help="Old name of `mlops image bundle`, for one release.",
            deprecated="Use `mlops image bundle`.",
            context_settings=bundle.context_settings,
        )
    )


_attach_bundle()
