"""Embedded mode: WSGI apps run in a thread pool inside the front-end worker.

The event loop owns the connection; the app runs on a pool thread. They meet
in :class:`~wsgihost.frontend.connection.Request`, which is both the app's
body source (``recv``) and its response sink (``send``/``abort``).
"""

from __future__ import annotations

import os
import queue
import stat
import sys
import threading
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import wsgihost
from wsgihost.config.model import DirSettings
from wsgihost.daemon import batch
from wsgihost.httpcore import ERROR_TYPE, error_body
from wsgihost.logs import ErrorLog, as_process, bound

if TYPE_CHECKING:
    from wsgihost.frontend.hostlogs import HostLogs
    from wsgihost.routing import WSGITarget
from wsgihost.wsgi import runner
from wsgihost.wsgi.counters import RequestCounters
from wsgihost.wsgi.environ import Mount, build_environ
from wsgihost.wsgi.loader import FileSignature, ScriptLoader
from wsgihost.wsgi.streams import ErrorStream, FileWrapper, InputStream


def _own_entries_off_sys_path() -> None:
    """Take what starting this worker put on ``sys.path`` off it, in the worker, before
    any app is imported: the working directory ``python -m`` puts first, and the
    wsgihost folder the master adds to ``PYTHONPATH`` (a copy that ``site`` adds
    later, as an installed package's, stays). What the worker imported is loaded
    already, and its later imports of wsgihost's own modules go by the package."""
    if not sys.flags.safe_path and sys.path and sys.path[0] == os.getcwd():
        del sys.path[0]
    own = os.path.dirname(os.path.dirname(os.path.abspath(wsgihost.__file__)))
    stdlib = os.path.dirname(os.__file__)
    end = sys.path.index(stdlib) if stdlib in sys.path else 0
    sys.path[:] = [p for i, p in enumerate(sys.path) if i >= end or os.path.abspath(p) != own]


class ThreadPool:
    """A fixed set of daemon threads taking jobs from one queue.

    Lighter than ``concurrent.futures``: no future per job, since the result
    travels back through the connection, not through the pool.
    """

    def __init__(self, size: int, name: str = "wsgi") -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[..., None], tuple[Any, ...]] | None] = (
            queue.SimpleQueue()
        )
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(size)
        ]
        self.busy = 0
        for t in self._threads:
            t.start()

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        self._jobs.put((fn, args))

    def _work(self) -> None:
        batch.enter(batch.FRONT)  # SCHED_BATCH unless turned off: wsgihost.daemon.batch
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, args = job
            self.busy += 1
            try:
                fn(*args)
            except BaseException:
                # A job must never cost the pool a thread.
                sys.stderr.write("wsgihost: error in a worker thread:\n" + traceback.format_exc())
            finally:
                self.busy -= 1


