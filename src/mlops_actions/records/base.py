"""What every exchanged file shares: a schema name, a version, one reader.

A file is read in a fixed order so that each kind of damage gets its own
message: unreadable or not JSON (:class:`RecordUnreadable`), another file's
schema or no object at all (:class:`NotThisRecord`), a version this release
does not read (:class:`WrongVersion`), then the fields (:class:`InvalidRecord`).
All are usage errors (exit 2): the user pointed at the wrong file or a
damaged one. Callers that word a case their own way catch the subclass.

Readers are lenient where writers are strict: a field a writer always
writes may be missing from a hand-written file (it takes its default), and
fields this release does not know are kept. The exported JSON Schemas
describe what the writers write: every field present.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlops_actions.errors import UsageError
from mlops_actions.jsonio import write_json

R = TypeVar("R", bound="Record")


class Part(BaseModel):
    """A nested part of a record: unknown fields kept, as in the record."""

    model_config = ConfigDict(
        extra="allow",
        protected_namespaces=(),
        json_schema_serialization_defaults_required=True,
    )


class Record(BaseModel):
    """One exchanged file. Subclasses declare ``schema_`` (the name, as a
    one-value ``Literal``), ``version`` (likewise) and their fields."""

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        protected_namespaces=(),
        json_schema_serialization_defaults_required=True,
    )

    #: how messages name the file: "not a {what} (schema ...)"
    what: ClassVar[str]
    #: the file's usual name, for the exported schema's title
    file_name: ClassVar[str]

    @classmethod
    def schema_name(cls) -> str:
        return str(cls.model_fields["schema_"].default)

    @classmethod
    def schema_version(cls) -> int:
        return int(cls.model_fields["version"].default)

    def to_json(self) -> dict[str, Any]:
        """The file's body, every field present."""
        return self.model_dump(by_alias=True)

    def as_read(self) -> dict[str, Any]:
        """The fields the file had, defaults not filled in (a reader that
        passes a part on, or tells a missing field from a null one)."""
        return self.model_dump(by_alias=True, exclude_unset=True)


def schema_field(name: str) -> Any:
    """The ``schema`` field of a record named ``name``."""
    return Field(default=name, alias="schema", description="What this file is.")


def version_field(version: int) -> Any:
    return Field(
        default=version,
        description="The file format's version; readers refuse one they do "
        "not know, and read a hand-written file without one as version 1.",
    )


class RecordUnreadable(UsageError):
    """The file could not be read, or is not JSON; ``error`` says why."""

    def __init__(self, message: str, error: Exception) -> None:
        super().__init__(message)
        self.error = error


class NotThisRecord(UsageError):
    """The file is JSON, but not an object with this record's schema name."""


class WrongVersion(UsageError):
    """The file has this record's schema name but a version not read here."""


class InvalidRecord(UsageError):
    """The right schema and version, a field of the wrong shape."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def parse_record(data: Any, model: type[R], where: str) -> R:
    """``data`` (a parsed JSON document) as ``model``; ``where`` starts each
    message (the path, or the flag and the path)."""
    name = model.schema_name()
    if not isinstance(data, dict) or data.get("schema") != name:
        raise NotThisRecord(f"{where}: not a {model.what} (schema {name})")
    version, expected = data.get("version", 1), model.schema_version()
    if version != expected or isinstance(version, bool):
        raise WrongVersion(
            f"{where}: {name} version {version!r}, but this mlops-actions reads "
            f"version {expected}: write it again with this mlops-actions, or "
            "install the one that wrote it"
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise InvalidRecord(
            f"{where}: not a valid {model.what}: {field}: {first['msg']}", field
        ) from None


def read_record(path: Path, model: type[R], *, where: str | None = None) -> R:
    """The record in ``path``, checked (see the module's docstring)."""
    where = where or str(path)
    return parse_record(read_document(path, where), model, where)


def read_document(path: Path, where: str) -> Any:
    """The JSON document in ``path``; :class:`RecordUnreadable` if there is none."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RecordUnreadable(f"{where}: {exc.strerror or exc}", exc) from None
    except ValueError as exc:
        raise RecordUnreadable(f"{where}: not valid JSON ({exc})", exc) from None


def write_record(path: Path, record: Record) -> None:
    """Write ``record`` atomically (see :func:`mlops_actions.jsonio.write_json`)."""
    write_json(path, record.to_json())
