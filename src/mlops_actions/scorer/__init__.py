"""The model scorer: one FastAPI app serving any MLflow pyfunc model.

``mlops scorer serve MODEL`` runs it (see :mod:`mlops_actions.scorer.server`);
:func:`mlops_actions.scorer.app.create_app` builds the ASGI app. Nothing here
imports FastAPI, MLflow or pandas at import time: the CLI's ``--help`` stays
light, and the model is loaded when the server starts.
"""

from __future__ import annotations
