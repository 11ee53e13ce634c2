"""Loading the served model: a folder or a ``models:/`` URI, checked before use."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mlops_actions.errors import BackendError, UsageError

#: MLflow column types the scorer validates and converts itself; a signature
#: with any other type (tensors, arrays, objects, binary, datetime) is parsed
#: by MLflow's own code instead, one request per predict call.
FAST_TYPES = ("boolean", "integer", "long", "float", "double", "string")
#: MLflow's serving input example, a request body, in the model folder
EXAMPLE = "serving_input_example.json"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


class ModelLoadFailed(BackendError):
    """The model folder is an MLflow model, but loading or warming it up raised."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool


@dataclass(frozen=True)
class ServedModel:
    """A loaded pyfunc model and what the scorer needs to know about it.

    ``columns`` is the input signature when every input is a named column of
    a :data:`FAST_TYPES` type, else None. ``example`` is the model's serving
    input example (a JSON request body) when it was saved with one.
    """

    uri: str
    pyfunc: Any
    columns: tuple[Column, ...] | None
    input_schema: Any
    example: bytes | None
    load_seconds: float

    @property
    def has_params(self) -> bool:
        return self.pyfunc.metadata.get_params_schema() is not None

    @property
    def model_uuid(self) -> str | None:
        """The ``model_uuid`` MLflow wrote into the MLmodel file, if any."""
        return getattr(getattr(self.pyfunc, "metadata", None), "model_uuid", None)


def shown_uri(uri: str) -> str:
    """``uri`` as the scorer shows it to clients: what identifies the model,
    never the server's filesystem. An MLflow or remote URI (``models:/name/3``,
    ``runs:/...``, ``s3://...``) as is, less any password or query (a SAS
    token lives there); a folder or ``file://`` URI by the folder's name only.
    """
    if uri.startswith("file://"):
        uri = urlsplit(uri).path
    elif "://" in uri or uri.startswith(("models:/", "runs:/")):
        parts = urlsplit(uri)
        if parts.password is None and not parts.query:
            return uri
        netloc = parts.netloc.rpartition("@")[2]
        if parts.password is not None:
            netloc = f"{parts.username}:***@{netloc}"
        query = "***" if parts.query else ""
        return urlunsplit(parts._replace(netloc=netloc, query=query))
    return Path(os.path.abspath(uri)).name or uri


def locate(uri: str) -> Path:
    """The local folder of ``uri`` (a folder, ``file:`` URI, or an MLflow URI such
    as ``models:/NAME@ALIAS``, downloaded); UsageError if it is no pyfunc model."""
    return _local_folder(uri)


def load_model(
    uri: str, *, threads: int | None = None, folder: Path | None = None
) -> ServedModel:
    """Load ``uri`` (from ``folder`` when :func:`locate` already found it).

    Raises UsageError when it is not an MLflow pyfunc model and ModelLoadFailed
    when MLflow cannot load it; the message says which and why.
    """
    began = time.perf_counter()
    folder = folder or _local_folder(uri)
    _set_threads(threads)
    try:
        import mlflow.pyfunc

        pyfunc = mlflow.pyfunc.load_model(str(folder))
    except Exception as exc:  # noqa: BLE001 - any failure of user code is reported
        raise ModelLoadFailed(f"model {uri} failed to load: {_reason(exc)}") from exc
    if "torch" in sys.modules:  # torch reads OMP_NUM_THREADS only when first imported
        sys.modules["torch"].set_num_threads(_thread_count(threads))
    schema = pyfunc.metadata.get_input_schema()
    return ServedModel(
        uri=uri,
        pyfunc=pyfunc,
        columns=_columns(schema),
        input_schema=schema,
        example=read_example(folder / EXAMPLE),
        load_seconds=time.perf_counter() - began,
    )


def read_example(path: Path) -> bytes | None:
    """The model's serving input example at ``path`` as a JSON request body;
    None when the model has none.

    MLflow writes a missing value of its input example (pandas' NaN) as a bare
    ``NaN``, which is no JSON: a model trained on data with nulls in its first
    rows would bring an example the scorer refuses, as it must refuse a
    client's NaN. This example is the model's own, so ``NaN``, ``Infinity``
    and ``-Infinity`` in it read as missing (``null``). A file that is not
    JSON even so comes back as is, for the warm-up to say why it fails.
    """
    if not path.is_file():
        return None
    raw = path.read_bytes()
    constants: list[str] = []

    def missing(name: str) -> None:
        constants.append(name)

    try:
        doc = json.loads(raw, parse_constant=missing)
    except ValueError:
        return raw
    return json.dumps(doc).encode() if constants else raw


