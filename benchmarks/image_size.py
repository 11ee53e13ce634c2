"""Scorer image size: ours against MLflow's own generated Dockerfile.

Goal (BENCHMARKS.md): the reference PyTorch model's image <= 450 MB and
<= 1/3 of MLflow's for the same model; a scikit-learn model's (sklearn:
GradientBoosting on 20 features, the scorer benchmark's) <= 350 MB. pyfunc
(tests/fixtures/gate/model: a plain PythonModel on pandas) is measured beside
them, without a goal: the least any MLflow model's image holds. Both images
are built with buildah (vfs, chroot isolation) from the same local Debian
base, so the base counts the same on both sides; sizes are the layers'
uncompressed bytes, as image.json reports.

Ours: `mlops image bundle --wheels` then `mlops image build`. MLflow's:
`mlflow models generate-dockerfile --env-manager local`, its FROM swapped for
the local base plus a venv standing in for python:slim's own pip, built with
the host's CA bundle mounted for its pip and apt downloads (it installs full
mlflow and nginx from the network: minutes).

    python benchmarks/image_size.py [--models reference,sklearn,pyfunc] [--no-mlflow]
        [--base TAG] [--reference-model DIR] [--timeout 900]

Needs root, buildah and, to make the base when missing, debootstrap and
podman (a Debian mirror reachable). Every image it builds is removed at the
end unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FIXTURE = ROOT / "tests" / "fixtures" / "gate" / "model"
#: Debian 12, python3 and venv; tests/image/test_image_e2e.py builds on it
#: too (through ensure_base): bump the suffix when the recipe changes
BASE_TAG = "localhost/mlops-actions-test-base:bookworm-py311-1"
MIRROR = os.environ.get("MLOPS_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
#: goals, in bytes (1 MB = 1e6, as `mlops image build` prints)
GOALS = {"reference": 450e6, "sklearn": 350e6}
MODELS = ("reference", "sklearn", "pyfunc")
MLFLOW_SHARE = 1 / 3
#: python:slim has pip and `python` on PATH; the Debian base has python3 only
STAND_IN = (
    "RUN python3 -m venv /opt/python\n"
    "ENV PATH=/opt/python/bin:$PATH PIP_CERT=/run/host-ca.crt\n"
)


def sh(argv: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, **kwargs
    )
    if done.returncode != 0:
        sys.exit(
            f"{shlex.join(argv)} exited {done.returncode}:\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    return done


def mlflow_dockerfile(text: str, base: str) -> str:
    """MLflow's generated Dockerfile on ``base``: FROM swapped, and a venv
    put on PATH where python:slim has its own pip and ``python``."""
    lines = text.splitlines()
    froms = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    if len(froms) != 1:
        raise ValueError(f"expected one FROM line, found {len(froms)}")
    lines[froms[0]] = f"FROM {base}\n{STAND_IN.rstrip()}"
    return "\n".join(lines) + "\n"


def verdicts(sizes: dict[tuple[str, str], int]) -> list[str]:
    """One line per goal whose sizes were measured: PASS or FAIL."""
    found = []
    for model, goal in GOALS.items():
        ours = sizes.get((model, "ours"))
        if ours is None:
            continue
        verdict = "PASS" if ours <= goal else "FAIL"
        found.append(
            f"goal {model} <= {goal / 1e6:.0f} MB: {verdict} ({ours / 1e6:.0f} MB)"
        )
    ours, theirs = sizes.get(("reference", "ours")), sizes.get(("reference", "mlflow"))
    if ours is not None and theirs:
        verdict = "PASS" if ours <= theirs * MLFLOW_SHARE else "FAIL"
        found.append(
            f"goal reference <= 1/3 of mlflow's: {verdict} ({ours / theirs:.2f})"
        )
    return found


def image_size(tag: str) -> int:
    """Layer bytes of a local image, as `mlops image build` counts them."""
    from mlops_actions.image.builders import choose

    size = choose("buildah").size(tag)
    if size is None:
        sys.exit(f"buildah cannot tell the size of {tag}")
    return size


def ensure_base(tag: str, work: Path) -> None:
    """The base image ``tag``, made from a debootstrap rootfs (about a minute,
    from MIRROR) when this machine does not have it yet, then kept."""
    if subprocess.run(["podman", "image", "exists", tag], timeout=60).returncode == 0:
        return
    root = work / "rootfs"
    try:
        sh(
            ["debootstrap", "--variant=minbase", "--include=python3,python3-venv"]
            + ["bookworm", str(root), MIRROR],
            timeout=900,
        )
        # apt's downloads and lists are 90 MB the image does not need
        for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (root / leftover).glob("*"):
                if path.is_file():
                    path.unlink()
        script = (
            f"tar -C {shlex.quote(str(root))} -c . | podman import "
            f"--change 'CMD [\"/bin/bash\"]' - {shlex.quote(tag)}"
        )
        sh(["bash", "-o", "pipefail", "-c", script], timeout=300)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def reference_model(work: Path, timeout: float) -> Path:
    """The reference pipeline's model, trained briefly (size is all we need)."""
    done = sh(
        [sys.executable, "-m", "mlops_actions", "pipeline", "run"]
        + [str(ROOT / "pipelines" / "pipeline.yml"), "--env", "host"]
        + ["--set", "epochs=2"],
        timeout=timeout,
        cwd=work,
    )
    line = next(x for x in done.stdout.splitlines() if x.strip().startswith("model "))
    return work / line.split()[1]


