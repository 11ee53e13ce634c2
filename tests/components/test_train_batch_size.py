"""The train step's batch size: ``auto`` by default, an integer overrides it,
and the size used is printed and recorded in training.json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPONENTS = ROOT / "pipelines" / "components"
SOURCES = {
    "penguins": ("sample:penguins", "sex"),
    "synthetic-12k": ("sample:synthetic?rows=12000&seed=1", "label"),
    "synthetic-110k": ("sample:synthetic?rows=110000&seed=1", "label"),
}


def run_step(step: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(COMPONENTS / step / f"{step}.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folders = {}
    for name, (source, target) in SOURCES.items():
        root = tmp_path_factory.mktemp(name)
        for step, args in (
            ("ingest", ["--source", source, "--snapshot", "snapshot"]),
            ("preprocess", ["--snapshot", "snapshot", "--target", target]),
        ):
            extra = ["--prepared", "prepared"] if step == "preprocess" else []
            result = run_step(step, *args, *extra, cwd=root)
            assert result.returncode == 0, result.stderr
        folders[name] = root / "prepared"
    return folders


def train(prepared: Path, tmp_path: Path, *args: str) -> tuple[str, dict]:
    model = tmp_path / "model"
    result = run_step(
        "train",
        *("--prepared", str(prepared), "--epochs", "1", "--device", "cpu"),
        *("--model", str(model), *args),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout, json.loads((model / "training.json").read_text())["params"]


@pytest.mark.parametrize(
    ("source", "train_rows", "batch"),
    [
        ("penguins", 199, 64),
        ("synthetic-12k", 7200, 112),
        ("synthetic-110k", 66000, 1024),
    ],
)
def test_auto_batch_is_train_rows_over_64_within_64_to_1024(
    prepared: dict[str, Path], tmp_path: Path, source: str, train_rows: int, batch: int
) -> None:
    stdout, params = train(prepared[source], tmp_path)

    assert f"train {train_rows} rows," in stdout
    assert f"; batch {batch} (auto)\n" in stdout
    assert params["batch_size"] == "auto"
    assert params["batch_size_resolved"] == batch


def test_an_integer_batch_size_overrides_auto(
    prepared: dict[str, Path], tmp_path: Path
) -> None:
    stdout, params = train(prepared["synthetic-12k"], tmp_path, "--batch_size", "256")

    assert "; batch 256\n" in stdout
    assert params["batch_size"] == "256"
    assert params["batch_size_resolved"] == 256


@pytest.mark.parametrize("value", ["0", "-3", "big", "1.5"])
def test_a_bad_batch_size_exits_2_naming_the_input(
    prepared: dict[str, Path], tmp_path: Path, value: str
) -> None:
    result = run_step(
        "train",
        *("--prepared", str(prepared["penguins"]), "--batch_size", value),
        *("--model", str(tmp_path / "model")),
        cwd=tmp_path,
    )

    assert result.returncode == 2
    assert result.stderr == (
        f"error: batch_size must be auto or an integer of at least 1: got {value!r}\n"
    )
