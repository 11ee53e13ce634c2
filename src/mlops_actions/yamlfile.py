"""YAML loading that remembers where each value came from (for error messages).

Every YAML file the toolkit reads goes through :func:`load_yaml`, which bounds
what aliases can do: a document whose node graph, expanded with every alias
counted at each use, holds more than :data:`MAX_EXPANDED_NODES` nodes is
refused before anything walks the constructed data (pydantic, our checks and
azure-ai-ml all walk it expanded: a few hundred bytes of nested aliases would
otherwise take gigabytes). A document where an alias refers to a node that
contains it is refused too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mlops_actions.errors import UsageError

Where = tuple[str, ...]

#: Most nodes a document may hold once aliases are expanded. Real pipeline,
#: component and gate files hold a few hundred; this leaves room for far larger
#: ones while keeping the expanded data in the tens of megabytes.
MAX_EXPANDED_NODES = 100_000


@dataclass(frozen=True)
class YamlDoc:
    path: Path
    data: Any
    lines: dict[Where, int] = field(default_factory=dict)
    #: mapping keys that repeat within one mapping: (where, line), file order
    repeated: list[tuple[Where, int]] = field(default_factory=list)

    def line(self, where: Where) -> int | None:
        """Line (1-based) of the value at ``where``, or of its closest parent."""
        while where:
            if where in self.lines:
                return self.lines[where]
            where = where[:-1]
        return self.lines.get(())


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def expanded_size(root: yaml.Node, limit: int) -> int | None:
    """Nodes under ``root`` with aliases expanded, or None once past ``limit``.

    Linear in the number of distinct nodes: each node's expanded size is
    computed once and reused wherever an alias points to it. Raises ValueError
    for a cycle (an alias inside the node it refers to).
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children = _children(node)
        if not children_done:
            if key in open_nodes:
                raise ValueError(f"line {node.start_mark.line + 1}")
            open_nodes.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in children)
            continue
        open_nodes.discard(key)
        sizes[key] = 1 + sum(sizes[id(child)] for child in children)
        if sizes[key] > limit:
            return None
    return sizes[id(root)]


def _walk(root: yaml.Node) -> tuple[dict[Where, int], list[tuple[Where, int]]]:
    """Line of every value, and repeated keys; each distinct node walked once.

    A node shared through aliases gets the lines of its first use only; later
    uses fall back to the line of the alias's parent (see :meth:`YamlDoc.line`).
    """
    lines: dict[Where, int] = {}
    repeated: list[tuple[Where, int]] = []
    seen: set[int] = set()
    pending: list[tuple[yaml.Node, Where]] = [(root, ())]
    while pending:
        node, where = pending.pop()
        lines.setdefault(where, node.start_mark.line + 1)
        if id(node) in seen:
            continue
        seen.add(id(node))
        children: list[tuple[yaml.Node, Where]] = []
        if isinstance(node, yaml.MappingNode):
            # The last of repeated keys wins, in the lines as in the data.
            last: dict[str, tuple[yaml.Node, yaml.Node]] = {}
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode):
                    continue
                name = str(key.value)
                if name in last:
                    repeated.append(((*where, name), key.start_mark.line + 1))
                last[name] = (key, value)
            for name, (key, value) in last.items():
                path = (*where, name)
                lines[path] = key.start_mark.line + 1
                children.append((value, path))
        elif isinstance(node, yaml.SequenceNode):
            children = [(item, (*where, str(i))) for i, item in enumerate(node.value)]
        # Reversed, so values are visited in file order: the first use of a
        # shared node is the one whose lines are kept.
        pending.extend(reversed(children))
    repeated.sort(key=lambda item: item[1])
    return lines, repeated


def _parse(text: str, path: Path) -> YamlDoc:
    """Parse once; refuse a document that expands past the bound, then build it.

    Lines and repeated keys are taken before construction, which rewrites
    merge keys (``<<``) in place.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDoc(path=path, data=None)
        try:
            size = expanded_size(node, MAX_EXPANDED_NODES)
        except ValueError as exc:
            raise UsageError(
                f"{path}:{str(exc).removeprefix('line ')}: invalid YAML: an alias "
                "refers to a node that contains it: write the value out"
            ) from None
        if size is None:
            raise UsageError(
                f"{path}: YAML expands to more than {MAX_EXPANDED_NODES} values "
                "(aliases counted at each use): write the values out or "
                "remove the aliases"
            )
        lines, repeated = _walk(node)
        data = loader.construct_document(node)
        return YamlDoc(path=path, data=data, lines=lines, repeated=repeated)
    finally:
        loader.dispose()


def load_yaml(path: Path, what: str) -> YamlDoc:
    """Read ``path`` as one YAML mapping; any problem is a UsageError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: {what} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read {what}: {exc}") from None
    try:
        doc = _parse(text, path)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise UsageError(f"{at}: invalid YAML: {problem}") from None
    except RecursionError:
        raise UsageError(f"{path}: invalid YAML: nested too deeply") from None
    if not isinstance(doc.data, dict):
        raise UsageError(f"{path}: {what} must be a YAML mapping")
    return doc
