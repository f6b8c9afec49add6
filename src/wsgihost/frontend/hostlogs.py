"""The logs of each host, as a front-end worker writes them (worker process)."""

from __future__ import annotations

from wsgihost.config.model import Host, Server
from wsgihost.errorformat import ErrorLogFormat
from wsgihost.logs import AccessLog, ErrorLog, LogFile, install_std_streams, open_log


class HostLogs:
    """The error log and access logs of each host, every file opened once.

    As in Apache, a virtual host without its own ``ErrorLog`` or
    ``CustomLog`` uses the main server's. ``-`` and ``/dev/stdout`` mean
    standard output; no ``ErrorLog`` at all means standard error. Every file
    is opened here, in the worker before it drops privileges (User/Group):
    the logs belong to the server, and the worker's user may not open them.
    """

    def __init__(self, server: Server) -> None:
        self.server = server
        self._files: dict[str, LogFile] = {}
        self._errors: dict[int, ErrorLog] = {}
        self._access: dict[int, list[AccessLog]] = {}
        for host in (server.main, *server.vhosts):
            self.error_log(host)
            self.access_logs(host)

    def _file(self, path: str | None) -> LogFile:
        key = path or "/dev/stderr"
        found = self._files.get(key)
        if found is None:
            found = self._files[key] = open_log(key)
        return found

    def install(self) -> None:
        """Send this process's own output to the main server's error log, as Apache does.

        ``sys.stdout`` and ``sys.stderr`` (an app's import, the app's own
        threads; a request's output goes to its host's log, see
        :mod:`wsgihost.frontend.embedded`) and descriptor 2 (C extensions,
        child programs). Descriptor 1 stays: the access log may be there.
        """
        main = self.error_log(self.server.main)
        if main.dest.is_file:
            main.dest.mirror(2)
        install_std_streams(lambda line: main.log("error", line))

    def error_log(self, host: Host) -> ErrorLog:
        log = self._errors.get(id(host))
        if log is None:
            main = self.server.main
            path = host.error_log or main.error_log or self.server.logging.error_log
            level = host.log_level or self.server.logging.level
            source = self.server.error_log_format(host)
            fmt = ErrorLogFormat(source) if source else None  # checked when read
            name = host.server_name or main.server_name or ""
            log = ErrorLog(self._file(path), level, fmt=fmt, server_name=name)
            self._errors[id(host)] = log
        return log

    def access_logs(self, host: Host) -> list[AccessLog]:
        logs = self._access.get(id(host))
        if logs is None:
            specs = host.access_logs or self.server.main.access_logs
            logs = self._access[id(host)] = [
                AccessLog(self._file(spec.path), spec.format) for spec in specs
            ]
        return logs

    def reopen(self) -> None:
        for f in self._files.values():
            f.reopen()
