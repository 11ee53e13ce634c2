"""Pipelines in Azure ML CLI v2 YAML: load, validate, run locally or on Azure."""
