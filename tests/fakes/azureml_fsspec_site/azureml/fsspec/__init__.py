"""A stand-in for azureml-fsspec 1.4.0 over a local folder, for the ingest tests.

The real package reads through Azure ML's data API and storage with rslex, a
native library no fake on 127.0.0.1 can answer, so the ingest step's tests put
this folder on ``PYTHONPATH`` instead. It keeps what the step relies on: the
``azureml`` protocol registered with fsspec, the URI forms the real package
accepts (datastore URIs short and long, ``azureml://NAME:VERSION`` and long
data asset URIs), short forms resolved from the ``AZUREML_ARM_*`` variables an
Azure ML job sets, an unknown form refused with ``UserErrorException``, and a
data asset opened as a file system rooted at the asset.

``MLOPS_TEST_AZUREML_STORE`` is the folder standing for storage:
``SUB/RG/WS/datastores/DS/PATH`` and ``SUB/RG/WS/data/NAME/VERSION/...``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem

_WS = r"azureml://subscriptions/([^/]+)/resourcegroups/([^/]+)/(?:providers/Microsoft.MachineLearningServices/)?workspaces/([^/]+)/"  # noqa: E501
DATASTORE_SHORT = re.compile(r"azureml://datastores/([^/]+)(?:/paths/(.*))?", re.I)
DATASTORE_LONG = re.compile(_WS + r"datastores/([^/]+)(?:/paths/(.*))?", re.I)
ASSET_SHORT = re.compile(r"azureml://([^:/\\]+):([^:/\\]+)", re.I)
ASSET_LONG = re.compile(_WS + r"data/([^/]+)/versions/([^/]+)", re.I)


class UserErrorException(Exception):
    """What the real package raises for a URI or workspace it cannot use."""


def _workspace() -> tuple[str, str, str]:
    keys = ("AZUREML_ARM_SUBSCRIPTION", "AZUREML_ARM_RESOURCEGROUP")
    values = [os.environ.get(k) for k in (*keys, "AZUREML_ARM_WORKSPACE_NAME")]
    if not all(values):
        raise UserErrorException(
            "workspace context is missing: give the long form of the URI"
        )
    return values[0], values[1], values[2]


def _local(uri: str) -> str:
    store = Path(os.environ["MLOPS_TEST_AZUREML_STORE"])
    if m := DATASTORE_SHORT.fullmatch(uri):
        where = (*_workspace(), "datastores", m[1], m[2] or "")
    elif m := DATASTORE_LONG.fullmatch(uri):
        where = (m[1], m[2], m[3], "datastores", m[4], m[5] or "")
    elif m := ASSET_SHORT.fullmatch(uri):
        where = (*_workspace(), "data", m[1], m[2])
    elif m := ASSET_LONG.fullmatch(uri):
        where = (m[1], m[2], m[3], "data", m[4], m[5])
    else:
        raise UserErrorException(f"path type of {uri} is not supported")
    return str(store.joinpath(*where)).rstrip("/")


class AzureMachineLearningFileSystem(LocalFileSystem):
    protocol = "azureml"

    @classmethod
    def _strip_protocol(cls, path):
        path = str(path)
        if path.lower().startswith("azureml:"):
            return _local(path)
        return super()._strip_protocol(path)

    @staticmethod
    def _get_kwargs_from_urls(path):
        return {}


fsspec.register_implementation("azureml", AzureMachineLearningFileSystem, clobber=True)
