"""actions/submit-pipeline: every input reaches `mlops pipeline submit` through
env (or as an argument the step's own script builds), verbatim; the outputs
are the step's."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION_DIR = ROOT / "actions" / "submit-pipeline"
ACTION = yaml.safe_load((ACTION_DIR / "action.yml").read_text())
(STEP,) = ACTION["runs"]["steps"]

#: Where each input goes: the variable the CLI (or setup.sh) reads.
ENV_OF_INPUT = {
    "pipeline": "MLOPS_ACTIONS_PIPELINE",
    "backend": "MLOPS_BACKEND",
    "workspace": "MLOPS_AZURE_WORKSPACE",
    "resource-group": "MLOPS_AZURE_RESOURCE_GROUP",
    "subscription": "MLOPS_AZURE_SUBSCRIPTION_ID",
    "timeout": "MLOPS_PIPELINE_SUBMIT_TIMEOUT",
    "wait": "MLOPS_PIPELINE_SUBMIT_WAIT",
    "light": "MLOPS_PIPELINE_SUBMIT_LIGHT",
    "set": "MLOPS_ACTIONS_SET",
    "metrics-output": "MLOPS_PIPELINE_SUBMIT_METRICS_OUTPUT",
    "create-compute": "MLOPS_PIPELINE_SUBMIT_CREATE_COMPUTE",
    "requirements": "MLOPS_SETUP_REQUIREMENTS",
}

# A uv that makes a venv whose `mlops` records its arguments, one per line
# (NUL-separated, so a value with a newline or spaces stays one value).
FAKE_UV = """#!/bin/bash
if [[ "$1" == venv ]]; then
  dir="${@: -1}"
  mkdir -p "$dir/bin"
  cat > "$dir/bin/mlops" <<'EOF'
#!/bin/bash
if [[ "$1" == --version ]]; then echo "mlops, version 0.0.0"; exit 0; fi
printf '%s\\0' "$@" > "$MLOPS_CALL"
env | grep -E '^MLOPS_(BACKEND|AZURE_|PIPELINE_SUBMIT_)' | sort > "$MLOPS_CALL.env"
exit "${FAKE_EXIT:-0}"
EOF
  chmod +x "$dir/bin/mlops"
