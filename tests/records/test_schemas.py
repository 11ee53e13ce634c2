"""schemas/ is what the models say, and what the writers write fits it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from mlops_actions.records import export
from mlops_actions.records.export import RECORDS, differences, file_name

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
FIXTURES = ROOT / "tests" / "fixtures"
REGENERATE = "python -m mlops_actions.records.export" + " (from the repository root)"


def test_schemas_folder_matches_the_models():
    found = differences(SCHEMAS)
    assert found == [], f"schemas/ is out of date: run `{REGENERATE}`: {found}"


def test_one_schema_per_record_named_after_its_file():
    assert sorted(p.name for p in SCHEMAS.glob("*.schema.json")) == sorted(
        f"{name}.schema.json"
        for name in (
            "run", "step", "metrics", "smoke", "gate",
            "model", "bundle", "image", "deploy",
        )
    )  # fmt: skip
    names = [model.schema_name() for model in RECORDS]
    assert len(set(names)) == len(names) == 9


def test_a_stale_missing_or_extra_schema_is_found(tmp_path):
    export.export(tmp_path)
    assert differences(tmp_path) == []
    gate = tmp_path / "gate.schema.json"
    gate.write_text(gate.read_text().replace('"decision"', '"verdict"'))
    (tmp_path / "model.schema.json").unlink()
    (tmp_path / "old.schema.json").write_text("{}\n")
    assert differences(tmp_path) == [
        f"{gate}: differs from the model",
        f"{tmp_path / 'model.schema.json'}: missing",
        f"{tmp_path / 'old.schema.json'}: no record of that name",
    ]
    export.export(tmp_path)
    assert differences(tmp_path) == []
    assert not (tmp_path / "old.schema.json").exists()


def test_the_generator_runs_as_a_module(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mlops_actions.records.export", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert sorted(proc.stdout.split()) == sorted(
        str(tmp_path / file_name(model)) for model in RECORDS
    )
    assert differences(tmp_path) == []


def test_each_schema_names_its_record_and_version():
    for model in RECORDS:
        schema = json.loads((SCHEMAS / file_name(model)).read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["properties"]["schema"]["const"] == model.schema_name()
        assert schema["properties"]["version"]["const"] == 1
        assert "schema" in schema["required"] and "version" in schema["required"]


def validator(name: str) -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("folder", ["better", "worse", "champion"])
def test_the_evaluate_steps_metrics_fit_the_schema(folder):
    data = json.loads((FIXTURES / "gate" / folder / "metrics.json").read_text())
    validator("metrics").validate(data)


def test_a_wrong_file_does_not_fit_the_schema():
    with pytest.raises(jsonschema.ValidationError):
        validator("metrics").validate({"schema": "mlops-actions/gate", "version": 1})
    with pytest.raises(jsonschema.ValidationError):
        validator("gate").validate({"schema": "mlops-actions/gate", "version": 2})
