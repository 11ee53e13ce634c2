"""Request bodies in MLflow's scoring protocol -> checked model input.

JSON bodies carry exactly one of ``dataframe_split``, ``dataframe_records``,
``instances`` or ``inputs`` (plus optional ``params``); ``text/csv`` bodies are
a header line and rows. When the model's signature is named columns of simple
types, the scorer checks and converts every column itself (fast, and errors
name the field); otherwise MLflow's own parser does it.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from typing import Any

import orjson

from mlops_actions.scorer.protocol import columns as typed
from mlops_actions.scorer.protocol import unique_keys
from mlops_actions.scorer.model.loading import Column, ServedModel
from mlops_actions.scorer.model.predict import ParsedInput
from mlops_actions.scorer.rejection import Rejected

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
ONE_OF = "one of " + ", ".join(FORMATS)
#: CSV text is read this many characters, and rows moved this many at a time
CSV_PIECE = 1 << 16
CSV_CHUNK_ROWS = 256


def parse_request(body: bytes, content_type: str, model: ServedModel) -> ParsedInput:
    """Decode and check ``body``; raise :class:`Rejected` (400/415/422) if bad."""
    mime, _, options = content_type.partition(";")
    mime = mime.strip().lower()
    if options:
        _check_charset(options)
    if mime in ("application/json", ""):
        return _parse_json(body, model)
    if mime == "text/csv":
        return _parse_csv(_utf8(body), model)
    raise Rejected(
        415,
        f"content type '{content_type}' is not supported: "
        "send application/json or text/csv",
    )


def _parse_json(body: bytes, model: ServedModel) -> ParsedInput:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        # orjson refuses NaN, Infinity and out-of-range numbers too (see columns)
        raise Rejected(400, f"malformed JSON: {exc}") from None
    if type(doc) is not dict:
        raise Rejected(422, f"the body must be a JSON object with {ONE_OF}")
    unique_keys.check(body, doc)
    present = [name for name in FORMATS if name in doc]
    if len(present) != 1:
        found = ", ".join(map(str, doc)) or "no fields"
        raise Rejected(422, f"the body must have exactly {ONE_OF}; found {found}")
    params = doc.get("params")
    if params is not None and type(params) is not dict:
        raise Rejected(422, "params must be a JSON object", field="params")
    name = present[0]
    if model.columns is None:
        return _mlflow_parsed(doc, model, params)
    values = _READERS[name](doc[name], model.columns, name)
    return _checked(values, model.columns, params, typed.from_json)


def _parse_csv(text: str, model: ServedModel) -> ParsedInput:
    if model.columns is None:
        return _mlflow_csv(text, model)
    # Rows are moved into columns a chunk at a time, never all kept as lists
    # of cells, and the text goes through StringIO (4 bytes a character) one
    # piece at a time: a large body peaked at 55 times its size, now 19.
    rows = filter(None, csv.reader(_csv_lines(text)))
    bad = None  # (line number, fields) of the first line of the wrong width
    try:
        first = next(rows, None)
        if first is None:
            raise Rejected(422, "the CSV body has no header line")
        header = [name.strip().lstrip("\ufeff") for name in first]
        cells: list[list[str]] = [[] for _ in header]
        number = 2
        while chunk := list(itertools.islice(rows, CSV_CHUNK_ROWS)):
            if bad is None:
                widths = list(map(len, chunk))
                if widths.count(len(header)) != len(widths):
                    offset = next(i for i, n in enumerate(widths) if n != len(header))
                    bad = (number + offset, widths[offset])
                else:
                    for column, chunk_cells in zip(cells, zip(*chunk)):
                        column.extend(chunk_cells)
            number += len(chunk)
    except csv.Error as exc:
        raise Rejected(422, f"malformed CSV: {exc}") from None
    if bad is not None:
        raise Rejected(
            422,
            f"CSV line {bad[0]} has {bad[1]} fields; the header has {len(header)}",
        )
    _no_duplicates(header, "CSV header")
    values = dict(zip(header, cells))
    return _checked(values, model.columns, None, typed.from_csv)


def _csv_lines(text: str) -> Iterator[str]:
    """The lines of ``text`` as ``io.StringIO(text)`` yields them, read through
    a StringIO of about CSV_PIECE characters at a time."""

    def pieces() -> Iterator[str]:
        start = 0
        while start < len(text):
            end = text.find("\n", start + CSV_PIECE) + 1 or len(text)
            yield text[start:end]
            start = end

    return itertools.chain.from_iterable(map(io.StringIO, pieces()))


def _checked(
    values: dict[str, list[Any]],
    schema: tuple[Column, ...],
    params: dict[str, Any] | None,
    convert: Any,
) -> ParsedInput:
    known = {column.name for column in schema}
    unknown = [name for name in values if name not in known]
    if unknown:
        raise Rejected(
            422,
            f"unknown column '{unknown[0]}': the model takes "
            + ", ".join(c.name for c in schema),
            field=str(unknown[0]),
        )
    rows = len(next(iter(values.values()))) if values else 0
    for name, column_values in values.items():
        if len(column_values) != rows:
            raise Rejected(
                422,
                f"column '{name}' has {len(column_values)} values; others have "
                f"{rows}",
                field=name,
            )
    if rows == 0:
        raise Rejected(422, "the request has no rows")
    checked = {}
    for column in schema:
        if column.name in values:
            checked[column.name] = convert(column, values[column.name])
        elif column.required:
            raise Rejected(
                422, f"missing required column '{column.name}'", field=column.name
            )
    key = tuple(checked) if params is None else None
    return ParsedInput(rows=rows, key=key, columns=checked, params=params)


def _split(value: Any, schema: tuple[Column, ...], where: str) -> dict[str, list]:
    if type(value) is not dict:
        raise Rejected(
            422, f"{where} must be an object with 'columns' and 'data'", field=where
        )
    extra = set(value) - {"columns", "data", "index"}
    if extra or "data" not in value:
        raise Rejected(
            422,
            f"{where} takes 'data' and optionally 'columns' and 'index'; found "
            + ", ".join(sorted(map(str, value))),
            field=where,
        )
    names = value.get("columns", [c.name for c in schema])
    data = value["data"]
    if type(names) is not list or not all(type(n) is str for n in names):
        raise Rejected(422, f"{where}.columns must be a list of names", field=where)
    _no_duplicates(names, f"{where}.columns")
    if type(data) is not list:
        raise Rejected(422, f"{where}.data must be a list of rows", field=where)
    for row, line in enumerate(data):
        if type(line) is not list or len(line) != len(names):
            got = f"{len(line)} values" if type(line) is list else "not a list"
            raise Rejected(
                422,
                f"{where}.data[{row}] is {got}; expected a list of {len(names)} "
                "values (one per column)",
                field=where,
            )
    if not data:
        return {name: [] for name in names}
    return dict(zip(names, map(list, zip(*data))))


def _records(value: Any, schema: tuple[Column, ...], where: str) -> dict[str, list]:
    if type(value) is not list:
        raise Rejected(
            422, f"{where} must be a list of objects, one per row", field=where
        )
    for row, record in enumerate(value):
        if type(record) is not dict:
            raise Rejected(
                422, f"{where}[{row}] must be an object (one row)", field=where
            )
    names = set().union(*value) if value else set()
    order = [c.name for c in schema if c.name in names]
    order += sorted(names.difference(order))
    return {name: [record.get(name) for record in value] for name in order}


def _instances(value: Any, schema: tuple[Column, ...], where: str) -> dict[str, list]:
    if type(value) is dict:
        return _columnar(value, schema, where)
    if type(value) is list and value and type(value[0]) is dict:
        return _records(value, schema, where)
    if type(value) is list and len(schema) == 1:
        return {schema[0].name: value}
    raise Rejected(422, f"{where} must be a list of objects, one per row", field=where)


def _columnar(value: Any, schema: tuple[Column, ...], where: str) -> dict[str, list]:
    if type(value) is list:
        return _instances(value, schema, where)
    if type(value) is not dict:
        raise Rejected(422, f"{where} must be an object of columns", field=where)
    if value and not any(type(v) is list for v in value.values()):
        return {name: [v] for name, v in value.items()}  # one row, as scalars
    for name, column in value.items():
        if type(column) is not list:
            raise Rejected(
                422, f"{where}.{name} must be a list of values", field=str(name)
            )
    return dict(value)


_READERS = {
    "dataframe_split": _split,
    "dataframe_records": _records,
    "instances": _instances,
    "inputs": _columnar,
}


def _no_duplicates(names: list[str], where: str) -> None:
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise Rejected(422, f"{where} names column '{twice}' twice", field=twice)


def _check_charset(options: str) -> None:
    for option in options.split(";"):
        key, _, value = option.strip().partition("=")
        if key.strip().lower() == "charset" and value.strip().strip(
            '"'
        ).lower() not in (
            "utf-8",
            "utf8",
        ):
            raise Rejected(415, f"charset {value.strip()} is not supported: send UTF-8")


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected(400, f"the body is not UTF-8: {exc}") from None


def _mlflow_parsed(
    doc: dict[str, Any], model: ServedModel, params: dict[str, Any] | None
) -> ParsedInput:
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc.scoring_server import infer_and_parse_data

    data = {name: doc[name] for name in FORMATS if name in doc}
    try:
        parsed = infer_and_parse_data(data, model.input_schema)
    except MlflowException as exc:
        raise Rejected(422, exc.message) from None
    except Exception as exc:  # noqa: BLE001 - MLflow's parser raises anything
        raise Rejected(422, f"the input does not fit the model: {exc}") from None
    return ParsedInput(rows=_length(parsed), key=None, data=parsed, params=params)


def _mlflow_csv(text: str, model: ServedModel) -> ParsedInput:
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc.scoring_server import parse_csv_input

    try:
        frame = parse_csv_input(io.StringIO(text), model.input_schema)
    except MlflowException as exc:
        raise Rejected(422, exc.message) from None
    return ParsedInput(rows=len(frame), key=None, data=frame)


def _length(data: Any) -> int:
    try:
        return len(data)
    except TypeError:
        return 1
