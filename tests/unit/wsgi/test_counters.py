"""wsgihost.wsgi.counters: the per-process request counts mod_wsgi puts in the environ."""

from __future__ import annotations

import threading
import time
from typing import Any

from wsgihost.wsgi.counters import RequestCounters


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    return []


def test_a_thread_is_numbered_once_and_counts_its_requests() -> None:
    counters = RequestCounters()
    first: dict[str, Any] = {}
    second: dict[str, Any] = {}
    counters.stamp(first)
    counters.done()
    counters.stamp(second)
    # As mod_wsgi 4.9: ints, the thread numbered from 1, counts of earlier requests.
    assert (first["mod_wsgi.thread_id"], first["mod_wsgi.thread_requests"]) == (1, 0)
    assert first["mod_wsgi.total_requests"] == 0
    assert (second["mod_wsgi.thread_id"], second["mod_wsgi.thread_requests"]) == (1, 1)
    assert second["mod_wsgi.total_requests"] == 1


def test_another_thread_gets_the_next_number() -> None:
    counters = RequestCounters()
    counters.stamp({})
    seen: dict[str, Any] = {}
    worker = threading.Thread(target=counters.stamp, args=(seen,))
    worker.start()
    worker.join()
    assert seen["mod_wsgi.thread_id"] == 2
    assert seen["mod_wsgi.thread_requests"] == 0
    assert seen["mod_wsgi.total_requests"] == 0  # the first request has not finished


def test_the_loader_stamps_once_the_app_is_loaded() -> None:
    counters = RequestCounters()
    environ: dict[str, Any] = {}
    before = time.time_ns() // 1000

    def load() -> Any:
        assert "mod_wsgi.script_start" not in environ  # set after the import, as mod_wsgi
        return app

    assert counters.loader(load, environ)() is app
    start = environ["mod_wsgi.script_start"]
    assert isinstance(start, str) and before <= int(start) <= time.time_ns() // 1000
