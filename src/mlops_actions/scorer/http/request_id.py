"""Request ids: the client's ``X-Request-ID`` when it is sane, else our own."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import MutableMapping
from typing import Any

_SANE = re.compile(rb"[A-Za-z0-9._:-]{1,64}")
# A per-process prefix and a counter: unique, and far cheaper than uuid4 on
# the hot path.
_PREFIX = os.urandom(4).hex()
_COUNTER = itertools.count(1)
_KEY = "mlops.request_id"


def request_id(scope: MutableMapping[str, Any]) -> str:
    """This request's id, decided once and kept in the ASGI scope."""
    known = scope.get(_KEY)
    if known is not None:
        return known
    chosen = None
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            if _SANE.fullmatch(value):
                chosen = value.decode()
            break
    if chosen is None:
        chosen = f"{_PREFIX}-{next(_COUNTER):x}"
    scope[_KEY] = chosen
    return chosen
