"""The reference pipeline at scale: seconds and peak RSS per step, by table size.

For each size, a seeded synthetic table (``sample:synthetic``: 15 numeric and 5
categorical features with about 2% nulls, a binary ``label``) goes through the
four steps as the local backend runs them, each a child process running the
step's command: ingest -> preprocess -> train -> evaluate. Train runs
``--epochs`` passes (default 2) with the step's default batch size (``auto``),
then once more with ``--batch_size 64`` (the default before issue 12) on the
same prepared splits, for the epoch speed-up at equal epochs. Peak RSS is each
child's own (``os.wait4``), not the benchmark's.

Goals (BENCHMARKS.md): preprocess peak RSS <= 1 GB at 4M rows; the default
CPU epoch >= 5x faster than batch 64's, validation loss within 0.01.

    python benchmarks/pipeline_scale.py [--rows 100000,1000000,4000000]
        [--epochs 2] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMPONENTS = ROOT / "pipelines" / "components"
STEPS = ("ingest", "preprocess", "train", "evaluate")
GOAL_ROWS = 4_000_000
GOAL_RSS_BYTES = 1 << 30
GOAL_SPEEDUP = 5.0
GOAL_LOSS_DIFF = 0.01


@dataclass(frozen=True)
class StepRun:
    seconds: float
    peak_rss_bytes: int


def run_step(step: str, args: list[str], log: Path) -> StepRun:
    """Run one step's script as a child; its wall time and its own peak RSS."""
    env = {**os.environ, "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    with log.open("w") as out:
        began = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, str(COMPONENTS / step / f"{step}.py"), *args],
            cwd=COMPONENTS / step,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{step} failed ({child.returncode}):\n{log.read_text()}")
    return StepRun(seconds, usage.ru_maxrss * 1024)  # ru_maxrss is in KiB


def training(model: Path) -> tuple[int, float, float]:
    """(batch size used, seconds per epoch, best validation loss) of a model."""
    record = json.loads((model / "training.json").read_text())
    stats = record["stats"]
    epochs = len(record["history"])
    batch = record["params"].get("batch_size_resolved", record["params"]["batch_size"])
    return int(batch), stats["seconds"] / epochs, stats["best_valid_loss"]


def one_size(rows: int, folder: Path, epochs: int, device: str) -> dict:
    paths = {name: folder / name for name in ("snapshot", "prepared", "model")}
    paths["metrics"], paths["model_64"] = folder / "metrics", folder / "model-64"
    for path in paths.values():
        path.mkdir(parents=True)
    common = ["--epochs", str(epochs), "--device", device]
    commands = {
        "ingest": ["--source", f"sample:synthetic?rows={rows}&seed=7"]
        + ["--snapshot", str(paths["snapshot"])],
        "preprocess": ["--snapshot", str(paths["snapshot"]), "--target", "label"]
        + ["--prepared", str(paths["prepared"])],
        "train": ["--prepared", str(paths["prepared"]), *common]
        + ["--model", str(paths["model"])],
        "evaluate": ["--model", str(paths["model"]), "--prepared"]
        + [str(paths["prepared"]), "--metrics", str(paths["metrics"])],
    }
    steps = {
        step: run_step(step, commands[step], folder / f"{step}.log") for step in STEPS
    }
    run_step(
        "train",
        ["--prepared", str(paths["prepared"]), *common, "--batch_size", "64"]
        + ["--model", str(paths["model_64"])],
        folder / "train-64.log",
    )
    return {
        "steps": steps,
        "auto": training(paths["model"]),
        "batch_64": training(paths["model_64"]),
    }


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def report(results: dict[int, dict], epochs: int) -> None:
    print(
        "pipeline at scale: synthetic table (15 numeric, 5 categorical, binary "
        f"label); train {epochs} epoch(s), default batch size"
    )
    print(f"{'rows':>10}  {'step':<10} {'seconds':>8}  {'peak RSS':>9}")
    for rows, result in results.items():
        for step, run in result["steps"].items():
            print(
                f"{rows:>10,}  {step:<10} {run.seconds:8.2f}  "
                f"{run.peak_rss_bytes / 2**20:6.0f} MB"
            )
    for rows, result in results.items():
        (batch, epoch_s, loss), (_, epoch_64, loss_64) = (
            result["auto"],
            result["batch_64"],
        )
        print(
            f"{rows:>10,}  epoch {epoch_s:.3f} s at batch {batch} (auto) vs "
            f"{epoch_64:.3f} s at batch 64: {epoch_64 / epoch_s:.1f}x; best valid "
            f"loss {loss:.4f} vs {loss_64:.4f}"
        )
    largest = max(results)
    where = "" if largest >= GOAL_ROWS else f" (the goal is at {GOAL_ROWS:,})"
    peak = results[largest]["steps"]["preprocess"].peak_rss_bytes
    print(
        f"verdict: preprocess peak RSS at {largest:,} rows{where}: "
        f"{peak / 2**20:.0f} MB (goal <= 1024 MB): {verdict(peak <= GOAL_RSS_BYTES)}"
    )
    (_, epoch_s, loss), (_, epoch_64, loss_64) = (
        results[largest]["auto"],
        results[largest]["batch_64"],
    )
    speedup, diff = epoch_64 / epoch_s, abs(loss - loss_64)
    met = speedup >= GOAL_SPEEDUP and diff <= GOAL_LOSS_DIFF
    print(
        f"verdict: default epoch vs batch 64 at {largest:,} rows: {speedup:.1f}x, "
        f"valid loss within {diff:.4f} (goal >= 5x, within 0.01): {verdict(met)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows",
        default="100000,1000000,4000000",
        help="comma list of table sizes (rows)",
    )
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    args = parser.parse_args()
    sizes = sorted({int(part) for part in args.rows.split(",") if part.strip()})
    with tempfile.TemporaryDirectory(prefix="mlops-scale-") as tmp:
        results = {
            rows: one_size(rows, Path(tmp, str(rows)), args.epochs, args.device)
            for rows in sizes
        }
    report(results, args.epochs)


if __name__ == "__main__":
    main()
