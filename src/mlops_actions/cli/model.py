"""``mlops model``: register versions and move the champion, with an audit trail."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlops_actions.cli import options
from mlops_actions.errors import UsageError

if TYPE_CHECKING:
    from mlops_actions.registry.base import HistoryEntry, ModelVersion, Registry
    from mlops_actions.registry.register import Registration

DIR = click.Path(path_type=Path, file_okay=False, exists=True)
FILE = options.FILE
JSON = options.json_flag()


@dataclass(frozen=True)
class Target:
    backend: str
    tracking_uri: str | None

    def open(self) -> Registry:
        from mlops_actions.registry import open_registry

        return open_registry(self.backend, tracking_uri=self.tracking_uri)


@click.group()
@options.tracking_uri()
@click.pass_context
def model(ctx: click.Context, tracking_uri: str | None) -> None:
    """Register model versions; promote, roll back and audit the champion."""
    ctx.obj = Target(backend=ctx.obj.backend, tracking_uri=tracking_uri)


@model.command()
@click.option("--name", required=True, show_envvar=True, help="Registered model name.")
@click.option(
    "--run",
    metavar="RUN_ID|latest",
    show_envvar=True,
    help="Register the model and metrics outputs of this `mlops pipeline run`.",
)
@options.model_output(
    "With --run: the output holding the MLflow model [default: model]."
)
@options.metrics_output(
    "With --run: the output holding metrics.json [default: metrics]."
)
@click.option("--model-dir", type=DIR, show_envvar=True, help="An MLflow model folder.")
@click.option(
    "--evaluation-dir",
    type=DIR,
    show_envvar=True,
    help="Its metrics.json + predictions.parquet folder (with --model-dir).",
)
@click.option(
    "--commit",
    metavar="SHA",
    show_envvar=True,
    help="[default: GITHUB_SHA, else git rev-parse HEAD]",
)
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Repeatable.")
@click.option(
    "--gate",
    type=FILE,
    show_envvar=True,
    help="gate.json: promote the version when the gate decided promote or first, "
    "over the champion it compared against.",
)
@options.out("model.json", "Where to write the model record.")
@JSON
@click.pass_obj
def register(
    target: Target,
    name: str,
    run: str | None,
    model_output: str | None,
    metrics_output: str | None,
    model_dir: Path | None,
    evaluation_dir: Path | None,
    commit: str | None,
    tags: tuple[str, ...],
    gate: Path | None,
    out: Path,
    as_json: bool,
) -> None:
    """Register a model version, once per pipeline run and commit.

    Re-running for the same run and commit finds the version registered before
    and registers nothing. With --gate, the version then becomes the champion
    if the gate allowed it. Writes model.json (--out) and, inside GitHub
    Actions, the outputs model-uri, model-version and promoted. Without --run
    or --model-dir, registers the latest pipeline run.
    """
    from mlops_actions.registry.register import register_model

    done = register_model(
        target.open,
        name,
        run=run,
        model_dir=model_dir,
        evaluation_dir=evaluation_dir,
        commit=commit,
        tags=_pairs(tags),
        gate=gate,
        out=out,
        model_output=model_output,
        metrics_output=metrics_output,
    )
    _show_registration(done, as_json)


@model.command()
@click.argument("name")
@click.argument("version")
@click.option(
    "--expect-champion",
    required=True,
    metavar="VERSION|none",
    show_envvar=True,
    help="The champion the gate compared against; if it moved since, nothing "
    "changes and the exit code is 1.",
)
@click.option(
    "--gate",
    type=FILE,
    show_envvar=True,
    help="gate.json: refuse (exit 2) unless it decided promote or first "
    "against --expect-champion.",
)
@click.option("--reason", default="", show_envvar=True, help="Kept in the history.")
@JSON
@click.pass_obj
def promote(
    target: Target,
    name: str,
    version: str,
    expect_champion: str,
    gate: Path | None,
    reason: str,
    as_json: bool,
) -> None:
    """Make VERSION of NAME the champion, if the champion is still the one
    expected; the old one becomes previous-champion."""
    from mlops_actions.registry.base import Audit
    from mlops_actions.registry.records import gate_decision

    expected = None if expect_champion.lower() == "none" else expect_champion
    decision = gate_decision(gate, expected) if gate else None
    audit = Audit.from_env(gate_decision=decision, reason=reason)
    entry = target.open().promote(name, version, expect_champion=expected, audit=audit)
    _moved(name, entry, as_json)
    if not as_json:
        click.echo(
            f"promoted {name} version {entry.version} to champion "
            f"(was {entry.previous or 'none'})"
        )


@model.command()
@click.argument("name")
@click.option("--reason", default="", show_envvar=True, help="Kept in the history.")
@JSON
@click.pass_obj
def rollback(target: Target, name: str, reason: str, as_json: bool) -> None:
    """Point NAME's champion back at its previous champion."""
    from mlops_actions.registry.base import Audit

    entry = target.open().rollback(name, audit=Audit.from_env(reason=reason))
    _moved(name, entry, as_json)
    if not as_json:
        click.echo(
            f"rolled back {name}: champion is version {entry.version} again "
            f"(was {entry.previous or 'none'})"
        )


