"""Read a raw table from a source URI and write a versioned snapshot.

On Azure ML the source may be an ``azureml://`` datastore URI (short or long
form) or a data asset reference (``azureml:NAME:VERSION``, which is what
``mlops pipeline submit`` pins ``azureml:NAME@latest`` to); azureml-fsspec,
installed by this step's environment, reads them with the job's identity. A
folder (a ``uri_folder`` asset, a local directory) is read as the rows of all
its table files, which must share one format, in name order.

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
    "pass an existing file or folder, a file://, https:// or azureml:// URI, "
    "azureml:NAME:VERSION, sample:penguins or sample:synthetic?rows=N&seed=S"
)
#: a data asset reference: ``azureml:NAME:VERSION`` or ``azureml:NAME@LABEL``
DATA_ASSET = re.compile(
    r"azureml:(?P<name>[^:/@\\]+)(?::(?P<version>[^:/@\\]+)|@(?P<label>.+))"
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
        if candidate.exists():
            return candidate
    raise SourceError(f"source '{path_text}' not found: {SOURCES_HINT}")


def read_local(path: Path, source: str) -> pd.DataFrame:
    if path.is_file():
        return parse_table(path, path.name, source)
    names = (p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
    return concat_parts([(n, path / n) for n in sorted(names) if table_part(n)], source)


def table_part(name: str) -> bool:
    """Whether a file in a source folder is one of its table's parts.

    Names starting with ``.`` or ``_`` (``_SUCCESS``, ``.crc`` markers that
    writers leave beside their parts) are not data and are passed over.
    """
    hidden = any(segment.startswith((".", "_")) for segment in name.split("/"))
    return not hidden and _suffix(name) is not None


def concat_parts(tables: list[tuple[str, bytes | Path]], source: str) -> pd.DataFrame:
    """The rows of a folder's table files, in the given order, all of one format."""
    if not tables:
        raise SourceError(
            f"source '{source}' is a folder with no table files: "
            f"put files ending in {', '.join(FORMATS)} in it"
        )
    kinds = sorted({_suffix(name) for name, _ in tables})
    if len(kinds) > 1:
        raise SourceError(
            f"source '{source}' mixes {' and '.join(kinds)} files: "
            "keep one format in the folder"
        )
    frames = [parse_table(data, name, f"{source}/{name}") for name, data in tables]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _suffix(name: str) -> str | None:
    return next((s for s in FORMATS if name.lower().endswith(s)), None)


def load_azureml(source: str) -> pd.DataFrame:
    """A table from an Azure ML datastore URI or data asset, via azureml-fsspec."""
    asset = DATA_ASSET.fullmatch(source)
    if asset and asset["label"] is not None:
        raise SourceError(
            f"source '{source}' names a label, which this step cannot resolve: "
            f"pass azureml:{asset['name']}:VERSION (mlops pipeline submit pins "
            "@latest to the current version for you)"
        )
    try:
        import azureml.fsspec  # noqa: F401  (registers the azureml protocol)
        import fsspec.core
    except ImportError:
        raise SourceError(
            f"source '{source}' is read with azureml-fsspec, which this step's "
            "environment (environments/ingest) installs: run the pipeline on "
            "Azure ML (--backend azure) or with --env venv, or pass a local path"
        ) from None
    # The protocol wants azureml://NAME:VERSION for an asset (pandas' form).
    uri = f"azureml://{asset['name']}:{asset['version']}" if asset else source
    try:
        fs, root = fsspec.core.url_to_fs(uri)
        if not fs.exists(root):
            raise FileNotFoundError(root)
        if fs.isfile(root):
            return parse_table(fs.cat_file(root), root, source)
        base = root.rstrip("/") + "/"
        named = sorted((p.removeprefix(base), p) for p in fs.find(root))
        parts: list[tuple[str, bytes | Path]] = [
            (name, fs.cat_file(path)) for name, path in named if table_part(name)
        ]
    except FileNotFoundError as exc:
        raise SourceError(f"source '{source}' not found: {SOURCES_HINT}") from exc
    except Exception as exc:  # azureml-fsspec raises its own UserErrorException
        if type(exc).__name__ != "UserErrorException":
            raise
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SourceError(f"source '{source}' could not be opened: {detail}") from exc
    return concat_parts(parts, source)


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
    suffix = _suffix(name)
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
    if source.lower().startswith("azureml:"):
        return load_azureml(source)
    parsed = urllib.parse.urlsplit(source)
    scheme = parsed.scheme.lower()
    if scheme in ("http", "https"):
        return parse_table(download(source), parsed.path, source)
    if scheme == "file":
        path = Path(urllib.request.url2pathname(parsed.path))
        if not path.exists():
            raise SourceError(f"source '{source}' not found: {SOURCES_HINT}")
        return read_local(path, source)
    # A one-letter scheme is a Windows drive letter, not a URI scheme.
    if scheme and len(scheme) > 1:
        raise SourceError(f"source '{source}' has an unknown scheme: {SOURCES_HINT}")
    return read_local(resolve_local(source), source)


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
