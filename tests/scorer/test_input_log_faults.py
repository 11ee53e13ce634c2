"""The input log when its store fails: a removed ``.partial`` or folder, no
file descriptors left, a full disk, replicas sharing a folder as PID 1.

Each test checks what a user can reconcile: the rows in the finished files
plus the rows counted dropped are the rows offered; no file ends in half a
line; the failure is said once in the log, without a traceback.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from mlops_actions.scorer.input_log import logger as input_log
from mlops_actions.scorer.input_log.logger import InputLogger
from mlops_actions.scorer.model.predict import ParsedInput

from .conftest import metric, post_json, serving


class Tally:
    """What the logger counted, by the callbacks the scorer's metrics get."""

    def __init__(self) -> None:
        self.written = 0
        self.dropped = 0

    def wrote(self, rows: int) -> None:
        self.written += rows

    def drop(self, rows: int = 1) -> None:  # (the old logger counted requests)
        self.dropped += rows


def rows(n: int) -> ParsedInput:
    return ParsedInput(rows=n, key=("x",), columns={"x": [float(i) for i in range(n)]})


def logger_for(folder: Path, tally: Tally, **options) -> InputLogger:
    logger = InputLogger(
        folder, rate=1.0, on_written=tally.wrote, on_dropped=tally.drop, **options
    )
    logger.start()
    return logger


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the input log never got there")
        time.sleep(0.01)


def logged_ids(folder: Path) -> list[str]:
    """The request ids in the finished files; asserts each is whole lines."""
    ids = []
    for path in sorted(folder.glob("inputs-*.jsonl")):
        data = path.read_bytes()
        assert data.endswith(b"\n"), f"{path.name} ends in half a line"
        ids += [json.loads(line)["request_id"] for line in data.splitlines()]
    return sorted(ids)


def partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.partial"))


