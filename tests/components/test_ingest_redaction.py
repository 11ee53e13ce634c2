"""The ingest step never prints or stores a credential of its source URI.

The component folder is uploaded to Azure ML on its own, so it carries its own
copy of :mod:`mlops_actions.redact`'s rules: these tests keep the copies equal.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

INGEST = Path(__file__).resolve().parents[2] / "pipelines" / "components" / "ingest"


def load_ingest():
    sys.path.insert(0, str(INGEST))  # ingest imports samples beside it
    try:
        spec = importlib.util.spec_from_file_location(
            "mlops_ingest", INGEST / "ingest.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(INGEST))
    return module


def test_ingest_keeps_the_toolkits_credential_rules():
    from mlops_actions import redact

    ingest = load_ingest()
    assert ingest.CREDENTIAL_PARAMS == redact.CREDENTIAL_PARAMS
    for text in [
        "https://a.blob.core.windows.net/c/t.csv?sv=1&sig=s%2B&se=2",
        "https://u:p@ss@h:1/x?Token=t&X-Goog-Signature=g#f",
        "error: source 'https://h/x?api_key=k' answered HTTP 403",
        "sample:synthetic?rows=10&seed=3",
    ]:
        assert ingest.redacted(text) == redact.redact(text)


class Forbidden(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ok = self.path.startswith("/t.csv")
        body = b"a,label\n1,yes\n2,no\n" if ok else b""
        self.send_response(200 if ok else 403)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize("path, code", [("t.csv", 0), ("no.csv", 2)])
def test_ingest_redacts_its_source_in_prints_errors_and_manifest(tmp_path, path, code):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLOPS_")}
    env.update(NO_PROXY="127.0.0.1", no_proxy="127.0.0.1")
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Forbidden) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/{path}?sig=SIGCANARY"
        result = subprocess.run(
            [sys.executable, str(INGEST / "ingest.py"), "--source", url]
            + ["--snapshot", str(tmp_path / "s")],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        server.shutdown()
    assert result.returncode == code, result.stderr
    assert "SIGCANARY" not in result.stdout + result.stderr
    shown = url.replace("SIGCANARY", "***")
    if code == 0:
        manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
        assert manifest["source"] == shown
        assert f"from {shown}" in result.stdout
    else:
        assert result.stderr.startswith(f"error: source '{shown}' answered HTTP 403")
