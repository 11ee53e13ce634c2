"""The served model: loading it (folder or ``models:/`` URI), its signature,
and predicting batches of checked input. The bottom of the request path: it
imports no other layer of the scorer."""

from __future__ import annotations
