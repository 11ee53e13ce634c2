"""The run handle of the local backend: a run that has already ended.

The local backend runs a pipeline inside :meth:`LocalRunner.submit`, so by the
time a caller holds this handle there is nothing left to wait for or cancel;
the handle answers from the run's record.
"""

from __future__ import annotations

from mlops_actions.pipeline.backend import SubmittedRun
from mlops_actions.records.pipeline import RunRecord


class LocalRun(SubmittedRun):
    """A finished local run, read from its ``run.json`` record."""

    def __init__(self, record: RunRecord) -> None:
        self._record = record

    @property
    def run_id(self) -> str:
        return self._record.run_id

    def wait(self, timeout: float | None = None) -> str:
        return self._record.status  # submit raised unless the run completed

    def status(self) -> str:
        return self._record.status

    def cancel(self) -> None:
        """Nothing runs any more: the record stays as the run ended."""

    def outputs(self) -> dict[str, str]:
        return dict(self._record.outputs)

    def record(self) -> RunRecord:
        return self._record
