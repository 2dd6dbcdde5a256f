"""Slow clients cannot hold connections: the real `python -m collector` (body and keep-alive timeouts
of 2 s) against raw sockets that trickle headers or a body, or say nothing at all."""

from __future__ import annotations

import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterator

import pytest

from tests.support.collector import ORIGIN
from tests.support.process import get, port_of, post, process_env, start_process, unique_upload

TIMEOUT_S = 2
#: the answer or the close must come within the timeout plus this much (scheduling, a slow CI box)
GRACE_S = 1.5


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    env = process_env(tmp_path_factory.mktemp("slow"), body_timeout_s=TIMEOUT_S, keepalive_timeout_s=TIMEOUT_S)
    process = start_process(env)
    yield port_of(env)
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.settimeout(0.25)
    return sock


def _trickle_until_answered(sock: socket.socket, pieces: Iterator[bytes], limit_s: float) -> tuple[bytes, float]:
    """Send one piece every 0.25 s; return the server's first answer (b"" if it just closed) and when."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        try:
            return sock.recv(65536), time.monotonic() - started
        except TimeoutError:
            pass
        except ConnectionResetError:
            return b"", time.monotonic() - started
        try:
            sock.sendall(next(pieces))
        except (BrokenPipeError, ConnectionResetError):
            return b"", time.monotonic() - started
    raise AssertionError(f"connection still open and silent after {limit_s} s")


def _forever(piece: bytes) -> Iterator[bytes]:
    while True:
        yield piece


def test_limit_slow_headers_are_cut_off_at_the_keepalive_timeout(port: int) -> None:
    sock = _connect(port)
    sock.sendall(b"POST /collect HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    with ThreadPoolExecutor(1) as pool:
        others = pool.submit(lambda: [post(port, unique_upload(n)) for n in range(5)] + [get(port, "/healthz")])
        answer, elapsed = _trickle_until_answered(sock, _forever(b"X-Slow: 1\r\n"), TIMEOUT_S + GRACE_S + 5)
        assert others.result() == [204] * 5 + [200], "the process keeps serving others meanwhile"
    sock.close()
    assert answer == b"", "no request was ever complete: the connection is just closed"
    assert elapsed <= TIMEOUT_S + GRACE_S, f"closed after {elapsed:.2f} s"
    print(f"slow headers: closed after {elapsed:.2f} s")


def test_limit_slow_body_gets_408_and_is_closed(port: int) -> None:
    sock = _connect(port)
    sock.sendall(
        b"POST /collect HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: "
        + ORIGIN.encode()
        + b"\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n{"
    )
    answer, elapsed = _trickle_until_answered(sock, _forever(b" "), TIMEOUT_S + GRACE_S + 5)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"body not received within 2 s" in answer
    assert b"Access-Control-Allow-Origin: " + ORIGIN.encode() in answer
    assert TIMEOUT_S - 0.1 <= elapsed <= TIMEOUT_S + GRACE_S, f"answered after {elapsed:.2f} s"
    rest, closed_after = _trickle_until_answered(sock, _forever(b" "), TIMEOUT_S + GRACE_S + 5)
    assert rest == b"" and closed_after <= TIMEOUT_S + GRACE_S, "then closed: the rest is read for the timeout at most"
    sock.close()
    assert post(port, unique_upload(100)) == 204
    print(f"slow body: 408 after {elapsed:.2f} s, closed {closed_after:.2f} s later")


def test_limit_idle_connection_is_closed(port: int) -> None:
    sock = _connect(port)
    answer, elapsed = _trickle_until_answered(sock, _forever(b""), TIMEOUT_S + GRACE_S + 5)
    sock.close()
    assert answer == b"" and elapsed <= TIMEOUT_S + GRACE_S


def test_limit_many_slow_clients_do_not_starve_real_ones(port: int, tmp_path: Path) -> None:
    """200 connections trickling headers at once: real uploads still get 204 quickly, and every
    slow connection is gone after the timeout."""
    started = time.monotonic()  # the same 20 uploads without slow clients: what this machine takes now
    assert [post(port, unique_upload(100 + n), timeout=30) for n in range(20)] == [204] * 20
    alone = time.monotonic() - started
    slow = [_connect(port) for _ in range(200)]
    for sock in slow:
        sock.sendall(b"POST /collect HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n")
    started = time.monotonic()
    statuses = [post(port, unique_upload(200 + n), timeout=30) for n in range(20)]
    served_in = time.monotonic() - started
    # starved uploads would wait for the slow connections' timeout (TIMEOUT_S); served ones take about what they
    # take alone (on a loaded machine that can itself exceed the timeout, hence the larger of the two)
    assert statuses == [204] * 20 and served_in < max(TIMEOUT_S, 3 * alone), (served_in, alone)
    time.sleep(TIMEOUT_S + GRACE_S)
    closed = 0
    for sock in slow:
        try:
            sock.sendall(b"X-Slow: 1\r\n")
            closed += sock.recv(1) == b""
        except (BrokenPipeError, ConnectionResetError):
            closed += 1
        except TimeoutError:
            pass
        sock.close()
    assert closed == len(slow), f"{len(slow) - closed} slow connections still open"
