"""The files one step hands to another, as pydantic models.

Each exchanged file (``metrics.json``, ``gate.json``, ``model.json``,
``bundle.json``, ``image.json``, ``smoke.json``, ``deploy.json``,
``run.json``, ``step.json``) is one :class:`~.base.Record` subclass carrying
its schema name and version; :func:`~.base.read_record` checks both before
anything reads a field, and :mod:`.export` writes the JSON Schemas users read
under ``schemas/``. This package imports pydantic: the CLI imports it only
inside command bodies, so ``mlops --help`` stays light.
"""
