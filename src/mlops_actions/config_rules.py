"""What every section of ``mlops.yaml`` shares: strict models, the keys that
would hold a secret, and pydantic errors said as what to change."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

#: Key names (lower case, ``-`` read as ``_``) that would hold a client secret.
SECRET_KEYS = frozenset(
    {"client_secret", "secret", "azure_client_secret", "password", "certificate"}
)


class Strict(BaseModel):
    """A config section: unknown keys refused, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def explain(error: Any) -> tuple[tuple[str, ...], str]:
    """(key path, what to change) for one pydantic error."""
    loc = tuple(str(part) for part in error["loc"])
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "extra_forbidden":
        return loc, "unknown key: remove it or fix its spelling"
    if kind == "missing":
        return loc, "is required: add it"
    if kind == "literal_error":
        expected = ctx.get("expected", "").replace("'", "")
        return loc, f"must be {expected}, got {value!r}"
    if kind in ("greater_than", "greater_than_equal"):
        bound = ctx.get("gt", ctx.get("ge"))
        sign = ">" if kind == "greater_than" else ">="
        shown = f"{bound:g}" if isinstance(bound, (int, float)) else bound
        return loc, f"must be {sign} {shown}, got {value!r}"
    if kind in ("less_than", "less_than_equal"):
        bound = ctx.get("lt", ctx.get("le"))
        sign = "<" if kind == "less_than" else "<="
        shown = f"{bound:g}" if isinstance(bound, (int, float)) else bound
        return loc, f"must be {sign} {shown}, got {value!r}"
    cause = ctx.get("error")
    if isinstance(cause, Exception):
        return loc, str(cause)
    return loc, f"{error['msg'].lower()}, got {value!r}"
