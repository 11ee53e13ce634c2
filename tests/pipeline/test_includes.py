"""``additional_includes``: files and folders beside a component's code, copied
into the step's snapshot as Azure ML adds them to the upload, and part of the
step's cache key."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

STEP = """
import json, sys
from pathlib import Path
import helpers
from lib import words
Path(sys.argv[1], "said.json").write_text(json.dumps([helpers.NAME, words.WORD]))
Path("scratch.txt").write_text("written beside the code")
"""


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """``step/`` runs main.py, which imports ``helpers`` (a file) and ``lib``
    (a folder), both outside its code folder, named by additional_includes."""
    (tmp_path / "shared" / "lib").mkdir(parents=True)
    (tmp_path / "shared" / "helpers.py").write_text('NAME = "helper"\n')
    (tmp_path / "shared" / "lib" / "__init__.py").write_text("")
    (tmp_path / "shared" / "lib" / "words.py").write_text('WORD = "first"\n')
    (tmp_path / "step").mkdir()
    (tmp_path / "step" / "main.py").write_text(textwrap.dedent(STEP))
    component = {
        "type": "command",
        "name": "step",
        "code": ".",
        "additional_includes": ["../shared/helpers.py", "../shared/lib"],
        "outputs": {"out": {"type": "uri_folder"}},
        "command": "python main.py ${{outputs.out}}",
    }
    (tmp_path / "step" / "component.yml").write_text(yaml.safe_dump(component))
    pipeline = {
        "type": "pipeline",
        "jobs": {"say": {"type": "command", "component": "./step/component.yml"}},
    }
    (tmp_path / "pipeline.yml").write_text(yaml.safe_dump(pipeline))
    (tmp_path / "state").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_HOME", str(tmp_path / "state"))
    return tmp_path


def run(mlops) -> tuple:
    result = mlops("pipeline", "run", "pipeline.yml", "--env", "host", "--json")
    return result, json.loads(result.out) if result.code == 0 else {}


def test_included_files_and_folders_are_in_the_snapshot(mlops, project):
    result, record = run(mlops)
    assert result.code == 0, result.err
    out = Path(record["steps"][0]["outputs"]["out"])
    assert json.loads((out / "said.json").read_text()) == ["helper", "first"]
    # The user's tree is untouched: includes are copied, not run in place.
    assert not (project / "step" / "scratch.txt").exists()
    assert sorted(p.name for p in (project / "shared").iterdir()) == [
        "helpers.py",
        "lib",
    ]


def test_an_included_file_is_part_of_the_step_cache_key(mlops, project):
    first, _ = run(mlops)
    assert first.code == 0, first.err
    again, record = run(mlops)
    assert record["steps"][0]["status"] == "reused"
    (project / "shared" / "lib" / "words.py").write_text('WORD = "second"\n')
    changed, record = run(mlops)
    assert record["steps"][0]["status"] == "completed"
    out = Path(record["steps"][0]["outputs"]["out"])
    assert json.loads((out / "said.json").read_text()) == ["helper", "second"]


def test_a_missing_include_is_named(mlops, project):
    (project / "shared" / "helpers.py").unlink()
    result = mlops("pipeline", "run", "pipeline.yml", "--env", "host")
    assert result.code == 2
    missing = project / "shared" / "helpers.py"
    assert result.err == (
        "error: step/component.yml:2: jobs.say.additional_includes.0: "
        f"additional include {missing} not found\n"
    )