fi
"""


def test_every_input_reaches_the_cli_through_env():
    assert set(ACTION["inputs"]) == set(ENV_OF_INPUT)
    env = STEP["env"]
    for name, var in ENV_OF_INPUT.items():
        assert f"inputs.{name}" in str(env[var]), (name, var, env.get(var))
    # Nothing but env carries a value into the script.
    assert "${{" not in STEP["run"]
    assert STEP["shell"] == "bash"


def test_workspace_inputs_fall_back_to_the_jobs_env():
    # An empty input must not hide a job-level MLOPS_AZURE_* value.
    for name, var in list(ENV_OF_INPUT.items())[2:5]:
        assert STEP["env"][var] == f"${{{{ inputs.{name} || env.{var} }}}}"


def test_azure_extra_only_for_the_azure_backend():
    extras = STEP["env"]["MLOPS_SETUP_EXTRAS"]
    assert extras == "${{ inputs.backend == 'azure' && 'azure' || '' }}"


def test_outputs_are_the_steps():
    assert set(ACTION["outputs"]) == {"job-name", "job-url", "status", "metrics-path"}
    for name, output in ACTION["outputs"].items():
        assert output["value"] == f"${{{{ steps.{STEP['id']}.outputs.{name} }}}}"


def test_one_fixed_command_line():
    commands = [
        line.strip()
        for line in STEP["run"].splitlines()
        if re.match(r"\s*mlops\b", line)
    ]
    assert commands == [
        'mlops pipeline submit ${overrides[@]+"${overrides[@]}"} -- '
        '"$MLOPS_ACTIONS_PIPELINE"'
    ]


def test_defaults_are_the_documented_ones():
    defaults = {k: v.get("default") for k, v in ACTION["inputs"].items()}
    assert defaults["backend"] == "local"
    # Empty: the CLI's own default (mlops.yaml azure.timeout, else 14400 s)
    # applies, which a fixed default here would always hide.
    assert defaults["timeout"] == ""
    assert (defaults["wait"], defaults["light"]) == ("true", "false")
    assert ACTION["inputs"]["pipeline"]["required"] is True


def run_step(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess, list]:
    """The step's script as the runner runs it, setup.sh included, with a
    fake uv so `mlops` is a recorder."""
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    (tools / "uv").write_text(FAKE_UV)
    (tools / "uv").chmod(0o755)
    call = tmp_path / "mlops.call"
    base = {
        "PATH": f"{tools}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "RUNNER_TEMP": str(tmp_path / "runner-temp"),
        "GITHUB_ACTION_PATH": str(ACTION_DIR),
        "MLOPS_CALL": str(call),
    }
    done = subprocess.run(
        ["bash", "-c", STEP["run"]],
        env=base | env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    argv = call.read_text().split("\0")[:-1] if call.exists() else []
    return done, argv


def test_set_lines_arrive_verbatim_one_option_each(tmp_path):
    marker = tmp_path / "pwned"
    lines = [
        "word=two words",
        "",
        f'note=$(touch {marker}) `touch {marker}`; echo "x"',
        "  ",
        "jobs.train.inputs.epochs=3\r",
        "tail=--help",
    ]
    done, argv = run_step(
        tmp_path,
        MLOPS_ACTIONS_PIPELINE="pipelines/my pipeline.yml",
        MLOPS_ACTIONS_SET="\n".join(lines),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert argv == [
        "pipeline",
        "submit",
        "--set=word=two words",
        f'--set=note=$(touch {marker}) `touch {marker}`; echo "x"',
        "--set=jobs.train.inputs.epochs=3",
        "--set=tail=--help",
        "--",
        "pipelines/my pipeline.yml",
    ]
    assert not marker.exists()


def test_no_overrides_and_an_option_looking_file(tmp_path):
    # `--` keeps a file named like an option a file.
    done, argv = run_step(
        tmp_path, MLOPS_ACTIONS_PIPELINE="--help", MLOPS_ACTIONS_SET=""
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert argv == ["pipeline", "submit", "--", "--help"]


@pytest.mark.parametrize("status", [3, 2])
def test_the_clis_exit_status_is_the_steps(tmp_path, status):
    # A failed, cancelled or timed-out job (3) or a usage error (2) fails the
    # step with the CLI's own status.
    done, argv = run_step(
        tmp_path,
        MLOPS_ACTIONS_PIPELINE="p.yml",
        MLOPS_ACTIONS_SET="a=1",
        FAKE_EXIT=str(status),
    )
    assert argv == ["pipeline", "submit", "--set=a=1", "--", "p.yml"]
    assert done.returncode == status


def test_backend_and_workspace_reach_the_cli(tmp_path):
    done, _ = run_step(
        tmp_path,
        MLOPS_ACTIONS_PIPELINE="p.yml",
        MLOPS_BACKEND="azure",
        MLOPS_AZURE_WORKSPACE="ws",
        MLOPS_PIPELINE_SUBMIT_TIMEOUT="600",
        MLOPS_PIPELINE_SUBMIT_WAIT="false",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    seen = (tmp_path / "mlops.call.env").read_text().splitlines()
    assert {
        "MLOPS_BACKEND=azure",
        "MLOPS_AZURE_WORKSPACE=ws",
        "MLOPS_PIPELINE_SUBMIT_TIMEOUT=600",
        "MLOPS_PIPELINE_SUBMIT_WAIT=false",
    } <= set(seen)
    # The overrides travel as arguments only: Click would split a variable.
    assert not [line for line in seen if line.startswith("MLOPS_PIPELINE_SUBMIT_SET")]
