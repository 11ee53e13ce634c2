"""The release loop: pipeline, gate, registry, bundle, deploy, smoke."""
