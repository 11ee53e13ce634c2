"""A completed Azure ML job's outputs, in the folders the local backend writes.

Each pipeline output is downloaded to ``<state>/runs/<job>/outputs/<name>``
(azure-ai-ml puts it under ``named-outputs/<name>``; we move it to where the
gate, ``model register --run`` and ``release`` look), and beside each folder
``<name>.source.json`` says which job output it came from, so the Azure
registry registers the model from the job (``azureml://jobs/<job>/outputs/
<name>``) instead of uploading the downloaded copy again.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_actions.errors import BackendError
from mlops_actions.jsonio import read_json, write_json
from mlops_actions.pipeline.runs import find_metrics
from mlops_actions.records.pipeline import RunRecord, StepRecord

if TYPE_CHECKING:
    from mlops_actions.pipeline.azure import AzureRun

SOURCE_SUFFIX = ".source.json"


def download_outputs(client: Any, job: str, folder: Path) -> dict[str, str]:
    """Download every output of pipeline job ``job`` into ``folder/<name>``;
    returns name -> local folder (or file). An output already downloaded (its
    source file present) is not fetched again. BackendError when the job has
    not completed: its outputs are not there."""
    from mlops_actions.azure.client import azure_error
    from mlops_actions.azure.jobs import COMPLETED

    try:
        details = client.jobs.get(job)
    except Exception as exc:
        raise azure_error(exc, f"GET jobs/{job}") from None
    if details.status != COMPLETED:
        raise BackendError(
            f"job {job} has not completed ({details.status}): its outputs are "
            "not there"
        )
    found: dict[str, str] = {}
    for name in sorted(getattr(details, "outputs", None) or {}):
        target = folder / name
        source = folder / f"{name}{SOURCE_SUFFIX}"
        if not (read_json(source) and target.exists()):
            staging = folder / ".download" / name
            shutil.rmtree(staging, ignore_errors=True)
            try:
                client.jobs.download(job, download_path=staging, output_name=name)
            except Exception as exc:
                raise azure_error(exc, f"download output {name} of job {job}") from None
            got = staging / "named-outputs" / name
            if not got.exists():
                continue  # an optional output the job did not write
            shutil.rmtree(target, ignore_errors=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            got.rename(target)
            shutil.rmtree(staging, ignore_errors=True)
            write_json(
                source,
                {
                    "schema": "mlops-actions/azure-output",
                    "version": 1,
                    "job": job,
                    "output": name,
                    "uri": f"azureml://jobs/{job}/outputs/{name}",
                },
            )
        found[name] = str(target)
    shutil.rmtree(folder / ".download", ignore_errors=True)
    return found


def job_output_source(path: Path) -> dict[str, Any] | None:
    """The job output a downloaded folder came from (see the module docstring),
    or None for a folder that was not downloaded from a job."""
    source = read_json(path.parent / f"{path.name}{SOURCE_SUFFIX}")
    return source if source and source.get("uri") else None


def run_record(run: AzureRun) -> RunRecord:
    """``run.json``'s body for an Azure job (written beside its outputs)."""
    from mlops_actions.azure.jobs import children, get_state, run_status

    client = run.backend.client
    status = run_status(get_state(client, run.run_id).state)
    steps = [
        StepRecord(
            name=child.display_name or child.name, status=run_status(child.state)
        )
        for child in children(client, run.run_id)
    ]
    outputs = run.outputs() if status == "completed" else {}
    metrics = find_metrics(outputs)
    if metrics:  # the output that holds it stands for the step that wrote it
        metrics = {"step": metrics["output"], **metrics}
    record = RunRecord(
        run_id=run.run_id,
        pipeline=run.submission.pipeline,
        file=run.submission.file,
        folder=str(run.folder),
        status=status,
        inputs=dict(run.submission.inputs),
        experiment=run.submission.experiment,
        steps=steps,
        outputs=outputs,
        metrics=metrics,
        data=dict(run.submission.data),
        url=run.url,
    )
    write_json(run.folder / "run.json", record.to_json())
    return record
