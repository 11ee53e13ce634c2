"""The OpenAPI description of ``POST /invocations``, rows typed from the signature.

The route itself is plain ASGI (see ``invocations``); this is what ``/docs``
shows and what schemathesis generates requests from.
"""

from __future__ import annotations

from typing import Any

from mlops_actions.scorer.model import Column

JSON_TYPES = {
    "double": "number",
    "float": "number",
    "long": "integer",
    "integer": "integer",
    "boolean": "boolean",
    "string": "string",
}

ERROR = {
    "type": "object",
    "required": ["error_code", "message", "request_id"],
    "properties": {
        "error_code": {"type": "string"},
        "message": {"type": "string"},
        "field": {"type": "string"},
        "request_id": {"type": "string"},
    },
}
PREDICTIONS = {
    "type": "object",
    "required": ["predictions"],
    "properties": {"predictions": {}},
}


def invocations_spec(columns: tuple[Column, ...] | None) -> dict[str, Any]:
    """``openapi_extra`` of the route: request body and responses."""
    row = _row(columns)
    params = {"type": "object", "description": "passed to predict(params=...)"}

    def one(name: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": [name],
            "properties": {name: schema, "params": params},
            "additionalProperties": False,
        }

    split = {
        "type": "object",
        "required": ["data"],
        "properties": {
            "columns": {"type": "array", "items": {"type": "string"}},
            "data": {"type": "array", "items": {"type": "array"}},
            "index": {"type": "array"},
        },
        "additionalProperties": False,
    }
    rows = {"type": "array", "items": row, "minItems": 1}
    body = {
        "oneOf": [
            one("dataframe_split", split),
            one("dataframe_records", rows),
            one("instances", rows),
            one("inputs", {"oneOf": [rows, {"type": "object"}]}),
        ]
    }
    error = {"content": {"application/json": {"schema": ERROR}}}
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": body},
                "text/csv": {"schema": {"type": "string"}},
            },
        },
        "responses": {
            "200": {
                "description": "One prediction per input row, as MLflow answers.",
                "content": {"application/json": {"schema": PREDICTIONS}},
            },
            "400": {"description": "Malformed JSON or not UTF-8.", **error},
            "413": {"description": "Body over the limit.", **error},
            "415": {"description": "Not JSON or CSV.", **error},
            "422": {"description": "Does not fit the signature.", **error},
            "500": {"description": "Our fault: see the log.", **error},
            "503": {"description": "The model is not ready.", **error},
        },
    }


def _row(columns: tuple[Column, ...] | None) -> dict[str, Any]:
    if columns is None:
        return {"type": "object"}
    properties = {}
    for column in columns:
        kind = JSON_TYPES[column.type]
        nullable = not column.required and column.type in ("double", "float", "string")
        properties[column.name] = {"type": [kind, "null"] if nullable else kind}
    return {
        "type": "object",
        "properties": properties,
        "required": [c.name for c in columns if c.required],
        "additionalProperties": False,
    }
