"""Deployments: the local scorer process now; Kubernetes rollouts later."""
