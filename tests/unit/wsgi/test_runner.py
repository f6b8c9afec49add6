"""wsgihost.wsgi.runner: PEP 3333's rules at the app boundary, with a recording sink."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wsgihost.wsgi.runner import (
    ERROR_500,
    ResponseError,
    run,
    validate_headers,
    validate_status,
)
from wsgihost.wsgi.streams import FileWrapper

OK = ("200 OK", [("Content-Type", "text/plain")])


class RecordingSink:
    """Records every call; notes (rather than raises) misuse, since run() catches errors."""

    def __init__(self, close_after_sends: int | None = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.misuse: list[str] = []
        self.closed = False
        self._close_after = close_after_sends

    def send(self, head: Any, data: bytes, end: bool) -> None:
        sends = [c for c in self.calls if c[0] == "send"]
        if type(data) is not bytes:
            self.misuse.append(f"data of type {type(data).__name__}")
        if not sends and head is None:
            self.misuse.append("first send without a head")
        if sends and head is not None:
            self.misuse.append("head sent twice")
        if any(c[3] for c in sends) or self.aborted:
            self.misuse.append("send after the end")
        self.calls.append(("send", head, data, end))
        if self._close_after is not None and len(sends) + 1 >= self._close_after:
            self.closed = True

    def abort(self) -> None:
        self.calls.append(("abort",))

    # -- what the client would have seen --------------------------------------

    @property
    def head(self) -> Any:
        heads = [c[1] for c in self.calls if c[0] == "send" and c[1] is not None]
        return heads[0] if heads else None

    @property
    def status(self) -> str:
        return str(self.head[0])

    @property
    def headers(self) -> list[tuple[str, str]]:
        return list(self.head[1])

    @property
    def body(self) -> bytes:
        return b"".join(c[2] for c in self.calls if c[0] == "send")

    @property
    def ended(self) -> bool:
        return any(c[0] == "send" and c[3] for c in self.calls)

    @property
    def aborted(self) -> bool:
        return any(c[0] == "abort" for c in self.calls)

    @property
    def sends(self) -> list[tuple[Any, ...]]:
        return [c for c in self.calls if c[0] == "send"]


class Result:
    def __init__(self, returned: tuple[int, int], sink: RecordingSink, log: list[str]) -> None:
        self.returned = returned
        self.sink = sink
        self.log = log

    @property
    def logtext(self) -> str:
        return "\n".join(self.log)


def serve(
    app: Callable[..., Any],
    method: str = "GET",
    sink: RecordingSink | None = None,
) -> Result:
    sink = sink if sink is not None else RecordingSink()
    log: list[str] = []
    returned = run(lambda: app, {"REQUEST_METHOD": method}, sink, log.append)
    assert sink.misuse == []
    return Result(returned, sink, log)


def assert_500(res: Result) -> None:
    """The client got the canned 500 page, completely and once."""
    assert res.sink.status == "500 Internal Server Error"
    assert res.sink.body == ERROR_500
    assert ("Content-Length", str(len(ERROR_500))) in res.sink.headers
    assert res.sink.ended
    assert not res.sink.aborted
    assert res.returned == (500, len(ERROR_500))


class Closing:
    """A response iterable with a close() method, as PEP 3333 allows."""

    def __init__(self, chunks: list[bytes], fail_at: int | None = None) -> None:
        self.chunks = chunks
        self.fail_at = fail_at
        self.closed = 0
        self.produced = 0

    def __iter__(self) -> Iterator[bytes]:
        for i, chunk in enumerate(self.chunks):
            if i == self.fail_at:
                raise RuntimeError("iteration failed")
            self.produced += 1
            yield chunk

    def close(self) -> None:
        self.closed += 1


# -- the list fast path ---------------------------------------------------------


@pytest.mark.parametrize("container", [list, tuple])
def test_list_body_goes_out_with_the_head_in_one_send(container: Any) -> None:
    def app(environ: Any, start_response: Any) -> Any:
        start_response(*OK)
        return container([b"hello ", bytearray(b"wide "), memoryview(b"world")])

    res = serve(app)
    assert res.sink.calls == [("send", OK, b"hello wide world", True)]
    assert res.returned == (200, 16)
    assert res.log == []


@pytest.mark.parametrize("container", [list, tuple])
@pytest.mark.parametrize("item", [b"one", bytearray(b"one"), memoryview(b"one")])
def test_a_one_item_body_of_any_bytes_like_is_sent(container: Any, item: Any) -> None:
    # The compiled runner must not narrow a one-item tuple to (bytes,) and
    # refuse a memoryview before our own check sees it.
    def app(environ: Any, start_response: Any) -> Any:
        start_response(*OK)
        return container([item])

    res = serve(app)
    assert res.sink.calls == [("send", OK, b"one", True)]
    assert res.log == []


@pytest.mark.parametrize("container", [list, tuple])
def test_a_one_item_body_of_str_is_our_500(container: Any) -> None:
    def app(environ: Any, start_response: Any) -> Any:
        start_response(*OK)
        return container(["not bytes"])

    res = serve(app)
    assert_500(res)
    assert "ResponseError: response iterable yielded str, not bytes" in res.logtext


def test_empty_list_sends_the_head_and_ends() -> None:
    def app(environ: Any, start_response: Any) -> Any:
        start_response("204 No Content", [])
        return []

    res = serve(app)
    assert res.sink.calls == [("send", ("204 No Content", []), b"", True)]
    assert res.returned == (204, 0)


def test_list_returned_without_start_response_is_a_500() -> None:
    res = serve(lambda environ, start_response: [b"app body"])
    assert_500(res)
    assert b"app body" not in res.sink.body
    assert "without calling start_response()" in res.logtext


def test_list_with_a_str_item_is_a_500() -> None:
    def app(environ: Any, start_response: Any) -> Any:
        start_response(*OK)
        return [b"ok", "not bytes"]

    res = serve(app)
    assert_500(res)
    assert "str" in res.logtext


# -- the generator path -----------------------------------------------------------


def test_head_waits_for_the_first_non_empty_chunk() -> None:
    def app(environ: Any, start_response: Any) -> Iterator[bytes]:
        start_response(*OK)
        yield b""
        yield b""
        yield b"first"
        yield b""
        yield b"second"

    res = serve(app)
    assert res.sink.calls == [
        ("send", OK, b"first", False),
        ("send", None, b"second", False),
        ("send", None, b"", True),
    ]
    assert res.returned == (200, 11)


def test_generator_of_only_empty_chunks_sends_the_head_at_the_end() -> None:
    def app(environ: Any, start_response: Any) -> Iterator[bytes]:
        start_response(*OK)
        yield b""
        yield b""

    res = serve(app)
    assert res.sink.calls == [("send", OK, b"", True)]


def test_start_response_may_be_called_lazily_inside_the_generator() -> None:
    def app(environ: Any, start_response: Any) -> Iterator[bytes]:
        start_response("201 Created", [("X-Lazy", "yes")])
        yield b"made"

    res = serve(app)
    assert res.sink.status == "201 Created"
    assert res.sink.headers == [("X-Lazy", "yes")]
    assert res.sink.body == b"made"
    assert res.returned == (201, 4)


def test_generator_yielding_data_before_start_response_is_a_500() -> None:
    def app(environ: Any, start_response: Any) -> Iterator[bytes]:
        yield b"too early"
        start_response(*OK)

    res = serve(app)
    assert_500(res)
    assert "before start_response()" in res.logtext


def test_generator_finishing_without_start_response_is_a_500() -> None:
    def app(environ: Any, start_response: Any) -> Iterator[bytes]:
        return
        yield b""

    res = serve(app)
    assert_500(res)
    assert "without calling start_response()" in res.logtext


@pytest.mark.parametrize(
    "returned, kind",
    [(b"bytes, not a list of bytes", "int"), ("a str", "str"), (None, "NoneType")],
)
def test_a_body_that_is_not_an_iterable_of_bytes_is_a_500(returned: Any, kind: str) -> None:
    def app(environ: Any, start_response: Any) -> Any:
        start_response(*OK)
        return returned

    res = serve(app)
    assert_500(res)
    assert kind in res.logtext


# -- write() ------------------------------------------------------------------------


def test_write_sends_the_head_with_its_first_non_empty_data() -> None:
    def app(environ: Any, start_response: Any) -> Any:
        write = start_response(*OK)
        write(b"")
        write(b"one,")
        write(bytearray(b"two,"))
        return [b"three"]

    res = serve(app)
    assert res.sink.calls == [
        ("send", OK, b"one,", False),
        ("send", None, b"two,", False),
        ("send", None, b"three", True),
    ]
    assert res.returned == (200, 13)


def test_write_of_a_str_is_a_500_before_the_head_is_out() -> None:
    def app(environ: Any, start_response: Any) -> Any:
        write = start_response(*OK)
        write("text")
        return []

    res = serve(app)
    assert_500(res)
    assert "must be bytes" in res.logtext


# -- start_response validation ---------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    [
        b"200 OK",
        200,
        "OK",
        "20 OK",
        "2000 OK",
        "200OK",
        "099 Low",
        "200 OK\r\nX-Injected: 1",
        "200 OK\n",
        "200 OK\x00",
        "",
    ],
)
def test_an_invalid_status_is_a_500(status: Any) -> None:
    def app(environ: Any, start_response: Any) -> Any:
        start_response(status, [])
        return [b"never sent"]

    res = serve(app)
    assert_500(res)
    assert "status" in res.logtext


@pytest.mark.parametrize("status", ["200 OK", "200", "404 Not Found", "299 Custom: reason\t!"])
def test_valid_status_lines_are_accepted(status: str) -> None:
    assert validate_status(status) == status


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Split", "a\r\nSet-Cookie: evil=1")],
        [("X-Split", "a\rb")],
        [("X-Split", "a\nb")],
        [("X-Nul", "a\x00b")],
        [("X Space", "v")],
        [("X-Colon:", "v")],
        [("", "v")],
        [("X-Bad\r\n", "v")],
        [("X-Bytes", b"v")],
        [(b"X-Bytes", "v")],
        [("X-Three", "v", "extra")],
        [["X-List", "v"]],
        (("X-Tuple-Of-Headers", "v"),),
        [("X-Not-Latin-1", "\u20ac")],
        [("Content-Length", "abc")],
        [("Content-Length", "-1")],
        [("Content-Length", "")],
    ],
)
def test_an_invalid_header_is_a_500_and_is_never_sent(headers: Any) -> None:
    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", headers)
        return [b"never sent"]

    res = serve(app)
    assert_500(res)
    assert b"evil" not in res.sink.body
    assert all(name != "X-Split" for name, _ in res.sink.headers)
    assert "ResponseError" in res.logtext


def test_validate_headers_returns_the_declared_content_length() -> None:
    headers = [("Content-Type", "text/plain"), ("content-length", " 42 ")]
    assert validate_headers(headers) == (headers, 42)
    assert validate_headers([("X-A", "latin-1 \u00e9")])[1] is None


def test_a_superscript_digit_content_length_is_a_response_error() -> None:
    with pytest.raises(ResponseError):
        validate_headers([("Content-Length", "\u00b2")])


def test_conflicting_content_lengths_never_reach_the_client() -> None:
    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Length", "5"), ("Content-Length", "7")])
        return [b"hello"]

    res = serve(app)
    lengths = {v.strip() for n, v in res.sink.headers if n.lower() == "content-length"}
    assert len(lengths) == 1


# -- a second start_response -----------------------------------------------------------


def test_second_start_response_without_exc_info_is_an_error() -> None:
    raised: list[BaseException] = []

    def app(environ: Any, start_response: Any) -> Any:
        start_response(*OK)
        try:
            start_response("404 Not Found", [])
        except ResponseError as e:
            raised.append(e)
        return [b"first head stands"]

    res = serve(app)
    assert len(raised) == 1
    assert "second time" in str(raised[0])
    assert res.sink.status == "200 OK"
    assert res.sink.body == b"first head stands"


def test_second_start_response_without_exc_info_uncaught_gives_a_500() -> None:
    def app(environ: Any, start_response: Any) -> Any:
        start_response(*OK)
        start_response("404 Not Found", [])
        return [b"unreachable"]

    res = serve(app)
    assert_500(res)
    assert "second time" in res.logtext


def test_exc_info_before_the_head_is_out_replaces_the_head() -> None:
    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Length", "100")])
        try:
            raise ValueError("app failure")
        except ValueError:
            start_response("503 Service Unavailable", [("Retry-After", "5")], sys.exc_info())
        return [b"try later"]

    res = serve(app)
    assert res.sink.calls == [
        ("send", ("503 Service Unavailable", [("Retry-After", "5")]), b"try later", True)
    ]
    assert res.returned == (503, 9)
    # The replaced head's Content-Length no longer applies.
    assert res.log == []


def test_exc_info_on_a_first_call_is_accepted() -> None:
    def app(environ: Any, start_response: Any) -> Any:
        try:
            raise KeyError("x")
        except KeyError:
            start_response("500 Oops", [], sys.exc_info())
        return [b"custom error page"]

    res = serve(app)
    assert res.sink.status == "500 Oops"
    assert res.sink.body == b"custom error page"


def test_exc_info_after_the_head_is_out_reraises_and_aborts() -> None:
    original = ValueError("failed mid-stream")
    reraised: list[BaseException] = []

    def app(environ: Any, start_response: Any) -> Iterator[bytes]:
        start_response(*OK)
        yield b"partial"
        try:
            raise original
        except ValueError:
            try:
                start_response("500 Internal Server Error", [], sys.exc_info())
            except BaseException as e:
                reraised.append(e)
                raise

    res = serve(app)
    assert reraised == [original]
    assert res.sink.calls == [("send", OK, b"partial", False), ("abort",)]
    assert "ValueError: failed mid-stream" in res.logtext
    assert res.returned == (200, 7)


# -- close() ------------------------------------------------------------------------------


def test_close_is_called_after_a_complete_response() -> None:
    body = Closing([b"a", b"b"])

    def app(environ: Any, start_response: Any) -> Any:
        start_response(*OK)
        return body

    res = serve(app)
    assert res.sink.body == b"ab"
    assert body.closed == 1


def test_close_is_called_when_iteration_raises_before_the_head() -> None:
    body = Closing([b"a"], fail_at=0)

    def app(environ: Any, start_response: Any) -> Any:
        start_response(*OK)
        return body

    res = serve(app)
    assert_500(res)
    assert body.closed == 1
    assert "RuntimeError: iteration failed" in res.logtext


def test_close_is_called_when_iteration_raises_after_the_head() -> None:
    body = Closing([b"a", b"b", b"c"], fail_at=2)

    def app(environ: Any, start_response: Any) -> Any:
        start_response(*OK)
        return body

    res = serve(app)
    assert res.sink.calls == [
        ("send", OK, b"a", False),
        ("send", None, b"b", False),
        ("abort",),
    ]
    assert body.closed == 1


def test_close_is_called_when_the_body_yields_a_bad_type() -> None:
    body = Closing([b"ok", "bad"])  # type: ignore[list-item]

    def app(environ: Any, start_response: Any) -> Any:
        start_response(*OK)
        return body

    res = serve(app)
    assert res.sink.aborted
    assert body.closed == 1


def test_close_is_called_when_a_header_is_invalid_in_a_lazy_generator() -> None:
    closed: list[bool] = []

    def app(environ: Any, start_response: Any) -> Iterator[bytes]:
        try:
            start_response("200 OK", [("X-Bad", "a\nb")])
            yield b"unreachable"
        finally:
            closed.append(True)

    res = serve(app)
    assert_500(res)
    assert closed == [True]


def test_generator_close_runs_its_finally_when_the_client_is_gone() -> None:
    produced: list[int] = []
    finished: list[bool] = []

    def app(environ: Any, start_response: Any) -> Iterator[bytes]:
        start_response(*OK)
        try:
            for i in range(1000):
                produced.append(i)
                yield b"chunk"
        finally:
            finished.append(True)

    res = serve(app, sink=RecordingSink(close_after_sends=2))
    # The runner stopped pulling chunks as soon as the sink said the client was gone.
    assert produced == [0, 1]
    assert finished == [True]
    assert res.sink.body == b"chunkchunk"


def test_close_is_called_when_the_client_is_gone() -> None:
    body = Closing([b"x"] * 50)

    def app(environ: Any, start_response: Any) -> Any:
        start_response(*OK)
        return body

    serve(app, sink=RecordingSink(close_after_sends=1))
    assert body.produced == 1
    assert body.closed == 1


def test_an_exception_in_close_is_logged_and_the_response_stands() -> None:
    class BadClose(Closing):
        def close(self) -> None:
            super().close()
            raise OSError("close failed")

    body = BadClose([b"fine"])

    def app(environ: Any, start_response: Any) -> Any:
        start_response(*OK)
        return body

    res = serve(app)
    assert res.sink.calls == [("send", OK, b"fine", False), ("send", None, b"", True)]
    assert body.closed == 1
    assert "closing the response iterable" in res.logtext
    assert "OSError: close failed" in res.logtext


# -- Content-Length checks ---------------------------------------------------------------


def test_a_body_matching_its_content_length_is_sent_as_is() -> None:
    def app(environ: Any, start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Length", "6")])
        yield b"abc"
        yield b"def"

    res = serve(app)
    assert res.sink.body == b"abcdef"
    assert res.sink.ended
    assert not res.sink.aborted
    assert res.log == []


def test_a_list_body_longer_than_content_length_is_cut() -> None:
    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Length", "5")])
        return [b"hello world"]

    res = serve(app)
    assert res.sink.body == b"hello"
    assert res.sink.ended
    assert not res.sink.aborted
    assert res.returned == (200, 5)
    assert "longer than its Content-Length (5)" in res.logtext


def test_a_generator_body_longer_than_content_length_is_cut() -> None:
    def app(environ: Any, start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Length", "4")])
        yield b"abc"
        yield b"def"
        yield b"ghi"

    res = serve(app)
    assert res.sink.body == b"abcd"
    assert res.sink.ended
    assert not res.sink.aborted
    assert res.returned == (200, 4)


def test_write_beyond_content_length_is_cut() -> None:
    def app(environ: Any, start_response: Any) -> Any:
        write = start_response("200 OK", [("Content-Length", "3")])
        write(b"12")
        write(b"345")
        return []

    res = serve(app)
    assert res.sink.body == b"123"
    assert res.returned == (200, 3)


@pytest.mark.parametrize("generator", [False, True])
def test_a_body_shorter_than_content_length_aborts_the_connection(generator: bool) -> None:
    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Length", "10")])
        if generator:
            return iter([b"abc", b"de"])
        return [b"abcde"]

    res = serve(app)
    assert res.sink.body == b"abcde"
    assert res.sink.aborted
    assert not res.sink.ended
    assert res.returned == (200, 5)
    assert "shorter than its Content-Length: 5 of 10 bytes" in res.logtext


@pytest.mark.parametrize(
    "method, status",
    [
        ("HEAD", "200 OK"),
        ("GET", "204 No Content"),
        ("GET", "304 Not Modified"),
        ("HEAD", "404 Not Found"),
    ],
)
def test_no_body_is_expected_for_head_204_and_304(method: str, status: str) -> None:
    def app(environ: Any, start_response: Any) -> Any:
        start_response(status, [("Content-Length", "1234")])
        return []

    res = serve(app, method=method)
    assert res.sink.calls == [("send", (status, [("Content-Length", "1234")]), b"", True)]
    assert res.log == []


def test_a_short_body_for_get_is_not_exempt_like_head() -> None:
    def app(environ: Any, start_response: Any) -> Any:
        start_response("200 OK", [("Content-Length", "1234")])
        return []

    assert serve(app, method="GET").sink.aborted


# -- errors -----------------------------------------------------------------------------


def test_an_exception_before_the_head_gives_a_500_and_a_traceback() -> None:
    def app(environ: Any, start_response: Any) -> Any:
        start_response(*OK)
        raise LookupError("missing thing")

    res = serve(app)
    assert_500(res)
    assert ("Content-Type", "text/html; charset=iso-8859-1") in res.sink.headers
    assert "Traceback (most recent call last)" in res.logtext
    assert "LookupError: missing thing" in res.logtext


def test_a_failing_load_gives_a_500() -> None:
    def load() -> Any:
        raise ImportError("no module named missing")

    sink = RecordingSink()
    log: list[str] = []
    returned = run(load, {"REQUEST_METHOD": "GET"}, sink, log.append)
    res = Result(returned, sink, log)
    assert_500(res)
    assert "ImportError: no module named missing" in res.logtext


def test_an_exception_after_the_head_aborts_without_a_second_head() -> None:
    def app(environ: Any, start_response: Any) -> Iterator[bytes]:
        start_response(*OK)
        yield b"some"
        raise RuntimeError("late failure")

    res = serve(app)
    assert res.sink.calls == [("send", OK, b"some", False), ("abort",)]
    assert "RuntimeError: late failure" in res.logtext
    assert res.returned == (200, 4)


@pytest.mark.parametrize("exc", [SystemExit(3), KeyboardInterrupt()])
def test_system_exit_from_the_app_fails_the_request_not_the_worker(exc: BaseException) -> None:
    def app(environ: Any, start_response: Any) -> Any:
        raise exc

    res = serve(app)
    assert_500(res)
    assert type(exc).__name__ in res.logtext


# -- wsgi.file_wrapper ------------------------------------------------------------


def test_a_file_wrapper_of_a_regular_file_gets_the_rest_of_the_file_as_its_length(
    tmp_path: Path,
) -> None:
    # As mod_wsgi: the client gets a Content-Length, not a chunked body.
    path = tmp_path / "data.bin"
    path.write_bytes(b"0123456789" * 1000)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response(*OK)
        f = open(path, "rb")  # noqa: SIM115 (the wrapper closes it)
        f.seek(10)
        return FileWrapper(f, 4096)

    res = serve(app)
    assert ("Content-Length", "9990") in res.sink.headers
    assert res.sink.body == path.read_bytes()[10:]
    assert res.sink.ended and not res.sink.aborted


def test_a_file_wrapper_of_something_else_or_with_a_length_is_left_alone(tmp_path: Path) -> None:
    def stream_app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response(*OK)
        return FileWrapper(io.BytesIO(b"abc"))

    res = serve(stream_app)
    assert not [h for h in res.sink.headers if h[0] == "Content-Length"]
    assert res.sink.body == b"abc"

    path = tmp_path / "data.bin"
    path.write_bytes(b"x" * 100)

    def declared_app(environ: dict[str, Any], start_response: Any) -> Any:
        start_response("200 OK", [("Content-Length", "100")])
        return FileWrapper(open(path, "rb"))

    res = serve(declared_app)
    assert [h for h in res.sink.headers if h[0] == "Content-Length"] == [("Content-Length", "100")]
