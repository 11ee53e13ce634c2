"""``mlops release``: the whole release loop, over the backend interfaces.

pipeline run -> gate -> register (and promote, when the gate allows) -> scorer
bundle -> deploy the champion -> smoke test. A rejected candidate stops the
loop after the gate (its table is the answer); nothing is registered.

The loop holds a :class:`PipelineBackend`, a :class:`Registry` and a
:class:`DeployTarget` only: which implementations (local today, Azure ML and
AKS later) is the caller's choice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from mlops_actions.deploy.base import Deployed, DeployTarget
from mlops_actions.deploy.smoke import load_smoke
from mlops_actions.deploy.target import deploy_model
from mlops_actions.errors import CheckFailed, UsageError
from mlops_actions.gate.compare import (
    GateRun,
    MeasuredCandidate,
    find_candidate,
    run_gate,
)
from mlops_actions.gate.decision import Decision
from mlops_actions.gate.rules import OutputNames, load_rules, output_names
from mlops_actions.image.context import make_bundle
from mlops_actions.jsonio import write_json
from mlops_actions.pipeline.backend import PipelineBackend
from mlops_actions.pipeline.outputs import require_model_output
from mlops_actions.pipeline.runs import producing_run
from mlops_actions.pipeline.spec import Pipeline, load_pipeline
from mlops_actions.records.gate import PASSING
from mlops_actions.records.pipeline import RunRecord
from mlops_actions.registry.base import Audit, ModelVersion, Registry, current_commit

NEEDS_IMAGE = (
    "--target {target} deploys an image: pass --image-tag REPOSITORY:TAG to build "
    "and push one"
)


@dataclass(frozen=True)
class ReleaseRequest:
    pipeline: Path
    overrides: dict[str, str]
    rules: Path
    #: where the loop's records go: ``<state>/releases/<run-id>/``
    state: Path
    #: the pipeline outputs to read, over gate.yml's ``outputs:``
    model_output: str | None = None
    metrics_output: str | None = None


@dataclass(frozen=True)
class Released:
    run_id: str
    decision: str
    table: str
    version: str
    promoted: bool
    bundle: Path | None
    deployed: Deployed
    request_file: Path | None  # a request a user can send: the smoke test's


def release(
    request: ReleaseRequest,
    *,
    pipelines: PipelineBackend,
    registry: Registry,
    target: DeployTarget,
    say: Callable[[str], None],
    publish: Callable[[Decision], str],
    images: Callable[[Path], str] | None = None,
) -> Released:
    """Run the loop; ``say`` reports progress, ``publish`` shows the gate table.

    ``images`` builds and pushes the scorer image from the bundle and gives
    its reference by digest: what a target that runs images (``aks``)
    deploys."""
    if not target.loads_model and images is None:
        raise UsageError(NEEDS_IMAGE.format(target=target.name))
    rules = load_rules(request.rules)  # a bad gate.yml stops us before training
    names = output_names(
        rules, model=request.model_output, metrics=request.metrics_output
    )
    pipeline = load_pipeline(request.pipeline)
    require_model_output(pipeline, names.model, request.pipeline)
    say(f"release: pipeline {request.pipeline}")
    trained = _train(pipelines, pipeline, request, names)
    folder = request.state / "releases" / trained.record.run_id
    gate = run_gate(rules, trained.candidate(request.state), registry)
    write_json(folder / "gate.json", gate.record)
    table = publish(gate.decision)
    outcome = gate.decision.decision
    if outcome not in PASSING or rules.mode != "enforce":
        raise CheckFailed(
            f"release stopped at the gate: {outcome} (mode {rules.mode}); "
            f"details in {folder / 'gate.json'}"
        )
    say(f"release: gate decided {outcome}; registering {rules.model}")
    version, promoted = _register(registry, rules.model, trained, gate, outcome)
    say(
        f"release: {rules.model} version {version.version} is "
        + ("the champion" if promoted else "already champion")
    )
    bundle = _bundle(trained.model, version, folder, say)
    where = "locally" if target.name == "local" else f"to {target.name}"
    request_file = _request_file(trained, folder)
    image = None
    if not target.loads_model and images is not None:
        image = images(bundle)
        say(f"release: pushed {image}")
    say(f"release: deploying {rules.model} version {version.version} {where}")
    deployed = deploy_model(
        target,
        model=None,
        name=rules.model,
        smoke_file=None,
        registry=registry,
        image=image,
    )
    return Released(
        request_file=request_file,
        run_id=trained.record.run_id,
        decision=outcome,
        table=table,
        version=version.version,
        promoted=promoted,
        bundle=bundle,
        deployed=deployed,
    )


@dataclass(frozen=True)
class _Trained:
    """A finished pipeline run: its record, model folder and evaluation."""

    record: RunRecord
    model: Path
    metrics: Path

    def candidate(self, state: Path) -> MeasuredCandidate:
        found = find_candidate(self.metrics, None, state)
        return replace(found, run_id=self.record.run_id)


def _train(
    pipelines: PipelineBackend,
    pipeline: Pipeline,
    request: ReleaseRequest,
    names: OutputNames,
) -> _Trained:
    submitted = pipelines.submit(pipeline, request.overrides)
    submitted.wait()
    record = submitted.record()
    outputs = submitted.outputs()
    if outputs.get(names.metrics):
        metrics = Path(outputs[names.metrics])
    elif record.metrics.get("path"):
        metrics = Path(record.metrics["path"]).parent
    else:
        raise UsageError(
            f"run {record.run_id}: the pipeline has no `{names.metrics}` output "
            f"(its outputs: {', '.join(sorted(outputs)) or 'none'}) and no step "
            "wrote metrics.json: name the output holding metrics.json with "
            "outputs.metrics in gate.yml or --metrics-output"
        )
    if not outputs.get(names.model):
        raise UsageError(
            f"run {record.run_id}: the pipeline's `{names.model}` output is empty: "
            "the step bound to it wrote no MLflow model folder"
        )
    return _Trained(record, Path(outputs[names.model]), metrics)


def _register(
    registry: Registry, name: str, trained: _Trained, gate: GateRun, outcome: str
) -> tuple[ModelVersion, bool]:
    """Register the trained model (once per run and commit) and promote it."""
    version, created = registry.register(
        name,
        trained.model,
        evaluation_dir=trained.metrics,
        run_id=producing_run(trained.record.to_json(), str(trained.model)),
        commit=current_commit(),
        data=trained.record.data,
    )
    champion = gate.record["champion"]
    return version, _promote(registry, name, version, created, champion, outcome)


def _request_file(trained: _Trained, folder: Path) -> Path | None:
    """A request a user can send to the new scorer: the smoke test's (the
    recorded one, else the model's serving input example)."""
    from mlops_actions.scorer.model.loading import EXAMPLE, read_example

    smoke = trained.metrics / "smoke.json"
    request_file = folder / "request.json"
    if smoke.is_file():
        write_json(request_file, load_smoke(smoke)["request"])
        return request_file
    example = read_example(trained.model / EXAMPLE)
    if example is None:
        return None
    request_file.parent.mkdir(parents=True, exist_ok=True)
    request_file.write_bytes(example)
    return request_file


def _promote(
    registry: Registry,
    name: str,
    version: ModelVersion,
    created: bool,
    champion: dict | None,
    outcome: str,
) -> bool:
    """Move the champion to ``version``; False when it already is (same run,
    same commit: nothing changed since the last release)."""
    if not created and champion and champion["version"] == version.version:
        return False
    registry.promote(
        name,
        version.version,
        expect_champion=champion["version"] if champion else None,
        audit=Audit.from_env(gate_decision=outcome),
    )
    return True


def _bundle(
    model: Path, version: ModelVersion, folder: Path, say: Callable[[str], None]
) -> Path:
    """The scorer's image build context for the new champion."""
    out = folder / "bundle"
    make_bundle(
        str(model),
        out,
        name=version.name,
        version=version.version,
        commit=version.commit,
    )
    say(f"release: scorer build context in {out} (build it: mlops image build)")
    return out
