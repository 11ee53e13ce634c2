"""benchmarks/pipeline_scale.py still runs (one tiny table, one epoch, CPU)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pipeline_scale_prints_each_step_and_both_verdicts() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "pipeline_scale.py")]
        + ["--rows", "2000", "--epochs", "1"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )

    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("pipeline at scale: synthetic table")
    assert lines[1].split() == ["rows", "step", "seconds", "peak", "RSS"]
    for line, step in zip(lines[2:6], ("ingest", "preprocess", "train", "evaluate")):
        assert re.fullmatch(rf" +2,000  {step} +[\d.]+ +\d+ MB", line), line
    # 1,200 train rows: auto keeps 64 rows per step below 4,096 train rows.
    assert re.fullmatch(
        r" +2,000  epoch [\d.]+ s at batch 64 \(auto\) vs [\d.]+ s at batch 64: "
        r"[\d.]+x; best valid loss [\d.]+ vs [\d.]+",
        lines[6],
    ), lines[6]
    assert re.fullmatch(
        r"verdict: preprocess peak RSS at 2,000 rows \(the goal is at 4,000,000\): "
        r"\d+ MB \(goal <= 1024 MB\): met",
        lines[7],
    ), lines[7]
    assert lines[8].startswith("verdict: default epoch vs batch 64 at 2,000 rows: ")
    assert len(lines) == 9
