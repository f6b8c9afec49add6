"""wsgihost.httpcore: Host validation, response framing and canned error responses."""

from __future__ import annotations

import re

import pytest

from wsgihost.httpcore import (
    Framing,
    absolute_authority,
    build_head,
    error_response,
    head_problem,
    http_date,
    split_host,
    valid_host,
)

IMF_FIXDATE = re.compile(
    rb"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    rb"\d{4} \d\d:\d\d:\d\d GMT\Z"
)


def parse(raw: bytes) -> tuple[bytes, list[tuple[str, str]]]:
    """Split an encoded head into its status line and (lower-cased name, value) pairs."""
    assert raw.endswith(b"\r\n\r\n")
    status, *lines = raw[:-4].split(b"\r\n")
    headers = []
    for line in lines:
        name, sep, value = line.partition(b": ")
        assert sep, line
        headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))
    return status, headers


def values(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [v for n, v in headers if n == name]


def head(
    status: str = "200 OK",
    headers: list[tuple[str, str]] | None = None,
    *,
    http11: bool = True,
    is_head: bool = False,
    keep_alive: bool = True,
    body_length: int | None = None,
) -> tuple[bytes, list[tuple[str, str]], int, bool]:
    raw, framing, keep = build_head(
        status,
        [("Content-Type", "text/plain")] if headers is None else headers,
        http11=http11,
        is_head=is_head,
        keep_alive=keep_alive,
        body_length=body_length,
    )
    status_line, parsed = parse(raw)
    return status_line, parsed, framing, keep


# -- Host -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        b"example.com",
        b"example.com:8080",
        b"EXAMPLE.COM",
        b"localhost",
        b"127.0.0.1",
        b"127.0.0.1:80",
        b"[::1]",
        b"[::1]:8080",
        b"[2001:db8::1]",
        b"[::ffff:192.0.2.1]:443",
        b"[fe80::1%25eth0]",
        b"xn--caf-dma.example",
        b"under_score.example",
        b"",
        b"example.com:",
        b"example.com.",
        b"0.0.0.0=5000",  # an RFC 3986 reg-name (sub-delims), in gunicorn's corpus
        b"[::1]:65535",
        b"example.com:0",
    ],
)
def test_valid_hosts(value: bytes) -> None:
    assert valid_host(value)


@pytest.mark.parametrize(
    "value",
    [
        b"example.com:http",
        b"example.com:80:80",
        b"user@example.com",
        b"example.com/path",
        b"exa mple.com",
        b"example.com\r\nX-Injected: 1",
        b"example.com\n",
        b"example.com\x00",
        b"[::1",
        b"::1",
        b"[::1]x",
        b"[::1]:80x",
        b"[example.com]",
        b"example.com?q",
        b"example.com#f",
        b"\xc3\xa9.example",
        b"example.com:65536",
        b"example.com:184467440737095516160",
        b"example.com:-1",
        b"example.com::80",
        b":80",
        b".",
        b"example..com",
        b"example.com,evil.test",
        b"exa%00mple.com",
        b"example.com\\evil",
        b"evil\\@example.com",
        b"2001:db8::1:8080",
        b"[::g]",
        b"[1:2:3:4:5:6:7:8:9]",
        b"[v1.future]",
        b"[::1]:99999",
    ],
)
def test_invalid_hosts(value: bytes) -> None:
    assert not valid_host(value)


def test_split_host_gives_the_host_and_the_port() -> None:
    assert split_host(b"Example.com:8080") == (b"Example.com", b"8080")
    assert split_host(b"[::1]:80") == (b"[::1]", b"80")
    assert split_host(b"[::1]") == (b"[::1]", b"")
    assert split_host(b"example.com:") == (b"example.com", b"")
    assert split_host(b"") is None  # an empty Host is valid, but names no host


@pytest.mark.parametrize(
    ("target", "authority"),
    [
        (b"http://example.com/x?q", b"example.com"),
        (b"https://example.com:8443", b"example.com:8443"),
        (b"http://user:pw@example.com:8080/x", b"example.com:8080"),
        (b"http://[::1]:8080/", b"[::1]:8080"),
        (b"/origin/form", None),
        (b"http:example.com/x", None),  # no '//': no authority
    ],
)
def test_absolute_authority(target: bytes, authority: bytes | None) -> None:
    assert absolute_authority(target) == authority


@pytest.mark.parametrize(
    "target",
    [
        b"http:///x",
        b"http://example.com:99999/",
        b"http://example.com::80/",
        b"http://::1/",
        b"http://[::1/",
        b"http://example.com\\@evil.test/",
        b"http://us\\er@example.com/",
    ],
)
def test_invalid_absolute_authorities(target: bytes) -> None:
    with pytest.raises(ValueError):
        absolute_authority(target)


