"""Two processes promoting from the same champion: exactly one wins."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlops_actions.registry.mlflow_registry import MlflowRegistry

ROUNDS = 5

#: A racer reaches the registry, says it is ready, then for each round waits for
#: the start file and promotes its candidate: both racers poll the same file, so
#: their promotions begin within a millisecond of each other.
RACER = """
import json, pathlib, sys, time
from mlops_actions.registry import Audit, ChampionMoved, open_registry

uri, name, me, folder, rounds = sys.argv[1:]
folder = pathlib.Path(folder)
registry = open_registry("local", tracking_uri=uri)
(folder / f"ready-{me}").touch()
for round_ in range(int(rounds)):
    start = folder / f"start-{round_}"
    while not start.exists():
        time.sleep(0.0002)
    plan = json.loads(start.read_text())
    version = plan["candidates"][int(me)]
    try:
        registry.promote(
            name,
            version,
            expect_champion=plan["expect"],
            audit=Audit("racer-" + version, None, None, "promote"),
        )
        result = {"code": 0}
    except ChampionMoved as exc:
        result = {"code": exc.exit_code, "message": exc.message}
    written = folder / f".result-{round_}-{me}"
    written.write_text(json.dumps(result))
    written.rename(folder / f"result-{round_}-{me}")
"""


def _wait_for(paths: list[Path], procs: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + 60
    while not all(p.exists() for p in paths):
        ended = [p for p in procs if p.poll() is not None]
        assert not ended, ended[0].communicate()
        assert time.monotonic() < deadline, "the racers never got there"
        time.sleep(0.005)


def _publish(path: Path, data: dict) -> None:
    written = path.with_name("." + path.name)
    written.write_text(json.dumps(data))
    written.rename(path)  # atomic: a racer never reads half a plan


def test_racing_promotions_one_wins(tmp_path, models):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    registry = MlflowRegistry(uri)
    name = "raced"
    for k in range(2 * ROUNDS):
        registry.register(
            name, models[1], evaluation_dir=None, run_id=f"run-{k}", commit=None
        )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, uri, name, me, str(tmp_path), str(ROUNDS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for me in ("0", "1")
    ]
    try:
        _wait_for([tmp_path / "ready-0", tmp_path / "ready-1"], procs)
        champion = None
        for round_ in range(ROUNDS):
            candidates = [str(2 * round_ + 1), str(2 * round_ + 2)]
            plan = {"candidates": candidates, "expect": champion}
            _publish(tmp_path / f"start-{round_}", plan)
            done = [tmp_path / f"result-{round_}-{me}" for me in ("0", "1")]
            _wait_for(done, procs)
            results = [json.loads(path.read_text()) for path in done]
            assert sorted(r["code"] for r in results) == [0, 1], results
            winner = candidates[[r["code"] for r in results].index(0)]
            loser = candidates[[r["code"] for r in results].index(1)]
            assert results[candidates.index(loser)]["message"] == (
                f"champion of {name} is now version {winner}, not "
                f"{'version ' + champion if champion else 'none'} as the gate "
                "compared: re-run the gate"
            )
            assert registry.champion(name).version == winner
            promotions = [e for e in registry.history(name) if e.action == "promote"]
            assert len(promotions) == round_ + 1
            last = promotions[-1]
            assert (last.version, last.previous) == (winner, champion)
            assert last.audit.actor == f"racer-{winner}"
            assert "champion" not in registry.get(name, loser).aliases
            champion = winner
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
    finally:
        for proc in procs:  # a failed round leaves them waiting for the next
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def test_lock_times_out_as_unavailable(tmp_path, monkeypatch):
    import fcntl

    from mlops_actions.registry import RegistryUnavailable, store

    monkeypatch.setattr(store, "LOCK_TIMEOUT", 0.2)
    target = store.Store(f"sqlite:///{tmp_path}/mlflow.db", tmp_path / "mlflow.db")
    with open(tmp_path / "mlflow.db.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        started = time.monotonic()
        with pytest.raises(RegistryUnavailable, match="stayed locked for 0.2 s"):
            with store.exclusive(target):
                pass
        assert time.monotonic() - started < 2
