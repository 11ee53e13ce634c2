"""The scorer's HTTP layer: the server, its connections, the ASGI app and routes.

The top of the request path: it reads bytes off sockets and hands bodies to
``protocol``; below it come ``batching`` and ``model``, and ``input_log`` on
the side. Nothing below imports from here.
"""

from __future__ import annotations
