"""Installed in child processes of the Azure tests: *.localhost is 127.0.0.1."""

import importlib.util
import pathlib

_spec = importlib.util.spec_from_file_location(
    "_loopback_dns", pathlib.Path(__file__).resolve().parent.parent / "loopback_dns.py"
)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
_module.install()
