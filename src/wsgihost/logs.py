"""Apache-style error and access logs.

Every line (or every group of lines, such as a traceback) is a single
``os.write`` on a descriptor opened with ``O_APPEND``, so several processes can
share one log file without their lines interleaving. Files are reopened by
path on request (SIGUSR1), so logrotate can move them away.

An error-log line has Apache 2.4's default error-log format, as mod_wsgi
writes it: ``[time] [wsgi:error] [pid N:tid T] [client A:P] message``.
Front-end workers (embedded mode) name the peer ``client``; daemon processes
name it ``remote``, as mod_wsgi's daemon processes do (their request record
has a connection of its own, so Apache labels the address it was given).

The app's ``sys.stdout`` and ``sys.stderr`` (:class:`StdStream`) write such
lines too: the request's, while a request runs on the thread (:func:`bound`),
else the process's.

Standard library only: daemon processes use this module too.
"""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Optional, TypeVar

from wsgihost.errorformat import Entry, ErrorLogFormat
from wsgihost.wsgi.streams import ErrorStream

T = TypeVar("T")

LEVELS = ("emerg", "alert", "crit", "error", "warn", "notice", "info", "debug")
LEVEL_RANK = {name: rank for rank, name in enumerate(LEVELS)}

COMBINED = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"'
COMMON = '%h %l %u %t "%r" %>s %b'

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class LogFile:
    """An append-only log destination: a path, or an inherited descriptor (stdout/stderr)."""

    def __init__(self, path: str | None = None, fd: int | None = None) -> None:
        if (path is None) == (fd is None):
            raise ValueError("give a path or a descriptor")
        self.path = path
        self.fd = fd if fd is not None else self._open(path)  # type: ignore[arg-type]
        self._mirrors: list[int] = []

    @staticmethod
    def _open(path: str) -> int:
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)

    def write(self, data: bytes) -> None:
        try:
            view = memoryview(data)
            while view:
                # One call almost always writes everything; the loop covers a
                # pipe that is nearly full.
                n = os.write(self.fd, view)
                view = view[n:]
        except OSError:
            # A full disk or a closed terminal must not take a request down.
            pass

    @property
    def is_file(self) -> bool:
        """True for a file opened by path (not a descriptor such as the terminal's)."""
        return self.path is not None

    def mirror(self, fd: int) -> None:
        """Make ``fd`` (1 or 2) another way into this file, now and after every reopen.

        For output that bypasses Python's ``sys.stdout``/``sys.stderr`` (C
        extensions, child programs): it lands here, unprefixed, as in Apache.
        """
        self._mirrors.append(fd)
        os.dup2(self.fd, fd)  # inheritable: child programs write to it too

    def reopen(self) -> None:
        if self.path is None:
            return
        try:
            new = self._open(self.path)
        except OSError:
            return
        # dup2 swaps the file under the same number: a thread writing at this
        # moment never writes to a descriptor that was closed and reused.
        os.dup2(new, self.fd, inheritable=False)
        for fd in self._mirrors:
            os.dup2(new, fd)
        os.close(new)


def open_log(path: str | None) -> LogFile:
    """The log file for an ``ErrorLog``/``CustomLog`` path, as Apache reads it.

    None (no ``ErrorLog``) and ``/dev/stderr`` are standard error; ``-`` and
    ``/dev/stdout`` are standard output. Raises OSError if a file cannot be
    opened.
    """
    if path is None or path == "/dev/stderr":
        return LogFile(fd=2)
    if path in ("-", "/dev/stdout"):
        return LogFile(fd=1)
    return LogFile(path=path)