def sklearn_model(work: Path) -> Path:
    """The scorer benchmark's GradientBoosting model (MLflow sklearn flavor)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "scorer_benchmark", ROOT / "benchmarks" / "scorer.py"
    )
    assert spec is not None and spec.loader is not None
    scorer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scorer)
    return scorer.gbm_model(work)[0]


def build_ours(model: Path, tag: str, base: str, work: Path, timeout: float) -> dict:
    bundle, record = work / f"bundle-{tag.rsplit(':', 1)[1]}", work / "image.json"
    mlops = [sys.executable, "-m", "mlops_actions", "image"]
    sh([*mlops, "bundle", str(model), "--out", str(bundle), "--wheels"], timeout)
    sh(
        [*mlops, "build", str(bundle), "--tag", tag, "--builder", "buildah"]
        + ["--base-image", base, "--pull", "never", "--timeout", str(int(timeout))]
        + ["--out", str(record)],
        timeout + 60,
    )
    found = json.loads(record.read_text())
    return {"size": found["size"], "seconds": found["build_seconds"]}


def build_mlflow(model: Path, tag: str, base: str, work: Path, timeout: float) -> dict:
    context = work / f"mlflow-{tag.rsplit(':', 1)[1]}"
    mlflow = shutil.which("mlflow", path=str(BIN)) or "mlflow"
    sh(
        [mlflow, "models", "generate-dockerfile", "-m", str(model)]
        + ["-d", str(context), "--env-manager", "local"],
        timeout=300,
    )
    dockerfile = context / "Dockerfile"
    dockerfile.write_text(mlflow_dockerfile(dockerfile.read_text(), base))
    started = time.monotonic()
    sh(
        ["buildah", "build", "--isolation=chroot", "--pull=never", "--format=docker"]
        + ["--volume", f"{HOST_CA}:/run/host-ca.crt:ro", "--tag", tag, str(context)],
        timeout=timeout,
    )
    return {"size": image_size(tag), "seconds": time.monotonic() - started}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--no-mlflow", action="store_true", help="ours only")
    parser.add_argument("--base", default=BASE_TAG)
    parser.add_argument("--reference-model", type=Path)
    parser.add_argument("--timeout", type=float, default=900, help="per build")
    parser.add_argument("--keep", action="store_true", help="keep the images")
    args = parser.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    unknown = set(models) - set(MODELS)
    if unknown:
        parser.error(f"--models: unknown {', '.join(sorted(unknown))}")
    sizes: dict[tuple[str, str], int] = {}
    tags = []
    with tempfile.TemporaryDirectory(prefix="image-size-") as tmp:
        work = Path(tmp)
        ensure_base(args.base, work)
        base_size = image_size(args.base)
        print(f"base {args.base}: {base_size / 1e6:.0f} MB")
        for name in models:
            model = FIXTURE
            if name == "reference":
                model = args.reference_model or reference_model(work, args.timeout)
            elif name == "sklearn":
                model = sklearn_model(work)
            builders = {"ours": build_ours}
            if not args.no_mlflow:
                builders["mlflow"] = build_mlflow
            for who, build in builders.items():
                tag = f"localhost/image-size/{name}:{who}"
                tags.append(tag)
                found = build(model, tag, args.base, work, args.timeout)
                sizes[(name, who)] = found["size"]
                print(
                    f"{name:<10} {who:<7} {found['size'] / 1e6:6.0f} MB "
                    f"({(found['size'] - base_size) / 1e6:.0f} MB on the base)  "
                    f"built in {found['seconds']:.1f} s"
                )
            if (name, "mlflow") in sizes:
                ratio = sizes[(name, "ours")] / sizes[(name, "mlflow")]
                print(f"{name:<10} ratio   ours/mlflow {ratio:.2f}")
    for line in verdicts(sizes):
        print(line)
    if not args.keep:
        for tag in tags:
            subprocess.run(["buildah", "rmi", tag], capture_output=True, timeout=120)
    return 0


if __name__ == "__main__":
    sys.exit(main())
