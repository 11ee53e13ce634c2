"""Action and workflow files as the security rules read them.

GitHub reads YAML 1.2, where ``on`` is a plain key; PyYAML reads YAML 1.1,
where a bare ``on`` is ``True``. The loader here follows GitHub, and keeps the
line of every key so a finding can name it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

ACTION_GLOBS = (
    "action.yml",
    "action.yaml",
    "actions/*/action.yml",
    "actions/*/action.yaml",
)
WORKFLOW_GLOBS = (
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
    "workflows/*.yml",
    "workflows/*.yaml",
)


@dataclass(frozen=True)
class Finding:
    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class _Map(dict):
    """A YAML mapping that remembers the line of each of its keys."""

    line: int = 0
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans (GitHub's), so ``on:`` stays ``"on"``."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Iterator[_Map]:
    data = _Map()
    data.line = node.start_mark.line + 1
    data.key_lines = {}
    yield data
    data.update(loader.construct_mapping(node))
    for key_node, _ in node.value:
        data.key_lines[loader.construct_object(key_node)] = key_node.start_mark.line + 1


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)


@dataclass(frozen=True)
class Document:
    """One action or workflow file: where it is, its text and its parsed YAML."""

    path: Path
    kind: str  # "action" or "workflow"
    text: str
    data: Any

    @classmethod
    def load(cls, path: Path, kind: str) -> Document:
        text = path.read_text(encoding="utf-8")
        return cls(path, kind, text, yaml.load(text, Loader=_Loader))

    def finding(self, line: int, message: str) -> Finding:
        return Finding(self.path, line, message)


def discover(root: Path) -> tuple[list[Path], list[Path]]:
    """The repository's action files and workflow files, by fixed globs.

    Fixed globs rather than a recursive search, so test fixtures (deliberately
    insecure) are never part of the repository scan.
    """
    actions = sorted({p for g in ACTION_GLOBS for p in root.glob(g) if p.is_file()})
    workflows = sorted({p for g in WORKFLOW_GLOBS for p in root.glob(g) if p.is_file()})
    return actions, workflows


def line_of(node: Any, key: Any) -> int:
    """The line of ``key`` in a mapping loaded by :class:`Document` (0 if unknown)."""
    return node.line_of(key) if isinstance(node, _Map) else 0