def escape(text: str) -> str:
    """Escape a request-supplied string the way Apache does in its logs."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif code < 0x20 or code >= 0x7F:
            out.append(f"\\x{code:02x}")
        else:
            out.append(ch)
    return "".join(out)


_ERROR_ESCAPES = {0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0B: "\\v", 0x0D: "\\r", 0x5C: "\\\\"}


def escape_error_bytes(data: bytes) -> str:
    """Bytes as Apache 2.4 writes them in its error log (``ap_escape_errorlog_item``).

    Printable ASCII stays (``"`` too); a backslash and the usual control
    characters get C escapes; every other byte, UTF-8 ones included, is
    ``\\xhh``. So a log line is one line of ASCII whatever the app wrote.
    """
    return "".join(
        chr(b) if 0x20 <= b < 0x7F and b != 0x5C else _ERROR_ESCAPES.get(b, "\\x%02x" % b)
        for b in data
    )


def escape_error(text: str) -> str:
    """One line of an error-log message, escaped as Apache does (see escape_error_bytes)."""
    if text.isascii() and text.isprintable() and "\\" not in text:
        return text  # the common case, at no cost
    try:
        data = text.encode("utf-8", "surrogateescape")  # bytes decoded that way come back
    except UnicodeEncodeError:  # a lone surrogate of another kind: that one becomes "?"
        data = b"".join(_encode_char(ch) for ch in text)
    return escape_error_bytes(data)


def _encode_char(ch: str) -> bytes:
    try:
        return ch.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return b"?"


class ErrorLog:
    """The error log: ``[time] [module:level] [pid N:tid T] [client A:P] message``.

    ``peer`` is the word before a client's address: ``client`` in front-end
    workers, ``remote`` in daemon processes (what mod_wsgi 4.9 writes there).
    Each line of a message is escaped as Apache escapes it, and gets the
    request's ``Referer`` header (its bytes) after it when one is given
    (``, referer: URL``, as Apache writes lines about a request it received
    itself: in embedded mode, not in mod_wsgi's daemon processes).
    """

    def __init__(
        self,
        dest: LogFile,
        level: str = "warn",
        module: str = "wsgi",
        peer: str = "client",
        fmt: ErrorLogFormat | None = None,
        server_name: str = "",
    ) -> None:
        self.dest = dest
        self.threshold = LEVEL_RANK[level]
        self.module = module
        self.peer = peer
        self.pid = os.getpid()
        self.fmt = fmt  # ErrorLogFormat; None: Apache's default line
        self.server_name = server_name  # the host's ServerName (%v)

    def enabled(self, level: str) -> bool:
        return LEVEL_RANK[level] <= self.threshold

    def log(
        self,
        level: str,
        message: str,
        client: str | None = None,
        referer: bytes | None = None,
        headers: Sequence[tuple[bytes, bytes]] | None = None,
        local: str | None = None,
        status: str | None = None,
    ) -> None:
        """``headers``: the request's, for an ErrorLogFormat's ``%{Name}i`` and ``%V``;
        ``local``: the address:port it came in on (``%A``); ``status``: an OS error
        as Apache shows one (``(2)No such file or directory``), before the client."""
        if LEVEL_RANK[level] > self.threshold:
            return
        if self.fmt is not None:
            if status:
                message = f"{status}: {message}"
            self._log_formatted(self.fmt, level, message, client, referer, headers, local)
            return
        now = time.time()
        lt = time.localtime(now)
        stamp = (
            time.strftime("%a %b %d %H:%M:%S", lt) + ".%06d " % ((now % 1) * 1e6) + str(lt.tm_year)
        )
        # The kernel's thread id, as Apache 2.4 shows it on Linux (and as top
        # and /proc/PID/task show it), not Python's pthread_t.
        tid = threading.get_native_id()
        prefix = f"[{stamp}] [{self.module}:{level}] [pid {os.getpid()}:tid {tid}] "
        if status:
            prefix += f"{status}: "
        if client:
            prefix += f"[{self.peer} {client}] "
        end = f", referer: {escape_error_bytes(referer)}\n" if referer else "\n"
        lines = message.rstrip("\n").split("\n")
        self.dest.write("".join(prefix + escape_error(line) + end for line in lines).encode())

    def _log_formatted(
        self,
        fmt: ErrorLogFormat,
        level: str,
        message: str,
        client: str | None,
        referer: bytes | None,
        headers: Sequence[tuple[bytes, bytes]] | None,
        local: str | None = None,
    ) -> None:
        if headers is None and referer:
            headers = [(b"Referer", referer)]
        host = self.server_name
        # %V: the name the request asked for (UseCanonicalName Off), else ServerName.
        named = next((v for n, v in headers or () if n.lower() == b"host"), b"")
        asked = named.decode("latin-1").rsplit(":", 1)[0] if named and named[-1:] != b"]" else ""
        asked = asked or named.decode("latin-1") or host
        out = []
        for line in message.rstrip("\n").split("\n"):
            entry = Entry(
                escape_error(line), level, self.module, client, local, host, asked, headers
            )
            text = fmt.render(entry)
            if text is not None:
                out.append(text + "\n")
        if out:
            self.dest.write("".join(out).encode("utf-8", "replace"))

    def error(
        self,
        message: str,
        client: str | None = None,
        referer: bytes | None = None,
        headers: Sequence[tuple[bytes, bytes]] | None = None,
        local: str | None = None,
    ) -> None:
        self.log("error", message, client, referer, headers, local)

    def warn(self, message: str, client: str | None = None) -> None:
        self.log("warn", message, client)

    def notice(self, message: str, client: str | None = None) -> None:
        self.log("notice", message, client)

    def info(self, message: str, client: str | None = None) -> None:
        self.log("info", message, client)

    def debug(self, message: str, client: str | None = None) -> None:
        self.log("debug", message, client)


class AccessRecord:
    """What the access log may say about one request."""

    __slots__ = (
        "bytes_in",
        "bytes_out",
        "bytes_sent",
        "client_addr",
        "client_port",
        "conn_addr",
        "duration",
        "method",
        "original_status",
        "request_headers",
        "request_line",
        "response_headers",
        "server_name",
        "server_port",
        "ssl_var",
        "start",
        "status",
        "target",
        "user",
        "version",
    )

    def __init__(self) -> None:
        self.client_addr = "-"
        self.client_port = 0
        # %{c}a: the connection's peer where it is not the client (mod_remoteip).
        self.conn_addr: Optional[str] = None
        self.user: Optional[str] = None  # the user the request named (Basic auth), if any
        self.method = ""
        self.target = ""
        self.version = ""
        self.request_line = ""
        self.status = 0
        self.original_status = 0  # before an ErrorDocument's internal redirect (%s)
        self.bytes_sent = 0
        # mod_logio: every byte read for the request (line, headers, body and
        # its chunk framing) and written for it (status line, headers, body).
        self.bytes_in = 0
        self.bytes_out = 0
        self.start = 0.0
        self.duration = 0.0
        self.request_headers: Sequence[tuple[bytes, bytes]] = ()
        self.response_headers: Sequence[tuple[str, str]] = ()
        self.server_name = ""
        self.server_port = 0
        # %{SSL_PROTOCOL}x and friends (mod_ssl): the connection's variable, or None.
        self.ssl_var: Optional[Callable[[str], Optional[str]]] = None


def _ssl_var(name: str) -> Callable[[AccessRecord], str]:
    """mod_ssl's %{VAR}x: a variable of the TLS connection, "-" on a plain one."""

    def value(r: AccessRecord) -> str:
        found = r.ssl_var(name) if r.ssl_var is not None else None
        return found or "-"

    return value


def _header_in(name: str) -> Callable[[AccessRecord], str]:
    wanted = name.lower().encode("latin-1")

    def get(r: AccessRecord) -> str:
        for n, v in r.request_headers:
            if n.lower() == wanted:
                return escape(v.decode("latin-1"))
        return "-"

    return get


def _header_out(name: str) -> Callable[[AccessRecord], str]:
    wanted = name.lower()

    def get(r: AccessRecord) -> str:
        for n, v in r.response_headers:
            if n.lower() == wanted:
                return escape(v)
        return "-"

    return get


_clf_cache: tuple[int, str] = (-1, "")


def clf_time(t: float) -> str:
    """``[10/Oct/2000:13:55:36 -0700]``, cached for the current second."""
    global _clf_cache
    second = int(t)
    cached = _clf_cache  # one tuple, so a thread never sees half an update
    if cached[0] != second:
        lt = time.localtime(second)
        off = lt.tm_gmtoff or 0
        sign = "-" if off < 0 else "+"
        off = abs(off) // 60
        text = "[%02d/%s/%d:%02d:%02d:%02d %s%02d%02d]" % (
            lt.tm_mday,
            _MONTHS[lt.tm_mon - 1],
            lt.tm_year,
            lt.tm_hour,
            lt.tm_min,
            lt.tm_sec,
            sign,
            off // 60,
            off % 60,
        )
        _clf_cache = cached = (second, text)
    return cached[1]


def _remote_user(user: Optional[str]) -> str:
    """``%u`` as mod_log_config writes it: ``-`` for none, ``""`` for an empty name."""
    if user is None:
        return "-"
    return escape(user) if user else '""'


_SIMPLE: dict[str, Callable[[AccessRecord], str]] = {
    "h": lambda r: r.client_addr,
    "a": lambda r: r.client_addr,
    "l": lambda r: "-",
    "u": lambda r: _remote_user(r.user),
    "t": lambda r: clf_time(r.start),
    "r": lambda r: escape(r.request_line),
    "s": lambda r: str(r.status),
    "b": lambda r: str(r.bytes_sent) if r.bytes_sent else "-",
    "B": lambda r: str(r.bytes_sent),
    "D": lambda r: str(int(r.duration * 1_000_000)),
    "I": lambda r: str(r.bytes_in),
    "O": lambda r: str(r.bytes_out),
    "S": lambda r: str(r.bytes_in + r.bytes_out),
    "T": lambda r: str(int(r.duration)),
    "m": lambda r: escape(r.method),
    "U": lambda r: escape(r.target.split("?", 1)[0]),
    "q": lambda r: ("?" + escape(r.target.split("?", 1)[1])) if "?" in r.target else "",
    "H": lambda r: r.version,
    "v": lambda r: r.server_name,
    "V": lambda r: r.server_name,
    "p": lambda r: str(r.server_port),
    "P": lambda r: str(os.getpid()),
    "%": lambda r: "%",
}


class LogFormatError(ValueError):
    pass


def compile_format(fmt: str) -> Callable[[AccessRecord], str]:
    """Turn an Apache ``LogFormat`` string into a function of an :class:`AccessRecord`."""
    parts: list[Callable[[AccessRecord], str]] = []
    i = 0
    n = len(fmt)
    literal: list[str] = []

    def flush_literal() -> None:
        if literal:
            text = "".join(literal)
            parts.append(lambda r, text=text: text)  # type: ignore[misc]
            literal.clear()

    while i < n:
        ch = fmt[i]
        if ch != "%":
            literal.append(ch)
            i += 1
            continue
        i += 1
        arg = None
        # Apache allows status conditions and '<'/'>' before the code; they
        # matter after an internal redirect (ErrorDocument), where %s is the
        # original request's status unless '>' asks for the final one.
        final = False
        while i < n and fmt[i] in "<>!0123456789,":
            final = final or fmt[i] == ">"
            i += 1
        if i < n and fmt[i] == "{":
            end = fmt.find("}", i)
            if end == -1:
                raise LogFormatError(f"unterminated %{{...}} in log format {fmt!r}")
            arg = fmt[i + 1 : end]
            i = end + 1
        if i >= n:
            raise LogFormatError(f"log format {fmt!r} ends with a lone '%'")
        code = fmt[i]
        i += 1
        flush_literal()
        if arg is not None and code == "i":
            parts.append(_header_in(arg))
        elif arg is not None and code == "o":
            parts.append(_header_out(arg))
        elif arg is not None and code == "T":
            scale = {"s": 1, "ms": 1000, "us": 1_000_000}.get(arg)
            if scale is None:
                raise LogFormatError(f"unknown unit %{{{arg}}}T in {fmt!r}")
            parts.append(lambda r, scale=scale: str(int(r.duration * scale)))  # type: ignore[misc]
        elif arg is not None and code == "t":
            strf = arg.split(":", 1)[1] if arg.startswith(("begin:", "end:")) else arg
            parts.append(lambda r, strf=strf: time.strftime(strf, time.localtime(r.start)))  # type: ignore[misc]
        elif arg is not None and code == "e":
            parts.append(lambda r: "-")
        elif arg == "c" and code == "a":
            parts.append(lambda r: r.conn_addr or r.client_addr)
        elif arg is not None and code == "x":
            parts.append(_ssl_var(arg))
        elif code == "s" and not final:
            parts.append(lambda r: str(r.original_status or r.status))
        elif code in _SIMPLE:
            parts.append(_SIMPLE[code])
        else:
            raise LogFormatError(f"unknown log format code %{code} in {fmt!r}")
    flush_literal()

    def render(r: AccessRecord) -> str:
        return "".join([p(r) for p in parts])

    return render


class AccessLog:
    def __init__(self, dest: LogFile, fmt: str = COMBINED) -> None:
        self.dest = dest
        self.render = compile_format(fmt)

    def log(self, record: AccessRecord) -> None:
        self.dest.write((self.render(record) + "\n").encode("utf-8", "replace"))


# -- the app's sys.stdout and sys.stderr ----------------------------------------------

_bound = threading.local()


class bound:  # lower case: used as a function, ``with bound(stream):``
    """While a request runs on this thread, ``sys.stdout`` and ``sys.stderr`` write to ``stream``.

    So the app's ``print()`` and ``logging`` output lands in the request's
    virtual host's error log with the client's address, as mod_wsgi does
    (its ``thread_info->log_buffer``). At the end, a pending partial line is
    flushed, still as the request's. (A class, not a generator-based context
    manager: this runs for every request.)
    """

    __slots__ = ("_previous", "_stream")

    def __init__(self, stream: ErrorStream) -> None:
        self._stream = stream
        self._previous: ErrorStream | None = None

    def __enter__(self) -> None:
        self._previous = getattr(_bound, "stream", None)
        _bound.stream = self._stream

    def __exit__(self, *exc_info: object) -> None:
        _bound.stream = self._previous
        self._stream.flush()


def as_process(fn: Callable[[], T]) -> T:
    """``fn()``, with what it writes to ``sys.stdout``/``sys.stderr`` the process's.

    For a script's import: mod_wsgi logs what it prints as the process's,
    with no client address, even when a request caused the import.
    """
    previous = getattr(_bound, "stream", None)
    _bound.stream = None
    try:
        return fn()
    finally:
        _bound.stream = previous


class _StdBuffer:
    """``sys.stdout.buffer``: bytes written there are decoded and logged the same way."""

    def __init__(self, owner: StdStream) -> None:
        self._owner = owner

    def write(self, data: bytes) -> int:
        self._owner.write(bytes(data).decode("utf-8", "replace"))
        return len(data)

    def flush(self) -> None:
        self._owner.flush()


class StdStream(io.TextIOBase):
    """The process's ``sys.stdout`` or ``sys.stderr``: lines into the error log.

    Inside a request (see :func:`bound`) writes go to the request's
    ``wsgi.errors``; elsewhere (an import, a thread of the app's own) to
    the process's log, with no client address. The level is ``error`` for
    both streams, as in mod_wsgi, so ``LogLevel crit`` hides them too.
    """

    def __init__(self, name: str, fd: int, log: Callable[[str], None]) -> None:
        super().__init__()
        self._name = name
        self._fd = fd
        self._own = ErrorStream(log)
        self._lock = threading.Lock()  # the process's own partial line is shared by threads
        self.buffer = _StdBuffer(self)

    @property
    def name(self) -> str:
        return self._name

    encoding = "utf-8"
    errors = "replace"
    line_buffering = True

    def write(self, text: str) -> int:
        stream = getattr(_bound, "stream", None)
        if stream is not None:
            return int(stream.write(text))
        with self._lock:
            return self._own.write(text)

    def flush(self) -> None:
        stream = getattr(_bound, "stream", None)
        if stream is not None:
            stream.flush()
            return
        with self._lock:
            self._own.flush()

    def fileno(self) -> int:
        # Descriptor 2 leads to the same error log (LogFile.mirror), so
        # faulthandler and friends can write there (mod_wsgi's has none).
        return self._fd

    def writable(self) -> bool:  # io.TextIOBase answers the rest (not readable, ...)
        return True

    def close(self) -> None:
        # Closing sys.stdout must not stop the logging of later output.
        self.flush()


def install_std_streams(log: Callable[[str], None]) -> None:
    """Replace ``sys.stdout`` and ``sys.stderr`` of this process with :class:`StdStream` objects."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:  # what is pending goes out before the switch
            stream.flush()
    sys.stdout = StdStream("<stdout>", 1, log)
    sys.stderr = StdStream("<stderr>", 2, log)
