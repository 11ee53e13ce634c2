"""The real thing, with no Docker engine and no image registry reachable:
bundle the fixture model with its wheels, build it with buildah on a Debian
base made here, run it with podman, ask it for a prediction, push it to
Debian's docker-registry on 127.0.0.1 and read the digest back with skopeo.

Needs root and the tools `.ci/install-image-tools` installs. The base image is
built once per machine from a debootstrap rootfs (about a minute) and kept
under BASE_TAG; every other image, container and registry this test makes is
removed at the end.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.image.conftest import FIXTURE_MODEL

pytestmark = pytest.mark.e2e

TOOLS = ("buildah", "podman", "skopeo", "debootstrap", "docker-registry", "runc")
#: the base benchmarks/image_size.py makes (and keeps) when it is missing
BASE_TAG = "localhost/mlops-actions-test-base:bookworm-py311-1"
ROOT = Path(__file__).resolve().parents[2]
SHA = "0123456789abcdef0123456789abcdef01234567"
# podman here: runc (crun cannot set rlimits in this cgroup set-up) and
# explicit rlimits (the defaults are refused); see TESTING.md.
RUN_FLAGS = ["--runtime", "runc", "--ulimit", "nofile=1024:1024"]
RUN_FLAGS += ["--ulimit", "nproc=1000:1000"]

missing = [tool for tool in TOOLS if shutil.which(tool) is None]
if missing:
    pytestmark = [
        pytestmark,
        pytest.mark.skip(
            reason=f"{', '.join(missing)} missing: .ci/install-image-tools"
        ),
    ]
elif os.geteuid() != 0:
    pytestmark = [
        pytestmark,
        pytest.mark.skip(reason="buildah/podman here run as root"),
    ]
elif sys.version_info[:2] != (3, 11):
    # --wheels picks wheels for this interpreter; the base has Debian 12's 3.11
    pytestmark = [pytestmark, pytest.mark.skip(reason="the Debian 12 base has 3.11")]


def sh(argv: list[str], timeout: float, check: bool = True) -> str:
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if check and done.returncode != 0:
        pytest.fail(
            f"{shlex.join(argv)} exited {done.returncode}:\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, deadline: float) -> tuple[int, bytes]:
    """GET ``url`` until it answers 200 or ``deadline`` (monotonic) passes."""
    last: object = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except OSError as exc:
            last = exc
        time.sleep(0.5)
    pytest.fail(f"{url} did not answer 200 in time (last: {last})")


#: what the image's venv holds of what slim.py strips
PROBE = """
import importlib.util, json, pathlib, sysconfig
site = pathlib.Path(sysconfig.get_paths()["purelib"])
print(json.dumps({
    "pip": importlib.util.find_spec("pip") is not None,
    "setuptools": importlib.util.find_spec("setuptools") is not None,
    "test folders": sorted(str(p) for p in site.rglob("tests") if p.is_dir()),
    "headers": sorted(str(p) for p in site.rglob("*.h")),
    "mlflow bytecode": any((site / "mlflow" / "__pycache__").glob("*.pyc")),
}))
"""


def stripped(tag: str) -> dict:
    """What the image's venv still holds of what the build strips."""
    found = sh(
        ["podman", "run", "--rm", *RUN_FLAGS, "--entrypoint", "/opt/scorer/bin/python"]
        + [tag, "-c", PROBE],
        timeout=120,
    )
    return json.loads(found.splitlines()[-1])


@pytest.fixture(scope="session")
def base_image(tmp_path_factory) -> str:
    """Debian 12 with python3 and venv, as an image: built once, then reused.
    The recipe is the image-size benchmark's, so both measure the same base."""
    path = ROOT / "benchmarks" / "image_size.py"
    spec = importlib.util.spec_from_file_location("image_size_benchmark", path)
    assert spec is not None and spec.loader is not None
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    benchmark.ensure_base(BASE_TAG, tmp_path_factory.mktemp("base"))
    return BASE_TAG


