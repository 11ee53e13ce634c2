"""Which steps may run now: a pipeline's graph, run as wide as it allows.

A step starts once every step it reads from has completed (or was reused), up
to ``jobs`` at a time, each in a worker thread. The main thread keeps the
signals: SIGINT/SIGTERM are recorded in ``stop``, which every running step's
supervisor watches, so one Ctrl-C ends every running step's process group. A
failed step stops the others the same way (it adds SIGTERM to ``stop``) unless
the pipeline says ``continue_on_step_failure``; then only the steps that read
from a failed one are left out.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from mlops_actions.pipeline.expressions import Binding, parse_binding
from mlops_actions.pipeline.spec import Pipeline

_POLL_S = 0.1


def dependencies(pipeline: Pipeline) -> dict[str, set[str]]:
    """For each job, the jobs whose outputs it reads."""
    found: dict[str, set[str]] = {}
    for name, job in pipeline.jobs.items():
        found[name] = set()
        for raw in job.inputs.values():
            binding = parse_binding(raw)
            if isinstance(binding, Binding) and binding.kind == "job-output":
                found[name].add(binding.job or "")
    return found


def can_overlap(deps: dict[str, set[str]]) -> bool:
    """Whether two steps exist of which neither reads from the other."""
    above: dict[str, set[str]] = {}

    def ancestors(name: str) -> set[str]:
        if name not in above:
            above[name] = set()
            for up in deps.get(name, ()):
                above[name] |= {up, *ancestors(up)}
        return above[name]

    names = list(deps)
    return any(
        b not in ancestors(a) and a not in ancestors(b)
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    )


def run_steps(
    order: list[str],
    deps: dict[str, set[str]],
    run: Callable[[str], None],
    *,
    jobs: int,
    keep_going: bool,
    stop: list[int],
    after: Callable[[], None],
) -> list[BaseException]:
    """Run ``run(name)`` for each step as its inputs allow; the errors raised,
    first first. ``after`` is called in this thread after each step ends."""
    jobs = max(1, jobs)
    errors: list[BaseException] = []
    done: set[str] = set()
    failed: set[str] = set()
    pending = list(order)
    running: dict[Future[None], str] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while True:
            if not stop and (keep_going or not errors):
                for name in list(pending):
                    if len(running) >= jobs:
                        break
                    if deps[name] & failed:  # never runs: its input failed
                        pending.remove(name)
                        failed.add(name)
                    elif deps[name] <= done:
                        pending.remove(name)
                        running[pool.submit(run, name)] = name
            if not running:
                return errors
            finished, _ = wait(running, timeout=_POLL_S, return_when=FIRST_COMPLETED)
            for future in finished:
                name = running.pop(future)
                error = future.exception()
                if error is None:
                    done.add(name)
                else:
                    failed.add(name)
                    errors.append(error)
                    if not keep_going and not stop:
                        stop.append(signal.SIGTERM)
                after()
