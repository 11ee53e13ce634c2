"""The smoke test: a real request to a deployed scorer, its answer checked.

The request and the expected answer come from ``smoke.json`` (the evaluate
step's, or ``--smoke``). The expected answer is one of:

- ``{"predictions": ...}``: the ``predictions`` the evaluated model gave, in
  whatever shape the model returns (numbers, strings, lists, records,
  columns). Numbers match within the tolerance (``tolerance`` absolute,
  ``relative_tolerance`` relative: ``math.isclose``), the rest exactly;
- ``{"label": [...], "probability": [...]}``: one record per row, labels
  compared as text (the reference evaluate step's first form);
- ``{"rows": N}`` with ``shape_only``: no recorded answers, only the number of
  answers is checked (a model's serving input example).
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_actions.errors import CheckFailed, UsageError

TOLERANCE = 1e-6
RELATIVE_TOLERANCE = 1e-9
#: what a deploy says when it had nothing to send
NOT_RUN = (
    "smoke test: not run: no recorded answers (smoke.json) and the model has "
    "no serving input example"
)
#: mismatches kept; the rest are counted
_MAX_MISMATCHES = 20


@dataclass(frozen=True)
class SmokeResult:
    ok: bool
    rows: int
    seconds: float
    status: int | None
    mismatches: list[str] = field(default_factory=list)
    #: True when only the number of answers was checked (no recorded answers)
    shape_only: bool = False

    def summary(self) -> str:
        if not self.ok:
            return "smoke test failed: " + "; ".join(self.mismatches[:5])
        rows = f"{self.rows} row{'' if self.rows == 1 else 's'} answered"
        if self.shape_only:
            return f"smoke test passed: {rows} (shape only: no recorded answers)"
        return f"smoke test passed: {rows} as recorded"

    def failed(self, consequence: str) -> CheckFailed:
        """The error a failed smoke test raises: the summary, then what
        ``consequence`` says came of it, every mismatch in the detail."""
        return CheckFailed(
            f"{self.summary()}{consequence}", detail="\n".join(self.mismatches) or None
        )


def describe(result: SmokeResult | None) -> str:
    """The line a deploy prints about its smoke test."""
    return result.summary() if result is not None else NOT_RUN


def load_smoke(path: Path, *, where: str | None = None) -> dict[str, Any]:
    """``smoke.json`` at ``path``, checked, every field present; ``where``
    names it in messages [default: the path]."""
    from mlops_actions.records.base import RecordUnreadable, read_record
    from mlops_actions.records.deploy import SmokeRecord

    where = where or str(path)
    try:
        smoke = read_record(path, SmokeRecord, where=where).to_json()
    except RecordUnreadable as exc:
        raise UsageError(f"{where}: cannot read the smoke test: {exc.error}") from None
    check_smoke(smoke, where)
    return smoke


def check_smoke(smoke: Mapping[str, Any], where: str = "smoke test") -> None:
    """UsageError naming what to change when ``smoke`` is no smoke test."""
    _Check.of(smoke, where)


#: how a smoke request reaches a scorer: ``send(body, timeout)`` gives the
#: HTTP status and body, raising OSError when nothing answers
Send = Callable[[bytes, float], tuple[int, bytes]]


def smoke_test(
    url: str, smoke: dict[str, Any], *, timeout: float = 10, send: Send | None = None
) -> SmokeResult:
    """POST the smoke request to ``url``/invocations and compare the answer.

    ``send`` replaces the direct request, for a scorer reached another way
    (the Kubernetes API server's service proxy)."""
    check = _Check.of(smoke, "smoke test")
    body = json.dumps(smoke["request"]).encode()
    started = time.monotonic()
    rows = check.rows or 0
    try:
        status, raw = (send or _direct(url))(body, timeout)
        if status >= 400:
            detail = raw[:200].decode("utf-8", "replace")
            return check.result(rows, started, status, [f"HTTP {status}: {detail}"])
        payload = json.loads(raw)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return check.result(rows, started, None, [f"no answer: {exc}"])
    if not isinstance(payload, dict) or "predictions" not in payload:
        shown = json.dumps(payload)[:200]
        why = f"the answer has no predictions: {shown}"
        return check.result(rows, started, status, [why])
    predictions = payload["predictions"]
    answered = _count(predictions)
    if check.rows is not None and answered != check.rows:
        why = f"expected {check.rows} predictions, got {_kind(predictions, answered)}"
        return check.result(check.rows, started, status, [why])
    mismatches: list[str] = []
    if check.want is not _SHAPE_ONLY:
        got = _legacy_view(predictions) if check.legacy else predictions
        _compare(got, check.want, [], check, mismatches)
    if len(mismatches) > _MAX_MISMATCHES:
        more = len(mismatches) - _MAX_MISMATCHES
        mismatches = mismatches[:_MAX_MISMATCHES] + [f"... and {more} more"]
    return check.result(answered, started, status, mismatches)


_SHAPE_ONLY = object()


def _direct(url: str) -> Send:
    def send(body: bytes, timeout: float) -> tuple[int, bytes]:
        request = urllib.request.Request(
            url.rstrip("/") + "/invocations",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    return send


@dataclass(frozen=True)
class _Check:
    """What one smoke test compares, read from its ``smoke.json`` body."""

    want: Any
    rows: int | None
    tolerance: float
    relative: float
    legacy: bool = False

    @classmethod
    def of(cls, smoke: Mapping[str, Any], where: str) -> _Check:
        if not isinstance(smoke.get("request"), dict):
            raise UsageError(f"{where}: request: give an /invocations body (object)")
        tolerance = _tolerance(smoke, "tolerance", TOLERANCE, where)
        relative = _tolerance(smoke, "relative_tolerance", RELATIVE_TOLERANCE, where)
        expected = smoke.get("expected")
        if not isinstance(expected, dict):
            raise UsageError(f"{where}: expected: give an object, see {_FORMS}")
        if smoke.get("shape_only"):
            rows = expected.get("rows")
            if rows is not None and (type(rows) is not int or rows < 0):
                raise UsageError(f"{where}: expected.rows: give a whole number")
            return cls(_SHAPE_ONLY, rows, tolerance, relative)
        if "predictions" in expected:
            want = expected["predictions"]
            return cls(want, _count(want), tolerance, relative)
        if "label" in expected:
            return cls._legacy(expected, where, tolerance, relative)
        keys = ", ".join(sorted(expected)) or "none"
        raise UsageError(
            f"{where}: expected: no recorded answers (keys: {keys}); give the "
            f"answers the model gave as {_FORMS}"
        )

    @classmethod
    def _legacy(
        cls, expected: Mapping[str, Any], where: str, tolerance: float, relative: float
    ) -> _Check:
        labels, probabilities = expected["label"], expected.get("probability")
        if not isinstance(labels, list):
            raise UsageError(f"{where}: expected.label: give a list, one per row")
        rows = [{"label": str(label)} for label in labels]
        if probabilities is not None:
            if not isinstance(probabilities, list) or len(probabilities) != len(rows):
                raise UsageError(
                    f"{where}: expected.probability: give a list of numbers, one "
                    f"per label ({len(rows)})"
                )
            for row, probability in zip(rows, probabilities):
                row["probability"] = probability
        return cls(rows, len(rows), tolerance, relative, legacy=True)

    def result(
        self, rows: int, started: float, status: int | None, mismatches: list[str]
    ) -> SmokeResult:
        return SmokeResult(
            ok=not mismatches,
            rows=rows,
            seconds=round(time.monotonic() - started, 3),
            status=status,
            mismatches=mismatches,
            shape_only=self.want is _SHAPE_ONLY,
        )


_FORMS = '{"predictions": [...]} (README "Smoke test")'


def _tolerance(
    smoke: Mapping[str, Any], name: str, default: float, where: str
) -> float:
    value = smoke.get(name, default)
    if value is None:
        return default
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < 0
    ):
        raise UsageError(f"{where}: {name}: give a number of 0 or more, got {value!r}")
    return float(value)


def _count(predictions: Any) -> int:
    """How many rows an answer holds: list items, or a column's length."""
    if isinstance(predictions, list):
        return len(predictions)
    if isinstance(predictions, dict) and predictions:
        lengths = {len(v) if isinstance(v, list) else 1 for v in predictions.values()}
        return lengths.pop() if len(lengths) == 1 else 1
    return 1


def _kind(value: Any, count: int | None = None) -> str:
    if isinstance(value, list):
        return str(len(value) if count is None else count)
    if isinstance(value, dict):
        return "a record" if count is None else f"{count} (a record)"
    return repr(value)


def _legacy_view(predictions: Any) -> Any:
    """Each record's label as text and its probability, as the first form
    compared them; other keys are not compared."""
    if not isinstance(predictions, list):
        return predictions
    view: list[Any] = []
    for got in predictions:
        if not isinstance(got, dict):
            view.append(got)
            continue
        row = {k: got[k] for k in ("label", "probability") if k in got}
        if "label" in row:
            row["label"] = str(row["label"])
        view.append(row)
    return view


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _compare(
    got: Any, want: Any, path: list[str | int], check: _Check, out: list[str]
) -> None:
    """Append a line per difference of ``got`` from ``want`` to ``out``."""
    if len(out) > _MAX_MISMATCHES:
        return
    if _is_number(want):
        if not _is_number(got) or not math.isclose(
            got, want, rel_tol=check.relative, abs_tol=check.tolerance
        ):
            out.append(f"{_where(path)}{got!r}, expected {want!r}")
    elif isinstance(want, dict):
        if not isinstance(got, dict):
            out.append(f"{_where(path)}{got!r}, expected a record")
            return
        for key, value in want.items():
            if key not in got:
                out.append(f"{_where(path)}missing {key!r}")
            else:
                _compare(got[key], value, [*path, key], check, out)
        for key in got:
            if key not in want and not check.legacy:
                out.append(f"{_where(path)}unexpected {key!r}")
    elif isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            out.append(f"{_where(path)}{_kind(got)} items, expected {len(want)}")
            return
        for i, (item, value) in enumerate(zip(got, want)):
            _compare(item, value, [*path, i], check, out)
    elif type(got) is not type(want) or got != want:
        out.append(f"{_where(path)}{got!r}, expected {want!r}")


def _where(path: list[str | int]) -> str:
    """``row 1: label `` for a row's field, ``label[1] `` in columns."""
    if not path:
        return "answer: "
    head, rest = (
        (f"row {path[0]}: ", path[1:]) if isinstance(path[0], int) else ("", path)
    )
    name = ""
    for part in rest:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else part)
    return head + (f"{name} " if name else "")
