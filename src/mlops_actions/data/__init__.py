"""Data assets: content-derived versions, and Azure ML data assets on a Blob or
ADLS Gen2 datastore (:mod:`.azure`, which imports azure-ai-ml when called)."""
