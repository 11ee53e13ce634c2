"""A request the scorer refuses: the HTTP status, an MLflow-style error code, the
field at fault. Raised by request parsing; never a 500."""

from __future__ import annotations

import orjson

#: status -> MLflow's ``error_code`` for it, so MLflow clients read our errors
ERROR_CODES = {
    400: "BAD_REQUEST",
    413: "REQUEST_LIMIT_EXCEEDED",
    415: "BAD_REQUEST",
    422: "INVALID_PARAMETER_VALUE",
    500: "INTERNAL_ERROR",
    503: "TEMPORARILY_UNAVAILABLE",
}


class Rejected(Exception):
    """The client must change its request; ``field`` names what to change."""

    def __init__(self, status: int, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field

    def body(self, request_id: str) -> bytes:
        return error_body(self.status, self.message, request_id, field=self.field)


def error_body(
    status: int, message: str, request_id: str, *, field: str | None = None
) -> bytes:
    """``{"error_code", "message"[, "field"], "request_id"}`` as JSON bytes."""
    doc = {"error_code": ERROR_CODES.get(status, "BAD_REQUEST"), "message": message}
    if field is not None:
        doc["field"] = field
    doc["request_id"] = request_id
    return orjson.dumps(doc)
