"""The step cache: which completed step a new step can reuse, checked first.

An entry ``<state>/cache/<key>.json`` names the step that completed with that
key (its ``step.json``) and the :func:`~.digest.tree_stats` of each output
taken when it completed. Before a step is reused, its outputs are checked
against what was recorded:

1. every output folder still exists;
2. each output's stats (names, sizes, mtimes, ctimes, inodes: one ``stat`` per
   file) equal the recorded ones: nothing was touched, reuse;
3. otherwise the output's content digest is computed again and compared with
   the digest in ``step.json``: equal means only metadata changed (a copy, a
   restore from a CI cache), so the step is reused and the entry's stats are
   brought up to date; different means the output was damaged or edited, so
   the step runs again.

The stats are taken before the digest is computed, so a file that changes
while being hashed fails step 2 next time and gets hashed again. A same-size
edit within the same filesystem timestamp tick (milliseconds) after the step
ended would pass step 2: the step's own processes have all ended by then.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_actions import digest
from mlops_actions.errors import UsageError
from mlops_actions.jsonio import read_json, write_json
from mlops_actions.records.base import parse_record
from mlops_actions.records.pipeline import StepFile


@dataclass(frozen=True)
class Hit:
    """A completed step whose outputs are as recorded."""

    run_id: str
    step: dict[str, Any]  # its step.json


@dataclass(frozen=True)
class Changed:
    """A completed step whose outputs changed since: it must run again."""

    run_id: str
    reason: str  # e.g. "model differs from its recorded digest"


def output_stats(outputs: dict[str, str]) -> dict[str, str]:
    """The stats of each output folder, to record when a step completes."""
    return {name: digest.tree_stats(Path(path)) for name, path in outputs.items()}


class StepCache:
    """Cache entries under ``<state>/cache``."""

    def __init__(self, state: Path) -> None:
        self.folder = state / "cache"

    def store(self, key: str, run_id: str, step_json: Path, stats: dict) -> None:
        entry = {"run_id": run_id, "step": str(step_json), "stats": stats}
        write_json(self.folder / f"{key}.json", entry)

    def lookup(self, key: str) -> Hit | Changed | None:
        """The reusable step for ``key``, a reason it cannot be, or None."""
        entry = read_json(self.folder / f"{key}.json")
        if not entry:
            return None
        step = read_json(Path(str(entry.get("step"))))
        if not step or step.get("status") != "completed" or step.get("key") != key:
            return None
        try:
            parse_record(step, StepFile, str(entry.get("step")))
        except UsageError:
            return None  # another format's step.json: run the step again
        run_id = str(entry.get("run_id"))
        outputs: dict[str, str] = step.get("outputs") or {}
        recorded: dict[str, str] = step.get("digests") or {}
        missing = [name for name, path in outputs.items() if not Path(path).exists()]
        if missing:
            return Changed(run_id, f"{', '.join(missing)} missing")
        stats = output_stats(outputs)
        known = entry.get("stats") or {}
        changed = [name for name in outputs if stats[name] != known.get(name)]
        damaged = [
            name
            for name in changed
            if digest.tree_digest(Path(outputs[name])) != recorded.get(name)
        ]
        if damaged:
            what = "differs" if len(damaged) == 1 else "differ"
            return Changed(
                run_id, f"{', '.join(damaged)} {what} from the recorded digest"
            )
        if changed:
            self.store(key, run_id, Path(str(entry["step"])), stats)
        return Hit(run_id, step)
