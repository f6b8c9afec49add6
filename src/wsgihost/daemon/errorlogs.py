"""Where a daemon process's output goes: the error logs of the virtual hosts it serves.

Runs in the daemon process; standard library only. As mod_wsgi 4.9 does
(see ``wsgi_logger.c`` and the daemon start-up in ``mod_wsgi.c``):

* ``sys.stdout`` and ``sys.stderr`` write ``[wsgi:error]`` lines to the error
  log of the host that defines the group (``error_log``), with no client
  address: an import's ``print()``, a thread of the app's own;
* while the app serves a request, the same streams and ``wsgi.errors``
  write to the request's host's error log, with ``[remote A:P]``; so does
  the traceback of a request that failed;
* descriptors 1 and 2 lead to the group's log too, so that C extensions and
  child programs do not write to the terminal of whoever started the server
  (mod_wsgi points descriptor 2 there).

Every file is opened when the process starts, before it drops privileges:
the group's own log and those of the hosts that may send it requests (the
master lists them), at most :data:`MAX_FILES`. A request naming any other
log is logged to the group's own.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, Optional, Tuple

from wsgihost.errorformat import ErrorLogFormat
from wsgihost.logs import LEVEL_RANK, ErrorLog, LogFile, install_std_streams, open_log

MAX_FILES = 64  # a process does not hold an unbounded number of descriptors
_PEER = "remote"  # mod_wsgi's daemon processes label the client so


class DaemonLogs:
    """The error logs one daemon process writes to (see the module's docstring)."""

    def __init__(self, settings: Dict[str, Any]) -> None:
        level = _level(settings.get("log_level"), "warn")
        self._files: Dict[str, LogFile] = {}
        own_path = settings.get("error_log") or None
        own = self._open(own_path)
        if own is None:  # a path we cannot open: the terminal, as before
            own = LogFile(fd=2)
        self._formats: Dict[str, Optional[ErrorLogFormat]] = {}
        fmt = self._format(settings.get("error_log_format"))
        self.own = ErrorLog(own, level, module="wsgi", peer=_PEER, fmt=fmt)
        self._main_path: Optional[str] = settings.get("main_error_log") or None
        self._main_level = _level(settings.get("main_log_level"), "warn")
        for path in [self._main_path, *(settings.get("request_error_logs") or [])]:
            if path and len(self._files) < MAX_FILES:
                self._open(path)
        self._by_request: Dict[Tuple[str, str, str, str], ErrorLog] = {}
        self._lock = threading.Lock()

    def _open(self, path: Optional[str]) -> Optional[LogFile]:
        if not path:
            return None
        found = self._files.get(path)
        if found is None:
            try:
                found = open_log(path)
            except OSError:
                return None
            self._files[path] = found
        return found

    def install(self) -> None:
        """Point descriptors 1 and 2 and ``sys.stdout``/``sys.stderr`` at the group's log.

        When the group's log is the terminal's standard error (``serve``
        without ``--error-log``), the descriptors are left as they are.
        """
        dest = self.own.dest
        if dest.is_file:
            dest.mirror(1)
            dest.mirror(2)
        own = self.own
        install_std_streams(lambda line: own.log("error", line))

    def for_request(self, head: Dict[str, Any]) -> ErrorLog:
        """The log for a request, from the host's ``error_log`` and ``log_level`` in its head."""
        path = head.get("error_log") or self._main_path or ""
        level = head.get("log_level") or self._main_level
        source = head.get("error_log_format") or ""
        name = head.get("server_name") or ""
        key = (path, level, source, name)
        found = self._by_request.get(key)
        if found is None:
            dest = self._files.get(path) or self.own.dest
            found = ErrorLog(
                dest,
                _level(level, self._main_level),
                module="wsgi",
                peer=_PEER,
                fmt=self._format(source),
                server_name=name,
            )
            with self._lock:
                # Bounded: keys come from the configuration the front end has.
                if len(self._by_request) < 4 * MAX_FILES:
                    self._by_request[key] = found
        return found

    def _format(self, source: Any) -> Optional[ErrorLogFormat]:
        """ErrorLogFormat compiled once per text (checked when the configuration was read)."""
        if not isinstance(source, str) or not source:
            return None
        if source not in self._formats:
            try:
                self._formats[source] = ErrorLogFormat(source)
            except ValueError:
                self._formats[source] = None
        return self._formats[source]

    def reopen(self) -> None:
        """Reopen every file by its path (SIGUSR1, after logrotate moved them)."""
        self.own.dest.reopen()
        for f in self._files.values():
            if f is not self.own.dest:
                f.reopen()


def _level(value: Any, default: str) -> str:
    return value if isinstance(value, str) and value in LEVEL_RANK else default