@pytest.fixture
def registry(tmp_path):
    """Debian's docker-registry on 127.0.0.1, storage in tmp; its host:port."""
    port = free_port()
    config = tmp_path / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp_path / 'registry-data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = (tmp_path / "registry.log").open("w")
    proc = subprocess.Popen(
        ["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        get(f"http://127.0.0.1:{port}/v2/", time.monotonic() + 30)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def test_bundle_build_run_push(mlops, bundle_argv, base_image, registry, tmp_path):
    started = time.monotonic()
    bundle = tmp_path / "bundle"
    made = mlops(
        *bundle_argv, str(FIXTURE_MODEL), "--out", str(bundle), "--wheels",
        "--name", "penguins", "--version", "1", "--commit", SHA,
    )  # fmt: skip
    assert made.code == 0, made.err
    suffix = secrets.token_hex(4)
    tag = f"{registry}/e2e/penguins:1-{suffix}"
    container = f"mlops-e2e-{suffix}"
    image_json = tmp_path / "image.json"
    try:
        built = mlops(
            "image", "build", str(bundle), "--tag", tag, "--push", "--builder",
            "buildah", "--base-image", base_image, "--pull", "never",
            "--timeout", "600", "--out", str(image_json),
        )  # fmt: skip
        assert built.code == 0, built.err
        record = json.loads(image_json.read_text())
        assert record["builder"] == "buildah"
        assert record["model"]["name"] == "penguins"

        port = free_port()
        sh(
            ["podman", "run", "--detach", "--name", container, *RUN_FLAGS]
            + ["--publish", f"127.0.0.1:{port}:8080", tag],
            timeout=120,
        )
        url = f"http://127.0.0.1:{port}"
        status, body = get(f"{url}/health/ready", time.monotonic() + 90)
        assert json.loads(body)["status"] == "ready"
        request = urllib.request.Request(
            f"{url}/invocations",
            data=json.dumps(
                {"dataframe_split": {"columns": ["bill_length_mm"], "data": [[50.0]]}}
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            answer = json.loads(resp.read())
        assert answer == {"predictions": [{"label": "male", "probability": 1.0}]}
        # the image's own HEALTHCHECK passes; it runs as the numeric user
        sh(["podman", "healthcheck", "run", container], timeout=30)
        assert (
            sh(
                ["podman", "inspect", "--format", "{{.Config.User}}", container],
                timeout=30,
            ).strip()
            == "10001:10001"
        )
        assert stripped(tag) == {
            "pip": False,
            "setuptools": False,
            "test folders": [],
            "headers": [],
            "mlflow bytecode": True,
        }
        assert 0 < record["base_size"] < record["size"]
        labels = json.loads(
            sh(["podman", "image", "inspect", "--format", "{{json .Labels}}", tag], 30)
        )
        assert labels["io.mlops-actions.model.name"] == "penguins"
        assert labels["io.mlops-actions.model.version"] == "1"
        assert labels["org.opencontainers.image.revision"] == SHA
        assert labels["org.opencontainers.image.base.name"] == base_image

        pushed = json.loads(
            sh(["skopeo", "inspect", "--tls-verify=false", f"docker://{tag}"], 60)
        )
        assert record["digest"] == pushed["Digest"]
        assert record["reference"] == f"{registry}/e2e/penguins@{pushed['Digest']}"
        by_digest = json.loads(
            sh(
                ["skopeo", "inspect", "--tls-verify=false"]
                + [f"docker://{record['reference']}"],
                60,
            )
        )
        assert by_digest["Digest"] == record["digest"]
        print(
            f"\nimage {record['size'] / 1e6:.0f} MB, built in "
            f"{record['build_seconds']:.1f} s, pushed in "
            f"{record['push_seconds']:.1f} s; whole test "
            f"{time.monotonic() - started:.0f} s"
        )
    finally:
        subprocess.run(
            ["podman", "rm", "--force", "--time", "5", container],
            capture_output=True,
            timeout=60,
        )
        subprocess.run(
            ["podman", "rmi", "--force", tag], capture_output=True, timeout=60
        )