@model.command()
@click.argument("name")
@JSON
@click.pass_obj
def history(target: Target, name: str, as_json: bool) -> None:
    """NAME's registrations, promotions and rollbacks, oldest first."""
    entries = target.open().history(name)
    if as_json:
        click.echo(json.dumps([e.to_json() for e in entries], indent=2))
        return
    rows = [("time", "action", "version", "previous", "actor", "commit", "gate")]
    rows += [
        (
            e.time,
            e.action,
            e.version,
            e.previous or "-",
            e.audit.actor,
            (e.audit.commit or "-")[:12],
            e.audit.gate_decision or "-",
        )
        for e in entries
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


@model.command()
@click.argument("name")
@JSON
@click.pass_obj
def champion(target: Target, name: str, as_json: bool) -> None:
    """Show NAME's champion: its URI, version, provenance and metrics."""
    from mlops_actions import gha

    found = target.open().champion(name)
    gha.set_outputs(
        {
            "model-uri": found.uri if found else "",
            "model-version": found.version if found else "",
        }
    )
    if as_json:
        click.echo(json.dumps(asdict(found) if found else None, indent=2))
    elif found is None:
        click.echo(f"{name} has no champion")
    else:
        _show(found)


def _show(found: ModelVersion) -> None:
    click.echo(f"champion of {found.name}: version {found.version} ({found.uri})")
    width = max([len("promoted"), *map(len, found.metrics)])
    for label, value in (
        ("run", found.run_id),
        ("commit", found.commit),
        ("digest", found.digest),
        ("created", found.created),
        ("promoted", found.tags.get("mlops.promoted_at")),
        ("by", found.tags.get("mlops.promoted_by")),
        ("gate", found.tags.get("mlops.gate_decision")),
    ):
        click.echo(f"  {label:<{width}}  {value or '-'}")
    for metric, number in sorted(found.metrics.items()):
        click.echo(f"  {metric:<{width}}  {number:.4f}")


def _show_registration(done: Registration, as_json: bool) -> None:
    """Outputs for later steps, then model.json or the text lines."""
    from mlops_actions import gha

    version, promoted = done.version, done.promoted
    gha.set_outputs(
        {
            "model-uri": version.uri,
            "model-version": version.version,
            "promoted": bool(promoted),
        }
    )
    if as_json:
        click.echo(json.dumps(done.record, indent=2))
        return
    click.echo(_registered(version, done.created))
    if promoted:
        click.echo(
            f"promoted {version.name} version {promoted.version} to champion "
            f"(was {promoted.previous or 'none'})"
        )
    elif done.not_promoted:
        click.echo(f"not promoted: {done.not_promoted}")


def _registered(version: ModelVersion, created: bool) -> str:
    head = f"{version.name} version {version.version}"
    if created:
        return f"registered {head} ({version.uri})"
    if version.run_id:
        source = f"run {version.run_id}"
    else:
        source = f"model digest {(version.digest or '')[:12]}"
    at = f" at commit {version.commit}" if version.commit else ""
    return f"already registered: {head} for {source}{at}"


def _moved(name: str, entry: HistoryEntry, as_json: bool) -> None:
    from mlops_actions import gha

    gha.set_outputs(
        {
            "model-uri": f"models:/{name}/{entry.version}",
            "model-version": entry.version,
            "previous-version": entry.previous or "",
        }
    )
    if as_json:
        click.echo(json.dumps(entry.to_json(), indent=2))


def _pairs(tags: tuple[str, ...]) -> dict[str, str]:
    pairs = {}
    for item in tags:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--tag {item!r}: use KEY=VALUE")
        pairs[key] = value
    return pairs
