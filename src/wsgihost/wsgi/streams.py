"""``wsgi.input``, ``wsgi.errors`` and ``wsgi.file_wrapper``, for both modes.

Each mode supplies only a primitive: a ``recv(max_bytes)`` that returns the
next piece of the request body (``b""`` at its end) for the input stream, and a
``log(line)`` for the error stream. Buffering, ``readline``, iteration and the
line rules of the error stream (which ``sys.stdout`` and ``sys.stderr`` share,
see :mod:`wsgihost.logs`) are written once, here.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, List, Optional

RecvFn = Callable[[int], bytes]


class InputStream:
    """A request body as PEP 3333's ``wsgi.input``; never reads past the body."""

    __slots__ = ("_buf", "_eof", "_recv")

    CHUNK = 65536

    def __init__(self, recv: RecvFn) -> None:
        self._recv = recv
        self._buf = b""
        self._eof = False

    def _fill(self) -> bool:
        """Append the next piece of body to the buffer; False at the end."""
        if self._eof:
            return False
        data = self._recv(self.CHUNK)
        if not data:
            self._eof = True
            return False
        self._buf += data
        return True

    def read(self, size: Optional[int] = -1) -> bytes:
        if size is None or size < 0:
            parts = [self._buf]
            self._buf = b""
            while not self._eof:
                data = self._recv(self.CHUNK)
                if not data:
                    self._eof = True
                    break
                parts.append(data)
            return b"".join(parts)
        if not self._buf and not self._eof and size > 0:
            # The common case: one received piece is exactly what was asked
            # for, handed over without copying. Otherwise keep reading: like
            # a file, read(n) returns fewer bytes only at the end of the body.
            data = self._recv(size)
            if not data:
                self._eof = True
                return data
            if len(data) == size:
                return data
            self._buf = data
        while len(self._buf) < size and self._fill():
            pass
        data, self._buf = self._buf[:size], self._buf[size:]
        return data

    def readline(self, size: Optional[int] = -1) -> bytes:
        limit = -1 if size is None else size
        start = 0
        while True:
            pos = self._buf.find(b"\n", start)
            if pos != -1:
                end = pos + 1
                break
            if 0 <= limit <= len(self._buf):
                end = limit
                break
            start = len(self._buf)
            if not self._fill():
                end = len(self._buf)
                break
        if 0 <= limit < end:
            end = limit
        line, self._buf = self._buf[:end], self._buf[end:]
        return line

    def readlines(self, hint: Optional[int] = -1) -> List[bytes]:
        lines = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                break
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


class ErrorStream:
    """``wsgi.errors``: text written by the app, logged a line at a time.

    It behaves as mod_wsgi 4.9's does (an ``io.TextIOWrapper`` with
    ``line_buffering`` and ``write_through`` over its ``Log`` object, see
    ``newLogWrapperObject`` in mod_wsgi's ``wsgi_logger.c``): each complete
    line is logged; text without a newline waits; a write that contains a
    newline also flushes what follows its last newline. So ``print("a\nb")``
    logs ``a``, ``b`` and an empty line, exactly as Apache's error log shows
    it. :meth:`flush` logs a pending partial line, and the end of a request
    flushes it (:func:`wsgihost.logs.bound`).
    """

    __slots__ = ("_log", "_pending")

    encoding = "utf-8"
    errors = "replace"
    line_buffering = True
    closed = False

    def __init__(self, log: Callable[[str], None]) -> None:
        self._log = log
        self._pending = ""

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        if "\n" not in text:
            self._pending += text
            return len(text)
        *lines, rest = (self._pending + text).split("\n")
        self._pending = ""
        log = self._log
        for line in lines:
            log(line)
        if rest:
            log(rest)  # line buffering flushes the text after the last newline too
        return len(text)

    def writelines(self, seq: Iterable[str]) -> None:
        for text in seq:
            self.write(text)

    def flush(self) -> None:
        if self._pending:
            line, self._pending = self._pending, ""
            self._log(line)

    def isatty(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


class FileWrapper:
    """``wsgi.file_wrapper``: iterate a file-like object in blocks, close it after."""

    def __init__(self, filelike: Any, blksize: int = 65536) -> None:
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        data = self.filelike.read(self.blksize)
        if data:
            return bytes(data)
        raise StopIteration
