"""ErrorLogFormat: Apache's error-log format language (errorformat.py), by its rules."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path

import pytest

from wsgihost.errorformat import Entry, ErrorLogFormat, ErrorLogFormatError, check, ctime
from wsgihost.logs import ErrorLog, LogFile

# Apache's own default line, written as a format (the ErrorLogFormat documentation's).
APACHE_DEFAULT = (
    r"[%{u}t] [%-m:%l] [pid %P:tid %{g}T] %7F: %E: [client\ %a] %M% ,\ referer\ %{Referer}i"
)
WHEN = time.mktime((2026, 12, 6, 21, 19, 1, 0, 0, -1)) + 0.123456


def render(fmt: str, **kw: object) -> str | None:
    return ErrorLogFormat(fmt).render(Entry(when=WHEN, **kw))  # type: ignore[arg-type]


def test_apaches_default_as_a_format_gives_apaches_default_line() -> None:
    line = render(
        APACHE_DEFAULT,
        message="boom",
        client="127.0.0.1:4242",
        headers=[(b"Referer", b"http://x/")],
    )
    pid, tid = os.getpid(), threading.get_native_id()
    assert line == (
        f"[Sun Dec 06 21:19:01.123456 2026] [wsgi:error] [pid {pid}:tid {tid}] "
        "[client 127.0.0.1:4242] boom, referer http://x/"
    )


def test_an_empty_item_takes_its_whole_field_away() -> None:
    # No client and no Referer: "[client ...]" and ", referer ..." go, spaces with them.
    line = render(APACHE_DEFAULT, message="boom")
    assert line is not None
    assert line.endswith(f"[pid {os.getpid()}:tid {threading.get_native_id()}] boom")


def test_hyphen_for_an_empty_item_and_level_conditions() -> None:
    assert render("%-a %M", message="m") == "- m"
    assert render("%a %M", message="m") == " m"  # the field goes, the next separator stays
    assert render("[%l] %7m %M", message="m", level="error") == "[error] m"
    assert render("[%l] %7m %M", message="m", level="debug") == "[debug] wsgi m"


def test_literals_escapes_and_percent() -> None:
    assert render(r"100%% a\ b\tc %M", message="m") == "100% a b\tc m"
    assert render("%M%%", message="m") == "m%"


def test_times() -> None:
    assert render("%t %M", message="m") == "Sun Dec 06 21:19:01 2026 m"
    assert render("%{cu}t %M", message="m") == "2026-12-06 21:19:01.123456 m"
    assert render("%{%Y/%m/%d}t %M", message="m") == "2026/12/06 m"
    assert ctime(WHEN, usec=True) == "Sun Dec 06 21:19:01.123456 2026"
    off = time.localtime(WHEN).tm_gmtoff or 0
    sign = "-" if off < 0 else "+"
    zone = "%s%02d%02d" % (sign, abs(off) // 3600, abs(off) % 3600 // 60)
    assert render("%{cz}t %M", message="m") == f"2026-12-06 21:19:01 {zone} m"


def test_headers_server_names_and_values_wsgihost_does_not_have() -> None:
    fmt = "[%v] [%V] [%{X-Id}i] %F: %E: %M"
    got = render(
        fmt,
        message="m",
        client="1.2.3.4:5",
        server_name="a.test",
        request_server="b.test",
        headers=[(b"x-id", b"7\x01")],
    )
    assert got == r"[a.test] [b.test] [7\x01] m"


@pytest.mark.parametrize(
    "fmt, kind, message",
    [
        ("[%t] %l", None, "main ErrorLogFormat must contain message format string '%M'"),
        ("%Z %M", None, "Unrecognized error log format directive %Z"),
        ("%+a %M", None, "The '+' flag cannot be used in the main error log format"),
        ("%M", "request", "%M cannot be used in once-per-request or once-per-connection formats"),
        ("%7a", "connection", "The loglevel cannot be used as a condition in once-per-request"),
        ("%{abc", None, "Ran off end of error log format parsing args to some directive"),
        ("%99a %M", None, "The specified loglevel modifier is out of range"),
    ],
)
def test_bad_formats_are_refused_as_apache_refuses_them(
    fmt: str, kind: str | None, message: str
) -> None:
    with pytest.raises(ErrorLogFormatError) as e:
        check(fmt, kind)
    assert str(e.value).startswith(message)


def test_the_error_log_writes_each_line_of_a_message_in_the_format(tmp_path: object) -> None:
    r, w = os.pipe()
    try:
        log = ErrorLog(
            LogFile(fd=w),
            "warn",
            fmt=ErrorLogFormat("[%l] [%v] %M% ,\\ referer\\ %{Referer}i"),
            server_name="site.test",
        )
        log.error("one\ntwo\\", "1.2.3.4:5", b"http://r/")
        log.info("not at warn")
        os.close(w)
        w = -1
        written = os.read(r, 4096).decode()
    finally:
        os.close(r)
        if w != -1:
            os.close(w)
    assert written == (
        "[error] [site.test] one, referer http://r/\n[error] [site.test] two\\\\, referer http://r/\n"
    )


def test_request_headers_and_the_name_the_request_asked_for() -> None:
    r, w = os.pipe()
    try:
        fmt = ErrorLogFormat("[%v] [%V] [%{User-Agent}i] %M")
        log = ErrorLog(LogFile(fd=w), "warn", fmt=fmt, server_name="main.test")
        headers = [(b"Host", b"www.example.com:8080"), (b"User-Agent", b"ua/1")]
        log.error("with a request", "1.2.3.4:5", None, headers)
        log.error("without one")
        os.close(w)
        w = -1
        written = os.read(r, 4096).decode()
    finally:
        os.close(r)
        if w != -1:
            os.close(w)
    assert written == (
        "[main.test] [www.example.com] [ua/1] with a request\n[main.test] without one\n"
    )


DIFF = Path(__file__).resolve().parents[1] / "differential"


def test_lines_as_apache_wrote_them_in_the_differential_suite() -> None:
    # sites/errors.conf's ErrorLogFormat, and the lines Apache + mod_wsgi wrote with
    # it (recorded, masked): wsgi.errors of an embedded app, a daemon's traceback.
    conf = (DIFF / "sites" / "errors.conf").read_text()
    found = re.search(r'^\s*ErrorLogFormat "(.*)"$', conf, re.M)
    assert found is not None
    fmt = ErrorLogFormat(found.group(1))
    client = "127.0.0.1:<CLIENT-PORT>"
    embedded = json.loads((DIFF / "recorded" / "errors-embedded-wsgi-errors.json").read_text())
    headers = [(b"Referer", b"http://example.test/from"), (b"User-Agent", b"differential/1.0")]
    line = fmt.render(
        Entry(
            "LOGGED LINE",
            client=client,
            local="127.0.0.1:<PORT>",
            server_name="errors.test",
            request_server="errors.test",
            headers=headers,
        )
    )
    # (the suite sets %A apart from the lines)
    assert embedded["error log %A"] == ["127.0.0.1:<PORT>"]
    assert line is not None
    assert line.replace("[127.0.0.1:<PORT>] ", "") == embedded["error log"][0]
    daemon = json.loads((DIFF / "recorded" / "errors-daemon-traceback.json").read_text())
    last = fmt.render(
        Entry(
            "RuntimeError: BOOM",
            client=client,
            server_name="errors.test",
            request_server="errors.test",
        )
    )
    assert last == daemon["error log"][-1]
