"""The environ keys mod_wsgi fills from the process that runs the app.

Used in both modes, by the process that calls the app: a front-end worker
(embedded mode) or a daemon process. mod_wsgi 4.9 adds these to the environ
once the script is loaded, just before it calls the app (``Adapter_run``):

- ``mod_wsgi.script_start``: that moment, in microseconds since the epoch,
  as a string like ``mod_wsgi.request_start``;
- ``mod_wsgi.thread_id``: the thread's number in its process (an ``int``,
  1 for the first thread that serves a request);
- ``mod_wsgi.thread_requests``: how many requests that thread started
  before this one (an ``int``);
- ``mod_wsgi.total_requests``: how many requests the process finished
  before this one (an ``int``).

Standard library only, Python 3.9 syntax: daemon processes import it.
"""

import threading
import time
from typing import Any, Callable, Dict


class RequestCounters:
    """One per process: numbers its request threads and counts their requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self._threads = 0
        self.finished = 0

    def _thread(self) -> Any:
        local = self._local
        if not hasattr(local, "number"):
            with self._lock:
                self._threads += 1
                local.number = self._threads
            local.requests = 0
        return local

    def stamp(self, environ: Dict[str, Any]) -> None:
        """Add this thread's and this process's counts to ``environ`` (in the app's thread)."""
        local = self._thread()
        environ["mod_wsgi.script_start"] = str(time.time_ns() // 1000)
        environ["mod_wsgi.thread_id"] = local.number
        environ["mod_wsgi.thread_requests"] = local.requests
        environ["mod_wsgi.total_requests"] = self.finished
        local.requests += 1

    def loader(
        self, load: Callable[[], Callable[..., Any]], environ: Dict[str, Any]
    ) -> Callable[[], Callable[..., Any]]:
        """``load`` that stamps ``environ`` once the app is loaded, as mod_wsgi does."""

        def load_and_stamp() -> Callable[..., Any]:
            app = load()
            self.stamp(environ)
            return app

        return load_and_stamp

    def done(self) -> None:
        """One more request finished (its response sent or abandoned)."""
        with self._lock:
            self.finished += 1
