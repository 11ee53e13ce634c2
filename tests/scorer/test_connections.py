"""The real server's connections (uvicorn, a subprocess, raw sockets on
127.0.0.1): header limit, request and idle timeouts, back-pressure on
pipelined requests. Every wait has a deadline; nothing asserts a duration."""

from __future__ import annotations

import json
import socket
import struct
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import MODELS
from .test_server import get, start, wait_ready

HEADER_LIMIT = 8192
TIMEOUT = "1"  # --request-timeout and --keep-alive-timeout, in seconds
DEADLINE = 15.0  # seconds any one wait may take before the test fails
TCP_ESTABLISHED = 1


@dataclass
class Scorer:
    port: int
    pid: int

    def connect(self, receive_buffer: int | None = None) -> socket.socket:
        client = socket.socket()
        if receive_buffer is not None:  # before connecting: the window follows
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        client.connect(("127.0.0.1", self.port))
        client.settimeout(DEADLINE)
        return client

    def rss(self) -> int:
        """The server's resident memory, in bytes."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def scorer() -> Iterator[Scorer]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Set through the environment, as a container would (and so that the
    # same tests run against a scorer without these settings).
    server = start(
        MODELS / "typed",
        port,
        MLOPS_SCORER_SERVE_HEADER_LIMIT=str(HEADER_LIMIT),
        MLOPS_SCORER_SERVE_REQUEST_TIMEOUT=TIMEOUT,
        MLOPS_SCORER_SERVE_KEEP_ALIVE_TIMEOUT=TIMEOUT,
    )
    try:
        wait_ready(server, port)
        yield Scorer(port, server.pid)
    finally:
        server.kill()
        server.wait(10)


def answer(client: socket.socket) -> tuple[int, dict]:
    """The status and JSON body of the next answer on ``client``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(65536)
        assert chunk, f"closed before an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    length = int(headers["content-length"])
    while len(body) < length:
        body += client.recv(65536)
    assert len(body) == length, "more than one answer"
    return int(lines[0].split()[1]), json.loads(body)


def closed(client: socket.socket) -> bool:
    """Whether the server closed the connection (end of file or reset)."""
    try:
        return client.recv(1) == b""
    except ConnectionResetError:
        return True


def established(client: socket.socket) -> bool:
    """The client's TCP state, read without reading (or sending) any data."""
    info = client.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)
    return struct.unpack("B", info)[0] == TCP_ESTABLISHED


def kernel_buffers() -> int:
    """The most loopback TCP can hold between a writer and a reader that has
    stopped reading: the largest send plus the largest receive buffer."""
    rmem = Path("/proc/sys/net/ipv4/tcp_rmem").read_text().split()
    wmem = Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()
    return int(rmem[-1]) + int(wmem[-1])


def test_a_client_pipelining_requests_without_reading_answers_is_not_read(scorer):
    # The fault: a client sending 600k requests without reading any answer
    # took the scorer to 2.1 GB, never released. Now the scorer stops
    # reading from it, so the client's sends block (or, once the unread
    # answers have waited --request-timeout, the connection is reset).
    request = b"GET /health/live HTTP/1.1\r\nhost: scorer\r\n\r\n"
    batch = request * 256
    cap = kernel_buffers() + (32 << 20)  # more than the kernel alone can hold
    grown = 0
    sent = 0
    stopped = None
    before = scorer.rss()
    with scorer.connect(receive_buffer=16384) as client:
        client.settimeout(2)
        try:
            while sent < cap and grown < (256 << 20):
                sent += client.send(batch)
                grown = scorer.rss() - before
        except (TimeoutError, ConnectionError) as exc:
            stopped = exc
        grown = scorer.rss() - before
    assert stopped is not None, f"the scorer read {sent} bytes, growing {grown}"
    assert sent < cap
    assert grown < (64 << 20), grown
    assert get(scorer.port, "/health/live") == 200  # and others are served


@pytest.mark.parametrize("size", [20_000, 200_000])
def test_headers_over_the_limit_get_431_and_the_connection_closes(scorer, size):
    # The whole head is sent at once, as clients do; what arrives after the
    # refusal is read and dropped, so the answer is not lost to a reset.
    head = b"GET /health/live HTTP/1.1\r\nhost: scorer\r\nx-big: " + b"a" * size
    with scorer.connect() as client:
        client.sendall(head + b"\r\n\r\n")
        status, body = answer(client)
        was_closed = closed(client)
    assert status == 431
    assert body["message"] == (
        f"the request headers are over the limit of {HEADER_LIMIT} bytes: "
        "send smaller headers"
    )
    assert body["error_code"] == "BAD_REQUEST"
    assert was_closed


