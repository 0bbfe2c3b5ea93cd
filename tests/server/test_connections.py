"""Slow and idle clients against a real ``rmr1 serve`` process: a bounded number of connections,
a deadline for headers and one for the body, and the server still answers everyone else."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

PAIR = {"question": "What is 2+2?", "answer_a": "4", "answer_b": "5"}


@pytest.fixture(scope="module")
def server(spawn_replay):
    return spawn_replay(
        "--max-connections", "8", "--header-timeout", "1", "--body-timeout", "1", "--health-timeout", "5"
    )


class RawClient:
    """A client socket that keeps what the server sent: a response may arrive some time before the
    server's FIN, so what one read got must not be lost while waiting for the close."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.sock.setblocking(False)
        self.received = b""

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:  # the server may already have closed: what it sent is still readable
            pass

    def answer(self) -> bytes | None:
        """Everything the server sent, once it closed the connection; ``None`` while it is open."""
        try:
            while chunk := self.sock.recv(65536):
                self.received += chunk
        except BlockingIOError:
            return None
        except ConnectionResetError:
            pass
        return self.received

    def close(self) -> None:
        self.sock.close()


def test_slow_header_senders_are_cut_off_and_connections_are_bounded(server):
    slow = []
    for _ in range(20):
        client = RawClient(server.url)
        client.send(b"POST /judge HTTP/1.1\r\nHost: x\r\n")
        slow.append(client)
    closed: dict[int, bytes] = {}
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and len(closed) < len(slow):
        for k, client in enumerate(slow):
            if k in closed:
                continue
            client.send(b"X-Drip: 1\r\n")  # a header line now and then: never complete
            data = client.answer()
            if data is not None:
                closed[k] = data
        time.sleep(0.25)
    assert len(closed) == len(slow), f"{len(slow) - len(closed)} slow connections still open"
    refused = [d for d in closed.values() if d.startswith(b"HTTP/1.1 503")]
    timed_out = [d for d in closed.values() if d.startswith(b"HTTP/1.1 408")]
    assert len(refused) >= 12 and timed_out, [d[:40] for d in closed.values()]
    assert b'"error"' in refused[0] and b'"error"' in timed_out[0]
    for client in slow:
        client.close()
    assert httpx.post(f"{server.url}/judge", json={"pairs": [PAIR]}, timeout=30).status_code == 200


def test_a_body_sent_a_byte_at_a_time_gets_408(server):
    client = RawClient(server.url)
    client.send(b"POST /judge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
    started, answer = time.monotonic(), None
    while time.monotonic() - started < 10 and answer is None:
        client.send(b" ")
        time.sleep(0.2)
        answer = client.answer()
    client.close()
    assert answer is not None and answer.startswith(b"HTTP/1.1 408"), answer
    assert b"request body not received within 1 s" in answer


def test_health_timeout_is_a_flag(server):
    import argparse

    from rmr1_plugin.cli import serve

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    args = parser.parse_args(["--backend", "replay", "--health-timeout", "3"])
    assert args.health_timeout == 3.0
    assert httpx.get(f"{server.url}/health").json()["status"] == "ready"
