"""Local pipeline: cold run, unchanged re-run, and the same steps run by hand.

Goals (BENCHMARKS.md): an unchanged re-run at most 10% of the cold run; the
runner's overhead at most 0.5 s per step beyond the step's own work. The "by
hand" contender runs each step's exact command (from the cold run's records)
as a plain subprocess, one after the other, on the same tracking database as
the runner's second cold run (``--no-cache``), so both find it made. The first
cold run also makes the database (the runner does that once, before any step,
so runs started together never race its migration): its cost beyond the
second cold run is printed on its own line.

    python benchmarks/pipeline_cache.py [--pipeline pipelines/pipeline.yml]
        [--set NAME=VALUE ...]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mlops_actions.pipeline.spec import load_pipeline  # noqa: E402


def run_pipeline(
    pipeline: Path, sets: list[str], env: dict[str, str], *flags: str
) -> dict:
    argv = [sys.executable, "-m", "mlops_actions", "-q", "pipeline", "run"]
    argv += [str(pipeline), "--json", *flags]
    for item in sets:
        argv += ["--set", item]
    out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def by_hand(record: dict, scratch: Path, env: dict[str, str]) -> float:
    """Run every step's command (``bash -c ...``) directly, outputs redirected
    to ``scratch``, in the snapshot of its code the cold run made."""
    run_folder = record["folder"]
    total = 0.0
    for step in record["steps"]:
        argv = [arg.replace(run_folder, str(scratch)) for arg in step["argv"]]
        for path in step["outputs"].values():
            Path(path.replace(run_folder, str(scratch))).mkdir(parents=True)
        began = time.perf_counter()
        subprocess.run(
            argv,
            cwd=Path(run_folder, step["name"], "code"),
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        total += time.perf_counter() - began
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pipeline", type=Path, default=ROOT / "pipelines/pipeline.yml"
    )
    parser.add_argument("--set", dest="sets", action="append", default=[])
    args = parser.parse_args()
    spec = load_pipeline(args.pipeline)
    # Load the heavy modules once so neither contender pays a cold page cache.
    subprocess.run([sys.executable, "-c", "import torch, mlflow, sklearn"], check=False)
    with tempfile.TemporaryDirectory(prefix="mlops-bench-") as tmp:
        Path(tmp, "state").mkdir()
        env = {**os.environ, "MLOPS_HOME": str(Path(tmp, "state"))}
        env["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/runner.db"
        began = time.perf_counter()
        cold = run_pipeline(args.pipeline, args.sets, env)
        cold_s = time.perf_counter() - began
        began = time.perf_counter()
        warm = run_pipeline(args.pipeline, args.sets, env)
        warm_s = time.perf_counter() - began
        reused = sum(s["status"] == "reused" for s in warm["steps"])
        began = time.perf_counter()
        run_pipeline(args.pipeline, args.sets, env, "--no-cache")
        again_s = time.perf_counter() - began
        # Same commands, same snapshot folders, the same (made) database.
        hand_env = {**env, "MLFLOW_EXPERIMENT_NAME": spec.experiment}
        # python in a command means this interpreter, as the runner makes it.
        hand_env["PATH"] = os.pathsep.join(
            [str(Path(sys.executable).parent), env["PATH"]]
        )
        hand_s = by_hand(cold, Path(tmp, "by-hand"), hand_env)
    steps = len(cold["steps"])
    print(f"pipeline {args.pipeline} ({steps} steps)")
    print(f"steps by hand (plain subprocesses)  {hand_s:8.2f} s")
    print(f"mlops pipeline run, cold            {again_s:8.2f} s  (--no-cache)")
    print(f"  first run, making the database    {cold_s:8.2f} s", end="")
    print(f"  (+{cold_s - again_s:.2f} s, once per database)")
    print(f"mlops pipeline run, unchanged       {warm_s:8.2f} s", end="")
    print(f"  ({reused}/{steps} reused)")
    overhead = (again_s - hand_s) / steps
    print(f"warm/cold ratio                     {warm_s / cold_s:8.1%}   (goal <= 10%)")
    print(f"runner overhead per step            {overhead:8.2f} s  (goal <= 0.5 s)")


if __name__ == "__main__":
    main()
