"""The benchmark scripts still run (tiny sizes, CPU): figures come from real runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(script: str, *args: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_train_gpu_smoke_on_cpu():
    lines = run("train_gpu.py", "--device", "cpu", "--rows", "4000", "--seconds", "0.3")
    assert lines[0] == "device cpu; 4000 rows x 32 features; MLP [512, 512]"
    assert re.match(r"textbook loop .* [\d,]+ samples/s$", lines[1])
    assert re.match(r"train component .* [\d,]+ samples/s  \(\d+ epochs\)$", lines[2])
    assert re.match(r"ratio +[\d.]+x", lines[3])


def test_pipeline_cache_on_the_toy_pipeline():
    toy = str(ROOT / "tests" / "fixtures" / "toy" / "pipeline.yml")
    lines = run("pipeline_cache.py", "--pipeline", toy)
    assert lines[0].endswith("(2 steps)")
    assert re.search(r"cold +[\d.]+ s  \(--no-cache\)$", lines[2])
    assert re.search(r"making the database +[\d.]+ s  \(\+-?[\d.]+ s, once", lines[3])
    assert re.search(r"unchanged +[\d.]+ s  \(2/2 reused\)$", lines[4])
    assert lines[5].startswith("warm/cold ratio")
    assert lines[6].startswith("runner overhead per step")


def test_cli_startup():
    lines = run("cli_startup.py", "--runs", "2")
    assert lines[-1] == "heavy modules loaded by mlops --help: none  (goal: <= 2x)"
