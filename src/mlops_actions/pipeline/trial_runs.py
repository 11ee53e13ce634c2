"""The MLflow run of each sweep trial, made before the trial starts.

Azure ML makes every trial an MLflow run and sets ``MLFLOW_RUN_ID`` in its
process, so ``mlflow.start_run()``, ``mlflow.log_metric`` and autologging in
the trial's script all log to it; the sweep then reads the objective from it.
The same here, on the runner's tracking store. MLflow is imported only when a
sweep runs; without it, trials report through a ``metrics.json`` output only.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from mlops_actions.registry.store import sqlite_path

#: A trial's MLflow run ends with the status its process ended with.
STATUSES = {True: "FINISHED", False: "FAILED"}


class TrialRuns:
    """Start and end the trials' runs in ``experiment`` of ``tracking_uri``;
    a local SQLite store keeps artifacts in ``artifacts`` (as the steps do)."""

    def __init__(self, tracking_uri: str, artifacts: Path, experiment: str) -> None:
        self.tracking_uri = tracking_uri
        self.artifacts = artifacts
        self.experiment = experiment
        self._client: Any = None
        self._experiment_id: str | None = None
        self._lock = threading.Lock()  # trials start from worker threads

    def start(self, name: str, tags: dict[str, str]) -> str | None:
        """A new run for trial ``name``; None without MLflow."""
        with self._lock:
            client = self._open()
            if client is None:
                return None
            run = client.create_run(self._experiment_id, tags=tags, run_name=name)
            return str(run.info.run_id)

    def end(self, run_id: str | None, succeeded: bool) -> dict[str, float]:
        """End the run (a trial that ended it itself is left as it said) and
        return its metrics, the latest value of each."""
        if run_id is None:
            return {}
        with self._lock:
            client = self._open()
            run = client.get_run(run_id)
            if run.info.status == "RUNNING":
                client.set_terminated(
                    run_id, STATUSES[succeeded], int(time.time() * 1000)
                )
            return {str(k): float(v) for k, v in run.data.metrics.items()}

    def _open(self) -> Any:
        if self._client is not None:
            return self._client
        try:
            from mlflow.tracking import MlflowClient
        except ModuleNotFoundError:
            return None
        client = MlflowClient(self.tracking_uri)
        found = client.get_experiment_by_name(self.experiment)
        if found is not None:
            self._experiment_id = found.experiment_id
        elif sqlite_path(self.tracking_uri) is not None:
            # Made as the steps' runs make it, artifacts beside the database:
            # MLflow's client would give it ./mlruns.
            from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

            root = str(self.artifacts.resolve())
            store = SqlAlchemyStore(self.tracking_uri, root)
            self._experiment_id = store.create_experiment(self.experiment)
        else:
            self._experiment_id = client.create_experiment(self.experiment)
        self._client = client
        return client
