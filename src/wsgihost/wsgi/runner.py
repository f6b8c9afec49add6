"""Run one WSGI request: PEP 3333's rules, enforced at one boundary.

Embedded mode (a front-end worker's thread) and daemon mode (a daemon
process's thread) both call :func:`run`; only the :class:`ResponseSink` that
carries the response out differs. The rules kept here:

* ``start_response`` validates the status line and every header (names are
  tokens, values hold no control byte but HTAB: RFC 9110 5.5) so a bad header becomes
  a 500 instead of a response splitting bug;
* a second ``start_response`` needs ``exc_info``, and re-raises it once the
  head is out (PEP 3333);
* the head goes out with the first non-empty body chunk, or at the end;
* the bytes sent are checked against a declared Content-Length;
* the iterable's ``close()`` is always called;
* an error before the head is out gives a 500 and a traceback in the error
  log; after it, the response is aborted, since the client can no longer be
  told.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import traceback
from typing import Any, Callable, List, Optional, Protocol, Tuple

from wsgihost import errorpages
from wsgihost.wsgi.input_error import InputError
from wsgihost.wsgi.streams import FileWrapper

Headers = List[Tuple[str, str]]
Head = Tuple[str, Headers]

_STATUS = re.compile(r"[1-9][0-9][0-9]( [^\x00-\x08\x0a-\x1f\x7f]*)?\Z")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# RFC 9110 5.5 field-content: no control byte but HTAB (Apache 2.4 answers 500
# to a response whose header value holds one, HttpProtocolOptions Strict).
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

ERROR_500 = errorpages.page(500)  # Apache's page, as mod_wsgi's failed request gets


class ResponseSink(Protocol):
    """Where a response goes. Called from the thread running the app.

    ``send`` carries the head (status and headers, only on the first call)
    with some body bytes; ``end`` marks the last call. ``abort`` says the
    response cannot be completed, so the connection must be closed. ``closed``
    turns true when the client has gone, so the runner stops producing.
    (A protocol, not a base class: the front end's request and the daemon's
    frame sink are unrelated classes, and compiled code checks base classes.)
    """

    closed: bool

    def send(self, head: Optional[Head], data: bytes, end: bool) -> None: ...

    def abort(self) -> None: ...


class ResponseError(Exception):
    """The app broke the WSGI contract (bad status, bad header, wrong type...)."""


def validate_status(status: Any) -> str:
    if not isinstance(status, str):
        raise ResponseError(f"status must be str, not {type(status).__name__}: {status!r}")
    if not _STATUS.match(status):
        raise ResponseError(f"invalid status line {status!r}")
    if status[0] == "1":
        raise ResponseError(f"{status!r} is not a final status (1xx are for the server)")
    try:
        status.encode("latin-1")
    except UnicodeEncodeError:
        raise ResponseError(f"status line {status!r} is not latin-1") from None
    return status


def validate_headers(headers: Any) -> Tuple[Headers, Optional[int]]:
    """Check the app's headers; return them and the declared Content-Length."""
    if not isinstance(headers, list):
        raise ResponseError(f"headers must be a list, not {type(headers).__name__}")
    length: Optional[int] = None
    for item in headers:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise ResponseError(f"header must be a (name, value) tuple: {item!r}")
        name, value = item
        if not (isinstance(name, str) and isinstance(value, str)):
            raise ResponseError(f"header name and value must be str: {item!r}")
        if not _TOKEN.match(name):
            raise ResponseError(f"invalid header name {name!r}")
        if _BAD_VALUE.search(value):
            raise ResponseError(
                f"header {name!r} has a CR, LF or NUL or other control character "
                f"in its value {value!r}"
            )
        if len(name) == 14 and name.lower() == "content-length":
            text = value.strip()
            if not (text.isascii() and text.isdigit()):
                raise ResponseError(f"invalid Content-Length {value!r}")
            if length is not None and int(text) != length:
                raise ResponseError("two different Content-Length headers")
            length = int(text)
    try:
        for name, value in headers:
            name.encode("latin-1")
            value.encode("latin-1")
    except UnicodeEncodeError as e:
        raise ResponseError(f"header not encodable as latin-1: {e}") from None
    return headers, length


