"""Azurite, the real Azure Blob Storage emulator, for the Azure tests.

Started over HTTPS with the tests' CA (:mod:`tests.fakes.tls`) so the SDK's
own upload and download code paths run against real storage. The fake
Azure ML service hands out container SAS URLs made here.
"""

from __future__ import annotations

import datetime
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.fakes.tls import Authority

ACCOUNT = "devstoreaccount1"
# Azurite's published development key: not a secret.
KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
    "K1SZFPTOtr/KBHBeksoGMGw=="
)
DEFAULT_BINARY = (
    Path.home() / ".cache/mlops-actions/azurite/node_modules/.bin/azurite-blob"
)
INSTALL_HINT = (
    "Azurite is not installed: run .ci/run's install step "
    "(npm install --no-audit --no-fund --prefix ~/.cache/mlops-actions/azurite "
    "azurite@3.37.0) or set MLOPS_TEST_AZURITE to azurite-blob's path"
)


def binary() -> Path:
    return Path(os.environ.get("MLOPS_TEST_AZURITE") or DEFAULT_BINARY)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Azurite:
    def __init__(self, authority: Authority, folder: Path) -> None:
        self.authority = authority
        self.folder = folder
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The account's path-style URL (what the fake itself uses)."""
        return f"https://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def account_url(self) -> str:
        """The production-style URL the SDK builds from the storage suffix."""
        return f"https://{ACCOUNT}.blob.localhost:{self.port}"

    def start(self, timeout_s: float = 30.0) -> "Azurite":
        exe = binary()
        if not exe.exists():
            raise RuntimeError(INSTALL_HINT)
        self.folder.mkdir(parents=True, exist_ok=True)
        log = open(self.folder / "azurite.log", "wb")
        self.process = subprocess.Popen(
            [str(exe), "--blobHost", "127.0.0.1", "--blobPort", str(self.port)]
            + ["--location", str(self.folder / "data"), "--silent"]
            + ["--skipApiVersionCheck", "--loose"]
            + ["--cert", str(self.authority.cert), "--key", str(self.authority.key)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Azurite exited; see {self.folder}/azurite.log")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Azurite did not listen on {self.port} in {timeout_s}s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                # Azurite may take 10 s to close idle keep-alive sockets; its
                # data is a temporary folder, so nothing is lost by killing it
                self.process.wait(2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def service(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient(
            self.url,
            credential={"account_name": ACCOUNT, "account_key": KEY},
            connection_verify=str(self.authority.bundle),
        )

    def create_container(self, name: str) -> None:
        from azure.core.exceptions import ResourceExistsError

        try:
            self.service().create_container(name)
        except ResourceExistsError:
            pass

    def container_sas(self, container: str, hours: int = 24) -> str:
        """A SAS token (no leading '?') for read/write/list on ``container``."""
        from azure.storage.blob import ContainerSasPermissions, generate_container_sas

        return generate_container_sas(
            ACCOUNT,
            container,
            account_key=KEY,
            permission=ContainerSasPermissions(
                read=True, write=True, create=True, add=True, list=True, delete=True
            ),
            expiry=datetime.datetime.now(datetime.timezone.utc)
            + datetime.timedelta(hours=hours),
        )

    def container_url(self, container: str, sas: bool = True) -> str:
        url = f"{self.url}/{container}"
        return f"{url}?{self.container_sas(container)}" if sas else url

    def blob_url(self, container: str, path: str) -> str:
        return f"{self.url}/{container}/{path}?{self.container_sas(container)}"

    def write(self, container: str, path: str, data: bytes) -> None:
        blob = self.service().get_blob_client(container, path)
        blob.upload_blob(data, overwrite=True)

    def append(self, container: str, path: str, data: bytes) -> None:
        """Grow a log blob (read, concatenate, rewrite: logs here are tiny)."""
        blob = self.service().get_blob_client(container, path)
        old = blob.download_blob().readall() if blob.exists() else b""
        blob.upload_blob(old + data, overwrite=True)

    def read(self, container: str, path: str) -> bytes:
        blob = self.service().get_blob_client(container, path)
        return bytes(blob.download_blob().readall())

    def list(self, container: str, prefix: str = "") -> list[str]:
        client = self.service().get_container_client(container)
        return sorted(b.name for b in client.list_blobs(name_starts_with=prefix))
