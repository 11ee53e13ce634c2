"""benchmarks/image_size.py: MLflow's Dockerfile put on the same base, the
goal verdicts, and (with root and buildah) a real run building our image."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "image_size.py"
FIXTURE = ROOT / "tests" / "fixtures" / "gate" / "model"


def _script():
    spec = importlib.util.spec_from_file_location("image_size", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mlflows_dockerfile_is_built_on_the_same_base(tmp_path):
    mlflow = shutil.which("mlflow", path=str(Path(sys.executable).parent))
    assert mlflow, "mlflow is installed with the dev extra"
    subprocess.run(
        [mlflow, "models", "generate-dockerfile", "-m", str(FIXTURE)]
        + ["-d", str(tmp_path), "--env-manager", "local"],
        check=True,
        capture_output=True,
        timeout=300,
    )
    original = (tmp_path / "Dockerfile").read_text()
    patched = _script().mlflow_dockerfile(original, "localhost/base:1")
    lines = patched.splitlines()
    assert [line for line in lines if line.startswith("FROM ")] == [
        "FROM localhost/base:1"
    ]
    start = lines.index("FROM localhost/base:1")
    assert lines[start + 1 : start + 3] == [
        "RUN python3 -m venv /opt/python",
        "ENV PATH=/opt/python/bin:$PATH PIP_CERT=/run/host-ca.crt",
    ]
    # everything else as MLflow wrote it: its pip install of mlflow included
    rest = lines[:start] + lines[start + 3 :]
    assert rest == [x for x in original.splitlines() if not x.startswith("FROM ")]
    assert any(re.match(r"RUN pip install mlflow==[\d.]+$", x) for x in rest)


def test_two_from_lines_are_refused():
    with pytest.raises(ValueError, match="expected one FROM line, found 2"):
        _script().mlflow_dockerfile("FROM a\nFROM b\n", "base")


def test_verdicts_per_goal_measured():
    verdicts = _script().verdicts
    sizes = {
        ("reference", "ours"): 349_740_544,
        ("reference", "mlflow"): 2_100_000_000,
        ("sklearn", "ours"): 351_000_000,
        ("pyfunc", "ours"): 340_000_000,  # no goal: no line
    }
    assert verdicts(sizes) == [
        "goal reference <= 450 MB: PASS (350 MB)",
        "goal sklearn <= 350 MB: FAIL (351 MB)",
        "goal reference <= 1/3 of mlflow's: PASS (0.17)",
    ]
    assert verdicts({("sklearn", "ours"): 300_000_000}) == [
        "goal sklearn <= 350 MB: PASS (300 MB)"
    ]


@pytest.mark.e2e
@pytest.mark.skipif(
    shutil.which("buildah") is None or os.geteuid() != 0,
    reason="builds with buildah, as root",
)
def test_builds_our_sklearn_image_and_says_the_verdict():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--models", "sklearn", "--no-mlflow"],
        capture_output=True,
        text=True,
        timeout=1500,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"base \S+: \d+ MB", lines[0])
    assert re.fullmatch(
        r"sklearn +ours +\d+ MB \(\d+ MB on the base\)  built in [\d.]+ s", lines[1]
    )
    assert re.fullmatch(r"goal sklearn <= 350 MB: (PASS|FAIL) \(\d+ MB\)", lines[2])
