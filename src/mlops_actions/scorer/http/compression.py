"""Request bodies sent compressed (``Content-Encoding``), decoded within the
body limit.

``gzip`` (and its alias ``x-gzip``) and ``deflate`` are decoded; ``identity``
is the body as sent; anything else is 415 naming the encoding. The body limit
applies to the decoded size, and decoding stops one byte past it, so a small
body that would inflate to gigabytes (a decompression bomb) costs at most the
limit in memory before its 413.
"""

from __future__ import annotations

import zlib

from mlops_actions.scorer.rejection import Rejected

#: coding -> zlib's wbits for it: 31 reads gzip; 15 zlib's format, which
#: HTTP's "deflate" is (raw deflate, sent by some clients, is tried after)
WBITS = {"gzip": 31, "x-gzip": 31, "deflate": 15}


def decode(body: bytes, encoding: str, limit: int) -> bytes:
    """``body`` with ``encoding`` (a Content-Encoding value) undone.

    Raises Rejected: 415 for an encoding other than gzip, deflate or
    identity; 413 when the decoded body is over ``limit`` bytes; 400 when
    the body is not what its encoding says.
    """
    # Codings are listed in the order they were applied: undo the last first.
    for coding in reversed(encoding.split(",")):
        coding = coding.strip().lower()
        if coding in ("", "identity"):
            continue
        if coding not in WBITS:
            raise Rejected(
                415,
                f"Content-Encoding '{coding}' is not supported: send gzip, deflate "
                "or an uncompressed body",
            )
        body = _inflate(body, coding, limit)
    return body


def _inflate(data: bytes, coding: str, limit: int) -> bytes:
    wbits = WBITS[coding]
    if coding == "deflate" and not _zlib_header(data):
        wbits = -15
    parts = []
    size = 0
    while True:  # a gzip body may be several members, one after another
        stream = zlib.decompressobj(wbits)
        try:
            part = stream.decompress(data, limit + 1 - size)
        except zlib.error as exc:
            raise Rejected(
                400, f"the body is not valid {coding} (Content-Encoding): {exc}"
            ) from None
        size += len(part)
        if size > limit:
            raise Rejected(
                413,
                f"the request body is over the limit of {limit} bytes once "
                f"decompressed ({coding})",
            )
        parts.append(part)
        if not stream.eof:
            raise Rejected(400, f"the {coding} body is cut short (Content-Encoding)")
        data = stream.unused_data
        if not data:
            return b"".join(parts)


def _zlib_header(data: bytes) -> bool:
    """Whether ``data`` starts as zlib's format does (RFC 1950: method 8, and
    the first two bytes a multiple of 31)."""
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