def warmup_body(model: ServedModel) -> bytes | None:
    """A request body for the warm-up prediction: the model's own example, else
    one row made from its signature (0, 0.0, "", false), else None."""
    if model.example is not None:
        return model.example
    if model.columns is None:
        return None
    blank = {"boolean": False, "string": "", "float": 0.0, "double": 0.0}
    row = {c.name: blank.get(c.type, 0) for c in model.columns}
    return json.dumps({"dataframe_records": [row]}).encode()


def _local_folder(uri: str) -> Path:
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    if "://" in uri or uri.startswith(("models:/", "runs:/")):
        return _download(uri)
    folder = Path(uri)
    if not folder.exists():
        raise UsageError(f"model {uri}: no such folder")
    if not (folder / "MLmodel").is_file():
        raise UsageError(
            f"model {uri} is not an MLflow model: no MLmodel file in it "
            "(pass the folder that `mlflow.pyfunc.save_model` wrote)"
        )
    if "python_function:" not in (folder / "MLmodel").read_text(errors="replace"):
        raise UsageError(
            f"model {uri} has no python_function flavor: the scorer serves pyfunc "
            "models"
        )
    return folder


def _download(uri: str) -> Path:
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for noisy in ("mlflow.store.db.utils", "alembic"):  # a new SQLite store's news
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        import mlflow
        from mlflow.exceptions import MlflowException
    except ImportError as exc:  # pragma: no cover - mlflow comes with the extra
        raise ModelLoadFailed(f"model {uri}: {_reason(exc)}") from exc
    try:
        with _default_store():
            local = mlflow.artifacts.download_artifacts(artifact_uri=uri)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            raise UsageError(f"model {uri}: {_reason(exc)}") from exc
        raise ModelLoadFailed(f"model {uri} could not be fetched: {_reason(exc)}")
    except Exception as exc:  # noqa: BLE001 - stores raise anything
        raise ModelLoadFailed(f"model {uri} could not be fetched: {_reason(exc)}")
    return _local_folder(local)


@contextmanager
def _default_store() -> Iterator[None]:
    """MLFLOW_TRACKING_URI, else the registry `mlops model` writes (SQLite under
    .mlops, or MLOPS_HOME), for the time of the download only."""
    if os.environ.get("MLFLOW_TRACKING_URI"):
        yield
        return
    from mlops_actions.settings import default_tracking_uri, state_dir

    # models:/ resolves through MLflow's global registry URI, which its
    # download_artifacts(registry_uri=) does not reach; the variable does.
    os.environ["MLFLOW_TRACKING_URI"] = default_tracking_uri(state_dir())
    try:
        yield
    finally:
        del os.environ["MLFLOW_TRACKING_URI"]


def _columns(schema: Any) -> tuple[Column, ...] | None:
    from mlflow.types.schema import DataType

    if schema is None or schema.is_tensor_spec() or not schema.has_input_names():
        return None
    columns = []
    for spec in schema.inputs:
        if not isinstance(spec.type, DataType) or spec.type.name not in FAST_TYPES:
            return None
        columns.append(Column(spec.name, spec.type.name, bool(spec.required)))
    return tuple(columns)


def _thread_count(threads: int | None) -> int:
    if threads is not None:
        return threads
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "1")))
    except ValueError:
        return 1


def _set_threads(threads: int | None) -> None:
    # Predict runs on one worker thread beside the event loop: intra-op thread
    # pools then fight the loop for the same cores and, on small batches, make
    # torch 10x slower on 2 cores. Micro-batching is the throughput lever.
    count = str(_thread_count(threads))
    for name in THREAD_VARIABLES:
        if threads is not None or name not in os.environ:
            os.environ[name] = count


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or "(no message)"
    if len(text) > 500:
        text = text[:497] + "..."
    return f"{type(exc).__name__}: {text}"
