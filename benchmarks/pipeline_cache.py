"""Local pipeline: cold run, unchanged re-run, and the same steps run by hand.

Goals (BENCHMARKS.md): an unchanged re-run at most 10% of the cold run; the
runner's overhead at most 0.5 s per step beyond the step's own work. The "by
hand" contender runs each step's exact command (from the cold run's records)
as a plain subprocess, one after the other, on the same tracking database as
the runner's second cold run (``--no-cache``), so both find it made. The first
cold run also makes the database (the runner does that once, before any step,
so runs started together never race its migration): its cost beyond the
second cold run is printed on its own line.

Declared environments (``--env venv``): a one-step fixture pipeline whose
environment pins the CLI's own core dependencies (click, pyyaml, pydantic and
theirs), installed offline from wheels repacked from this venv. "cold env"
is its first run (the venv is built), "warm env" a re-run with --no-cache
(the step runs again, the venv under .mlops/envs/ is reused); "host" is the
same step with --env host, for the step's own cost.

    python benchmarks/pipeline_cache.py [--pipeline pipelines/pipeline.yml]
        [--set NAME=VALUE ...]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
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


#: the fixture environment: the CLI's core dependencies, as installed here
ENV_PACKAGES = (
    "click",
    "PyYAML",
    "pydantic",
    "pydantic_core",
    "typing_extensions",
    "annotated-types",
    "typing-inspection",
)
STEP = """\
import argparse, pathlib, click, pydantic, yaml
out = pathlib.Path(argparse.ArgumentParser().parse_known_args()[1][-1])
(out / "versions.txt").write_text(f"{click.__version__} {pydantic.VERSION}")
"""


def repack(name: str, wheels: Path) -> str:
    """An installed distribution zipped back into a wheel; its pin."""
    dist = importlib.metadata.distribution(name)
    info = next(f for f in dist.files or [] if f.name == "WHEEL")
    tag = next(
        line.split(":", 1)[1].strip()
        for line in Path(dist.locate_file(info)).read_text().splitlines()
        if line.startswith("Tag:")
    )
    project = dist.metadata["Name"]
    wheel = wheels / f"{project.replace('-', '_')}-{dist.version}-{tag}.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for file in dist.files or []:
            if file.parts[0] == ".." or "__pycache__" in file.parts:
                continue  # scripts outside site-packages; bytecode
            zf.write(dist.locate_file(file), str(file))
    return f"{project}=={dist.version}"


def env_fixture(folder: Path) -> Path:
    """A one-step pipeline whose environment pins ENV_PACKAGES, offline."""
    wheels = folder / "wheels"
    wheels.mkdir(parents=True)
    pins = [repack(name, wheels) for name in ENV_PACKAGES]
    python = ".".join(map(str, sys.version_info[:2]))
    pip = ["--no-index", f"--find-links {wheels}", *pins]
    (folder / "conda.yml").write_text(
        "dependencies:\n"
        f"  - python={python}\n  - pip:\n"
        + "".join(f"      - {line}\n" for line in pip)
    )
    (folder / "step.py").write_text(STEP)
    (folder / "component.yml").write_text(
        "type: command\nname: versions\ncode: .\n"
        "environment: {conda_file: conda.yml}\n"
        "outputs: {out: {type: uri_folder}}\n"
        "command: python step.py ${{outputs.out}}\n"
    )
    pipeline = folder / "pipeline.yml"
    pipeline.write_text(
        "type: pipeline\nexperiment_name: env-bench\n"
        "jobs: {versions: {type: command, component: ./component.yml}}\n"
    )
    return pipeline


def env_rows(tmp: Path, env: dict[str, str]) -> list[str]:
    pipeline = env_fixture(tmp / "env-fixture")
    # uv's own cache empty too: the cold row pays the whole install.
    env = {**env, "UV_CACHE_DIR": str(tmp / "uv-cache")}
    timings = {}
    for name, flags in (
        ("cold", ("--env", "venv")),
        ("warm", ("--env", "venv", "--no-cache")),
        ("host", ("--env", "host", "--no-cache")),
    ):
        began = time.perf_counter()
        run_pipeline(pipeline, [], env, *flags)
        timings[name] = time.perf_counter() - began
    built = list(Path(env["MLOPS_HOME"], "envs").glob("*/env.json"))
    record = json.loads(built[0].read_text()) if len(built) == 1 else {}
    count = len(ENV_PACKAGES)
    return [
        f"env venv, cold env (venv built)    {timings['cold']:8.2f} s  "
        f"({count} packages, build {record.get('seconds', 0):.2f} s with "
        f"{record.get('builder', '?')})",
        f"env venv, warm env (venv reused)   {timings['warm']:8.2f} s  "
        f"({len(built)} venv under envs/)",
        f"env host, same step                {timings['host']:8.2f} s",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pipeline", type=Path, default=ROOT / "pipelines/pipeline.yml"
    )
    parser.add_argument("--set", dest="sets", action="append", default=[])
    parser.add_argument(
        "--env",
        default="host",
        help="--env of the runner rows (host: the reference environments pin "
        "Azure's CUDA builds); the env rows build their own fixture's venv",
    )
    args = parser.parse_args()
    spec = load_pipeline(args.pipeline)
    # Load the heavy modules once so neither contender pays a cold page cache.
    subprocess.run([sys.executable, "-c", "import torch, mlflow, sklearn"], check=False)
    with tempfile.TemporaryDirectory(prefix="mlops-bench-") as tmp:
        Path(tmp, "state").mkdir()
        env = {**os.environ, "MLOPS_HOME": str(Path(tmp, "state"))}
        env["MLOPS_PIPELINE_RUN_ENV"] = args.env
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
        rows = env_rows(Path(tmp), env)
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
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
