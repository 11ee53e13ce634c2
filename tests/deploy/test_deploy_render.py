"""`mlops deploy render`: the manifests as files (all or nothing) or a stream."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlops_actions.deploy import manifests
from mlops_actions.deploy.manifests import AksSettings
from mlops_actions.image.reference import ImageResult
from mlops_actions.jsonio import write_json

DIGEST = "sha256:" + "ab" * 32
IMAGE = f"myacr.azurecr.io/iris@{DIGEST}"
SHA = "c0ffee" + "0" * 34
OUT = Path(".mlops/deploy/manifests")
NAMED = ("--image", IMAGE, "--name", "iris", "--model-version", "7")
DEFAULT_FILES = [
    "01-deployment-mlops-scorer.yaml",
    "02-service-mlops-scorer.yaml",
    "03-poddisruptionbudget-mlops-scorer.yaml",
]


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("MLOPS_CONFIG", "GITHUB_SHA"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def image_json(folder: Path, reference: str | None = IMAGE) -> Path:
    result = ImageResult(
        tag="myacr.azurecr.io/iris:7",
        reference=reference,
        digest=DIGEST if reference else None,
        image_id="sha256:" + "12" * 32,
        size=1000,
        build_seconds=1.0,
        push_seconds=1.0 if reference else None,
        builder="buildah",
        base_image=None,
        model={"name": "iris", "version": "7", "commit": SHA, "digest": "d"},
    )
    path = folder / "image.json"
    write_json(path, result.to_json())
    return path


def written(folder: Path) -> dict[str, dict]:
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(folder.iterdir())}


def test_one_file_per_manifest_with_exact_names(mlops, here):
    result = mlops("deploy", "render", *NAMED, "--commit", SHA)
    assert (result.code, result.err) == (0, "")
    assert result.out == "".join(f"{OUT / name}\n" for name in DEFAULT_FILES)
    files = written(here / OUT)
    assert list(files) == DEFAULT_FILES
    expected = manifests.render(
        AksSettings(),
        image=IMAGE,
        model_name="iris",
        model_version="7",
        commit=SHA,
    )
    assert list(files.values()) == expected


def test_the_stream_parses_back_to_the_same_manifests(mlops, here):
    result = mlops("deploy", "render", *NAMED, "--track", "canary", "--out", "-")
    assert (result.code, result.err) == (0, "")
    assert result.out.startswith("---\napiVersion: apps/v1\nkind: Deployment\n")
    docs = list(yaml.safe_load_all(result.out))
    assert docs == manifests.render(
        AksSettings(),
        image=IMAGE,
        model_name="iris",
        model_version="7",
        commit=None,
        track="canary",
    )
    assert docs[0]["metadata"]["name"] == "mlops-scorer-canary"
    assert not (here / ".mlops").exists()


def test_a_tag_instead_of_a_digest_exits_2_and_writes_nothing(mlops, here):
    result = mlops("deploy", "render", "--image", "myacr.azurecr.io/iris:7", *NAMED[2:])
    assert result.code == 2
    assert result.err == (
        "error: --image myacr.azurecr.io/iris:7: not an image by digest: use "
        "REPOSITORY@sha256:<64 hex> (image.json's reference after mlops image build "
        "--push); a tag can move under a running Deployment\n"
    )
    assert result.out == ""
    assert list(here.iterdir()) == []


def test_a_failed_render_leaves_the_previous_one(mlops, here):
    assert mlops("deploy", "render", *NAMED).code == 0
    before = written(here / OUT)
    result = mlops("deploy", "render", *NAMED, "--track", "Bad")
    assert result.code == 2 and result.err.startswith("error: --track Bad: ")
    assert written(here / OUT) == before


def test_a_new_render_replaces_the_folder_whole(mlops, here):
    (here / "mlops.yaml").write_text("aks:\n  max_replicas: 4\n  pod_monitor: true\n")
    assert mlops("deploy", "render", *NAMED).code == 0
    assert len(list((here / OUT).iterdir())) == 5
    (here / "mlops.yaml").write_text("aks: {}\n")
    assert mlops("deploy", "render", *NAMED).code == 0
    assert sorted(p.name for p in (here / OUT).iterdir()) == DEFAULT_FILES
    # nothing left beside it
    assert sorted(p.name for p in (here / OUT).parent.iterdir()) == ["manifests"]


def test_a_folder_holding_other_files_is_refused_untouched(mlops, here):
    folder = here / "k8s"
    folder.mkdir()
    (folder / "kustomization.yaml").write_text("resources: []\n")
    result = mlops("deploy", "render", *NAMED, "--out", "k8s")
    assert result.code == 2
    assert result.err == (
        "error: --out k8s: holds kustomization.yaml, which mlops deploy render did "
        "not write: name a folder of its own\n"
    )
    assert [p.name for p in folder.iterdir()] == ["kustomization.yaml"]


def test_the_aks_settings_of_mlops_yaml_are_honoured(mlops, here):
    (here / "mlops.yaml").write_text(
        "aks:\n"
        "  app: iris\n"
        "  namespace: ml\n"
        "  replicas: 3\n"
        "  max_replicas: 9\n"
        "  labels: {team: ml}\n"
        "  input_log:\n"
        "    container_url: https://mlopsdata.blob.core.windows.net/inputs\n"
        "    client_id: 8f2c1a3e-5b7d-4c9e-a1f0-2d3b4c5e6f70\n"
    )
    result = mlops("deploy", "render", *NAMED, "--out", "k8s", "--replicas", "4")
    assert result.code == 0, result.err
    files = written(here / "k8s")
    assert list(files) == [
        "01-serviceaccount-iris.yaml",
        "02-deployment-iris.yaml",
        "03-service-iris.yaml",
        "04-horizontalpodautoscaler-iris.yaml",
        "05-poddisruptionbudget-iris.yaml",
    ]
    assert {doc["metadata"]["namespace"] for doc in files.values()} == {"ml"}
    deployment = files["02-deployment-iris.yaml"]
    assert deployment["spec"]["replicas"] == 4  # the flag over the file
    assert deployment["metadata"]["labels"]["team"] == "ml"
    hpa = files["04-horizontalpodautoscaler-iris.yaml"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (4, 9)
    result = mlops("deploy", "render", *NAMED, "--out", "-", "--namespace", "ml2")
    assert {doc["metadata"]["namespace"] for doc in yaml.safe_load_all(result.out)} == {
        "ml2"
    }


def test_a_bad_aks_key_names_the_file_line_and_key(mlops, here):
    (here / "mlops.yaml").write_text("aks:\n  namespace: ml\n  replica: 3\n")
    result = mlops("deploy", "render", *NAMED)
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        "error: mlops.yaml:3: aks.replica: unknown key: remove it or fix its "
        "spelling\n"
    )
    assert not (here / ".mlops").exists()


def test_a_flag_out_of_the_configured_range_names_the_flag(mlops, here):
    (here / "mlops.yaml").write_text("aks:\n  max_replicas: 4\n")
    result = mlops("deploy", "render", *NAMED, "--replicas", "5")
    assert result.code == 2
    assert result.err == (
        "error: --replicas 5: replicas 5 must lie between min_replicas 5 and "
        "max_replicas 4: change one of them\n"
    )


def test_image_json_gives_the_image_and_its_model(mlops, here):
    image_json(here)
    result = mlops("deploy", "render", "--out", "-")
    assert result.code == 0, result.err
    deployment = next(yaml.safe_load_all(result.out))
    template = deployment["spec"]["template"]
    assert template["spec"]["containers"][0]["image"] == IMAGE
    labels = template["metadata"]["labels"]
    assert labels["mlops-actions/model-name"] == "iris"
    assert labels["mlops-actions/model-version"] == "7"
    assert labels["mlops-actions/commit"] == SHA[:12]


def test_commit_defaults_to_github_sha(mlops, here, monkeypatch):
    monkeypatch.setenv("GITHUB_SHA", "1234567890abcdef1234")
    result = mlops("deploy", "render", *NAMED, "--out", "-")
    labels = next(yaml.safe_load_all(result.out))["spec"]["template"]["metadata"]
    assert labels["labels"]["mlops-actions/commit"] == "1234567890ab"


def test_an_image_that_was_not_pushed_is_refused(mlops, here):
    image_json(here, reference=None)
    result = mlops("deploy", "render")
    assert result.code == 2
    assert result.err == (
        "error: --image-file image.json: the image was not pushed (no reference): "
        "build it with mlops image build --push, or pass --image\n"
    )


def test_without_image_json_the_model_must_be_named(mlops, here):
    result = mlops("deploy", "render", "--image", IMAGE)
    assert result.code == 2
    assert result.err.startswith("error: --image-file image.json: no such file: ")
