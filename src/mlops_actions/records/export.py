"""The JSON Schemas of the exchanged files, as kept under ``schemas/``.

Regenerate after changing a record: ``python -m mlops_actions.records.export``
(from the repository root; pass another folder as the argument to write
there). A test fails when ``schemas/`` and the models differ.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mlops_actions.records.base import Record
from mlops_actions.records.deploy import DeployRecord, SmokeRecord
from mlops_actions.records.gate import GateRecord
from mlops_actions.records.image import BundleRecord, ImageRecord
from mlops_actions.records.metrics import MetricsRecord
from mlops_actions.records.model import ModelRecord
from mlops_actions.records.pipeline import RunRecord, StepFile

#: every exchanged file, in the order a release writes them
RECORDS: tuple[type[Record], ...] = (
    RunRecord,
    StepFile,
    MetricsRecord,
    SmokeRecord,
    GateRecord,
    ModelRecord,
    BundleRecord,
    ImageRecord,
    DeployRecord,
)
SCHEMAS = Path("schemas")


def file_name(model: type[Record]) -> str:
    """``gate.schema.json`` for ``gate.json``."""
    return model.file_name.removesuffix(".json") + ".schema.json"


def json_schema(model: type[Record]) -> dict[str, Any]:
    """The schema of ``model`` as its writers write it: every field present."""
    body = model.model_json_schema(mode="serialization", by_alias=True)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"{model.file_name} ({model.schema_name()} "
        f"version {model.schema_version()})",
        **{key: value for key, value in body.items() if key != "title"},
    }


def rendered() -> dict[str, str]:
    """File name to text, for every record."""
    return {
        file_name(model): json.dumps(json_schema(model), indent=2, sort_keys=True)
        + "\n"
        for model in RECORDS
    }


def differences(folder: Path = SCHEMAS) -> list[str]:
    """What differs between ``folder`` and the models: one line per file
    missing, stale (no model of that name) or out of date."""
    texts = rendered()
    found = []
    for name, text in texts.items():
        path = folder / name
        if not path.is_file():
            found.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != text:
            found.append(f"{path}: differs from the model")
    for path in sorted(folder.glob("*.schema.json")):
        if path.name not in texts:
            found.append(f"{path}: no record of that name")
    return found


def export(folder: Path = SCHEMAS) -> list[Path]:
    """Write every schema into ``folder`` and remove stale ones; the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = rendered()
    for stale in folder.glob("*.schema.json"):
        if stale.name not in texts:
            stale.unlink()
    written = []
    for name, text in texts.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    for path in export(Path(args[0]) if args else SCHEMAS):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
