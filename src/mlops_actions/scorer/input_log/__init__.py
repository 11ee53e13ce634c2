"""Sampled input logging for drift monitoring: rows offered by the HTTP layer
after an answer, written as JSON lines or Parquet off the request path. A side
group: it uses ``model``'s types and nothing of the request path above."""

from __future__ import annotations
