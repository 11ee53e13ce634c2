"""benchmarks/scorer.py runs (1 s of wrk, our scorer only): figures come from
real runs of it, quoted, never asserted here."""

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
         "--duration", "1", "--only", "ours"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("model gbm; wrk -t1 -c8 -d1s; OMP_NUM_THREADS=1")
    assert lines[1].startswith("serial compute floor")
    assert re.match(r"ours +1 +[\d,]+ +[\d,]+ +[\d.]+ +[\d.]+  0", lines[3])
    assert re.match(r"ours +10 +[\d,]+ +[\d,]+ +[\d.]+ +[\d.]+  0", lines[4])
    assert re.match(r"ratio  1-row: ours/floor [\d.]+x rows/s$", lines[5])
