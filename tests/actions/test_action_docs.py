"""Each action's README documents its real inputs and outputs, and its
examples use only inputs the action declares."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTIONS = {
    "": (ROOT / "action.yml", ROOT / "README.md"),
    **{
        d.name: (d / "action.yml", d / "README.md")
        for d in sorted((ROOT / "actions").iterdir())
        if (d / "action.yml").is_file()
    },
}


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_readme_names_every_input_and_output(name):
    action_file, readme = ACTIONS[name]
    action = yaml.safe_load(action_file.read_text())
    text = readme.read_text()
    for kind in ("inputs", "outputs"):
        for key in action.get(kind) or {}:
            assert f"`{key}`" in text, f"{readme}: {kind[:-1]} `{key}` not documented"


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_examples_use_declared_inputs(name):
    action_file, readme = ACTIONS[name]
    declared = set((yaml.safe_load(action_file.read_text()).get("inputs") or {}))
    suffix = f"mlops-actions/actions/{name}@" if name else "mlops-actions@"
    used = 0
    for block in re.findall(r"```yaml\n(.+?)```", readme.read_text(), re.S):
        for step in _steps(yaml.safe_load(block)):
            if suffix in str(step.get("uses", "")):
                used += 1
                assert set(step.get("with") or {}) <= declared, step
    assert used, f"{readme} has no example using {suffix}"


def _steps(node):
    if isinstance(node, dict):
        if "uses" in node:
            yield node
        for value in node.values():
            yield from _steps(value)
    elif isinstance(node, list):
        for item in node:
            yield from _steps(item)
