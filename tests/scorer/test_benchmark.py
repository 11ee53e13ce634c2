"""benchmarks/scorer.py runs (1 s of wrk, ours and `mlflow models serve`, the
contenders that need no venv of their own): figures come from real runs of it,
quoted, never asserted here."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.e2e
def test_the_benchmark_runs_and_prints_one_line_per_contender():
    # Never skipped: .ci/install-image-tools installs wrk (Debian).
    assert shutil.which("wrk"), "wrk is missing: run .ci/install-image-tools"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "scorer.py"),
         "--duration", "1", "--peers", "ours,mlflow", "--connections", "1,8"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("model gbm; wrk -t1 -c1,8 -d1s; OMP_NUM_THREADS=1")
    assert lines[1].startswith("floor (estimator predict on a float array")
    figures = r" +[\d,]+ +[\d,]+ +[\d.]+ +[\d.]+ +[\d.]+x  0$"
    table = [
        (name, conns, rows)
        for conns in (1, 8)
        for rows in (1, 10)
        for name in ("ours", "mlflow")
    ]
    for line, (name, conns, rows) in zip(lines[3:11], table):
        assert re.match(rf"{name} +{conns} +{rows}{figures}", line), line
    assert lines[3].endswith(" 1.00x  0")
    without = "(without azmlinfsrv, mlserver, kserve, litserve, bentoml)"
    verdicts = [
        "c1 req/s >= 1.2x the best peer",
        "c1 lowest p99 of the field",
        "c8 req/s >= 3x the best peer",
        "c8 lowest p99 of the field",
    ]
    for line, goal in zip(lines[11:], verdicts, strict=True):
        assert re.match(rf"verdict {goal}: (met|NOT met) \(1-row .*mlflow\)", line)
        assert line.endswith(without), line
