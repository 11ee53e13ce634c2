"""Where the AKS target finds its cluster: --kubeconfig, $KUBECONFIG (read
when connecting), else a clear refusal."""

from __future__ import annotations

import pytest

from mlops_actions.deploy.kube import Kube, connect
from mlops_actions.errors import UsageError


def test_kubeconfig_set_after_the_client_was_imported_is_the_one_used(
    fake_kube, tmp_path, monkeypatch
):
    # the kubernetes client reads $KUBECONFIG once, at its first import; a
    # second command in one process (mlops release in a test, a notebook)
    # must still find the cluster named now
    import kubernetes.config  # noqa: F401 (imported before the variable is set)

    monkeypatch.setenv("KUBECONFIG", str(fake_kube.kubeconfig(tmp_path / "kc")))
    kube = Kube(connect())
    assert kube.host == fake_kube.url
    assert kube.get("Deployment", "default", "absent") is None


def test_no_cluster_anywhere_names_both_ways_to_give_one(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(UsageError) as refused:
        connect()
    assert refused.value.message.startswith("no cluster to deploy to: ")
    assert refused.value.message.endswith(
        "pass --kubeconfig, or run azure/aks-set-context first"
    )


def test_a_kubeconfig_flag_naming_no_file_is_refused(tmp_path):
    with pytest.raises(UsageError, match=r"^--kubeconfig .*/nope: no such file$"):
        connect(tmp_path / "nope")
