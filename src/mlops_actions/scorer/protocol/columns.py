"""One input column's values, checked against its signature type.

Checked values stay a Python list: the predict thread turns a whole batch's
lists into arrays at once (one array per column per batch, or one 2-D block
when every column has the same dtype), which is cheaper than an array per
column per request and a concatenation.

The rule for missing and non-finite values (summed up in `mlops scorer serve
--help` and in the OpenAPI docs):

- JSON has no NaN or Infinity literal: a body containing one is malformed
  JSON (400), and so is a number too large for a double (``1e400``).
- ``null`` in an optional column, or a column left out, means missing: NaN in
  a ``double``/``float`` column, None in a ``string`` column. ``null`` in a
  required column is a 422 naming the column and row. ``long``, ``integer``
  and ``boolean`` columns cannot hold a missing value: ``null`` there is 422.
- CSV: an empty cell means missing, as ``null`` does. A number cell is read
  with JSON's number grammar, in ASCII digits only, and then checked as a
  JSON number is: ``nan``, ``inf``, ``Infinity`` (any case, any sign), ``1e400``,
  ``3_9.1``, `` 5 ``, ``+5``, ``007`` or non-ASCII digits in a numeric column
  are a 422 naming the column and row. A non-finite value is a broken
  upstream feature, not a missing one.
- A finite value the model cannot compute with (the reference model refuses a
  number that overflows once standardised in float32, such as ``1e308``) is
  the model's to refuse: it raises MLflow's ``INVALID_PARAMETER_VALUE`` naming
  the column, and the client gets a 422, never a prediction made from NaN.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import orjson

from mlops_actions.scorer.model.loading import Column
from mlops_actions.scorer.rejection import Rejected

#: JSON value types each column type accepts (bool is not an int here).
ACCEPTS: dict[str, frozenset[type]] = {
    "double": frozenset((float, int)),
    "float": frozenset((float, int)),
    "long": frozenset((int,)),
    "integer": frozenset((int,)),
    "boolean": frozenset((bool,)),
    "string": frozenset((str,)),
}
NULLABLE = frozenset(("double", "float", "string"))
#: inclusive bounds of the types a JSON number can overflow
RANGES = {
    "long": (-(2**63), 2**63 - 1),
    "integer": (-(2**31), 2**31 - 1),
    "float": (-float(np.finfo(np.float32).max), float(np.finfo(np.float32).max)),
}
WHAT = {
    "double": "a finite number",
    "float": "a finite number",
    "long": "an integer",
    "integer": "an integer",
    "boolean": "true or false",
    "string": "a string",
}
#: RFC 8259's number; [0-9] (not \\d) keeps it ASCII
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
TRUE = frozenset(("true", "True", "TRUE", "1"))
FALSE = frozenset(("false", "False", "FALSE", "0"))


def from_json(column: Column, values: list[Any]) -> list[Any]:
    """``values`` decoded from JSON, checked (or 422); None is a missing value."""
    accepted = ACCEPTS[column.type]
    types = set(map(type, values))
    if not types <= accepted:
        nullable = column.type in NULLABLE and not column.required
        for row, value in enumerate(values):
            if type(value) in accepted or (value is None and nullable):
                continue
            # a whole number written 3.0 is still an integer
            if type(value) is float and column.type in ("long", "integer"):
                if value.is_integer():
                    continue
            raise _wrong(column, row, value)
    if column.type in RANGES:
        _check_range(column, values)
    return values


def from_csv(column: Column, cells: Sequence[str]) -> list[Any]:
    """CSV cells (text) -> checked values (or 422); an empty cell is missing."""
    parse = _CSV_PARSERS[column.type]
    values: list[Any] = []
    for row, cell in enumerate(cells):
        if cell == "":
            values.append(None)
            continue
        try:
            values.append(parse(cell))
        except ValueError:
            raise _wrong(column, row, cell) from None
    return from_json(column, values)


def _check_range(column: Column, values: list[Any]) -> None:
    low, high = RANGES[column.type]
    if None in values:
        values = [value for value in values if value is not None]
    if values and (min(values) < low or max(values) > high):
        raise Rejected(
            422,
            f"column '{column.name}' ({column.type}): a value is out of range",
            field=column.name,
        )


def _wrong(column: Column, row: int, value: Any) -> Rejected:
    if value is None:
        why = (
            "is required"
            if column.required
            else f"is {column.type} and cannot hold a missing value"
        )
        return Rejected(
            422,
            f"column '{column.name}' {why}: row {row} has no value",
            field=column.name,
        )
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    return Rejected(
        422,
        f"column '{column.name}' ({column.type}): row {row} is {shown}; "
        f"expected {WHAT[column.type]}",
        field=column.name,
    )


def _number(cell: str) -> int | float:
    """A CSV cell as the same cell would read in a JSON body (ValueError if not
    a JSON number): one grammar for both, so ``3_9.1`` is no 39.1 here."""
    if _JSON_NUMBER.fullmatch(cell) is None:
        raise ValueError(cell)
    # orjson's reading of the literal: ints past 64 bits become floats, and a
    # double that overflows (1e400) raises, exactly as in a JSON body
    return orjson.loads(cell)


def _boolean(cell: str) -> bool:
    if cell in TRUE:
        return True
    if cell in FALSE:
        return False
    raise ValueError(cell)


_CSV_PARSERS: dict[str, Callable[[str], int | float | bool | str]] = {
    "double": _number,
    "float": _number,
    "long": _number,
    "integer": _number,
    "boolean": _boolean,
    "string": str,
}
