"""MLflow's scoring protocol: request bodies parsed and checked against the
model's signature, before any predict call. Imports ``model`` below it, never
the HTTP layer above."""

from __future__ import annotations
