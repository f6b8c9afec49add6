"""Chaos: load from 16 clients while a random daemon or front-end process is killed every second.

What must hold (issue 7, acceptance 2):

* the only failures are requests that the killed process had already taken:
  a 502 for a request a killed daemon process had ACCEPTed, a cut
  connection for one a killed front-end worker was serving. Both were in
  flight when that kind of process was killed; a 503, or any failure
  with no kill of that kind during it, is a bug;
* the server is back at full strength by itself (polled with a deadline);
* it holds as many open descriptors and processes at the end as at the start.

The clients behave as HTTP clients do: a keep-alive connection found closed
before any byte of the answer came back is retried once on a new connection
(GET is idempotent). Runs 15 s here; ``bench/chaos.py`` runs it for 60 s by
setting WSGIHOST_CHAOS_SECONDS.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.functional.helpers import alive, children, free_port, members, wait_for
from tests.functional.server import Reader, ServerProcess

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("WSGIHOST_CHAOS_SECONDS", "15"))
CLIENTS = 16
APP = """\
import os, time

def application(environ, start_response):
    time.sleep(0.005)  # long enough to be caught in flight now and then
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""


@dataclass
class Outcome:
    start: float
    end: float
    status: int  # 0: the connection failed
    error: str = ""


@dataclass
class Kill:
    when: float  # SIGKILL sent
    gone: float  # the process seen gone: until then it may still have taken a request
    pid: int
    role: str  # "daemon" or "front"


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def status(conf: Path) -> dict:  # type: ignore[type-arg]
    result = subprocess.run(
        [sys.executable, "-m", "wsgihost", "status", "--config", str(conf), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def full_strength(conf: Path, master: int, want: dict[str, int]) -> bool:
    now = members(master)
    counts = {kind: list(now.values()).count(kind) for kind in want}
    if counts != want:
        return False
    state = status(conf)
    ready = [m for g in state["groups"] for m in g["members"] if m["state"] == "ready"]
    return len(ready) == want["daemon"]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[ServerProcess, Path]]:
    (tmp_path / "app.wsgi").write_text(APP)
    conf = tmp_path / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:{free_port()}
            StartServers 2
            ErrorLog {tmp_path}/error.log
            WSGIDaemonProcess chaos processes=3 threads=8
            WSGIScriptAlias / {tmp_path}/app.wsgi process-group=chaos
            """
        )
    )
    server = ServerProcess(["serve", "--config", str(conf)])
    try:
        server.wait_listening()
        yield server, conf
    finally:
        server.close()


def client(server: ServerProcess, stop: threading.Event, out: list[Outcome]) -> None:
    sock: socket.socket | None = None
    reader: Reader | None = None
    used = 0  # requests already answered on this connection
    while not stop.is_set():
        start = time.monotonic()
        for attempt in (1, 2):
            try:
                if sock is None:
                    sock = server.connect(timeout=30)
                    reader, used = Reader(sock), 0
                assert reader is not None
                sock.sendall(b"GET / HTTP/1.1\r\nHost: chaos.invalid\r\n\r\n")
                status, headers, _body = reader.response()
                used += 1
                out.append(Outcome(start, time.monotonic(), status))
                if headers.get("connection") == "close":
                    sock.close()
                    sock = None
                break
            except OSError as e:
                stale = used > 0 and reader is not None and not reader.buf
                if sock is not None:
                    sock.close()
                sock = None
                if attempt == 1 and stale:
                    continue  # a kept-alive connection that had closed: retried, as clients do
                out.append(Outcome(start, time.monotonic(), 0, repr(e)))
                break
    if sock is not None:
        sock.close()


def explained(outcome: Outcome, kills: list[Kill]) -> bool:
    """Whether a process of the kind that could have taken this request was killed during it."""
    kind = "daemon" if outcome.status == 502 else "front" if outcome.status == 0 else None
    return any(k.role == kind and outcome.start <= k.gone and outcome.end >= k.when for k in kills)


def test_killing_processes_under_load_loses_only_what_they_had_taken(
    site: tuple[ServerProcess, Path],
) -> None:
    server, conf = site
    master = server.proc.pid
    want = {"front": 2, "daemon": 3}
    wait_for(lambda: full_strength(conf, master, want), 30, "the server at full strength")
    fds_before = open_fds(master)
    processes_before = len(children(master))

    stop = threading.Event()
    outcomes: list[Outcome] = []
    threads = [
        threading.Thread(target=client, args=(server, stop, outcomes), daemon=True)
        for _ in range(CLIENTS)
    ]
    for t in threads:
        t.start()
    kills: list[Kill] = []
    rng = random.Random(7)
    try:
        end = time.monotonic() + SECONDS
        while time.monotonic() < end:
            time.sleep(1.0)
            running = members(master)
            if not running:
                continue
            pid = rng.choice(sorted(running))
            when = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda p=pid: not alive(p), 10, f"process {pid} gone")
            kills.append(Kill(when, time.monotonic(), pid, running[pid]))
    finally:
        stop.set()
        for t in threads:
            t.join(60)

    served = [o for o in outcomes if o.status == 200]
    failed = [o for o in outcomes if o.status != 200]
    unexplained = [o for o in failed if not explained(o, kills)]
    assert {k.role for k in kills} == {"daemon", "front"}, kills
    assert len(served) > 20 * SECONDS, f"only {len(served)} requests served"
    assert unexplained == [], (
        f"{len(unexplained)} of {len(failed)} failures were not requests a killed process "
        f"had taken: {unexplained[:5]}; kills: {kills}"
    )
    # Back to full strength, by itself, with nothing leaked.
    wait_for(lambda: full_strength(conf, master, want), 30, "the server back at full strength")
    wait_for(lambda: open_fds(master) == fds_before, 10, "the master's descriptors to settle")
    assert len(children(master)) == processes_before
    assert server.proc.poll() is None
