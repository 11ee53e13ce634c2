"""A stateful fake of the Azure ML REST API, for the real azure-ai-ml client."""

from tests.fakes.azureml.service import FakeAzureML

__all__ = ["FakeAzureML"]