# -- response heads -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "problem"),
    [
        ("200 OK\r\nX-Injected: 1", [], "status line"),
        ("200 OK\x00", [], "status line"),
        ("20 OK", [], "status line"),
        ("200 OK", [("X-A\r\nX-B", "v")], "header name"),
        ("200 OK", [("X A", "v")], "header name"),
        ("200 OK", [("", "v")], "header name"),
        ("200 OK", [("X-A", "v\r\nSet-Cookie: a=1")], "CR, LF or NUL"),
        ("200 OK", [("X-A", "v\n")], "CR, LF or NUL"),
        ("200 OK", [("X-A", "v\rw")], "CR, LF or NUL"),
        ("200 OK", [("X-A", "v\x00")], "CR, LF or NUL"),
    ],
)
def test_a_head_that_could_split_a_response_is_refused(
    status: str, headers: list[tuple[str, str]], problem: str
) -> None:
    found = head_problem(status, headers)
    assert found is not None and problem in found


def test_an_ordinary_head_passes() -> None:
    assert head_problem("200 OK", [("Content-Type", "text/plain"), ("X-Tab", "a\tb")]) is None
    assert head_problem("404 Not Found", []) is None


def test_a_name_seen_good_still_has_its_value_checked() -> None:
    # Good statuses and names are remembered; values never are.
    assert head_problem("200 OK", [("X-Seen", "fine")]) is None
    found = head_problem("200 OK", [("X-Seen", "v\r\nSet-Cookie: a=1")])
    assert found is not None and "CR, LF or NUL" in found
    assert head_problem("200 OK", [("X-Seen", "caf\xe9 \x7f")]) is not None  # DEL
    assert head_problem("200 OK", [("X-Seen", "caf\xe9")]) is None
    assert head_problem("200 OK\r\nX: y", []) is not None


# -- framing ----------------------------------------------------------------------------


def test_the_app_content_length_frames_the_body() -> None:
    status, headers, framing, keep = head(headers=[("Content-Length", "5")], body_length=None)
    assert status == b"HTTP/1.1 200 OK"
    assert framing == Framing.LENGTH
    assert keep is True
    assert values(headers, "content-length") == ["5"]
    assert values(headers, "transfer-encoding") == []
    assert values(headers, "connection") == []


def test_the_app_content_length_wins_over_the_body_length() -> None:
    _, headers, framing, _ = head(headers=[("Content-Length", "5")], body_length=5)
    assert values(headers, "content-length") == ["5"]
    assert framing == Framing.LENGTH


@pytest.mark.parametrize("http11", [True, False])
def test_a_known_body_length_adds_content_length(http11: bool) -> None:
    _, headers, framing, keep = head(body_length=11, http11=http11)
    assert values(headers, "content-length") == ["11"]
    assert values(headers, "transfer-encoding") == []
    assert framing == Framing.LENGTH
    assert keep is True


def test_a_zero_body_length_is_content_length_zero() -> None:
    _, headers, framing, _ = head(body_length=0)
    assert values(headers, "content-length") == ["0"]
    assert framing == Framing.LENGTH


def test_an_unknown_length_on_http11_is_chunked() -> None:
    _, headers, framing, keep = head(body_length=None)
    assert values(headers, "transfer-encoding") == ["chunked"]
    assert values(headers, "content-length") == []
    assert framing == Framing.CHUNKED
    assert keep is True
    assert values(headers, "connection") == []


def test_an_unknown_length_on_http10_is_delimited_by_close() -> None:
    _, headers, framing, keep = head(body_length=None, http11=False, keep_alive=True)
    assert framing == Framing.CLOSE
    assert keep is False
    assert values(headers, "connection") == ["close"]
    assert values(headers, "transfer-encoding") == []
    assert values(headers, "content-length") == []


def test_http10_keep_alive_is_announced() -> None:
    _, headers, framing, keep = head(body_length=3, http11=False, keep_alive=True)
    assert keep is True
    assert framing == Framing.LENGTH
    assert values(headers, "connection") == ["keep-alive"]


def test_a_request_that_does_not_allow_keep_alive_gets_connection_close() -> None:
    _, headers, _, keep = head(body_length=3, keep_alive=False)
    assert keep is False
    assert values(headers, "connection") == ["close"]


@pytest.mark.parametrize(
    "app_headers, body_length, content_length",
    [
        ([("Content-Length", "42")], None, ["42"]),
        ([], 42, ["42"]),
        ([], None, []),
        ([], 0, []),
    ],
)
def test_head_requests_have_no_body(
    app_headers: list[tuple[str, str]], body_length: int | None, content_length: list[str]
) -> None:
    _, headers, framing, keep = head(headers=app_headers, is_head=True, body_length=body_length)
    assert framing == Framing.NONE
    assert keep is True
    assert values(headers, "content-length") == content_length
    assert values(headers, "transfer-encoding") == []


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified", "101 Switching"])
@pytest.mark.parametrize("body_length", [None, 0, 10])
def test_no_body_statuses_get_no_framing_headers(status: str, body_length: int | None) -> None:
    _, headers, framing, keep = head(status, headers=[], body_length=body_length)
    assert framing == Framing.NONE
    assert keep is True
    assert values(headers, "content-length") == []
    assert values(headers, "transfer-encoding") == []


