"""The one child-process runner: exit status, output, timeout, stopping.

Real processes throughout: a child that starts a grandchild shows that the
whole process group ends, not just the child. Every test is bounded by
deadlines and kills whatever it left behind.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from mlops_actions import logs, process
from mlops_actions.process import ProcessId, start_time
from mlops_actions.process.tee import Lines

PY = sys.executable
# The child starts a grandchild that sleeps, writes "CHILD GRANDCHILD" pids to
# argv[1] and then does what argv[2] says.
FAMILY = textwrap.dedent("""
    import signal, subprocess, sys, time
    from pathlib import Path

    grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    Path(sys.argv[1]).write_text(f"{__import__('os').getpid()} {grandchild.pid}")
    if sys.argv[2] == "exit":
        sys.exit(0)  # leaves the grandchild behind
    if sys.argv[2] == "ignore-term":
        def noted(signum, frame):
            with open(sys.argv[1] + ".marks", "a") as marks:
                marks.write("TERM\\n")
        signal.signal(signal.SIGTERM, noted)
    print("ready", flush=True)
    while True:
        time.sleep(0.1)
    """)


def gone(pid: int, within: float = 5.0) -> bool:
    """Whether ``pid`` has exited (a zombie counts) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if start_time(pid) is None:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def family(tmp_path):
    """(argv for FAMILY with the given mode, a function reading its pids)."""
    pids = tmp_path / "pids.txt"
    script = tmp_path / "family.py"
    script.write_text(FAMILY)
    seen: list[int] = []

    def read() -> list[int]:
        deadline = time.monotonic() + 10
        while not pids.exists() or not pids.read_text():
            assert time.monotonic() < deadline, "the child never started"
            time.sleep(0.05)
        seen[:] = [int(pid) for pid in pids.read_text().split()]
        return seen

    def argv(mode: str) -> list[str]:
        return [PY, str(script), str(pids), mode]

    yield argv, read, pids
    for pid in seen:
        if start_time(pid) is not None:
            os.kill(pid, signal.SIGKILL)


def test_exit_status_duration_and_log(tmp_path):
    log = tmp_path / "logs" / "out.txt"
    done = process.run(
        [PY, "-c", "import sys, time; time.sleep(0.2); print('hi'); sys.exit(3)"],
        log=log,
    )
    assert done.returncode == 3
    assert done.seconds >= 0.2
    assert done.log == log
    assert log.read_text() == "hi\n"
    assert done.tail == ("hi",)


def test_stdout_and_stderr_are_teed_to_log_terminal_and_callback(tmp_path):
    code = (
        "import sys\n"
        "print('one', flush=True)\n"
        "print('two', file=sys.stderr, flush=True)\n"
        "sys.stdout.write('three\\r\\nfour')\n"
    )
    terminal, lines = io.StringIO(), []
    done = process.run(
        [PY, "-c", code], log=tmp_path / "log", echo=terminal, on_line=lines.append
    )
    assert done.returncode == 0
    assert (tmp_path / "log").read_bytes() == b"one\ntwo\nthree\r\nfour"
    assert terminal.getvalue() == "one\ntwo\nthree\r\nfour"
    assert lines == ["one", "two", "three", "four"]


def test_cwd_and_env_reach_the_command(tmp_path):
    done = process.capture(
        [PY, "-c", "import os; print(os.getcwd(), os.environ['ONLY'])"],
        cwd=tmp_path,
        env={"ONLY": "this"},
    )
    assert done.stdout == f"{tmp_path.resolve()} this\n"


def test_a_normal_exit_still_ends_what_the_command_left_running(tmp_path, family):
    argv, read, _ = family
    done = process.run(argv("exit"), log=tmp_path / "log")
    assert done.returncode == 0
    child, grandchild = read()
    assert gone(grandchild)


def test_timeout_ends_the_whole_group(tmp_path, family):
    argv, read, _ = family
    began = time.monotonic()
    with pytest.raises(process.TimedOut) as caught:
        process.run(argv("run"), log=tmp_path / "log", timeout=1, grace=2)
    child, grandchild = read()
    assert gone(child) and gone(grandchild)
    assert time.monotonic() - began < 4  # both obeyed the TERM: no grace used
    assert caught.value.tail == ("ready",)
    assert caught.value.exit_code == 3
    assert str(caught.value) == "python ran past its timeout of 1 s and was stopped"


def test_a_child_ignoring_term_is_killed_after_the_grace(tmp_path, family):
    argv, read, pids = family
    began = time.monotonic()
    with pytest.raises(process.TimedOut):
        process.run(argv("ignore-term"), log=tmp_path / "log", timeout=1, grace=1.5)
    took = time.monotonic() - began
    child, grandchild = read()
    assert gone(child, 1) and gone(grandchild, 1)
    assert Path(f"{pids}.marks").read_text() == "TERM\n"  # TERM came first
    assert 2.4 < took < 6  # timeout + grace, then KILL


