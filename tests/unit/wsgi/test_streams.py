"""wsgihost.wsgi.streams: wsgi.input over a piecewise recv, wsgi.errors, wsgi.file_wrapper."""

from __future__ import annotations

import io
import itertools
from typing import Any

import pytest

from wsgihost.wsgi.runner import run
from wsgihost.wsgi.streams import ErrorStream, FileWrapper, InputStream

BODY = b"first line\nsecond, longer line\n\nfourth\nno newline at the end"
LINES = [b"first line\n", b"second, longer line\n", b"\n", b"fourth\n", b"no newline at the end"]
PIECES = [[1], [2, 5, 1], [3], [7, 1, 13], [64], [1 << 20]]


class PieceRecv:
    """A request body handed out in pieces of the given sizes, as a socket would.

    Fails the test if it is asked for more after it has said the body ended, or
    if it is asked for a non-positive size.
    """

    def __init__(self, body: bytes, sizes: list[int]) -> None:
        self.body = body
        self.pos = 0
        self.sizes = itertools.cycle(sizes)
        self.calls = 0
        self.ended = False
        self.errors: list[str] = []

    def __call__(self, max_bytes: int) -> bytes:
        self.calls += 1
        if self.ended:
            self.errors.append("recv() called after it returned b''")
        if max_bytes <= 0:
            self.errors.append(f"recv({max_bytes})")
        n = min(max_bytes, next(self.sizes), len(self.body) - self.pos)
        piece = self.body[self.pos : self.pos + n]
        self.pos += n
        if not piece:
            self.ended = True
        return piece


def stream(body: bytes = BODY, sizes: list[int] | None = None) -> tuple[InputStream, PieceRecv]:
    recv = PieceRecv(body, sizes or [1 << 20])
    return InputStream(recv), recv


@pytest.mark.parametrize("sizes", PIECES)
def test_read_all_returns_the_whole_body(sizes: list[int]) -> None:
    s, recv = stream(sizes=sizes)
    assert s.read() == BODY
    assert s.read() == b""
    assert s.read(10) == b""
    assert s.readline() == b""
    assert recv.errors == []


@pytest.mark.parametrize("arg", [-1, None])
def test_read_without_a_size_reads_to_the_end(arg: Any) -> None:
    s, recv = stream(sizes=[3])
    assert s.read(arg) == BODY
    assert recv.errors == []


@pytest.mark.parametrize("sizes", PIECES)
@pytest.mark.parametrize("size", [1, 4, 10, 100])
def test_read_with_a_size_never_exceeds_it_and_loses_nothing(sizes: list[int], size: int) -> None:
    s, recv = stream(sizes=sizes)
    parts = []
    while True:
        part = s.read(size)
        assert len(part) <= size
        if not part:
            break
        parts.append(part)
    assert b"".join(parts) == BODY
    assert recv.errors == []


@pytest.mark.parametrize("sizes", [[1], [3], [7, 1, 13]])
def test_read_with_a_size_returns_that_many_bytes_until_the_end(sizes: list[int]) -> None:
    # Apps commonly do wsgi.input.read(int(CONTENT_LENGTH)) and expect the whole body,
    # as from a buffered file (mod_wsgi, gunicorn and wsgiref all loop until n or EOF).
    s, _ = stream(sizes=sizes)
    assert s.read(len(BODY)) == BODY
    s, _ = stream(sizes=sizes)
    assert s.read(10) == BODY[:10]
    assert s.read(20) == BODY[10:30]


def test_read_with_a_size_after_buffering_returns_exactly_that_many() -> None:
    s, recv = stream(sizes=[4])
    assert s.readline() == LINES[0]
    # Now part of the body is buffered: read(n) takes from the buffer, then recv.
    assert s.read(15) == BODY[len(LINES[0]) : len(LINES[0]) + 15]
    assert s.read() == BODY[len(LINES[0]) + 15 :]
    assert recv.errors == []


def test_read_zero_returns_nothing_and_does_not_recv() -> None:
    s, recv = stream()
    assert s.read(0) == b""
    assert recv.calls == 0
    assert s.read() == BODY


def test_an_empty_body() -> None:
    s, recv = stream(b"")
    assert s.read(10) == b""
    assert s.read() == b""
    assert s.readline() == b""
    assert s.readlines() == []
    assert list(s) == []
    assert recv.calls == 1
    assert recv.errors == []


def test_never_recvs_again_after_the_end() -> None:
    s, recv = stream(sizes=[5])
    s.read()
    calls = recv.calls
    for _ in range(3):
        assert s.read() == b""
        assert s.read(4) == b""
        assert s.readline() == b""
        assert s.readline(3) == b""
    assert recv.calls == calls
    assert recv.errors == []


@pytest.mark.parametrize("sizes", PIECES)
def test_readline_splits_lines_across_pieces(sizes: list[int]) -> None:
    s, recv = stream(sizes=sizes)
    assert [s.readline() for _ in range(len(LINES) + 2)] == [*LINES, b"", b""]
    assert recv.errors == []


@pytest.mark.parametrize("sizes", PIECES)
def test_readline_with_a_size_stops_at_the_size(sizes: list[int]) -> None:
    s, recv = stream(b"hello\nworld\nend", sizes)
    assert s.readline(3) == b"hel"
    assert s.readline(10) == b"lo\n"
    assert s.readline(6) == b"world\n"
    assert s.readline(0) == b""
    assert s.readline(None) == b"end"
    assert s.readline(5) == b""
    assert recv.errors == []


