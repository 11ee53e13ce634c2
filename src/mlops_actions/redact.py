"""Credentials inside URIs, shown as ``***`` wherever the toolkit prints or stores one.

A credential is:

- the value of a query parameter whose name, compared case-insensitively, is in
  :data:`CREDENTIAL_PARAMS` (an Azure SAS ``sig``, the signatures and
  credentials of AWS and Google signed URLs, OAuth tokens and codes, API keys,
  passwords): ``https://acct.blob.core.windows.net/c/x.csv?sv=2024&sig=***``;
- the password of ``scheme://user:password@host``: ``https://user:***@host/x``.

Everything else stays (scheme, user name, host, path, other parameters), so a
redacted URI still says where the data came from. A parameter that merely
happens to be called ``key`` or ``code`` is redacted too: a false alarm costs a
``***``, a miss leaks a secret.

Steps still receive the real value, and the step cache may hash it. The
pipeline's ingest component is uploaded to Azure ML on its own, so it keeps its
own copy of these rules; a test keeps the two lists equal.
"""

from __future__ import annotations

import re
import sys
import urllib.parse
from typing import Any

#: Query parameter names (lower case) whose values are credentials.
CREDENTIAL_PARAMS = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "auth",
        "authorization",
        "client_secret",
        "code",
        "credential",
        "id_token",
        "key",
        "passwd",
        "password",
        "pwd",
        "refresh_token",
        "secret",
        "session_token",
        "sig",
        "signature",
        "token",
        "x-amz-credential",
        "x-amz-security-token",
        "x-amz-signature",
        "x-goog-credential",
        "x-goog-signature",
    }
)
MASK = "***"

# A value ends where a URI part, a quote or white space does: an error message
# that quotes a URI ('...?sig=abc') keeps its closing quote.
_STOP = "&#;\\s'\"<>"
_PARAM = re.compile(rf"(?P<head>[?&;](?P<name>[^=?{_STOP}]+)=)(?P<value>[^{_STOP}]*)")
# The password runs to the last "@" before the path: a raw "@" inside it must
# not leave its tail in view.
_USERINFO = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:'\"<>]*:)"
    r"(?P<value>[^\s/?#'\"<>]*)(?=@)"
)


def _is_credential(name: str) -> bool:
    return urllib.parse.unquote(name).lower() in CREDENTIAL_PARAMS


def secrets_in(text: str) -> list[str]:
    """The credential values inside ``text``, in order, each once."""
    found = [m["value"] for m in _USERINFO.finditer(text)]
    found += [m["value"] for m in _PARAM.finditer(text) if _is_credential(m["name"])]
    return list(dict.fromkeys(value for value in found if value))


def redact(text: str) -> str:
    """``text`` with every credential of every URI in it replaced by ``***``.

    Works on a bare URI and on free text that contains URIs (an error message,
    a command-line token such as ``--source=https://...``).
    """
    if "=" not in text and "@" not in text:
        return text  # the common case: nothing a credential could hide in
    text = _USERINFO.sub(lambda m: m["head"] + MASK, text)
    return _PARAM.sub(
        lambda m: m["head"] + MASK if _is_credential(m["name"]) else m[0], text
    )


def redact_value(value: Any) -> Any:
    """``value`` with :func:`redact` applied to every string inside it."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(item) for item in value)
    return value


def strings_in(value: Any) -> list[str]:
    """Every string inside ``value`` (nested dicts, lists and tuples)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in strings_in(item)]
    if isinstance(value, (list, tuple)):
        return [text for item in value for text in strings_in(item)]
    return []


def mask_in_actions(*values: Any) -> None:
    """Inside GitHub Actions, ask the runner to mask every credential in ``values``.

    Call before anything can print them. Each secret is registered as written
    and URL-decoded (a step may print either). The commands go to stderr, so
    ``--json`` output on stdout stays JSON, and a redirected stdout never
    holds a secret in clear.
    """
    from mlops_actions import gha

    if not gha.in_actions():
        return
    for text in strings_in(list(values)):
        for secret in secrets_in(text):
            for form in dict.fromkeys([secret, urllib.parse.unquote_plus(secret)]):
                gha.add_mask(form, stream=sys.stderr)
