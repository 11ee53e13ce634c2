"""What a pipeline node runs, resolved the way the service does: its component
version (``componentId``), that component's environment (``azureml:N@latest``,
``azureml:N:V`` or an ARM id, labels resolved to the newest version) and code.

The environment build outcomes set with ``fake.environment_build`` act here:
Azure ML builds a node's image when the node is about to run, and a failed
build fails that node (the ARM environment resource has no build status
field), with the build log listed in the node's run history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.azureml.service import FakeAzureML

BUILD_FAILED = (
    "Image build failed for environment {name}:{version}. For more details, "
    "check the image build log: {log_url}"
)
BUILD_LOG = "azureml-logs/20_image_build_log.txt"


@dataclass
class Node:
    name: str
    spec: dict[str, Any]  # the component's componentSpec
    environment: tuple[str, str] | None
    code_uri: str | None
    binding: dict[str, Any]  # the node as the pipeline job names it


def _tail(arm_id: str, kind: str) -> tuple[str, str] | None:
    match = re.search(rf"/{kind}/([^/]+)/versions/([^/]+)$", arm_id)
    return (match.group(1), match.group(2)) if match else None


def resolve_environment(fake: "FakeAzureML", ref: str) -> tuple[str, str] | None:
    ref = ref[len("azureml:") :] if ref.startswith("azureml:") else ref
    if "/environments/" in ref:
        return _tail(ref, "environments")
    if "@" in ref:
        name, _, label = ref.partition("@")
        entry = fake.assets.assets["environments"].get(name)
        if entry is None or label != "latest":
            return (name, label)
        newest = max(
            entry["versions"].values(), key=lambda v: v["systemData"]["createdAt"]
        )
        return (name, newest["name"])
    name, _, version = ref.partition(":")
    return (name, version) if version else None


def nodes(fake: "FakeAzureML", job_props: dict[str, Any]) -> list[Node]:
    found = []
    for node, binding in (job_props.get("jobs") or {}).items():
        component = _tail(str(binding.get("componentId") or ""), "components")
        version = fake.assets.version("components", *component) if component else None
        spec = (version or {}).get("properties", {}).get("componentSpec") or {}
        env = spec.get("environment")
        code = _tail(str(spec.get("code") or ""), "codes")
        code_version = fake.assets.version("codes", *code) if code else None
        found.append(
            Node(
                node,
                spec,
                resolve_environment(fake, env) if isinstance(env, str) else None,
                (code_version or {}).get("properties", {}).get("codeUri"),
                binding,
            )
        )
    return found


def failed_build(fake: "FakeAzureML", node: Node) -> dict[str, Any] | None:
    """The error of a node whose environment's build is set to fail."""
    if node.environment is None:
        return None
    build = fake.assets.builds.get(node.environment)
    if not build or build["state"] != "Failed":
        return None
    name, version = node.environment
    log_url = build["log_url"] or fake.azurite.blob_url(
        fake.container, f"environment-builds/{name}/{version}/build.log"
    )
    message = BUILD_FAILED.format(name=name, version=version, log_url=log_url)
    return {"message": message, "step": node.name, "build_log": log_url}
