"""SCHED_BATCH (wsgihost.daemon.batch): by default a front-end worker's event loop
and embedded app threads run under it, and a daemon process's request threads
while its app's requests take little CPU; never the master or a daemon's main
thread. WSGIHOST_SCHED_BATCH=1 puts daemon request threads under it whatever
the app does, =front never, =0 leaves every thread on the default policy.

Real servers, real threads: the app reports the policy of the thread it runs
on, and the other threads' are read from /proc.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.functional.helpers import children, get, role, wait_for
from tests.functional.server import ServerProcess

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="SCHED_BATCH is Linux's"
)

APP = """\
import os
import threading
import time
import urllib.parse


def application(environ, start_response):
    # ?spin=MS: a CPU-heavy request, MS milliseconds of this thread's CPU;
    # ?sleep=MS: a long request that takes no CPU.
    query = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    spin = float(query.get("spin", 0))
    time.sleep(float(query.get("sleep", 0)) / 1000)
    end = time.thread_time() + spin / 1000
    while time.thread_time() < end:
        pass
    body = "%d %d %d" % (os.sched_getscheduler(0), os.getpid(), threading.get_native_id())
    body = body.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""


def policy_of(pid: int, tid: int | None = None) -> int:
    """A thread's scheduling policy, as /proc/PID/task/TID/stat gives it (field 41)."""
    path = f"/proc/{pid}/task/{tid or pid}/stat"
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[38])


@contextmanager
def start(tmp_path: Path, mode: str, env: dict[str, str] | None = None) -> Iterator[ServerProcess]:
    script = tmp_path / "policy.wsgi"
    script.write_text(APP)
    os.chmod(tmp_path, 0o755)
    args = ["serve", str(script), "--port", "0", "--processes", "1", "--threads", "3"]
    if mode == "embedded":
        args.append("--embedded")
    server = ServerProcess(args, env=env)
    try:
        yield server.wait_listening()
    finally:
        server.close()


def batch_app_thread(server: ServerProcess) -> int:
    """Ask the app; check it ran on a SCHED_BATCH thread of its own; return its pid."""
    answer = get(server, "/")
    assert answer.status == 200, answer
    policy, pid, tid = (int(x) for x in answer.body.split())
    assert policy == os.SCHED_BATCH
    assert tid != pid  # a thread of its own, not the process's main thread
    assert policy_of(pid, tid) == os.SCHED_BATCH
    return pid


BATCH = {"WSGIHOST_SCHED_BATCH": "1"}


def test_an_embedded_app_and_the_event_loop_run_batch(tmp_path: Path) -> None:
    with start(tmp_path, "embedded", BATCH) as server:
        pid = batch_app_thread(server)
        assert policy_of(pid) == os.SCHED_BATCH  # the event loop's thread
        assert policy_of(server.proc.pid) == os.SCHED_OTHER  # the master only supervises


def test_a_daemon_app_runs_batch_beside_an_ordinary_main_thread(tmp_path: Path) -> None:
    with start(tmp_path, "daemon", BATCH) as server:
        pid = batch_app_thread(server)
        # The daemon's main thread only waits on the master.
        assert policy_of(pid) == os.SCHED_OTHER
        assert policy_of(server.proc.pid) == os.SCHED_OTHER


def test_by_default_embedded_apps_and_the_event_loop_run_batch(tmp_path: Path) -> None:
    with start(tmp_path, "embedded", {"WSGIHOST_SCHED_BATCH": ""}) as server:
        pid = batch_app_thread(server)
        assert policy_of(pid) == os.SCHED_BATCH  # the event loop's thread
        assert policy_of(server.proc.pid) == os.SCHED_OTHER


def ask(server: ServerProcess, path: str = "/") -> tuple[int, int, int]:
    """(policy, pid, thread id) of the daemon thread that served ``path``, as it
    saw them (/proc may already show the policy it turned to after answering)."""
    answer = get(server, path)
    assert answer.status == 200, answer
    policy, pid, tid = (int(x) for x in answer.body.split())
    return policy, pid, tid


def test_by_default_daemon_threads_follow_the_cpu_their_app_takes(tmp_path: Path) -> None:
    with start(tmp_path, "daemon", {"WSGIHOST_SCHED_BATCH": ""}) as server:
        policy, pid, _tid = ask(server)
        assert policy == os.SCHED_OTHER  # nothing known of the app yet
        # The front-end workers' loops are batch, each once it is ready (the one
        # that relayed the request already; another may still be starting).
        fronts = [p for p in children(server.proc.pid) if role(p) == "front"]
        assert fronts

        def all_batch() -> bool:
            return all(policy_of(p) == os.SCHED_BATCH for p in fronts)

        wait_for(all_batch, 20, "every front-end worker's loop to run batch")
        # Light requests: the threads turn batch once the process has served a
        # second's worth (a thread changes between requests: the next one shows it).
        wait_for(lambda: ask(server)[0] == os.SCHED_BATCH, 30, "a light request on batch")
        # Every request thread, each after a request of its own: three at once,
        # which wait 0.2 s (long requests, but light ones).
        all_three(server, "/?sleep=200", os.SCHED_BATCH)
        assert policy_of(pid) == os.SCHED_OTHER  # the daemon's main thread never
        # CPU-heavy requests (5 ms each, ten times the line): back to the default.
        wait_for(
            lambda: ask(server, "/?spin=5")[0] == os.SCHED_OTHER, 30, "a heavy request off batch"
        )
        all_three(server, "/?spin=5&sleep=200", os.SCHED_OTHER)


def all_three(server: ServerProcess, path: str, policy: int) -> None:
    """Wait until three requests for ``path`` at once, on three threads, each find it."""

    def check() -> bool:
        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(lambda _: ask(server, path), range(3)))
        return len({tid for _policy, _pid, tid in answers}) == 3 and all(
            seen == policy for seen, _pid, _tid in answers
        )

    wait_for(check, 30, f"three threads on policy {policy}")


def test_front_keeps_daemon_threads_on_the_default_policy(tmp_path: Path) -> None:
    with start(tmp_path, "daemon", {"WSGIHOST_SCHED_BATCH": "front"}) as server:
        # Light requests for 3 s: long enough for the default to have turned a
        # thread batch (a verdict about once a second, over 20 requests or more).
        seen = set()
        served = 0
        until = time.monotonic() + 3
        while time.monotonic() < until:
            seen.add(ask(server)[0])
            served += 1
        assert served >= 60
        assert seen == {os.SCHED_OTHER}


@pytest.mark.parametrize("mode", ["embedded", "daemon"])
def test_off_every_thread_keeps_the_default_policy(tmp_path: Path, mode: str) -> None:
    with start(tmp_path, mode, {"WSGIHOST_SCHED_BATCH": "0"}) as server:
        answer = get(server, "/")
        assert answer.status == 200, answer
        policy, pid, _tid = (int(x) for x in answer.body.split())
        assert policy == os.SCHED_OTHER
        assert policy_of(pid) == os.SCHED_OTHER