def test_a_huge_header_is_refused_before_it_is_read_whole(scorer):
    # The fault: a 116 MB header was accepted. The client streams a header
    # line that never ends; the server must stop it far short of 16 MB.
    piece = b"a" * 65536
    sent = 0
    with scorer.connect() as client:
        client.sendall(b"GET /health/live HTTP/1.1\r\nx-big: ")
        try:
            while sent < (16 << 20):
                client.sendall(piece)
                sent += len(piece)
        except ConnectionError:  # closed: what was still coming is refused
            pass
    assert sent < (16 << 20)


def test_the_header_limit_counts_the_target_and_headers_exactly(scorer):
    def status(value: int) -> int:
        head = b"GET /health/live HTTP/1.1\r\nhost: scorer\r\nx-some: "
        with scorer.connect() as client:
            client.sendall(head + b"a" * value + b"\r\n\r\n")
            return answer(client)[0]

    # "/health/live", then each header's name, value and ": " "\r\n"
    fits = HEADER_LIMIT - len("/health/live") - (4 + 6 + 4) - (6 + 4)
    assert (status(fits), status(fits + 1)) == (200, 431)


def test_a_request_whose_headers_never_finish_gets_408_and_is_closed(scorer):
    with scorer.connect() as client:
        client.sendall(b"POST /invocations HTTP/1.1\r\nhost: scorer\r\n")
        status, body = answer(client)
        was_closed = closed(client)
    assert status == 408
    assert body["message"] == (
        f"the request did not arrive within {TIMEOUT} s: send its headers and "
        "body without pausing"
    )
    assert was_closed


def test_a_request_whose_body_never_finishes_gets_408_and_is_closed(scorer):
    with scorer.connect() as client:
        client.sendall(
            b"POST /invocations HTTP/1.1\r\nhost: scorer\r\n"
            b"content-type: application/json\r\ncontent-length: 100\r\n"
            b"x-request-id: slow-body\r\n\r\n"
            b'{"inputs":'
        )
        status, body = answer(client)
        was_closed = closed(client)
    assert (status, body["request_id"]) == (408, "slow-body")
    assert was_closed


def test_a_connection_that_sends_nothing_is_closed(scorer):
    with scorer.connect() as client:
        assert closed(client)


def test_an_idle_keep_alive_connection_is_closed_after_answers(scorer):
    body = b'{"inputs": {"x": [1.0], "n": [2]}}'
    request = (
        b"POST /invocations HTTP/1.1\r\nhost: scorer\r\n"
        b"content-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
    ) % (len(body), body)
    with scorer.connect() as client:
        for _ in range(3):  # keep-alive still serves one request after another
            client.sendall(request)
            status, body = answer(client)
            assert status == 200, body
        assert closed(client)


def test_many_half_sent_requests_are_all_released(scorer):
    # The fault: 1,000 half-sent requests were still held after 15 s.
    clients = [scorer.connect() for _ in range(200)]
    try:
        for client in clients:
            client.sendall(b"GET /health/live HTTP/1.1\r\nhost: sc")
        deadline = time.monotonic() + DEADLINE
        answers = []
        for client in clients:
            client.settimeout(max(0.1, deadline - time.monotonic()))
            answers.append((answer(client)[0], closed(client)))
    finally:
        for client in clients:
            client.close()
    assert set(answers) == {(408, True)}
    assert get(scorer.port, "/health/live") == 200


def test_a_client_that_never_reads_its_answers_is_disconnected(scorer):
    # Answers the size of the OpenAPI document fill the socket buffers fast.
    request = b"GET /openapi.json HTTP/1.1\r\nhost: scorer\r\n\r\n"
    with scorer.connect(receive_buffer=16384) as client:
        client.settimeout(2)
        try:
            for _ in range(200):
                client.sendall(request * 100)
        except (TimeoutError, ConnectionError):
            pass  # blocked, or reset already
        deadline = time.monotonic() + DEADLINE
        while established(client):
            assert time.monotonic() < deadline, "the connection is still held"
            time.sleep(0.05)


def test_without_httptools_serve_exits_4_naming_it(mlops, monkeypatch):
    # The limits live in a subclass of uvicorn's httptools protocol: the
    # pure-Python h11 fallback of http="auto" would serve without them.
    monkeypatch.setitem(sys.modules, "httptools", None)
    with socket.socket() as taken:  # were the extra not checked: exit 2, not serve
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = mlops("scorer", "serve", str(MODELS / "slow"), "--port", port)
    assert (result.code, result.err) == (
        4,
        "error: mlops scorer serve needs httptools: pip install "
        "'mlops-actions[serve]'\n",
    )
