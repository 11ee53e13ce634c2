"""A JSON request body names each key once per object, or it is refused.

orjson, the scorer's parser, keeps the last of two equal keys silently, so
``{"x": 1, "x": 2}`` would be scored as x = 2 while the client (or a proxy, or
a log reader keeping the first) sees x = 1. RFC 8259 leaves such a body's
meaning to the parser; the scorer refuses it: 422 naming the key.

The check costs a count on the usual body. Each key in a body has one ``:``
after it and every other ``:`` is inside a string, so when the body holds
exactly as many ``:`` as the parsed objects hold keys, no key was given twice.
Only where the counts differ (a ``:`` inside a string, objects deeper than
those counted) is the body parsed again, by the standard library, to find a
key given twice exactly.
"""

from __future__ import annotations

import json
from typing import Any

from mlops_actions.scorer.rejection import Rejected


def check(body: bytes, doc: dict[str, Any]) -> None:
    """Raise :class:`Rejected` (422, the key as ``field``) when some object of
    ``body`` names a key twice; ``doc`` is what orjson parsed ``body`` into."""
    if body.count(b":") != _keys_counted(doc):
        _find_a_key_given_twice(body)


def _keys_counted(doc: dict[str, Any]) -> int:
    """Keys of ``doc``, of the objects among its values (``params``,
    ``dataframe_split``, columnar ``inputs``) and of the objects in the lists
    among its values (the rows of records): never more than the body has."""
    count = len(doc)
    for value in doc.values():
        if type(value) is dict:
            count += len(value)
        elif type(value) is list:
            count += sum([len(row) for row in value if type(row) is dict])
    return count


def _find_a_key_given_twice(body: bytes) -> None:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        if len(items) > 1:
            seen = set()
            for key, _ in items:
                if key in seen:
                    raise Rejected(
                        422, f"the key '{key}' appears twice in one object", field=key
                    )
                seen.add(key)
        return {}  # only the keys matter here: the values are orjson's

    try:
        json.loads(body, object_pairs_hook=pairs)
    except (ValueError, RecursionError) as exc:
        # orjson took the body, but the standard library nests less deep
        raise Rejected(400, f"malformed JSON: {exc}") from None
