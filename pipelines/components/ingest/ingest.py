"""Read a raw table from a source URI and write a versioned snapshot.

The snapshot folder holds ``data.parquet`` and ``manifest.json`` (source,
sha256 of the parquet bytes, row count, per-column dtype and null count), so a
later step or a later run can tell whether it saw the same data.

A credential in the source URI (a SAS ``sig=``, a token, ``user:password@``) is
shown as ``***`` in everything this step prints or writes; the download uses
the real URI.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import sys
import traceback
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pandas as pd

from samples import penguins, synthetic_table

SOURCES_HINT = (
    "pass an existing file, a file:// or https:// URI, sample:penguins "
    "or sample:synthetic?rows=N&seed=S"
)
FORMATS = (".csv", ".parquet", ".json", ".jsonl")
HTTP_TIMEOUT_S = 60

# This folder is uploaded to Azure ML on its own, so it keeps its own copy of
# the toolkit's redaction rules (redact.py); tests/components keeps them equal.
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
_STOP = "&#;\\s'\"<>"
_PARAM = re.compile(rf"(?P<head>[?&;](?P<name>[^=?{_STOP}]+)=)(?P<value>[^{_STOP}]*)")
_USERINFO = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:'\"<>]*:)"
    r"(?P<value>[^\s/?#'\"<>]*)(?=@)"
)


def redacted(text: str) -> str:
    """``text`` with URI credentials (listed parameters, passwords) as ``***``."""
    text = _USERINFO.sub(lambda m: m["head"] + "***", text)

    def param(m: re.Match) -> str:
        name = urllib.parse.unquote(m["name"]).lower()
        return m["head"] + "***" if name in CREDENTIAL_PARAMS else m[0]

    return _PARAM.sub(param, text)


class SourceError(Exception):
    """A problem the user fixes by changing the ``source`` input."""


def read_sample(source: str) -> pd.DataFrame:
    parsed = urllib.parse.urlsplit(source[len("sample:") :])
    name = parsed.path
    query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
    if name == "penguins" and not query:
        return penguins()
    if name == "synthetic":
        unknown = sorted(set(query) - {"rows", "seed"})
        if unknown:
            raise SourceError(
                f"sample '{source}' has unknown parameter(s) {', '.join(unknown)}: "
                "use sample:synthetic?rows=N&seed=S"
            )
        rows = _int_param(query, "rows", default=10_000, source=source)
        seed = _int_param(query, "seed", default=42, source=source, minimum=0)
        return synthetic_table(rows, seed)
    raise SourceError(
        f"unknown sample '{source}': use sample:penguins "
        "or sample:synthetic?rows=N&seed=S"
    )


def _int_param(
    query: dict[str, list[str]],
    key: str,
    *,
    default: int,
    source: str,
    minimum: int = 1,
) -> int:
    values = query.get(key)
    if not values:
        return default
    try:
        value = int(values[-1])
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise SourceError(
            f"sample '{source}': {key} must be an integer >= {minimum}, "
            f"got '{values[-1]}'"
        )
    return value


def resolve_local(path_text: str) -> Path:
    path = Path(path_text).expanduser()
    candidates = [path]
    # The local runner starts steps in their own folders; MLOPS_WORKDIR is where
    # the user ran `mlops`, so relative paths mean what the user meant.
    workdir = os.environ.get("MLOPS_WORKDIR")
    if not path.is_absolute() and workdir:
        candidates.append(Path(workdir) / path)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise SourceError(f"source '{path_text}' not found: {SOURCES_HINT}")


def download(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:
            return response.read()
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500:
            raise SourceError(
                f"source '{url}' answered HTTP {exc.code}: {SOURCES_HINT}"
            ) from exc
        raise


def parse_table(data: bytes | Path, name: str, source: str) -> pd.DataFrame:
    suffix = next((s for s in FORMATS if name.lower().endswith(s)), None)
    if suffix is None:
        raise SourceError(
            f"source '{source}' has an unsupported format: "
            f"use a file ending in {', '.join(FORMATS)}"
        )
    handle = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        if suffix == ".csv":
            frame = pd.read_csv(handle)
        elif suffix == ".parquet":
            frame = pd.read_parquet(handle)
        else:
            frame = pd.read_json(handle, orient="records", lines=suffix == ".jsonl")
    except Exception as exc:  # each reader raises its own family of errors
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SourceError(
            f"source '{source}' could not be read as {suffix[1:]}: {detail}"
        ) from exc
    return frame


def load_source(source: str) -> pd.DataFrame:
    if source.startswith("sample:"):
        return read_sample(source)
    parsed = urllib.parse.urlsplit(source)
    scheme = parsed.scheme.lower()
    if scheme in ("http", "https"):
        return parse_table(download(source), parsed.path, source)
    if scheme == "file":
        path = Path(urllib.request.url2pathname(parsed.path))
        if not path.is_file():
            raise SourceError(f"source '{source}' not found: {SOURCES_HINT}")
        return parse_table(path, path.name, source)
    # A one-letter scheme is a Windows drive letter, not a URI scheme.
    if scheme and len(scheme) > 1:
        raise SourceError(f"source '{source}' has an unknown scheme: {SOURCES_HINT}")
    path = resolve_local(source)
    return parse_table(path, path.name, source)


def write_snapshot(frame: pd.DataFrame, source: str, out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    data_path = out_dir / "data.parquet"
    frame.to_parquet(data_path, index=False)
    manifest = {
        "schema": "mlops-actions/snapshot",
        "version": 1,
        "source": redacted(source),
        "sha256": hashlib.sha256(data_path.read_bytes()).hexdigest(),
        "rows": int(len(frame)),
        "columns": [
            {"name": name, "dtype": str(frame[name].dtype), "nulls": int(nulls)}
            for name, nulls in frame.isna().sum().items()
        ],
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _redacted_traceback(kind: type, value: BaseException, tb: object) -> None:
    # An unexpected failure (a 5xx answer, a broken connection) still ends in
    # a traceback, whose messages may quote the source URI.
    text = "".join(traceback.format_exception(kind, value, tb))
    sys.stderr.write(redacted(text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="sample:penguins")
    parser.add_argument("--snapshot", required=True, type=Path)
    args = parser.parse_args(argv)

    try:
        frame = load_source(args.source)
        if frame.empty or len(frame.columns) == 0:
            raise SourceError(
                f"source '{args.source}' holds an empty table: "
                "pass a table with a header and at least one row"
            )
    except SourceError as exc:
        print(f"error: {redacted(str(exc))}", file=sys.stderr)
        return 2
    # Parquet needs string column names; CSVs without a header give integers.
    frame.columns = [str(name) for name in frame.columns]
    source = redacted(args.source)
    print(f"read {len(frame)} rows x {len(frame.columns)} columns from {source}")

    manifest = write_snapshot(frame, args.source, args.snapshot)
    nulls = sum(column["nulls"] for column in manifest["columns"])
    print(f"snapshot {manifest['sha256'][:12]}: {nulls} null cells -> {args.snapshot}")
    return 0


if __name__ == "__main__":
    sys.excepthook = _redacted_traceback
    sys.exit(main())
