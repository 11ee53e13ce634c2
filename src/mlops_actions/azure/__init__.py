"""The connection to Azure ML: which workspace, signed in how, with which retries.

:mod:`.workspace` resolves the workspace from flags, ``MLOPS_AZURE_*`` env vars
and ``mlops.yaml`` (pure); :mod:`.credential` chooses the credential (OIDC only,
never a client secret); :mod:`.client` builds azure-ai-ml's ``MLClient`` with
the retry policy of :mod:`.retry`. Only the last two import the Azure SDK, and
only inside functions: importing this package costs nothing.
"""
