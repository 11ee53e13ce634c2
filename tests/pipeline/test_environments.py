"""Declared environments honoured: venvs built once and reused, pins seen by
the step, conda-only packages refused with the fix, registered names found
in the project's environments/ folder."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest

from mlops_actions.pipeline.environments import Environments
from mlops_actions.pipeline.environments.declared import declared_environment
from mlops_actions.pipeline.environments.venv import ensure_venv
from mlops_actions.pipeline.spec import load_pipeline
from tests.pipeline.environments_project import (
    PYTHON,
    conda,
    report,
    write_project,
)

pytestmark = pytest.mark.usefixtures("offline_wheels")
BUILD = re.compile(
    r"^env: building venv (\.mlops/envs/[0-9a-f]{16}) "
    rf"\(python {PYTHON}, 1 package\) with uv$",
    re.M,
)
from tests.pipeline.environments_project import offline_wheels  # noqa: E402,F401


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path / "project"


def run(mlops, pipeline: Path, *flags: str):
    result = mlops("pipeline", "run", str(pipeline), "--json", *flags)
    assert result.code == 0, result
    return result, json.loads(result.out)


def test_venv_is_built_once_then_reused(mlops, project):
    pipeline = write_project(
        project, "file:env/environment.yml", _env_files(conda("six==1.10.0"))
    )
    first, cold = run(mlops, pipeline)  # auto: pip dependencies, so a venv
    built = BUILD.search(first.err)
    assert built, first.err
    folder = built[1]
    assert f"env: show: venv {folder} (python {PYTHON}, 1 package)" in first.err
    recorded = json.loads(Path(folder, "env.json").read_text())
    assert recorded["built_by_run"] == cold["run_id"]
    assert recorded["requirements"] == ["six==1.10.0"]
    assert report(cold)["prefix"] == str(Path(folder).resolve())

    second, warm = run(mlops, pipeline, "--no-cache")  # the step runs again
    assert "env: building" not in second.err
    assert f"env: show: venv {folder} (python {PYTHON}, 1 package)" in second.err
    assert warm["steps"][0]["status"] == "completed"
    assert report(warm)["prefix"] == str(Path(folder).resolve())
    assert json.loads(Path(folder, "env.json").read_text()) == recorded
    assert [p.name for p in Path(".mlops/envs").iterdir() if p.is_dir()] == [
        Path(folder).name
    ]


def test_step_sees_its_pinned_version_not_the_clis(mlops, project):
    import six  # the CLI's own

    pipeline = write_project(
        project, "file:env/environment.yml", _env_files(conda("six==1.10.0"))
    )
    _, pinned = run(mlops, pipeline, "--env", "venv")
    assert report(pinned)["six"] == "1.10.0"
    _, host = run(mlops, pipeline, "--env", "host")
    assert six.__version__ != "1.10.0"
    assert report(host)["six"] == six.__version__
    assert host["steps"][0]["status"] == "completed"  # not reused from venv


def test_changed_pin_is_a_new_venv_and_no_reuse(mlops, project):
    files = _env_files(conda("six==1.10.0"))
    pipeline = write_project(project, "file:env/environment.yml", files)
    run(mlops, pipeline)
    (project / "env" / "conda.yml").write_text(conda("six==1.11.0"))
    again, changed = run(mlops, pipeline)
    assert BUILD.search(again.err), again.err
    assert changed["steps"][0]["status"] == "completed"
    assert report(changed)["six"] == "1.11.0"
    assert len([p for p in Path(".mlops/envs").iterdir() if p.is_dir()]) == 2


def test_inline_environment_with_inline_conda_file(mlops, project):
    inline = (
        "\n  conda_file:\n    dependencies:\n"
        f"      - python={PYTHON}\n      - pip:\n          - six==1.11.0"
    )
    pipeline = write_project(project, inline, {})
    result, record = run(mlops, pipeline)
    assert "env: show: venv .mlops/envs/" in result.err
    assert report(record)["six"] == "1.11.0"


def test_registered_name_resolves_to_the_projects_environment(mlops, project):
    files = _env_files(conda("six==1.11.0"), folder="environments/probe")
    pipeline = write_project(project, "azureml:probe@latest", files)
    result, record = run(mlops, pipeline)
    assert BUILD.search(result.err), result.err
    assert report(record)["six"] == "1.11.0"


def test_registered_name_not_in_the_project_runs_on_the_host(mlops, project):
    pipeline = write_project(project, "azureml:AzureML-sklearn-1.5:3", {})
    result, record = run(mlops, pipeline)
    assert re.search(
        r"^env: show: host \(python [\d.]+; azureml:AzureML-sklearn-1.5:3: no local "
        r"environments/\*/environment.yml named AzureML-sklearn-1.5\)$",
        result.err,
        re.M,
    )
    assert report(record)["prefix"] != ""


def test_conda_only_packages_are_refused_with_the_fix(mlops, project):
    files = _env_files(conda("six==1.10.0", conda_deps=("numpy=2.0", "libgomp")))
    pipeline = write_project(project, "file:env/environment.yml", files)
    result = mlops("pipeline", "run", str(pipeline))
    assert result.code == 2
    assert result.err.splitlines()[-1] == (
        "error: jobs.show: environment file:env/environment.yml: conda-only "
        "packages numpy=2.0, libgomp cannot be installed in a venv: move them "
        "under pip: in project/env/conda.yml, or run with --env container or "
        "--env host"
    )
    assert not Path(".mlops/runs").exists()  # refused before anything ran
    assert mlops("pipeline", "run", str(pipeline), "--env", "host").code == 0


def test_a_venv_that_fails_to_build_fails_its_step_and_leaves_nothing(mlops, project):
    pipeline = write_project(
        project, "file:env/environment.yml", _env_files(conda("six==9.9.9"))
    )
    result = mlops("pipeline", "run", str(pipeline))
    assert result.code == 3
    error = result.err.splitlines()[-1]
    assert re.fullmatch(
        r"error: step show: cannot build its environment: uv pip install failed "
        r"\(exit \d+\): .*six.* \(log: (\.mlops/envs/[0-9a-f]{16}\.log)\)",
        error,
    ), result.err
    log = re.search(r"\(log: (\S+)\)$", error)[1]
    assert "six==9.9.9" in Path(log).read_text()
    record = json.loads(next(Path(".mlops/runs").glob("*/run.json")).read_text())
    assert [s["status"] for s in record["steps"]] == ["failed"]
    assert sorted(p.suffix for p in Path(".mlops/envs").iterdir()) == [".lock", ".log"]


def test_env_is_read_from_mlops_pipeline_run_env(mlops, project, monkeypatch):
    pipeline = write_project(
        project, "file:env/environment.yml", _env_files(conda("six==1.10.0"))
    )
    monkeypatch.setenv("MLOPS_PIPELINE_RUN_ENV", "host")
    result, record = run(mlops, pipeline)
    assert "env: show: host (python " in result.err
    assert not Path(".mlops/envs").exists()


def test_env_host_does_not_read_the_declaration(mlops, project):
    files = {"env/environment.yml": "name: probe\nconda_file: missing.yml\n"}
    pipeline = write_project(project, "file:env/environment.yml", files)
    result = mlops("pipeline", "run", str(pipeline), "--env", "host")
    assert result.code == 0, result
    refused = mlops("pipeline", "run", str(pipeline))
    assert refused.code == 2
    assert refused.err.splitlines()[-1].startswith(
        "error: environment file:env/environment.yml: conda_file "
        f"{project.resolve()}/env/missing.yml: [Errno 2] No such file"
    ), refused.err


def test_two_runs_at_once_build_one_venv(tmp_path):
    """The second caller waits on the lock and reuses the first's venv."""
    declared = declared_environment(
        {"conda_file": {"dependencies": ["pip", {"pip": ["six==1.10.0"]}]}}, tmp_path
    )
    said: list[str] = []
    results = []

    def build() -> None:
        venv = ensure_venv(tmp_path, declared, run_id="r", say=said.append, uv=_uv())
        results.append(venv)

    threads = [threading.Thread(target=build) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(v.built for v in results) == [False, False, True]
    assert len({v.folder for v in results}) == 1
    assert [line for line in said if line.startswith("env: building")] != []
    assert len([line for line in said if line.startswith("env: building")]) == 1
    leftovers = [p.name for p in (tmp_path / "envs").iterdir() if ".tmp-" in p.name]
    assert leftovers == []


def test_without_uv_python_venv_and_pip_build_it(tmp_path):
    declared = declared_environment(
        {"conda_file": {"dependencies": [{"pip": ["six==1.11.0"]}]}}, tmp_path
    )
    said: list[str] = []
    venv = ensure_venv(tmp_path, declared, run_id="r", say=said.append, uv=None)
    assert said[0].endswith("with python -m venv + pip")
    version = venv.python.parent / ".." / "lib"
    assert list(version.glob("python*/site-packages/six.py"))
    assert (venv.folder / "env.json").is_file()


def test_header_names_each_steps_environment(tmp_path):
    pipeline = load_pipeline(Path(__file__).parents[2] / "pipelines/pipeline.yml")
    lines = Environments(tmp_path, "auto").header(list(pipeline.jobs.values()))
    assert len(lines) == 3
    # ingest has its own environment (azureml-fsspec holds cloudpickle<3)
    assert re.fullmatch(
        r"env: ingest: venv \S+/envs/[0-9a-f]{16} \(python 3\.11\.7, 6 packages\)",
        lines[0],
    )
    assert re.fullmatch(
        r"env: preprocess, evaluate: venv \S+/envs/[0-9a-f]{16} "
        r"\(python 3\.11\.7, 10 packages\)",
        lines[1],
    )
    assert lines[2].startswith("env: train: venv ")
    host = Environments(tmp_path, "host").header(list(pipeline.jobs.values()))
    assert host == [
        "env: ingest, preprocess, train, evaluate: host (python "
        + ".".join(map(str, __import__("sys").version_info[:3]))
        + ")"
    ]


def _env_files(conda_text: str, folder: str = "env") -> dict[str, str]:
    return {
        f"{folder}/environment.yml": (
            f"name: {Path(folder).name}\nversion: '1'\nconda_file: conda.yml\n"
        ),
        f"{folder}/conda.yml": conda_text,
    }


def _uv() -> str | None:
    from mlops_actions.pipeline.environments.venv import find_uv

    return find_uv()


def test_header_lists_an_environment_as_not_used_only_when_the_step_runs_on_host(
    mlops, project
):
    pipeline = write_project(
        project, "file:env/environment.yml", _env_files(conda("six==1.10.0"))
    )
    on_host, _ = run(mlops, pipeline, "--env", "host")
    [line] = [x for x in on_host.err.splitlines() if x.startswith("not used locally")]
    assert "environment project/env/environment.yml" in line, line
    in_venv, _ = run(mlops, pipeline, "--env", "venv")
    assert "environment project/env/environment.yml" not in in_venv.err, in_venv.err


def test_env_choices_are_the_runners_modes():
    from mlops_actions.cli.options import ENV_MODES
    from mlops_actions.pipeline.environments import MODES

    assert ENV_MODES == MODES
