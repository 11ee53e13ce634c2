"""The model scorer: one FastAPI app serving any MLflow pyfunc model.

``mlops scorer serve MODEL`` runs it (see :mod:`mlops_actions.scorer.http.server`);
:func:`mlops_actions.scorer.http.app.create_app` builds the ASGI app. Nothing here
imports FastAPI, MLflow or pandas at import time: the CLI's ``--help`` stays
light, and the model is loaded when the server starts.

A request travels down, and imports only point down (``tests/scorer/
test_layers.py`` holds it):

- ``http``: the server, connections, ASGI app, routes, limits, metrics, docs,
  and the runtime that wires the layers below together;
- ``protocol``: MLflow's scoring protocol parsed and checked against the
  signature (a refusal is a :class:`~mlops_actions.scorer.rejection.Rejected`);
- ``batching``: concurrent requests coalesced into one predict call;
- ``model``: loading the model and predicting a batch.

``input_log`` sits on the side (fed by ``http``, using ``model``'s types);
``config`` and ``rejection`` are leaves any layer may import.
"""

from __future__ import annotations
