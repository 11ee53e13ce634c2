"""Small pipelines written on the fly for the fault tests, and process probes."""

from __future__ import annotations

import os
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

COMPONENT = """\
type: command
name: step
outputs:
  out:
    type: uri_folder
code: .
command: python step.py --out ${{outputs.out}}
"""
PIPELINE = """\
type: pipeline
display_name: one
jobs:
  %s:
    type: command
    component: ./step/component.yml
"""


def one_step(folder: Path, script: str, job: str = "step") -> Path:
    """A one-job pipeline whose step runs ``script`` (given ``--out DIR``)."""
    step = folder / "one" / "step"
    step.mkdir(parents=True)
    (step / "step.py").write_text(textwrap.dedent(script))
    (step / "component.yml").write_text(COMPONENT)
    pipeline = folder / "one" / "pipeline.yml"
    pipeline.write_text(PIPELINE % job)
    return pipeline


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, waiting to be reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat[stat.rindex(")") + 2] != "Z"


def wait_for(condition: Callable[[], object], timeout: float = 20.0) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def bomb(levels: int = 6, width: int = 8, indent: str = "") -> str:
    """YAML lines of nested aliases expanding to ``width ** levels`` scalars."""
    lines = [f"{indent}a0: &a0 [x]"]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"{indent}a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"
