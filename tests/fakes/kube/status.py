"""The ``Status`` objects the API server answers errors (and some deletes) with,
worded as the real server words them."""

from __future__ import annotations

from typing import Any

from tests.fakes.kube.kinds import Resource

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class ApiError(Exception):
    """An answer other than success, as a ``Status``."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details

    def body(self) -> dict[str, Any]:
        return failure(self.code, self.message, self.reason, self.details)


def failure(
    code: int, message: str, reason: str | None = None, details: Any = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason or REASONS.get(code, "Unknown"),
    }
    if details:
        body["details"] = details
    body["code"] = code
    return body


def success(resource: Resource, name: str, uid: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {
            "name": name,
            "group": resource.group,
            "kind": resource.plural,
            "uid": uid,
        },
    }


def _details(resource: Resource, name: str) -> dict[str, Any]:
    details = {"name": name, "group": resource.group, "kind": resource.plural}
    return {k: v for k, v in details.items() if v}


def not_found(resource: Resource, name: str) -> ApiError:
    return ApiError(
        404,
        f'{resource.qualified} "{name}" not found',
        details=_details(resource, name),
    )


def already_exists(resource: Resource, name: str) -> ApiError:
    return ApiError(
        409,
        f'{resource.qualified} "{name}" already exists',
        reason="AlreadyExists",
        details=_details(resource, name),
    )


def conflict(resource: Resource, name: str) -> ApiError:
    return ApiError(
        409,
        f'Operation cannot be fulfilled on {resource.qualified} "{name}": the '
        "object has been modified; please apply your changes to the latest "
        "version and try again",
        details=_details(resource, name),
    )


def invalid(resource: Resource, name: str, field: str, why: str) -> ApiError:
    kind = f"{resource.kind}.{resource.group}" if resource.group else resource.kind
    return ApiError(
        422,
        f'{kind} "{name}" is invalid: {field}: {why}',
        details={
            "name": name,
            **({"group": resource.group} if resource.group else {}),
            "kind": resource.kind,
            "causes": [{"reason": "FieldValueInvalid", "message": why, "field": field}],
        },
    )
