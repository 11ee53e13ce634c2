"""`mlops image build`: builder choice, the commands run, image.json, exit codes.

Fake `buildah` and `docker` executables on PATH record the command lines
they get; the real build runs in test_image_e2e.py.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.image.conftest import calls, fake_tool

BUNDLE = {
    "schema": "mlops-actions/bundle",
    "version": 1,
    "model": {"name": "penguins", "version": "3", "commit": "abc", "digest": "d"},
    "base_image": "python:3.11-slim@sha256:" + "0" * 64,
}
DIGEST = "sha256:" + "d" * 64
IMAGE_ID = "sha256:" + "1" * 64
FAKE_BUILDAH = f"""
out=; iid=; last="${{@: -1}}"
while [ $# -gt 0 ]; do
  case "$1" in
    --iidfile) iid="$2"; shift;;
    --digestfile) out="$2"; shift;;
  esac
  shift
done
[ -n "$iid" ] && echo "{IMAGE_ID}" > "$iid"
[ -n "$out" ] && printf '{DIGEST}' > "$out"
if [ -n "$iid" ]; then
  echo "STEP 1/1: done"
elif [ -z "$out" ] && [ "$last" = localhost/base:1 ]; then
  # buildah inspect of the base: its one layer
  echo '{{"Manifest": "{{\\"layers\\": [{{\\"size\\": 1000}}]}}"}}'
elif [ -z "$out" ]; then
  # buildah inspect: a local manifest with two layers
  echo '{{"Manifest": "{{\\"layers\\": [{{\\"size\\": 1000}}, {{\\"size\\": 234}}]}}"}}'
