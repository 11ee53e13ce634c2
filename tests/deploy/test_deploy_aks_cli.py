"""`mlops deploy aks` and `mlops deploy rollback` as a process of their own,
against the fake API server with real scorers behind its pods: exit codes,
the lines printed, the step outputs, the summary and deploy.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fakes.kube.scorers import Scorers, image_of, write_smoke
from tests.test_gha import parse_output_file

SLOW = Path(__file__).resolve().parents[1] / "scorer" / "fixtures" / "slow"


@pytest.fixture
def cluster(fake_kube, tmp_path, cli_env):
    """(env for the CLI, the scorers): a kubeconfig, GitHub's output files."""
    scorers = Scorers(fake_kube, tmp_path)
    env = dict(cli_env)
    env["KUBECONFIG"] = str(fake_kube.kubeconfig(tmp_path / "kubeconfig"))
    env["GITHUB_ACTIONS"] = "true"
    env["GITHUB_OUTPUT"] = str(tmp_path / "output.txt")
    env["GITHUB_STEP_SUMMARY"] = str(tmp_path / "summary.md")
    (tmp_path / "mlops.yaml").write_text(
        "aks:\n  app: scorer\n  replicas: 2\n  progress_deadline_seconds: 300\n"
    )
    yield env, scorers
    scorers.close()


def outputs(tmp_path: Path) -> dict[str, str]:
    return dict(parse_output_file((tmp_path / "output.txt").read_text()))


def deploy(mlops_process, tmp_path, env, image, version, smoke, *more):
    return mlops_process(
        "deploy", "aks", "--image", image, "--name", "penguins",
        "--model-version", version, "--smoke", str(smoke), "--timeout", "30",
        *more, cwd=tmp_path, env=env,
    )  # fmt: skip


def test_a_rollout_prints_writes_outputs_summary_and_deploy_json(
    fake_kube, tmp_path, cluster, mlops_process
):
    env, scorers = cluster
    image = scorers.serve(SLOW)
    result = deploy(
        mlops_process, tmp_path, env, image, "4", write_smoke(tmp_path / "s.json", 2)
    )
    assert result.returncode == 0, result.stderr
    endpoint = f"{fake_kube.url}/api/v1/namespaces/default/services/scorer:http/proxy"
    assert result.stdout.splitlines()[0] == (
        f"deployed penguins version 4 (deployment/scorer revision 1) at {endpoint}"
    )
    assert "deployment scorer successfully rolled out" in result.stderr
    assert outputs(tmp_path) == {
        "result": "deployed",
        "revision": "1",
        "endpoint": endpoint,
        "model-version": "4",
    }
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("### Deployed penguins version 4 to AKS")
    assert f"| image | `{image}` |" in summary
    record = json.loads((tmp_path / ".mlops" / "deploy" / "deploy.json").read_text())
    assert (record["target"], record["namespace"], record["deployment"]) == (
        "aks",
        "default",
        "scorer",
    )
    assert (record["revision"], record["image"], record["model_version"]) == (
        1,
        image,
        "4",
    )
    assert record["smoke"]["ok"] is True


def test_a_stuck_rollout_rolls_back_and_exits_3_with_the_evidence(
    fake_kube, tmp_path, cluster, mlops_process, models_dir=None
):
    env, scorers = cluster
    good = scorers.serve(SLOW)
    smoke = write_smoke(tmp_path / "s.json", 2)
    assert deploy(mlops_process, tmp_path, env, good, "1", smoke).returncode == 0
    broken = image_of("never-pulls")
    fake_kube.break_image(broken, reason="ImagePullBackOff", message="manifest unknown")
    result = deploy(mlops_process, tmp_path, env, broken, "2", smoke)
    assert result.returncode == 3, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert errors == [
        "error: the rollout failed: deployment scorer exceeded its progress "
        "deadline; rolled back"
    ]
    # the pods' state and their events follow it
    assert "ImagePullBackOff: manifest unknown" in result.stderr
    assert outputs(tmp_path)["result"] == "rolled-back"
    summary = (tmp_path / "summary.md").read_text()
    assert "### Rollout of penguins version 2 failed: rolled back" in summary
    assert "ImagePullBackOff: manifest unknown" in summary
    live = fake_kube.get("Deployment", "default", "scorer")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == good


def test_rollback_on_demand_serves_the_revision_before(
    fake_kube, tmp_path, cluster, mlops_process
):
    env, scorers = cluster
    first = scorers.serve(SLOW)
    triple = tmp_path / "triple"
    triple.mkdir()
    for part in SLOW.iterdir():
        text = part.read_text()
        (triple / part.name).write_text(text.replace("* 2", "* 3"))
    second = scorers.serve(triple)
    assert (
        deploy(
            mlops_process, tmp_path, env, first, "1", write_smoke(tmp_path / "a", 2)
        ).returncode
        == 0
    )
    assert (
        deploy(
            mlops_process, tmp_path, env, second, "2", write_smoke(tmp_path / "b", 3)
        ).returncode
        == 0
    )
    result = mlops_process(
        "deploy", "rollback", "--timeout", "30", cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "rolled back to models:/penguins/1 (deployment/scorer revision 3)\n"
    )
    live = fake_kube.get("Deployment", "default", "scorer")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == first


