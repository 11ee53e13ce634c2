"""Resolve ``*.localhost`` names to 127.0.0.1, as RFC 6761 says they should.

azure-ai-ml builds a storage account's URL as ``https://ACCOUNT.blob.SUFFIX``
from the cloud's storage suffix (datastore uploads, job output downloads).
The fake cloud's suffix is ``localhost:PORT``, so those hosts are
``devstoreaccount1.blob.localhost``; glibc here does not resolve them, so the
tests resolve them: in this process with :func:`install`, in a child process
by putting :data:`SITE` on its ``PYTHONPATH`` (its ``sitecustomize`` calls
:func:`install`). Every other name resolves as before.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

#: a folder whose sitecustomize.py installs the resolver in a child Python
SITE = Path(__file__).resolve().parent / "loopback_site"

_real_getaddrinfo = socket.getaddrinfo


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if isinstance(name, str) and name.lower().rstrip(".").endswith(".localhost"):
        host = "127.0.0.1"
    return _real_getaddrinfo(host, *args, **kwargs)


def install() -> None:
    socket.getaddrinfo = _getaddrinfo  # type: ignore[assignment]


def uninstall() -> None:
    socket.getaddrinfo = _real_getaddrinfo  # type: ignore[assignment]
