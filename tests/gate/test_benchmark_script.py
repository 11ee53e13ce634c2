"""benchmarks/gate_bootstrap.py still runs (tiny sizes): figures come from real runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gate_bootstrap_benchmark_runs():
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "gate_bootstrap.py"),
            *("--rows", "2000", "--resamples", "1000", "--plain-resamples", "200"),
            *("--repeat", "1"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == (
        "gate bootstrap: 2,000 rows x 1,000 resamples, 95% interval, seed 0"
    )
    blocks = {
        "binary": lines[1:8],
        "multiclass": lines[8:15],
        "regression": lines[15:22],
    }
    for task, metrics in (
        ("binary", ("accuracy", "f1", "log_loss")),
        ("multiclass", ("accuracy", "macro_f1", "log_loss")),
        ("regression", ("rmse", "mae", "r2")),
    ):
        block = blocks[task]
        label = "" if task == "binary" else f" {task}"
        assert re.match(
            rf"pair_predictions{label} \(join on row_id\) +[\d.]+ s$", block[0]
        )
        for metric, plain, ours in zip(metrics, *[iter(block[1:])] * 2):
            assert re.match(
                rf"{metric} +plain numpy loop +[\d.]+ s .*scaled x5\)$", plain
            )
            assert re.match(
                rf"{metric} +paired_bootstrap +[\d.]+ s .*ratio [\d,]+x\)$", ours
            )
    assert re.match(
        r"goal: pairing \+ paired_bootstrap <= 2 s: met \([\d.]+ s with the "
        r"slowest, \w+ \w+\)$",
        lines[22],
    )