@pytest.fixture
def said() -> Iterator[list[logging.LogRecord]]:
    """The scorer's log records (a handler of its own: the CLI's tests turn
    propagation off)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("mlops_actions.scorer")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(level)


def lines(records: list[logging.LogRecord], text: str) -> list[str]:
    return [r.getMessage() for r in records if text in r.getMessage()]


def tracebacks(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records if r.exc_info]


class FullDisk:
    """``os.pwrite`` on a disk that is full while ``full`` is set: a write
    gets half its bytes in, as a real one can, and the next one ENOSPC."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = False
        self._pwrite = os.pwrite
        self._cut: tuple[int, int] | None = None
        monkeypatch.setattr(os, "pwrite", self.pwrite)

    def pwrite(self, fd: int, data, offset: int) -> int:
        if not self.full:
            return self._pwrite(fd, data, offset)
        if self._cut == (fd, offset) or len(data) < 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written = self._pwrite(fd, memoryview(data)[: len(data) // 2], offset)
        self._cut = (fd, offset + written)
        return written


def test_input_log_survives_a_removed_partial_file(tmp_path, said):
    tally = Tally()
    logger = logger_for(tmp_path, tally)
    logger.offer("r0", rows(2))
    wait_for(lambda: tally.written == 2)
    (partial,) = tmp_path.glob("*.partial")
    partial.unlink()
    for n in range(1, 4):
        logger.offer(f"r{n}", rows(2))
    logger.close()
    assert logged_ids(tmp_path) == sorted(f"r{n}" for n in range(4) for _ in "xx")
    assert (tally.written, tally.dropped, partials(tmp_path)) == (8, 0, [])
    assert len(lines(said, "was removed while written")) == 1
    assert tracebacks(said) == []


def test_input_log_survives_its_folder_removed(tmp_path, said):
    folder, tally = tmp_path / "log", Tally()
    logger = logger_for(folder, tally)
    logger.offer("r0", rows(2))
    wait_for(lambda: tally.written == 2)
    shutil.rmtree(folder)
    logger.offer("r1", rows(2))
    logger.close()
    assert logged_ids(folder) == ["r0", "r0", "r1", "r1"]  # copied from the old
    assert (tally.written, tally.dropped, partials(folder)) == (4, 0, [])
    assert tracebacks(said) == []


def test_input_log_makes_its_folder_again_between_files(tmp_path, said):
    folder, tally = tmp_path / "log", Tally()
    logger = logger_for(folder, tally, rotate_bytes=1)  # a file a request
    logger.offer("r0", rows(2))
    wait_for(lambda: len(list(folder.glob("*.jsonl"))) == 1)
    shutil.rmtree(folder)  # removes r0's finished file: the user's doing
    for n in range(1, 4):
        logger.offer(f"r{n}", rows(2))
    logger.close()
    assert logged_ids(folder) == sorted(f"r{n}" for n in range(1, 4) for _ in "xx")
    assert (tally.written, tally.dropped) == (8, 0)
    assert tracebacks(said) == []


def test_a_full_disk_that_frees_up_loses_nothing_and_says_so_once(
    tmp_path, said, monkeypatch
):
    disk, tally = FullDisk(monkeypatch), Tally()
    logger = logger_for(tmp_path, tally)
    logger.offer("r0", rows(2))
    wait_for(lambda: tally.written == 2)
    disk.full = True
    for n in range(1, 50):
        logger.offer(f"r{n}", rows(2))
    wait_for(lambda: lines(said, "failed ("))
    (partial,) = tmp_path.glob("*.partial")
    assert partial.read_bytes().endswith(b"\n")  # the half line was cut back
    disk.full = False
    logger.close()
    assert logged_ids(tmp_path) == sorted(f"r{n}" for n in range(50) for _ in "xx")
    assert (tally.written, tally.dropped, partials(tmp_path)) == (100, 0, [])
    (failed,) = lines(said, "failed (")
    assert "No space left on device" in failed and str(tmp_path) in failed
    assert lines(said, "works again") == [
        f"input log: writing to {tmp_path} works again; 0 rows dropped while it failed"
    ]
    assert tracebacks(said) == []


def test_a_disk_that_stays_full_drops_and_counts_rows_beyond_the_buffer(
    tmp_path, said, monkeypatch
):
    disk, tally = FullDisk(monkeypatch), Tally()
    logger = logger_for(tmp_path, tally, buffer_rows=4, close_seconds=0.3)
    logger.offer("r0", rows(2))
    wait_for(lambda: tally.written == 2)
    disk.full = True
    for n in range(1, 6):
        logger.offer(f"r{n}", rows(2))
    wait_for(lambda: tally.dropped == 6)  # the oldest, beyond the 4 held
    began = time.monotonic()
    logger.close()
    assert time.monotonic() - began < 5  # never hangs on a full disk
    assert logged_ids(tmp_path) == ["r0", "r0"]
    assert (tally.written, tally.dropped, partials(tmp_path)) == (2, 10, [])
    assert len(lines(said, "failed (")) == 1
    assert lines(said, "stopped with")[0].endswith("10 rows dropped while it failed")
    assert tracebacks(said) == []


def test_a_failed_parquet_file_is_removed_and_its_rows_written_again(
    tmp_path, said, monkeypatch
):
    import pyarrow.parquet as pq

    disk, tally = FullDisk(monkeypatch), Tally()
    disk.full = True
    logger = logger_for(tmp_path, tally, fmt="parquet", rotate_seconds=0.1)
    logger.offer("r0", rows(2))
    wait_for(lambda: lines(said, "failed ("))
    assert list(tmp_path.iterdir()) == []  # nothing a reader could trip on
    disk.full = False
    wait_for(lambda: tally.written == 2)
    logger.close()
    (path,) = tmp_path.glob("*.parquet")
    assert pq.read_table(path).column("request_id").to_pylist() == ["r0", "r0"]
    assert (tally.dropped, partials(tmp_path)) == (0, [])


def test_parquet_rows_unlike_the_files_columns_are_counted_dropped(tmp_path, said):
    import pyarrow.parquet as pq

    tally = Tally()
    logger = logger_for(tmp_path, tally, fmt="parquet")  # no signature: inferred
    logger.offer("r0", rows(2))
    for n in range(1, 4):
        logger.offer(f"r{n}", ParsedInput(rows=1, key=("x",), columns={"x": ["a"]}))
    logger.offer("r4", rows(2))
    logger.close()
    (path,) = tmp_path.glob("*.parquet")
    ids = pq.read_table(path).column("request_id").to_pylist()
    assert ids == ["r0", "r0", "r4", "r4"]
    assert (tally.written, tally.dropped) == (4, 3)
    assert len(lines(said, "cannot hold")) == 1  # once, not once a request


def test_json_values_it_cannot_write_are_counted_dropped(tmp_path, said):
    tally = Tally()
    logger = logger_for(tmp_path, tally)
    for n in range(3):
        logger.offer(f"bad{n}", ParsedInput(rows=1, key=("x",), columns={"x": [{1}]}))
    logger.offer("r0", rows(2))
    logger.close()
    assert logged_ids(tmp_path) == ["r0", "r0"]
    assert (tally.written, tally.dropped) == (2, 3)
    assert len(lines(said, "cannot hold")) == 1 and tracebacks(said) == []


def test_replicas_with_one_pid_in_one_second_never_share_a_file(
    tmp_path, said, monkeypatch
):
    class OneSecond(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2025, 1, 1, tzinfo=timezone.utc)

        @classmethod
        def fromtimestamp(cls, stamp, tz=None):
            return datetime.fromtimestamp(stamp, tz)

    monkeypatch.setattr(input_log, "datetime", OneSecond)
    monkeypatch.setattr(os, "getpid", lambda: 1)  # each in its own container
    tallies = {"a": Tally(), "b": Tally()}
    loggers = {k: logger_for(tmp_path, t, rotate_bytes=400) for k, t in tallies.items()}
    offered = []
    for n in range(100):
        for replica, logger in loggers.items():
            logger.offer(f"{replica}{n}", rows(1))
            offered.append(f"{replica}{n}")
    for logger in loggers.values():
        logger.close()
    assert logged_ids(tmp_path) == sorted(offered)
    for path in tmp_path.glob("*.jsonl"):
        replicas = {json.loads(line)["request_id"][0] for line in path.open()}
        assert len(replicas) == 1, f"{path.name} holds rows of {replicas}"
    assert [t.dropped for t in tallies.values()] == [0, 0]
    assert partials(tmp_path) == [] and tracebacks(said) == []


def test_publishing_never_replaces_a_file(tmp_path, monkeypatch):
    from mlops_actions.scorer.input_log.files import publish

    taken = tmp_path / "inputs-1.jsonl"
    taken.write_text("another replica's\n")
    for links in (True, False):
        partial = tmp_path / "inputs-1.jsonl.partial"
        partial.write_text(f"mine, hard links: {links}\n")
        if not links:  # as on filesystems without hard links
            monkeypatch.setattr(os, "link", _no_hard_links)
        final = publish(partial, lambda: tmp_path / f"inputs-2-{links}.jsonl")
        assert final.read_text() == f"mine, hard links: {links}\n"
        assert not partial.exists()
    assert taken.read_text() == "another replica's\n"


def _no_hard_links(source, target):
    raise OSError(errno.EPERM, os.strerror(errno.EPERM))


@pytest.mark.anyio
async def test_the_metrics_count_the_rows_dropped_while_the_disk_is_full(
    typed_model, tmp_path, monkeypatch
):
    disk = FullDisk(monkeypatch)
    body = {"inputs": {"x": [1.0, 2.0], "n": [1, 2]}}
    async with serving(typed_model, log_inputs=tmp_path, log_queue_size=4) as c:
        await post_json(c, body)
        await until(c, "mlops_scorer_input_log_records_total", 2)
        disk.full = True
        for _ in range(5):
            await post_json(c, body)
        # 10 rows while the disk is full, 4 held at most: at least 6 dropped
        await until(c, "mlops_scorer_input_log_dropped_total", 6)
        disk.full = False
    text = c.app.state.scorer.metrics.render().decode()
    written = metric(text, "mlops_scorer_input_log_records_total")
    dropped = metric(text, "mlops_scorer_input_log_dropped_total")
    assert written + dropped == 12 and dropped >= 6
    assert len(logged_ids(tmp_path)) == written


async def until(client, name: str, least: float) -> None:
    """Read ``/metrics`` until ``name`` is at least ``least``."""
    for _ in range(1000):
        text = (await client.get("/metrics")).text
        if metric(text, name) >= least:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{name} stayed below {least}: {text}")


# Real faults, in a process of their own: descriptors exhausted under a low
# RLIMIT_NOFILE, and a full tmpfs (mounted in a mount namespace of its own).
SCENARIO = r"""
import json, logging, os, resource, sys, threading
from pathlib import Path
from mlops_actions.scorer.input_log.logger import InputLogger
from mlops_actions.scorer.model.predict import ParsedInput

folder, fault = Path(sys.argv[1]), sys.argv[2]
said, failing = [], threading.Event()
class Keep(logging.Handler):
    def emit(self, record):
        said.append([record.getMessage(), bool(record.exc_info)])
        if "failed" in record.getMessage():
            failing.set()
log = logging.getLogger("mlops_actions.scorer")
log.addHandler(Keep())
log.setLevel(logging.INFO)
counts = {"written": 0, "dropped": 0}
def counter(key):
    def add(rows=1):
        counts[key] += rows
    return add
logger = InputLogger(
    folder, rate=1.0, on_written=counter("written"), on_dropped=counter("dropped")
)
logger.start()
item = ParsedInput(rows=10, key=("x",), columns={"x": [float(n) for n in range(10)]})
def offer(first, last):
    for n in range(first, last):
        logger.offer(f"r{n}", item)
if fault == "descriptors":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(256, hard), hard))
    held = []
    try:
        while True:
            held.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        pass
    offer(0, 100)
    failing.wait(10)
    for fd in held:
        os.close(fd)
else:
    filler = os.open(folder.parent / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(filler, b"0" * 65536)
    except OSError:
        pass
    offer(0, 100)
    failing.wait(10)
    os.close(filler)
    os.remove(folder.parent / "filler")
offer(100, 200)
logger.close()
files = sorted(folder.glob("inputs-*"))
torn = [f.name for f in files if f.read_bytes() and not f.read_bytes().endswith(b"\n")]
rows = sum(len(f.read_bytes().splitlines()) for f in files if f.suffix == ".jsonl")
partial = [f.name for f in files if f.suffix == ".partial"]
print(json.dumps({"counts": counts, "rows": rows, "torn": torn, "partial": partial,
                  "said": said}))
"""

MOUNT = 'mount -t tmpfs -o size=4m tmpfs "$1" && mkdir "$1/log"'
NAMESPACES = (["unshare", "--user", "--map-root-user", "--mount"], ["unshare", "-m"])


def run_scenario(prefix: list[str], folder: Path, fault: str) -> dict:
    done = subprocess.run(
        [*prefix, sys.executable, "-c", SCENARIO, str(folder), fault],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def assert_nothing_lost_and_said_once(result: dict) -> None:
    written, dropped = result["counts"]["written"], result["counts"]["dropped"]
    assert (written, dropped, result["rows"]) == (2000, 0, 2000), result["said"]
    assert (result["torn"], result["partial"]) == ([], [])
    said = [message for message, _ in result["said"]]
    assert len([m for m in said if "failed (" in m]) == 1, said
    assert len([m for m in said if "works again" in m]) == 1, said
    assert [m for m, traceback in result["said"] if traceback] == []


def test_input_log_survives_exhausted_file_descriptors(tmp_path):
    result = run_scenario([], tmp_path, "descriptors")
    assert_nothing_lost_and_said_once(result)
    assert "Too many open files" in result["said"][0][0]


@pytest.fixture
def tiny_disk(tmp_path) -> list[str]:
    """A command prefix that runs a command with a 4 MiB tmpfs at
    ``tmp_path/disk`` (its log folder ``log``). CI runs as root, as here: a
    machine where none mounts fails the test rather than skip the fault."""
    (tmp_path / "disk").mkdir()
    for namespace in NAMESPACES:
        if shutil.which(namespace[0]) is None:
            continue
        probe = [*namespace, "sh", "-c", MOUNT, "sh", str(tmp_path / "disk")]
        if subprocess.run(probe, capture_output=True).returncode == 0:
            return [*namespace, "sh", "-c", MOUNT + ' && shift && exec "$@"', "sh"]
    pytest.fail("no tmpfs can be mounted here (needs root or user namespaces)")


def test_input_log_survives_a_full_disk(tiny_disk, tmp_path):
    disk = tmp_path / "disk"
    result = run_scenario([*tiny_disk, str(disk)], disk / "log", "disk")
    assert_nothing_lost_and_said_once(result)
    assert "No space left on device" in result["said"][0][0]
