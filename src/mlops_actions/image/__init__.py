"""The scorer's container image: build context, Dockerfile, pins, builders, push.

``reference`` is the vocabulary every other module here speaks; ``context``
writes the build context (``mlops image bundle``), ``build`` turns it into an
image (``mlops image build``). Nothing here imports a heavy dependency at
import time, and nothing here is imported by the scorer that serves.
"""

from __future__ import annotations