def test_our_own_interruption_ends_the_group_and_raises(tmp_path, family):
    argv, read, _ = family

    def interrupt() -> None:
        read()
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    with pytest.raises(process.Interrupted) as caught:
        process.run(argv("run"), log=tmp_path / "log", timeout=30)
    child, grandchild = read()
    assert gone(child) and gone(grandchild)
    assert caught.value.signum == signal.SIGINT
    assert str(caught.value) == "interrupted (SIGINT): python was stopped"
    # the CLI's own handler is back once the run is over
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_killed_cli_leaves_no_child_behind(tmp_path, family):
    """kill -9 of the process that called run(): its guard ends the group."""
    argv, read, _ = family
    caller = tmp_path / "caller.py"
    caller.write_text(
        "import sys\n"
        "from pathlib import Path\n"
        "from mlops_actions import process\n"
        f"process.run({argv('run')!r}, log=Path(sys.argv[1]), grace=1)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cli = subprocess.Popen([PY, str(caller), str(tmp_path / "log")], env=env)
    try:
        child, grandchild = read()
        os.kill(cli.pid, signal.SIGKILL)
        cli.wait(10)
        assert gone(child) and gone(grandchild)
    finally:
        if cli.poll() is None:
            cli.kill()


def test_the_tail_is_the_logs_last_lines_cut_to_size(tmp_path):
    code = "for i in range(100): print(i)\nprint('x' * 2000)"
    done = process.run([PY, "-c", code], tail_lines=3)
    assert done.log is None  # a temporary file, gone afterwards
    assert done.tail[:2] == ("98", "99")
    assert done.tail[2] == "x" * logs.LINE_CHARS + logs.CUT_AFTER


def test_a_missing_executable_says_which(tmp_path):
    with pytest.raises(process.CannotStart) as caught:
        process.run(["no-such-program-mlops"], log=tmp_path / "log")
    assert str(caught.value) == (
        "cannot start no-such-program-mlops: No such file or directory"
    )
    assert caught.value.exit_code == 3
    with pytest.raises(process.CannotStart) as caught:
        process.capture(["no-such-program-mlops"])
    assert caught.value.reason == "No such file or directory"


def test_a_missing_working_folder_is_named(tmp_path):
    with pytest.raises(process.CannotStart) as caught:
        process.capture([PY, "-c", "pass"], cwd=tmp_path / "nope")
    assert str(caught.value) == (
        f"cannot start {PY}: No such file or directory: {tmp_path / 'nope'}"
    )


def test_capture_keeps_stdout_and_stderr_apart_and_feeds_stdin():
    code = (
        "import sys\n"
        "secret = sys.stdin.read()\n"
        "sys.stdout.buffer.write(b'out\\r\\n\\xff')\n"
        "print(f'err {secret}', file=sys.stderr)\n"
        "sys.exit(1)\n"
    )
    done = process.capture([PY, "-c", code], input="s3cret")
    assert (done.returncode, done.stdout, done.stderr) == (
        1,
        "out\n\ufffd",
        "err s3cret\n",
    )


def test_capture_timeout_ends_the_group(family):
    argv, read, _ = family
    with pytest.raises(process.TimedOut):
        process.capture(argv("run"), timeout=1, grace=1)
    child, grandchild = read()
    assert gone(child) and gone(grandchild)


def test_a_broken_terminal_does_not_stop_the_log(tmp_path):
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    code = "for i in range(20000): print(i)"
    done = process.run([PY, "-c", code], log=tmp_path / "log", echo=Closed())
    assert done.returncode == 0
    assert (tmp_path / "log").read_text().splitlines()[-1] == "19999"


def test_spawn_outlives_the_call_and_stop_group_ends_it(tmp_path, family):
    argv, read, _ = family
    server = process.spawn(argv("run"), log=tmp_path / "server.log")
    child, grandchild = read()
    leader = ProcessId.of(server.pid)
    stale = ProcessId(server.pid, "not-its-start-time")
    process.stop_group(stale, grace=1)
    assert leader.alive()  # a pid recorded for another process is left alone
    process.stop_group(leader, grace=1)
    assert gone(child) and gone(grandchild)
    assert (tmp_path / "server.log").read_text() == "ready\n"


def test_lines_split_as_universal_newlines_read_them():
    found: list[str] = []
    lines = Lines(found.append, limit=4)
    for piece in ("a\r", "\nb\rc", "\n", "123456789", "\r"):
        lines.feed(piece)
    lines.close()
    assert found == ["a", "b", "c", "1234", "5678", "9"]


def test_a_process_escaping_the_group_with_our_pipe_does_not_hang_the_run(tmp_path):
    """A daemon in a session of its own keeps the output pipe open: the run
    still returns once the command has exited, after a bounded wait."""
    pid_file = tmp_path / "daemon.pid"
    code = (
        "import subprocess, sys\n"
        "d = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],"
        " start_new_session=True)\n"
        f"open({str(pid_file)!r}, 'w').write(str(d.pid))\n"
        "print('bye')\n"
    )
    lines: list[str] = []
    began = time.monotonic()
    try:
        done = process.run([PY, "-c", code], on_line=lines.append)
    finally:
        daemon = int(pid_file.read_text())
        os.kill(daemon, signal.SIGKILL)
    assert done.returncode == 0
    assert lines == ["bye"]
    assert time.monotonic() - began < 15
