"""The actions install the project's own requirements file beside the CLI
(input `requirements`, reaching setup.sh through env only)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SETUP = ROOT / "actions" / "_shared" / "setup.sh"
FAKE_UV = """#!/bin/bash
printf '%s\\0' "$@" >> "$UV_CALLS"; echo >> "$UV_CALLS"
if [[ "$1" == venv ]]; then
  dir="${@: -1}"
  mkdir -p "$dir/bin"
  printf '#!/bin/sh\\necho "mlops, version 0.0.0"\\n' > "$dir/bin/mlops"
  chmod +x "$dir/bin/mlops"
fi
"""


def setup(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess, list]:
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    (tools / "uv").write_text(FAKE_UV)
    (tools / "uv").chmod(0o755)
    calls = tmp_path / "uv.calls"
    base = {
        "PATH": f"{tools}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        "UV_CALLS": str(calls),
    }
    done = subprocess.run(
        ["bash", "-c", f'set -euo pipefail; source "{SETUP}"; echo "reached the end"'],
        env=base | env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = []
    if calls.exists():
        found = [
            line.rstrip("\0").split("\0")
            for line in calls.read_text().splitlines()
            if line
        ]
    return done, found


def test_project_requirements_installed_into_the_private_venv(tmp_path):
    odd = "req's; $(touch pwned) `id`.txt"
    (tmp_path / odd).write_text("scikit-learn>=1.5\n")
    done, calls = setup(tmp_path, MLOPS_SETUP_REQUIREMENTS=odd)
    assert done.returncode == 0, done.stdout + done.stderr
    install = calls[1]
    assert install[:2] == ["pip", "install"]
    assert install[-3:] == [str(ROOT), "--requirement", str(tmp_path / odd)]
    assert not (tmp_path / "pwned").exists()


def test_changed_requirements_make_a_new_venv(tmp_path):
    (tmp_path / "requirements.txt").write_text("scikit-learn\n")
    first, _ = setup(tmp_path, MLOPS_SETUP_REQUIREMENTS="requirements.txt")
    (tmp_path / "requirements.txt").write_text("scikit-learn\nxgboost\n")
    second, calls = setup(tmp_path, MLOPS_SETUP_REQUIREMENTS="requirements.txt")
    assert first.returncode == second.returncode == 0
    venvs = {call[-1] for call in calls if call[0] == "venv"}
    assert len(venvs) == 2


def test_missing_requirements_file_is_one_error_naming_the_input(tmp_path):
    done, calls = setup(tmp_path, MLOPS_SETUP_REQUIREMENTS="--help")
    assert done.returncode != 0
    assert done.stdout == (
        "::error title=mlops-actions setup::requirements: --help is not a file: "
        "give the path of your project's requirements file, relative to the "
        "workspace\n"
    )
    assert calls == []


def test_actions_pass_requirements_through_env():
    for path in (ROOT / "action.yml", *(ROOT / "actions").glob("*/action.yml")):
        action = yaml.safe_load(path.read_text())
        if "requirements" not in action["inputs"]:
            continue
        (step,) = action["runs"]["steps"]
        assert step["env"]["MLOPS_SETUP_REQUIREMENTS"] == "${{ inputs.requirements }}"
        assert "requirements" not in step["run"]
    names = [
        p.parent.name
        for p in (ROOT / "actions").glob("*/action.yml")
        if "requirements" in yaml.safe_load(p.read_text())["inputs"]
    ]
    assert sorted(names) == ["gate", "register", "submit-pipeline"]