def test_304_keeps_the_app_content_length() -> None:
    _, headers, framing, _ = head("304 Not Modified", headers=[("Content-Length", "120")])
    assert framing == Framing.NONE
    assert values(headers, "content-length") == ["120"]


def test_204_drops_the_app_content_length() -> None:
    _, headers, framing, _ = head("204 No Content", headers=[("Content-Length", "0")])
    assert framing == Framing.NONE
    assert values(headers, "content-length") == []


@pytest.mark.parametrize(
    "name",
    [
        "Connection",
        "Keep-Alive",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "transfer-encoding",
    ],
)
def test_hop_by_hop_headers_from_the_app_are_dropped(name: str) -> None:
    _, headers, framing, _ = head(headers=[(name, "x-app-value"), ("X-Kept", "1")], body_length=4)
    assert "x-app-value" not in [v for _, v in headers]
    assert values(headers, "x-kept") == ["1"]
    assert framing == Framing.LENGTH


def test_the_app_transfer_encoding_does_not_double_chunking() -> None:
    _, headers, framing, _ = head(headers=[("Transfer-Encoding", "chunked")], body_length=None)
    assert values(headers, "transfer-encoding") == ["chunked"]
    assert framing == Framing.CHUNKED


@pytest.mark.parametrize("value", ["close", "Close", "keep-alive, close"])
def test_connection_close_from_the_app_is_honoured(value: str) -> None:
    _, headers, _, keep = head(headers=[("Connection", value)], body_length=2)
    assert keep is False
    assert values(headers, "connection") == ["close"]


def test_connection_keep_alive_from_the_app_does_not_override_the_request() -> None:
    _, headers, _, keep = head(headers=[("Connection", "keep-alive")], keep_alive=False)
    assert keep is False
    assert values(headers, "connection") == ["close"]


def test_server_and_date_are_added() -> None:
    _, headers, _, _ = head(body_length=0)
    assert values(headers, "server") == ["wsgihost"]
    [date] = values(headers, "date")
    assert IMF_FIXDATE.match(date.encode())


def test_the_app_server_header_is_not_duplicated() -> None:
    _, headers, _, _ = head(headers=[("server", "MyApp/1.0")], body_length=0)
    assert values(headers, "server") == ["MyApp/1.0"]


def test_app_headers_keep_their_order_case_and_latin_1_values() -> None:
    raw, _, _ = build_head(
        "200 OK",
        [("Set-Cookie", "a=1"), ("X-Name", "caf\u00e9"), ("Set-Cookie", "b=2")],
        http11=True,
        is_head=False,
        keep_alive=True,
        body_length=0,
    )
    assert b"\r\nSet-Cookie: a=1\r\nX-Name: caf\xe9\r\nSet-Cookie: b=2\r\n" in raw


def test_the_status_line_is_always_http11() -> None:
    status, _, _, _ = head("404 Not Found", http11=False, body_length=0)
    assert status == b"HTTP/1.1 404 Not Found"


def test_http_date_is_an_imf_fixdate() -> None:
    assert IMF_FIXDATE.match(http_date())


# -- canned errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, reason",
    [
        (400, "Bad Request"),
        (413, "Request Entity Too Large"),
        (431, None),
        (503, None),
        (599, "Error"),
    ],
)
def test_error_response_is_complete_and_closes(code: int, reason: str | None) -> None:
    raw = error_response(code)
    head_bytes, _, body = raw.partition(b"\r\n\r\n")
    status, headers = parse(head_bytes + b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 %d " % code)
    if reason is not None:
        assert status == b"HTTP/1.1 %d %s" % (code, reason.encode())
    assert values(headers, "content-length") == [str(len(body))]
    assert values(headers, "content-type") == ["text/html; charset=iso-8859-1"]
    assert values(headers, "connection") == ["close"]
    assert values(headers, "server") == ["wsgihost"]
    assert len(values(headers, "date")) == 1
    assert body.startswith(b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN"')
    if reason is not None and code != 599:
        assert b"<title>%d %s</title>" % (code, reason.encode()) in body


def test_error_response_can_keep_the_connection_and_say_more() -> None:
    # Apache's 400 page ends its paragraph with the request's error notes.
    raw = error_response(
        400, close=False, notes="Size of a request header field exceeds server limit."
    )
    head_bytes, _, body = raw.partition(b"\r\n\r\n")
    _, headers = parse(head_bytes + b"\r\n\r\n")
    assert values(headers, "connection") == []
    assert b"understand.<br />\nSize of a request header field exceeds server limit.</p>" in body
    assert values(headers, "content-length") == [str(len(body))]


def test_error_response_with_more_headers() -> None:
    raw = error_response(503, headers=[("Retry-After", "5")])
    status, headers = parse(raw.partition(b"\r\n\r\n")[0] + b"\r\n\r\n")
    assert status == b"HTTP/1.1 503 Service Unavailable"
    assert values(headers, "retry-after") == ["5"]
    assert values(headers, "connection") == ["close"]