class EmbeddedApp:
    """One WSGI script with one set of settings, run in this worker's threads."""

    def __init__(
        self,
        loader: ScriptLoader,
        target: WSGITarget,
        processes: int,
        threads: int,
        log: ErrorLog,
        counters: RequestCounters,
    ) -> None:
        self.loader = loader
        settings = target.settings
        self.mount = Mount(
            "",
            loader.path,
            callable_object=loader.callable_name,
            application_group=target.application_group,
            process_group="",
            pass_authorization=bool(settings.pass_authorization),
            script_reloading=loader.reloading,
            multiprocess=processes > 1,
            multithread=threads > 1,
            document_root=target.document_root,
            server_admin=target.host.server_admin,
            server_name=target.host.server_name,
            trusted_proxy_headers=settings.trusted_proxy_headers,
            trusted_proxies=settings.trusted_proxies,
            map_head_to_get=settings.map_head_to_get,
        )
        self.log = log
        self.counters = counters

    def serve(self, request: Any, target: WSGITarget) -> None:
        """Run on a pool thread: call the app for one request."""
        try:
            self._serve(request, target)
        finally:
            request.release_socket()  # a socket lent for the response and not used

    def _serve(self, request: Any, target: WSGITarget) -> None:
        client = f"{request.head.client_addr}:{request.head.client_port}"
        referer = request.head.header(b"referer")
        log = self.log

        headers = request.head.headers
        local = f"{request.head.server_addr}:{request.head.server_port}"

        def log_error(message: str) -> None:
            log.error(message, client, referer, headers, local)

        # One stat for both questions: is the script there, and has it changed
        # (a system call, and so a moment the loop thread may take the GIL).
        try:
            st: os.stat_result | None = os.stat(self.loader.path)
        except OSError:
            st = None
        if st is None or not stat.S_ISREG(st.st_mode):
            # As Apache does for a WSGIScriptAlias whose script is not there (yet).
            log_error(f"Target WSGI script not found or unable to stat: {self.loader.path}")
            body = error_body(404)
            head = [("Content-Type", ERROR_TYPE), ("Content-Length", str(len(body)))]
            request.send(("404 Not Found", head), body, True)
            return

        errors = ErrorStream(log_error)
        environ = build_environ(
            request.head,
            self.mount,
            InputStream(request.recv),
            errors,
            FileWrapper,
            target.script_name,
            target.path_info,
            target.path_translated,
            request.state.env if request.state is not None else None,
        )
        if request.redirect_env:  # an ErrorDocument's internal redirect (errordocs.py)
            environ.update(request.redirect_env)
        if request.server_signature:
            environ["SERVER_SIGNATURE"] = request.server_signature
        environ.update(target.environ_overrides())  # a handler mapping's
        loader, seen = self.loader, FileSignature.of_stat(st)
        counters = self.counters
        try:
            # The app's print() and sys.stderr go with wsgi.errors meanwhile;
            # what a first import prints is the process's (as in mod_wsgi).
            with bound(errors):
                loaded = counters.loader(
                    lambda: as_process(lambda: loader.get_as_seen(seen)), environ
                )
                runner.run(loaded, environ, request, log_error)
        except BaseException as e:  # the runner never raises; this is the last guard
            log.error(f"internal error in the WSGI runner: {e!r}", client)
            request.abort()
        finally:
            counters.done()


class EmbeddedApps:
    """The embedded apps of one worker, made on first use.

    One loader per script and callable, shared by every mount that names
    them, so a script is imported once per process (as in one mod_wsgi
    application group).
    """

    def __init__(self, processes: int, threads: int, logs: HostLogs) -> None:
        self.processes = processes
        self.threads = threads
        self.logs = logs
        self._loaders: dict[tuple[str, str], ScriptLoader] = {}
        self._apps: dict[tuple[str, DirSettings, int], EmbeddedApp] = {}
        self._seen: dict[tuple[str, int, int], tuple[DirSettings, EmbeddedApp]] = {}
        self.counters = RequestCounters()
        # What mod_wsgi gives an embedded interpreter: the app is no command,
        # and its path is the interpreter's own.
        sys.argv[:] = ["mod_wsgi"]
        _own_entries_off_sys_path()
        if logs.server.python_hash_seed is not None:
            # WSGIPythonHashSeed's is the interpreter's: as mod_wsgi, not the app's
            # child processes'.
            os.environ.pop("PYTHONHASHSEED", None)

    def get(self, target: WSGITarget) -> EmbeddedApp:
        """The app for a script as configured for one virtual host (whose log it uses)."""
        script, settings, host = target.script, target.settings, target.host
        # By the settings' identity first: hashing a DirSettings hashes all
        # its fields (1.6 us, every request). The entry holds the settings,
        # so their id is not reused while it stands.
        seen = self._seen.get((script, id(settings), id(host)))
        if seen is not None and seen[0] is settings:
            return seen[1]
        key = (script, settings, id(host))
        app = self._apps.get(key)
        if app is None:
            callable_name = settings.callable_object or "application"
            loader = self._loaders.get((script, callable_name))
            if loader is None:
                loader = ScriptLoader(
                    script,
                    callable_name,
                    settings.script_reloading is not False,
                    warn=self.logs.error_log(host).warn,
                )
                self._loaders[(script, callable_name)] = loader
            log = self.logs.error_log(host)
            app = EmbeddedApp(loader, target, self.processes, self.threads, log, self.counters)
            self._apps[key] = app
        if len(self._seen) >= 4096:  # settings made per request would fill it
            self._seen.clear()
        self._seen[(script, id(settings), id(host))] = (settings, app)
        return app