def test_an_image_by_tag_is_refused_before_anything_is_sent(
    fake_kube, tmp_path, cluster, mlops_process
):
    env, _ = cluster
    smoke = write_smoke(tmp_path / "s.json", 2)
    result = deploy(mlops_process, tmp_path, env, "registry.test/scorer:v1", "1", smoke)
    assert result.returncode == 2
    assert result.stderr == (
        "error: --image registry.test/scorer:v1: not an image by digest: use "
        "REPOSITORY@sha256:<64 hex> (image.json's reference after mlops image "
        "build --push); a tag can move under a running Deployment\n"
    )
    writes = [r for r in fake_kube.requests if r["method"] not in ("GET",)]
    assert writes == []


def test_no_cluster_configured_is_a_usage_error_naming_the_fix(
    tmp_path, cli_env, mlops_process
):
    env = dict(cli_env, KUBECONFIG=str(tmp_path / "absent"), HOME=str(tmp_path))
    image = image_of("x")
    result = mlops_process(
        "deploy", "aks", "--image", image, "--name", "m", "--model-version", "1",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("error: no cluster to deploy to: ")
    assert result.stderr.rstrip().endswith(
        "pass --kubeconfig, or run azure/aks-set-context first"
    )


def test_a_refused_deploy_says_not_started_not_rolled_back(
    fake_kube, tmp_path, cluster, mlops_process
):
    env, _ = cluster
    smoke = tmp_path / "s.json"
    smoke.write_text('{"schema": "mlops-actions/smoke", "version": 1}')
    result = deploy(mlops_process, tmp_path, env, image_of("x"), "1", smoke)
    assert result.returncode == 2
    assert outputs(tmp_path)["result"] == "not-started"
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("### Rollout of penguins version 1 not started")
    assert [r for r in fake_kube.requests if r["method"] != "GET"] == []


def test_image_json_names_the_image_the_model_and_its_commit(
    fake_kube, tmp_path, cluster, mlops_process
):
    from mlops_actions.image.reference import ImageResult
    from mlops_actions.jsonio import write_json

    env, scorers = cluster
    image = scorers.serve(SLOW)
    built = ImageResult(
        tag="registry.test/scorer:7",
        reference=image,
        digest=image.split("@")[1],
        image_id="sha256:" + "12" * 32,
        size=1000,
        build_seconds=1.0,
        push_seconds=1.0,
        builder="buildah",
        base_image=None,
        model={"name": "iris", "version": "7", "commit": "c0ffee" * 7, "digest": "d"},
    )
    write_json(tmp_path / "image.json", built.to_json())
    smoke = write_smoke(tmp_path / "s.json", 2)
    result = mlops_process(
        "deploy", "aks", "--smoke", str(smoke), "--timeout", "30",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("deployed iris version 7 (deployment/scorer ")
    labels = fake_kube.get("Deployment", "default", "scorer")["spec"]["template"][
        "metadata"
    ]["labels"]
    assert labels["mlops-actions/model-version"] == "7"
    assert labels["mlops-actions/commit"] == ("c0ffee" * 7)[:12]


def test_sizing_flags_over_mlops_yaml_give_an_hpa_and_the_requests(
    fake_kube, tmp_path, cluster, mlops_process
):
    env, scorers = cluster
    image = scorers.serve(SLOW)
    smoke = write_smoke(tmp_path / "s.json", 2)
    env = dict(env, MLOPS_DEPLOY_AKS_CPU="250m")  # as the action passes it
    result = deploy(
        mlops_process, tmp_path, env, image, "1", smoke, "--max-replicas", "5"
    )
    assert result.returncode == 0, result.stderr
    (hpa,) = fake_kube.objects("HorizontalPodAutoscaler", "default")
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 5)
    pod = fake_kube.get("Deployment", "default", "scorer")["spec"]["template"]
    assert pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "250m"


def test_a_bad_sizing_flag_names_itself_and_changes_nothing(
    fake_kube, tmp_path, cluster, mlops_process
):
    env, _ = cluster
    smoke = write_smoke(tmp_path / "s.json", 2)
    result = deploy(
        mlops_process, tmp_path, env, image_of("x"), "1", smoke, "--cpu", "lots"
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: --cpu lots: must be a CPU quantity")
    assert [r for r in fake_kube.requests if r["method"] != "GET"] == []
