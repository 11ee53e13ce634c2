"""mlops-actions: the MLOps loop as GitHub Actions, runnable on one machine."""

__version__ = "0.1.0"
