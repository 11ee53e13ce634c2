"""The smoke test: a real request to a deployed scorer, its answer checked.

The request and the expected answer come from the evaluate step's
``smoke.json`` (the model's input example and a few test rows, with the
predictions the evaluated model gave): a deployment passes only if it answers
the same, label for label and probability within the tolerance.
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_actions.errors import UsageError
from mlops_actions.records.base import RecordUnreadable, read_record
from mlops_actions.records.deploy import SmokeRecord


@dataclass(frozen=True)
class SmokeResult:
    ok: bool
    rows: int
    seconds: float
    status: int | None
    mismatches: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.ok:
            return f"smoke test passed: {self.rows} rows answered as evaluated"
        return "smoke test failed: " + "; ".join(self.mismatches[:5])


def load_smoke(path: Path) -> dict[str, Any]:
    """``smoke.json`` at ``path``, checked, every field present."""
    try:
        return read_record(path, SmokeRecord).to_json()
    except RecordUnreadable as exc:
        raise UsageError(f"{path}: cannot read the smoke test: {exc.error}") from None


def smoke_test(url: str, smoke: dict[str, Any], *, timeout: float = 10) -> SmokeResult:
    """POST the smoke request to ``url``/invocations and compare the answer."""
    body = json.dumps(smoke["request"]).encode()
    request = urllib.request.Request(
        url.rstrip("/") + "/invocations",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    started = time.monotonic()
    expected = smoke["expected"]
    # Without recorded answers (a bare model folder) only the shape is known.
    rows = expected["rows"] if smoke.get("shape_only") else len(expected["label"])
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            status, payload = answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:200].decode("utf-8", "replace")
        return _failed(rows, started, exc.code, f"HTTP {exc.code}: {detail}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return _failed(rows, started, None, f"no answer: {exc}")
    predictions = payload.get("predictions") if isinstance(payload, dict) else None
    if not isinstance(predictions, list) or len(predictions) != rows:
        shape = len(predictions) if isinstance(predictions, list) else type(predictions)
        return _failed(
            rows, started, status, f"expected {rows} predictions, got {shape}"
        )
    mismatches: list[str] = []
    if smoke.get("shape_only"):
        expected = {"label": [], "probability": []}
    tolerance = float(smoke.get("tolerance", 1e-6))
    for i, (got, label, probability) in enumerate(
        zip(predictions, expected["label"], expected["probability"])
    ):
        if not isinstance(got, dict):
            mismatches.append(f"row {i}: expected a record, got {got!r}")
            continue
        if str(got.get("label")) != label:
            mismatches.append(
                f"row {i}: label {got.get('label')!r}, expected {label!r}"
            )
        answered = got.get("probability")
        if not isinstance(answered, (int, float)) or not math.isclose(
            answered, probability, rel_tol=0, abs_tol=tolerance
        ):
            mismatches.append(
                f"row {i}: probability {answered!r}, expected {probability:.6g}"
            )
    return SmokeResult(
        ok=not mismatches,
        rows=rows,
        seconds=round(time.monotonic() - started, 3),
        status=status,
        mismatches=mismatches,
    )


def _failed(rows: int, started: float, status: int | None, why: str) -> SmokeResult:
    return SmokeResult(False, rows, round(time.monotonic() - started, 3), status, [why])