def test_readline_with_a_size_keeps_the_rest_for_the_next_read() -> None:
    s, _ = stream(b"abcdefgh\nij", [100])
    assert s.readline(4) == b"abcd"
    assert s.read(2) == b"ef"
    assert s.readline() == b"gh\n"
    assert s.read() == b"ij"


@pytest.mark.parametrize("sizes", PIECES)
def test_readlines_returns_every_line(sizes: list[int]) -> None:
    s, recv = stream(sizes=sizes)
    assert s.readlines() == LINES
    assert s.readlines() == []
    assert recv.errors == []


def test_readlines_with_a_hint_stops_once_the_hint_is_reached() -> None:
    s, _ = stream(b"a\nbb\nccc\ndddd\n", [2])
    assert s.readlines(4) == [b"a\n", b"bb\n"]
    assert s.readlines(1) == [b"ccc\n"]
    assert s.read() == b"dddd\n"


@pytest.mark.parametrize("hint", [0, -1, None])
def test_readlines_without_a_positive_hint_reads_everything(hint: Any) -> None:
    s, _ = stream(sizes=[3])
    assert s.readlines(hint) == LINES


@pytest.mark.parametrize("sizes", PIECES)
def test_iteration_yields_lines(sizes: list[int]) -> None:
    s, recv = stream(sizes=sizes)
    assert iter(s) is s
    assert list(s) == LINES
    assert list(s) == []
    assert recv.errors == []


def test_a_body_larger_than_the_internal_chunk() -> None:
    body = bytes(range(256)) * 1000 + b"\nend"
    s, recv = stream(body, [4096, 65536, 100_000])
    assert s.readline() == body[: body.index(b"\n") + 1]
    assert s.read() == body[body.index(b"\n") + 1 :]
    assert recv.errors == []


def test_an_error_from_recv_reaches_the_app() -> None:
    def recv(n: int) -> bytes:
        raise OSError("the client closed the connection")

    with pytest.raises(OSError, match="client closed"):
        InputStream(recv).read(10)


# -- wsgi.errors ------------------------------------------------------------------


def test_error_stream_logs_lines_and_flushes_at_each_newline_like_mod_wsgi() -> None:
    # mod_wsgi's wsgi.errors is a line-buffered, write-through TextIOWrapper:
    # text without a newline waits; a write with one flushes all it holds.
    logged: list[str] = []
    errors = ErrorStream(logged.append)
    errors.write("partial")
    assert logged == []
    errors.write(" line\nsecond\nthi")
    assert logged == ["partial line", "second", "thi"]
    errors.write("rd\n")
    assert logged == ["partial line", "second", "thi", "rd"]


def test_print_of_a_multi_line_string_ends_with_an_empty_line_as_in_apache() -> None:
    # Apache + mod_wsgi 4.9 log print("PM1\nPM2") as "PM1", "PM2" and "".
    logged: list[str] = []
    print("PM1\nPM2", file=ErrorStream(logged.append))  # type: ignore[arg-type]
    assert logged == ["PM1", "PM2", ""]


def test_error_stream_flush_logs_the_pending_text() -> None:
    logged: list[str] = []
    errors = ErrorStream(logged.append)
    errors.flush()
    assert logged == []
    errors.write("no newline")
    errors.flush()
    assert logged == ["no newline"]
    errors.flush()
    assert logged == ["no newline"]


def test_error_stream_keeps_empty_lines() -> None:
    logged: list[str] = []
    errors = ErrorStream(logged.append)
    errors.write("a\n\nb\n")
    assert logged == ["a", "", "b"]


def test_error_stream_works_with_print_and_writelines() -> None:
    logged: list[str] = []
    errors = ErrorStream(logged.append)
    print("hello", "world", file=errors)  # type: ignore[arg-type]
    errors.writelines(["one\n", "tw", "o\n"])
    assert logged == ["hello world", "one", "two"]


def test_error_stream_rejects_bytes() -> None:
    errors = ErrorStream(lambda line: None)
    with pytest.raises(TypeError, match="must be str, not bytes"):
        errors.write(b"bytes")  # type: ignore[arg-type]


# -- wsgi.file_wrapper ---------------------------------------------------------------


def test_file_wrapper_yields_blocks_of_the_block_size() -> None:
    f = io.BytesIO(b"0123456789")
    assert list(FileWrapper(f, 4)) == [b"0123", b"4567", b"89"]


def test_file_wrapper_close_closes_the_file() -> None:
    f = io.BytesIO(b"data")
    wrapper = FileWrapper(f)
    wrapper.close()
    assert f.closed


def test_file_wrapper_without_close_on_the_file_has_no_close() -> None:
    class Reader:
        def __init__(self) -> None:
            self.data = [b"x", b""]

        def read(self, n: int) -> bytes:
            return self.data.pop(0)

    wrapper = FileWrapper(Reader())
    assert not hasattr(wrapper, "close")
    assert list(wrapper) == [b"x"]


def test_file_wrapper_through_the_runner_sends_the_file_and_closes_it() -> None:
    class Sink:
        def __init__(self) -> None:
            self.data: list[bytes] = []
            self.closed = False

        def send(self, head: Any, data: bytes, end: bool) -> None:
            self.data.append(data)

        def abort(self) -> None:
            raise AssertionError("aborted")

    content = b"file content " * 10_000
    f = io.BytesIO(content)

    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Length", str(len(content)))])
        return environ["wsgi.file_wrapper"](f, 8192)

    sink = Sink()
    log: list[str] = []
    status, sent = run(
        lambda: app, {"REQUEST_METHOD": "GET", "wsgi.file_wrapper": FileWrapper}, sink, log.append
    )
    assert (status, sent) == (200, len(content))
    assert b"".join(sink.data) == content
    assert f.closed
    assert log == []
