"""Set-up time of the root action under act: cold install and in-job reuse.

Peer (BENCHMARKS.md): `az extension add -n ml`, which Azure's templates run in
every job. It cannot reach its index here, so its work is reproduced: pip
installing azure-ai-ml (what the ml extension wheel pulls in) into a fresh
target folder, from the same local wheelhouse our contenders use. Goals: cold
at most 30 s for the core CLI, warm (reuse or cache hit) at most 5 s.

    python benchmarks/action_setup.py [--skip-peer]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from e2e.act import run_act  # noqa: E402

WORKFLOW = ROOT / "benchmarks" / "workflows" / "action_setup.yml"
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]


def step_seconds(run, step: str) -> float:
    for event in run.events:
        if event.get("stepID") == [step] and "executionTime" in event:
            return event["executionTime"] / 1e9
    raise RuntimeError(f"step {step} did not finish:\n{run.log()}{run.stderr}")


def setup_run(tmp: Path, env: dict[str, str], installer: str) -> tuple[float, float]:
    bins = tmp / "bins"
    bins.mkdir(parents=True)
    os.symlink(sys.executable, bins / "python3")
    if installer == "uv":
        os.symlink(Path(sys.executable).parent / "uv", bins / "uv")
    # act's steps inherit the PATH act gets; the wrapper runs with ours.
    env = {**env, "PATH": f"{bins}:/usr/local/bin:/usr/bin:/bin"}
    run = run_act(WORKFLOW, tmp, env=env)
    return step_seconds(run, "cold"), step_seconds(run, "warm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlops-setup-bench-") as tmp_name:
        tmp = Path(tmp_name)
        house = tmp / "wheelhouse"
        subprocess.run([*PIP, "wheel", "--no-deps", "-w", house, ROOT], check=True)
        wheel = next(house.glob("mlops_actions-*.whl"))
        subprocess.run([*PIP, "wheel", "-w", house, wheel, "setuptools"], check=True)
        offline = {
            "UV_OFFLINE": "1",
            "UV_FIND_LINKS": str(house),
            "UV_CACHE_DIR": str(tmp / "uv-cache"),
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": str(house),
        }
        rows = []
        for installer in ("uv", "pip"):
            env = {**offline, "MLOPS_ACTIONS_SOURCE": str(wheel)}
            cold, warm = setup_run(tmp / f"wheel-{installer}", env, installer)
            rows.append((f"root action, cold, {installer}, from wheel", cold))
            rows.append((f"root action, warm (reuse), {installer}", warm))
        cold, _ = setup_run(tmp / "source-uv", offline, "uv")
        rows.append(("root action, cold, uv, from the checkout", cold))
        if not args.skip_peer:
            subprocess.run([*PIP, "wheel", "-w", house, "azure-ai-ml"], check=True)
            began = time.perf_counter()
            subprocess.run(
                [
                    *PIP,
                    "install",
                    "--no-index",
                    "--find-links",
                    house,
                    "--target",
                    tmp / "az-ext",
                    "azure-ai-ml",
                ],
                check=True,
            )
            rows.append(
                ("peer: az extension add -n ml (pip)", time.perf_counter() - began)
            )
    peer = rows[-1][1] if not args.skip_peer else None
    for name, seconds in rows:
        ratio = f"  {seconds / peer:5.2f}x of peer" if peer else ""
        print(f"{name:<44} {seconds:7.2f} s{ratio}")
    print("goals: cold <= 30 s, warm <= 5 s")


if __name__ == "__main__":
    main()
