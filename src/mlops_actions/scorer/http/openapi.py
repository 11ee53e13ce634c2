"""The OpenAPI description of ``POST /invocations``, rows typed from the signature,
and the ``/docs`` page that shows it.

The route itself is plain ASGI (see ``invocations``); this is what ``/docs``
shows and what schemathesis generates requests from.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from mlops_actions.errors import MissingDependency
from mlops_actions.scorer.model.loading import Column

#: where /docs finds Swagger UI's files, under the scorer's own URL
ASSETS = "/docs/assets"
#: the PyPI package that ships them (Swagger UI's dist, in the serve extra)
SWAGGER_UI = "fastapi_offline"

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


def add_docs(app: Any) -> None:
    """``GET /docs``: Swagger UI on ``/openapi.json``, every file it loads served
    by the scorer itself, so the page works where the internet is out of reach.

    FastAPI's own page loads Swagger UI from a public CDN (and its favicon from
    fastapi.tiangolo.com). Swagger UI's online validator badge is turned off:
    it would send the document's URL to validator.swagger.io.
    """
    from fastapi.openapi.docs import get_swagger_ui_html
    from starlette.responses import HTMLResponse
    from starlette.staticfiles import StaticFiles

    app.mount(ASSETS, StaticFiles(directory=_swagger_ui_files()), name="docs-assets")

    async def docs(request: Any) -> HTMLResponse:
        """The API docs, in Swagger UI."""
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + app.openapi_url,
            title=f"{app.title} - docs",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},
        )

    # a Starlette route, handed the request as is: a FastAPI one would take
    # the handler's parameters for query parameters
    app.add_route("/docs", docs, methods=["GET"], include_in_schema=False)


def _swagger_ui_files() -> Path:
    # find_spec, not import: only the package's files are wanted
    spec = importlib.util.find_spec(SWAGGER_UI)
    folders = list(spec.submodule_search_locations or ()) if spec else []
    static = [Path(folder) / "static" for folder in folders]
    if not static or not (static[0] / "swagger-ui-bundle.js").is_file():
        raise MissingDependency("fastapi-offline", "serve", "the scorer's /docs page")
    return static[0]
