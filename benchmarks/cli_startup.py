"""CLI start-up: `mlops --help` against `python -c "import click"`.

Goal (BENCHMARKS.md): at most 2x the bare click import, with no azure, mlflow
or torch module loaded. Runs each command N times, alternating, and prints the
median and the ratio.

    python benchmarks/cli_startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def timed(argv: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    mlops = shutil.which("mlops", path=str(Path(sys.executable).parent))
    if mlops is None:
        sys.exit("mlops is not installed next to this interpreter")
    contenders = {
        'python -c "import click"': [sys.executable, "-c", "import click"],
        "mlops --help": [mlops, "--help"],
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(3):  # warm the page cache
        for argv in contenders.values():
            timed(argv)
    for _ in range(args.runs):
        for name, argv in contenders.items():
            times[name].append(timed(argv))
    base = statistics.median(times['python -c "import click"'])
    for name, samples in times.items():
        median = statistics.median(samples)
        print(
            f"{name:<28} median {median * 1000:7.1f} ms  "
            f"min {min(samples) * 1000:7.1f} ms  ratio {median / base:5.2f}x"
        )
    probe = (
        "import sys\nfrom mlops_actions.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(','.join(m for m in ('azure', 'mlflow', 'torch') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.splitlines()[-1]
    print(f"heavy modules loaded by mlops --help: {loaded or 'none'}  (goal: <= 2x)")


if __name__ == "__main__":
    main()