fi
"""


@pytest.fixture
def context(tmp_path):
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "Dockerfile").write_text("FROM scratch\n")
    (folder / "bundle.json").write_text(json.dumps(BUNDLE))
    return folder


def test_no_builder_exits_4_naming_what_to_install(mlops, bare_path, context, tmp_path):
    result = mlops("image", "build", str(context), "--tag", "penguins:3")
    assert result.code == 4
    assert result.err == (
        "error: no image builder found: install buildah (Debian/Ubuntu: apt-get "
        "install buildah) or Docker with a running engine and the buildx plugin\n"
    )
    assert not (tmp_path / "image.json").exists()


def test_docker_without_engine_and_no_buildah_exits_4(mlops, bare_path, context):
    fake_tool(
        bare_path, "docker", "echo 'Cannot connect to the Docker daemon' >&2\nexit 1\n"
    )
    result = mlops("image", "build", str(context), "--tag", "penguins:3")
    assert result.code == 4
    assert result.err.startswith(
        "error: no image builder found (docker is installed, but its engine does "
        "not answer (Cannot connect to the Docker daemon)): install buildah"
    )
    explicit = mlops(
        "image", "build", str(context), "--tag", "p:3", "--builder", "docker"
    )
    assert explicit.code == 4
    assert explicit.err == (
        "error: --builder docker: docker is installed, but its engine does not "
        "answer (Cannot connect to the Docker daemon); or use --builder buildah\n"
    )


def test_docker_without_buildx_falls_back_to_buildah(mlops, bare_path, context):
    fake_tool(
        bare_path,
        "docker",
        '[ "$1" = info ] && exit 0\n'
        'echo "docker: unknown command: docker buildx" >&2\nexit 1\n',
    )
    explicit = mlops(
        "image", "build", str(context), "--tag", "p:3", "--builder", "docker"
    )
    assert explicit.code == 4
    assert explicit.err == (
        "error: --builder docker: docker is installed, but its buildx plugin is "
        "missing (docker: unknown command: docker buildx); or use --builder "
        "buildah\n"
    )
    fake_tool(bare_path, "buildah", FAKE_BUILDAH)
    result = mlops(
        "image", "build", str(context), "--tag", "p:3", "--out", str(context / "i.json")
    )
    assert result.code == 0, result.err
    assert json.loads((context / "i.json").read_text())["builder"] == "buildah"


def test_explicit_buildah_missing_exits_4(mlops, bare_path, context):
    result = mlops(
        "image", "build", str(context), "--tag", "p:3", "--builder", "buildah"
    )
    assert result.code == 4
    assert result.err == (
        "error: --builder buildah: buildah is not installed: apt-get install buildah\n"
    )


def test_buildah_build_and_push(mlops, bare_path, context, tmp_path, monkeypatch):
    monkeypatch.delenv("BUILDAH_ISOLATION", raising=False)
    fake_tool(bare_path, "buildah", FAKE_BUILDAH)
    out = tmp_path / "image.json"
    tag = "127.0.0.1:5000/scorers/penguins:3"
    result = mlops(
        "image", "build", str(context), "--tag", tag, "--push",
        "--base-image", "localhost/base:1", "--pull", "never", "--out", str(out),
    )  # fmt: skip
    assert result.code == 0, result.err
    build, inspect, inspect_base, push = calls(bare_path, "buildah")
    assert build == [
        "build", "--format=docker", "--isolation=chroot", "--pull=never",
        "--file", str(context / "Dockerfile"), "--tag", tag,
        "--iidfile", build[build.index("--iidfile") + 1],
        "--build-arg=BASE_IMAGE=localhost/base:1", str(context),
    ]  # fmt: skip
    assert inspect == ["inspect", "--type=image", tag]
    assert inspect_base == ["inspect", "--type=image", "localhost/base:1"]
    assert push[:2] == ["push", "--digestfile"]
    # plain HTTP only for a registry on this machine
    assert push[3:] == ["--tls-verify=false", tag, f"docker://{tag}"]
    record = json.loads(out.read_text())
    assert record.pop("build_seconds") >= 0
    assert record.pop("push_seconds") >= 0
    assert record == {
        "schema": "mlops-actions/image",
        "version": 1,
        "tag": tag,
        "reference": f"127.0.0.1:5000/scorers/penguins@{DIGEST}",
        "digest": DIGEST,
        "image_id": IMAGE_ID,
        "size": 1234,
        "builder": "buildah",
        "base_image": "localhost/base:1",
        "model": BUNDLE["model"],
        "pushed": True,
        "base_size": 1000,
    }
    lines = result.out.splitlines()
    assert re.fullmatch(
        rf"built {re.escape(tag)} with buildah in [\d.]+ s "
        r"\(0 MB \(0 MB base \+ 0 MB\)\)",
        lines[0],
    )
    assert lines[1] == f"pushed 127.0.0.1:5000/scorers/penguins@{DIGEST}"


def test_remote_registry_keeps_tls_and_missing_pull_means_if_absent(
    mlops, bare_path, context, tmp_path
):
    fake_tool(bare_path, "buildah", FAKE_BUILDAH)
    tag = "myacr.azurecr.io/penguins:3"
    result = mlops(
        "image", "build", str(context), "--tag", tag, "--push",
        "--out", str(tmp_path / "image.json"),
    )  # fmt: skip
    assert result.code == 0, result.err
    build, _, _, push = calls(bare_path, "buildah")
    assert "--pull=false" in build  # buildah's "pull only when missing"
    assert not any(arg.startswith("--build-arg") for arg in build)
    assert "--tls-verify=false" not in push
    record = json.loads((tmp_path / "image.json").read_text())
    assert record["base_image"] == BUNDLE["base_image"]  # the Dockerfile's


def test_without_push_there_is_no_digest_reference(mlops, bare_path, context, tmp_path):
    fake_tool(bare_path, "buildah", FAKE_BUILDAH)
    result = mlops(
        "image",
        "build",
        str(context),
        "--tag",
        "penguins:3",
        "--out",
        str(tmp_path / "i.json"),
    )
    assert result.code == 0, result.err
    # the image's size, then its base's
    assert [c[0] for c in calls(bare_path, "buildah")] == [
        "build",
        "inspect",
        "inspect",
    ]
    record = json.loads((tmp_path / "i.json").read_text())
    assert (record["reference"], record["digest"], record["pushed"]) == (
        None,
        None,
        False,
    )


def test_build_failure_exits_3_with_the_log_tail(mlops, bare_path, context, tmp_path):
    fake_tool(
        bare_path,
        "buildah",
        'for ((i = 1; i <= 100; i++)); do echo "log line $i"; done\n'
        "echo 'ERROR: No matching distribution found for numpy==9.9'\nexit 1\n",
    )
    result = mlops("image", "build", str(context), "--tag", "penguins:3")
    assert result.code == 3
    lines = result.err.splitlines()
    assert lines[0] == "error: buildah build failed (exit 1)"
    assert lines[1:] == [f"log line {i}" for i in range(62, 101)] + [
        "ERROR: No matching distribution found for numpy==9.9"
    ]
    assert not (tmp_path / "image.json").exists()


def test_build_timeout_exits_3(mlops, bare_path, context):
    fake_tool(bare_path, "buildah", "echo starting\nexec /bin/sleep 30\n")
    result = mlops("image", "build", str(context), "--tag", "p:3", "--timeout", "1")
    assert result.code == 3
    assert result.err == "error: buildah build ran out of time after 1 s\nstarting\n"


def test_docker_when_the_engine_answers(mlops, bare_path, context, tmp_path):
    fake_tool(
        bare_path,
        "docker",
        f"""
        case "$1" in
          info) echo 28.2.2;;
          buildx)
            [ "$2" = version ] && exit 0
            while [ $# -gt 0 ]; do
              [ "$1" = --iidfile ] && echo "{IMAGE_ID}" > "$2"; shift
            done;;
          image)
            case "$3" in
              --format={{{{.Size}}}}) echo 4321;;
              *) echo '["127.0.0.1:5000/penguins@{DIGEST}"]';;
            esac;;
        esac
        """,
    )
    fake_tool(bare_path, "buildah", "exit 99\n")  # there, but docker comes first
    tag = "127.0.0.1:5000/penguins:3"
    result = mlops(
        "image", "build", str(context), "--tag", tag, "--push", "--pull", "always",
        "--out", str(tmp_path / "image.json"),
    )  # fmt: skip
    assert result.code == 0, result.err
    info, buildx, build, size, base_size, push, digests = calls(bare_path, "docker")
    assert info == ["info", "--format", "{{.ServerVersion}}"]
    assert buildx == ["buildx", "version"]
    assert build[:4] == ["buildx", "build", "--load", "--progress=plain"]
    assert "--pull" in build and build[-1] == str(context)
    assert size == ["image", "inspect", "--format={{.Size}}", tag]
    assert base_size == ["image", "inspect", "--format={{.Size}}", BUNDLE["base_image"]]
    assert push == ["push", tag]
    assert digests == ["image", "inspect", "--format={{json .RepoDigests}}", tag]
    record = json.loads((tmp_path / "image.json").read_text())
    assert record["builder"] == "docker"
    assert record["size"] == 4321
    assert record["reference"] == f"127.0.0.1:5000/penguins@{DIGEST}"
    assert calls(bare_path, "buildah") == []


def test_github_outputs_and_summary(mlops, bare_path, context, tmp_path, monkeypatch):
    fake_tool(bare_path, "buildah", FAKE_BUILDAH)
    outputs, summary = tmp_path / "out.txt", tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    tag = "localhost:5000/penguins:3"
    result = mlops(
        "image", "build", str(context), "--tag", tag, "--push",
        "--out", str(tmp_path / "image.json"),
    )  # fmt: skip
    assert result.code == 0, result.err
    text = outputs.read_text()
    ref = f"localhost:5000/penguins@{DIGEST}"
    for name, value in (("image-ref", ref), ("image-digest", DIGEST), ("size", "1234")):
        assert re.search(rf"^{name}<<(\S+)\n{re.escape(value)}\n\1$", text, re.M), name
    assert re.fullmatch(
        rf"Scorer image `{re.escape(ref)}`: 0 MB \(0 MB base \+ 0 MB\), built in "
        r"[\d.]+ s with buildah and "
        r"pushed\n",
        summary.read_text(),
    )
    # the build log is folded into a group in the Actions log
    assert f"::group::build {tag}\n" in result.out
    assert "STEP 1/1: done" in result.err


@pytest.mark.parametrize(
    "tag, says",
    [
        ("penguins", "name the tag too"),
        ("penguins@sha256:" + "0" * 64, "give a tag"),
        ("Penguins:3", "not an image reference"),
        ("penguins:bad tag", "not an image reference"),
    ],
)
def test_bad_tags_are_usage_errors(mlops, bare_path, context, tag, says):
    result = mlops("image", "build", str(context), "--tag", tag)
    assert result.code == 2
    assert says in result.err


def test_context_without_dockerfile(mlops, bare_path, tmp_path):
    result = mlops("image", "build", str(tmp_path), "--tag", "p:1")
    assert result.code == 2
    assert result.err == (
        f"error: {tmp_path}: no Dockerfile: make the build context with `mlops "
        "image bundle MODEL --out DIR` first\n"
    )


def test_help_imports_nothing_heavy():
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from mlops_actions.cli import main\n"
        "try:\n    main(['image', 'build', '--help'])\n"
        "except SystemExit:\n    pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    loaded = done.stdout.splitlines()[-1]
    for heavy in ("mlflow", "pandas", "packaging", "fastapi", "azure"):
        assert f"'{heavy}'" not in loaded
