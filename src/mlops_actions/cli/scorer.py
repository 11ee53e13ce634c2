"""``mlops scorer``: serve an MLflow model over HTTP."""

from __future__ import annotations

import logging
from pathlib import Path

import click

DIR = click.Path(path_type=Path, file_okay=False)


@click.group()
def scorer() -> None:
    """Serve MLflow models over HTTP, and package the server."""


@scorer.command()
@click.argument("model")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    show_envvar=True,
    help="Address to listen on; 0.0.0.0 for every interface (in a container).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    show_envvar=True,
)
@click.option(
    "--max-batch-rows",
    type=click.IntRange(min=1),
    default=256,
    show_default=True,
    show_envvar=True,
    help="Most rows coalesced into one predict call; 1 turns micro-batching off.",
)
@click.option(
    "--max-wait-ms",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    show_envvar=True,
    help="Most a batch waits for the next request of clients sending right now; "
    "an idle server never waits.",
)
@click.option(
    "--body-limit",
    type=click.IntRange(min=1),
    default=1 << 20,
    metavar="BYTES",
    show_default=True,
    show_envvar=True,
    help="Larger request bodies get 413, unread.",
)
@click.option(
    "--log-inputs",
    type=DIR,
    metavar="DIR",
    show_envvar=True,
    help="Write sampled input rows here, for drift monitoring.",
)
@click.option(
    "--log-sample-rate",
    type=click.FloatRange(0, 1),
    default=1.0,
    show_default=True,
    show_envvar=True,
    help="Share of requests whose rows --log-inputs writes.",
)
@click.option(
    "--log-format",
    type=click.Choice(["jsonl", "parquet"]),
    default="jsonl",
    show_default=True,
    show_envvar=True,
)
@click.option(
    "--log-rotate-bytes",
    type=click.IntRange(min=1),
    default=64 << 20,
    show_default=True,
    show_envvar=True,
    help="Start a new input log file past this size...",
)
@click.option(
    "--log-rotate-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=300.0,
    show_default=True,
    show_envvar=True,
    help="...or this age.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    show_envvar=True,
    help="Intra-op threads of the model's numeric libraries (OpenMP, MKL, "
    "torch) [default: OMP_NUM_THREADS, else 1].",
)
@click.pass_obj
def serve(obj, model: str, **options) -> None:
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
    field; a body over --body-limit 413. A missing value is null (JSON) or an
    empty cell (CSV) in an optional column; NaN and Infinity are not JSON
    (400), and nan/inf in a CSV numeric column is 422.
    """
    from mlops_actions.scorer.config import ScorerConfig
    from mlops_actions.scorer.server import Started, serve as run_server

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
    # The bundle command lives in its own module (it is about images, not
    # serving); attaching it here keeps `mlops scorer --help` listing both.
    from mlops_actions.cli.scorer_bundle import bundle

    scorer.add_command(bundle)


_attach_bundle()