class _Response:
    """The state of one response while the app produces it."""

    __slots__ = ("declared", "head", "head_sent", "is_head", "log", "sent", "sink", "status_code")

    def __init__(self, sink: ResponseSink, log: Callable[[str], None], is_head: bool) -> None:
        self.is_head = is_head
        self.sink = sink
        self.log = log
        self.head: Optional[Head] = None
        self.head_sent = False
        self.declared: Optional[int] = None
        self.sent = 0
        self.status_code = 0

    def start_response(
        self, status: Any, headers: Any, exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info:
            try:
                if self.head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # break the reference cycle through the frame
        elif self.head is not None:
            raise ResponseError("start_response() called a second time without exc_info")
        status = validate_status(status)
        headers, self.declared = validate_headers(headers)
        self.head = (status, headers)
        self.status_code = int(status[:3])
        return self.write

    def write(self, data: Any) -> None:
        if self.head is None:
            raise ResponseError("write() called before start_response()")
        if type(data) is not bytes:
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise ResponseError(f"response data must be bytes, not {type(data).__name__}")
            data = bytes(data)
        if data:
            self.push(data, False)

    def push(self, data: bytes, end: bool) -> None:
        declared = self.declared
        if declared is not None:
            if self.sent + len(data) > declared:
                self.log(
                    f"response is longer than its Content-Length ({declared}); "
                    "the extra bytes were not sent"
                )
                data = data[: max(0, declared - self.sent)]
            elif end and self.sent + len(data) < declared and self.body_expected:
                self.log(
                    f"response is shorter than its Content-Length: {self.sent + len(data)} "
                    f"of {declared} bytes; closing the connection"
                )
                self._send(data, False)
                self.sink.abort()
                return
        self._send(data, end)

    def _send(self, data: bytes, end: bool) -> None:
        self.sent += len(data)
        if self.head_sent:
            if data or end:
                self.sink.send(None, data, end)
        else:
            self.head_sent = True
            self.sink.send(self.head, data, end)

    def length_from_file(self, wrapper: FileWrapper) -> None:
        """A Content-Length for a ``wsgi.file_wrapper`` of a regular file that has none.

        As mod_wsgi does: the rest of the file from where it stands is the
        body, so the client gets a length instead of a chunked (or, under
        HTTP/1.0, close-delimited) response.
        """
        code = self.status_code
        if self.head is None or self.head_sent or code < 200 or code in (204, 304):
            return
        try:
            fd = wrapper.filelike.fileno()
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return
            left = max(0, st.st_size - wrapper.filelike.tell())
        except (AttributeError, OSError, ValueError):
            return  # not a real file: its pieces go as they come
        status, headers = self.head
        self.head = (status, [*headers, ("Content-Length", str(left))])
        self.declared = left

    @property
    def body_expected(self) -> bool:
        """False where HTTP sends no body, whatever Content-Length says (RFC 9110 8.6)."""
        code = self.status_code
        return not (self.is_head or code < 200 or code in (204, 304))


def _as_bytes(chunk: Any) -> bytes:
    if type(chunk) is bytes:
        return chunk
    if isinstance(chunk, (bytearray, memoryview)):
        return bytes(chunk)
    raise ResponseError(f"response iterable yielded {type(chunk).__name__}, not bytes")


def run(
    load_app: Callable[[], Callable[..., Any]],
    environ: dict,  # type: ignore[type-arg]
    sink: ResponseSink,
    log: Callable[[str], None],
) -> Tuple[int, int]:
    """Call the app for one request; return (status code, body bytes sent).

    ``log`` receives error messages, tracebacks included; it must not raise.
    """
    response = _Response(sink, log, environ.get("REQUEST_METHOD") == "HEAD")
    # Any, not Iterable[bytes]: what the app returns is checked here, and a
    # narrowed type (a one-item tuple as Tuple[bytes]) would be checked by
    # compiled code first, with its own error for a memoryview body.
    result: Any = None
    try:
        app = load_app()
        result = app(environ, response.start_response)
        if type(result) is FileWrapper and response.declared is None:
            response.length_from_file(result)
        if type(result) is list or type(result) is tuple:
            # The common case: the whole body is known now, so the head and
            # body can travel together in one hand-over.
            if response.head is None:
                raise ResponseError("the app returned without calling start_response()")
            if len(result) == 1:
                body = _as_bytes(result[0])
            else:
                body = b"".join([_as_bytes(c) for c in result])
            response.push(body, True)
        else:
            for chunk in result:
                data = _as_bytes(chunk)
                if response.head is None:
                    raise ResponseError("the app yielded body data before start_response()")
                if data:
                    response.push(data, False)
                    if sink.closed:
                        break
            if response.head is None:
                raise ResponseError("the app returned without calling start_response()")
            response.push(b"", True)
    except BaseException as e:
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            log(f"the app raised {type(e).__name__}; the request failed")
        _fail(response, log, sys.exc_info(), environ)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            try:
                close()
            except BaseException:
                log("exception while closing the response iterable:\n" + _format(sys.exc_info()))
    return response.status_code, response.sent


def _format(exc_info: Any) -> str:
    kind, value, tb = exc_info
    # The app's frames, as mod_wsgi shows them: not the runner's own call. By
    # the frame's module, not its file: compiled, this module's frames name
    # the source it was built from, not the __file__ it runs as.
    while (
        tb is not None
        and tb.tb_next is not None
        and tb.tb_frame.f_globals.get("__name__") == __name__
    ):
        tb = tb.tb_next
    return "".join(traceback.format_exception(kind, value, tb)).rstrip("\n")


def _fail(response: _Response, log: Callable[[str], None], exc_info: Any, environ: Any) -> None:
    script = str(environ.get("SCRIPT_FILENAME", ""))
    if isinstance(exc_info[1], InputError):
        # Not a bug in the app: the body could not be had (the front end
        # answers the client and logs why). One line, no traceback.
        log(f"the request failed: {exc_info[1]}")
    else:
        # mod_wsgi 4.9's words (wsgi_log_python_error), then the traceback.
        log(
            f"mod_wsgi (pid={os.getpid()}): Exception occurred processing WSGI script "
            f"'{script}'.\n" + _format(exc_info)
        )
    if response.head_sent:
        response.sink.abort()
        return
    response.status_code = 500
    # Apache's page names the host's ServerAdmin and carries its ServerSignature.
    body = errorpages.page(
        500,
        admin=str(environ.get("SERVER_ADMIN") or errorpages.NO_ADMIN),
        address=str(environ.get("SERVER_SIGNATURE") or ""),
    )
    response.sent = len(body)
    response.head_sent = True
    response.sink.send(
        (
            "500 Internal Server Error",
            [
                ("Content-Type", errorpages.CONTENT_TYPE),
                ("Content-Length", str(len(body))),
            ],
        ),
        body,
        True,
    )
