"""``mlops release --backend local``: the whole release loop on one machine.

pipeline run -> gate -> register (and promote, when the gate allows) -> scorer
bundle -> deploy the champion locally -> smoke test. A rejected candidate stops
the loop after the gate (its table is the answer); nothing is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mlops_actions.errors import CheckFailed


@dataclass(frozen=True)
class ReleaseRequest:
    pipeline: Path
    overrides: dict[str, str]
    rules: Path
    host: str
    port: int
    state: Path


@dataclass(frozen=True)
class Released:
    run_id: str
    decision: str
    table: str
    version: str
    promoted: bool
    bundle: Path | None
    deployed: Any  # deploy.target.Deployed
    request_file: Path | None  # a request a user can send: the smoke test's


def release(
    request: ReleaseRequest,
    *,
    runner: Any,
    registry: Any,
    say: Callable[[str], None],
    publish: Callable[[Any], str],
) -> Released:
    """Run the loop; ``say`` reports progress, ``publish`` shows the gate table."""
    from mlops_actions.deploy.target import deploy_local
    from mlops_actions.gate.compare import find_candidate, run_gate
    from mlops_actions.gate.rules import load_rules
    from mlops_actions.jsonio import write_json
    from mlops_actions.pipeline.runs import producing_run
    from mlops_actions.records.base import read_record
    from mlops_actions.records.deploy import SmokeRecord
    from mlops_actions.pipeline.spec import load_pipeline
    from mlops_actions.registry.base import Audit, current_commit

    rules = load_rules(request.rules)  # a bad gate.yml stops us before training
    say(f"release: pipeline {request.pipeline}")
    record = runner.run(load_pipeline(request.pipeline), request.overrides)
    folder = request.state / "releases" / record.run_id
    if record.outputs.get("metrics"):
        metrics = Path(record.outputs["metrics"])
    else:
        metrics = Path(record.metrics["path"]).parent
    candidate = find_candidate(metrics, None, request.state)
    candidate = replace(candidate, run_id=record.run_id)
    gate = run_gate(rules, candidate, registry)
    write_json(folder / "gate.json", gate.record)
    table = publish(gate.decision)
    outcome = gate.decision.decision
    if outcome not in ("promote", "first") or rules.mode != "enforce":
        raise CheckFailed(
            f"release stopped at the gate: {outcome} (mode {rules.mode}); "
            f"details in {folder / 'gate.json'}"
        )
    say(f"release: gate decided {outcome}; registering {rules.model}")
    model = record.outputs["model"]
    version, created = registry.register(
        rules.model,
        Path(model),
        evaluation_dir=metrics,
        run_id=producing_run(record.to_json(), model),
        commit=current_commit(),
    )
    champion = gate.record["champion"]
    promoted = not (not created and champion and champion["version"] == version.version)
    if not promoted:
        # Nothing changed since the last release: same run, same commit.
        say(f"release: {rules.model} version {version.version} is already champion")
    else:
        registry.promote(
            rules.model,
            version.version,
            expect_champion=champion["version"] if champion else None,
            audit=Audit.from_env(gate_decision=outcome),
        )
        say(f"release: {rules.model} version {version.version} is the champion")
    bundle = _bundle(record, version, folder, say)
    say(f"release: deploying {rules.model} version {version.version} locally")
    deployed = deploy_local(
        model=None,
        name=rules.model,
        smoke_file=None,
        registry=registry,
        host=request.host,
        port=request.port,
        state=request.state,
    )
    request_file = None
    smoke = metrics / "smoke.json"
    if smoke.is_file():
        request_file = folder / "request.json"
        write_json(request_file, read_record(smoke, SmokeRecord).request)
    return Released(
        request_file=request_file,
        run_id=record.run_id,
        decision=outcome,
        table=table,
        version=version.version,
        promoted=promoted,
        bundle=bundle,
        deployed=deployed,
    )


def _bundle(record: Any, version: Any, folder: Path, say: Callable[[str], None]):
    """The scorer's image build context for the new champion."""
    from mlops_actions.image.context import make_bundle

    out = folder / "bundle"
    make_bundle(
        str(record.outputs["model"]),
        out,
        name=version.name,
        version=version.version,
        commit=version.commit,
    )
    say(f"release: scorer build context in {out} (build it: mlops image build)")
    return out
