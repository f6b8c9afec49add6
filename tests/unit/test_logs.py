"""wsgihost.logs: Apache's log formats, and log files written one os.write per message."""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wsgihost import logs
from wsgihost.logs import (
    COMBINED,
    COMMON,
    AccessLog,
    AccessRecord,
    ErrorLog,
    LogFile,
    LogFormatError,
    as_process,
    bound,
    clf_time,
    compile_format,
    escape,
    install_std_streams,
    open_log,
)
from wsgihost.wsgi.streams import ErrorStream

# clf_time caches one second's text; every test here uses its own second.
T_FORMAT = 1_614_816_009  # 2021-03-04 00:00:09 UTC


def record(**fields: Any) -> AccessRecord:
    r = AccessRecord()
    r.client_addr = "192.0.2.1"
    r.client_port = 50000
    r.method = "GET"
    r.target = "/path/x?q=1&r=2"
    r.version = "HTTP/1.1"
    r.request_line = "GET /path/x?q=1&r=2 HTTP/1.1"
    r.status = 200
    r.bytes_sent = 1234
    r.start = T_FORMAT + 0.5
    r.duration = 2.0625
    r.request_headers = [(b"Host", b"example.com"), (b"User-Agent", b"curl/8.0")]
    r.response_headers = [("Content-Type", "text/html"), ("X-Trace", 'a"b')]
    r.server_name = "example.com"
    r.server_port = 8080
    for name, value in fields.items():
        setattr(r, name, value)
    return r


# -- compile_format -------------------------------------------------------------------


def test_common_log_format() -> None:
    r = record()
    assert compile_format(COMMON)(r) == (
        f'192.0.2.1 - - {clf_time(r.start)} "GET /path/x?q=1&r=2 HTTP/1.1" 200 1234'
    )


def test_combined_log_format_with_and_without_the_headers() -> None:
    r = record(request_headers=[(b"referer", b"http://ref/"), (b"USER-AGENT", b"ua 1.0")])
    line = compile_format(COMBINED)(r)
    assert line.endswith(' 200 1234 "http://ref/" "ua 1.0"')
    line = compile_format(COMBINED)(record(request_headers=[]))
    assert line.endswith(' 200 1234 "-" "-"')


@pytest.mark.parametrize(
    "fmt, expected",
    [
        ("%h %a", "192.0.2.1 192.0.2.1"),
        ("%l %u", "- -"),
        ("%s %>s %<s", "200 200 200"),
        ("%b %B", "1234 1234"),
        ("%D %T", "2062500 2"),
        ("%m %U%q %H", "GET /path/x?q=1&r=2 HTTP/1.1"),
        ("%v %V %p", "example.com example.com 8080"),
        ("%{Host}i|%{host}i|%{X-Missing}i", "example.com|example.com|-"),
        ("%{content-type}o %{X-Trace}o %{Nope}o", 'text/html a\\"b -'),
        ("100%% %s", "100% 200"),
        ("%400,501{User-Agent}i %!200s", "curl/8.0 200"),
        ("literal only", "literal only"),
        ("", ""),
    ],
)
def test_format_codes(fmt: str, expected: str) -> None:
    assert compile_format(fmt)(record()) == expected


def test_status_of_the_original_request_and_the_final_one() -> None:
    # After an ErrorDocument's app answered 200 for a 404: %s and %<s say 404.
    r = record(original_status=404, status=200)
    assert compile_format("%s %>s %<s")(r) == "404 200 404"


def test_logio_codes_count_heads_and_bodies() -> None:
    # mod_logio: %I what came in, %O what went out (heads included), %S both.
    r = record(bytes_in=87, bytes_out=1480)
    assert compile_format("%I %O %S %b")(r) == "87 1480 1567 1234"
    assert compile_format("%I %O %S")(record()) == "0 0 0"  # nothing counted: 0, not "-"


def test_pid_code() -> None:
    assert compile_format("%P")(record()) == str(os.getpid())


def test_no_bytes_is_a_dash_in_b_and_zero_in_big_b() -> None:
    assert compile_format("%b %B")(record(bytes_sent=0)) == "- 0"


def test_no_query_string_gives_nothing_for_q() -> None:
    assert compile_format("[%U%q]")(record(target="/only")) == "[/only]"


def test_request_supplied_strings_are_escaped() -> None:
    r = record(
        request_line='GET /"quoted"\\ HTTP/1.1',
        method="G\x01T",
        request_headers=[(b"User-Agent", b'evil"\n\x1b[31m')],
    )
    line = compile_format('%r %m "%{User-Agent}i"')(r)
    assert line == 'GET /\\"quoted\\"\\\\ HTTP/1.1 G\\x01T "evil\\"\\x0a\\x1b[31m"'
    assert "\n" not in line


def test_time_taken_with_a_unit() -> None:
    r = record(duration=1.5)
    assert compile_format("%{ms}T %{us}T %{s}T")(r) == "1500 1500000 1"


@pytest.mark.parametrize(
    "fmt, message",
    [
        ("%Z", "unknown log format code %Z"),
        ("%h %", "ends with a lone '%'"),
        ("%{Referer", "unterminated"),
        ("%{Referer}", "ends with a lone '%'"),
        ("%>", "ends with a lone '%'"),
    ],
)
def test_bad_formats_are_refused(fmt: str, message: str) -> None:
    with pytest.raises(LogFormatError, match=re.escape(message)):
        compile_format(fmt)
    assert issubclass(LogFormatError, ValueError)


# -- clf_time -------------------------------------------------------------------------------


@pytest.fixture
def timezone() -> Iterator[Any]:
    saved = os.environ.get("TZ")

    def use(tz: str) -> None:
        os.environ["TZ"] = tz
        time.tzset()

    yield use
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


@pytest.mark.parametrize(
    "tz, t, text",
    [
        ("UTC0", 971_186_136, "[10/Oct/2000:13:55:36 +0000]"),
        ("MST7", 971_211_336, "[10/Oct/2000:13:55:36 -0700]"),
        ("IST-5:30", 971_166_336, "[10/Oct/2000:13:55:36 +0530]"),
        ("NST3:30", 971_198_736, "[10/Oct/2000:13:55:36 -0330]"),
        ("UTC0", 1_709_164_805, "[29/Feb/2024:00:00:05 +0000]"),
        ("UTC0", 946_684_799, "[31/Dec/1999:23:59:59 +0000]"),
    ],
)
def test_clf_time(timezone: Any, tz: str, t: int, text: str) -> None:
    timezone(tz)
    assert clf_time(t + 0.75) == text
    assert clf_time(t) == text


# -- escape ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, escaped",
    [
        ("plain text / ok?", "plain text / ok?"),
        ("", ""),
        ('say "hi"', 'say \\"hi\\"'),
        ("back\\slash", "back\\\\slash"),
        ("tab\there", "tab\\x09here"),
        ("line\r\nbreak", "line\\x0d\\x0abreak"),
        ("nul\x00", "nul\\x00"),
        ("del\x7f", "del\\x7f"),
        ('"\u00e9', '\\"\\xe9'),
    ],
)
def test_escape(text: str, escaped: str) -> None:
    assert escape(text) == escaped


@pytest.mark.parametrize(
    "text, escaped", [("caf\u00e9", "caf\\xe9"), ("\u00c3\u00a9", "\\xc3\\xa9")]
)
def test_escape_escapes_non_ascii_bytes_like_apache(text: str, escaped: str) -> None:
    assert escape(text) == escaped


# -- ErrorLog ----------------------------------------------------------------------------------

STAMP = (
    r"\[(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d\d \d\d:\d\d:\d\d\.\d{6} \d{4}\]"
)


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def test_error_log_line_format(tmp_path: Path) -> None:
    path = tmp_path / "error.log"
    log = ErrorLog(LogFile(str(path)), module="wsgi")
    log.error("something failed", client="192.0.2.1:50000")
    log.warn("no client here")
    lines = read(path).splitlines(keepends=True)
    ids = rf"\[pid {os.getpid()}:tid {threading.get_native_id()}\]"
    assert re.fullmatch(
        rf"{STAMP} \[wsgi:error\] {ids} \[client 192\.0\.2\.1:50000\] something failed\n",
        lines[0],
    ), lines[0]
    assert re.fullmatch(rf"{STAMP} \[wsgi:warn\] {ids} no client here\n", lines[1]), lines[1]
    assert len(lines) == 2


def test_error_log_prefixes_every_line_of_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "error.log"
    log = ErrorLog(LogFile(str(path)), module="core")
    log.error("Traceback:\n  File x\nValueError: bad\n", client="c:1")
    lines = read(path).splitlines()
    assert [line.split("[client c:1] ", 1)[1] for line in lines] == [
        "Traceback:",
        "  File x",
        "ValueError: bad",
    ]
    assert all("[core:error]" in line for line in lines)


def test_error_log_writes_non_utf8_safely(tmp_path: Path) -> None:
    path = tmp_path / "error.log"
    ErrorLog(LogFile(str(path))).error("bad \udcff surrogate, lone \ud800")
    # The byte that was not UTF-8 comes back, escaped as Apache escapes bytes.
    assert b"bad \\xff surrogate, lone ?" in path.read_bytes()


@pytest.mark.parametrize(
    "threshold, written",
    [
        ("emerg", ["emerg"]),
        ("error", ["emerg", "alert", "crit", "error"]),
        ("warn", ["emerg", "alert", "crit", "error", "warn"]),
        ("info", ["emerg", "alert", "crit", "error", "warn", "notice", "info"]),
        ("debug", list(logs.LEVELS)),
    ],
)
def test_error_log_level_filtering(tmp_path: Path, threshold: str, written: list[str]) -> None:
    path = tmp_path / "error.log"
    log = ErrorLog(LogFile(str(path)), level=threshold)
    for level in logs.LEVELS:
        log.log(level, f"message at {level}")
    log.error("helper error")
    log.warn("helper warn")
    log.notice("helper notice")
    log.info("helper info")
    log.debug("helper debug")
    text = read(path)
    assert re.findall(r"message at (\w+)", text) == written
    helpers = [h for h in ("error", "warn", "notice", "info", "debug") if h in written]
    assert re.findall(r"helper (\w+)", text) == helpers
    assert [lv for lv in logs.LEVELS if log.enabled(lv)] == written


# -- LogFile ------------------------------------------------------------------------------------


class WriteSpy:
    """Stands in for the os module inside wsgihost.logs, counting os.write calls."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, fd: int, data: Any) -> int:
        self.writes.append(bytes(data))
        return os.write(fd, data)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> WriteSpy:
    s = WriteSpy()
    monkeypatch.setattr(logs, "os", s)
    return s


def test_each_error_message_is_one_write(tmp_path: Path, spy: WriteSpy) -> None:
    path = tmp_path / "error.log"
    log = ErrorLog(LogFile(str(path)))
    log.error("line one\nline two\nline three", client="c:1")
    log.error("second message")
    assert len(spy.writes) == 2
    assert spy.writes[0].count(b"\n") == 3
    assert path.read_bytes() == b"".join(spy.writes)


def test_each_access_line_is_one_write(tmp_path: Path, spy: WriteSpy) -> None:
    path = tmp_path / "access.log"
    access = AccessLog(LogFile(str(path)), COMMON)
    access.log(record(start=T_FORMAT + 100))
    access.log(record(start=T_FORMAT + 101, status=404))
    assert len(spy.writes) == 2
    lines = read(path).splitlines()
    assert [line.split()[-2] for line in lines] == ["200", "404"]


def test_log_files_append_so_writers_do_not_overwrite_each_other(tmp_path: Path) -> None:
    path = tmp_path / "shared.log"
    path.write_bytes(b"existing\n")
    a, b = LogFile(str(path)), LogFile(str(path))
    a.write(b"from a 1\n")
    b.write(b"from b 1\n")
    a.write(b"from a 2\n")
    assert path.read_bytes() == b"existing\nfrom a 1\nfrom b 1\nfrom a 2\n"


def test_reopen_after_rename_writes_to_the_new_file(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    f = LogFile(str(path))
    f.write(b"before rotation\n")
    os.rename(path, tmp_path / "access.log.1")
    f.write(b"still to the old file\n")
    f.reopen()
    f.write(b"after reopen\n")
    assert (tmp_path / "access.log.1").read_bytes() == b"before rotation\nstill to the old file\n"
    assert path.read_bytes() == b"after reopen\n"


def test_reopen_that_fails_keeps_the_old_file(tmp_path: Path) -> None:
    logdir = tmp_path / "logs"
    logdir.mkdir()
    f = LogFile(str(logdir / "error.log"))
    os.rename(logdir, tmp_path / "moved")
    f.reopen()  # the directory is gone: cannot open by path
    f.write(b"kept\n")
    assert (tmp_path / "moved" / "error.log").read_bytes() == b"kept\n"


def test_a_descriptor_log_file_is_not_reopened(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
    try:
        f = LogFile(fd=fd)
        f.reopen()
        assert f.fd == fd
        f.write(b"to the descriptor\n")
        assert (tmp_path / "out").read_bytes() == b"to the descriptor\n"
    finally:
        os.close(fd)


def test_a_failing_write_does_not_raise(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "ro", os.O_RDONLY | os.O_CREAT)
    try:
        LogFile(fd=fd).write(b"cannot be written\n")
        ErrorLog(LogFile(fd=fd)).error("neither can this")
    finally:
        os.close(fd)


@pytest.mark.parametrize("kwargs", [{}, {"path": "/tmp/x", "fd": 2}])
def test_log_file_needs_exactly_one_of_path_and_fd(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        LogFile(**kwargs)


# -- open_log, mirror, the peer's label --------------------------------------------


@pytest.mark.parametrize("path, fd", [(None, 2), ("/dev/stderr", 2), ("-", 1), ("/dev/stdout", 1)])
def test_open_log_maps_apaches_names_for_the_standard_streams(path: str | None, fd: int) -> None:
    f = open_log(path)
    assert f.fd == fd and not f.is_file


def test_open_log_opens_a_path(tmp_path: Path) -> None:
    f = open_log(str(tmp_path / "error.log"))
    assert f.is_file
    f.write(b"x\n")
    assert (tmp_path / "error.log").read_bytes() == b"x\n"


def test_a_mirror_descriptor_follows_its_file_through_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "error.log"
    spare = os.open(os.devnull, os.O_WRONLY)  # a descriptor number to stand for 2
    try:
        f = LogFile(str(path))
        f.mirror(spare)
        os.write(spare, b"raw before\n")
        os.rename(path, tmp_path / "error.log.1")
        f.reopen()
        os.write(spare, b"raw after\n")
        assert (tmp_path / "error.log.1").read_bytes() == b"raw before\n"
        assert path.read_bytes() == b"raw after\n"
        assert os.get_inheritable(spare)  # child programs write there too
    finally:
        os.close(spare)


def test_the_peer_is_named_as_the_process_kind_says(tmp_path: Path) -> None:
    path = tmp_path / "error.log"
    ErrorLog(LogFile(str(path)), peer="remote").error("from a daemon", client="127.0.0.1:5")
    ErrorLog(LogFile(str(path))).error("from a front end", client="127.0.0.1:6")
    lines = read(path).splitlines()
    assert lines[0].endswith("] [remote 127.0.0.1:5] from a daemon")
    assert lines[1].endswith("] [client 127.0.0.1:6] from a front end")


# -- sys.stdout and sys.stderr -------------------------------------------------------


@pytest.fixture
def install(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[str]]:
    """Installs sys.stdout and sys.stderr as a process's, logging to a list; restored after.

    Called in the test itself: pytest sets its own capture again between
    a fixture's setup and the test.
    """
    monkeypatch.setattr(sys, "stdout", sys.stdout)
    monkeypatch.setattr(sys, "stderr", sys.stderr)

    def installed() -> list[str]:
        logged: list[str] = []
        install_std_streams(lambda line: logged.append("process: " + line))
        return logged

    return installed


def test_std_streams_log_lines_as_the_process_outside_a_request(
    install: Callable[[], list[str]],
) -> None:
    std = install()
    print("hello")
    sys.stderr.write("partial")
    assert std == ["process: hello"]
    sys.stderr.write(" line\n")
    sys.stdout.buffer.write("bytes \xe9\n".encode())
    assert std == ["process: hello", "process: partial line", "process: bytes \xe9"]
    assert sys.stdout.fileno() == 1 and sys.stderr.fileno() == 2
    assert sys.stdout.encoding == "utf-8" and not sys.stdout.isatty()


def test_inside_a_request_std_streams_share_its_wsgi_errors(
    install: Callable[[], list[str]],
) -> None:
    std = install()
    request: list[str] = []
    errors = ErrorStream(lambda line: request.append("request: " + line))
    with bound(errors):
        print("one")
        sys.stderr.write("two, partial")
        errors.write(" and more")
        # What an import prints is the process's, even when a request caused it.
        as_process(lambda: print("imported"))
    # The end of the request flushes what it left pending, as the request's.
    assert request == ["request: one", "request: two, partial and more"]
    assert std == ["process: imported"]
    print("after")
    assert std == ["process: imported", "process: after"]


def test_another_threads_output_during_a_request_is_the_processs(
    install: Callable[[], list[str]],
) -> None:
    std = install()
    request: list[str] = []
    with bound(ErrorStream(request.append)):
        thread = threading.Thread(target=print, args=("from a thread",))
        thread.start()
        thread.join()
        print("from the request")
    assert request == ["from the request"]
    assert std == ["process: from a thread"]


def test_logging_to_stderr_follows_the_request(install: Callable[[], list[str]]) -> None:
    std = install()
    import logging

    handler = logging.StreamHandler()  # sys.stderr, as logging.basicConfig() makes
    logger = logging.getLogger("wsgihost-test-logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        request: list[str] = []
        with bound(ErrorStream(request.append)):
            logger.error("in the request")
        logger.error("outside")
    finally:
        logger.removeHandler(handler)
    assert request == ["in the request"]
    assert std == ["process: outside"]


@pytest.mark.parametrize(
    "text, logged",
    [
        ('plain ascii, "quoted"', 'plain ascii, "quoted"'),
        # What Apache + mod_wsgi 4.9 wrote for print("café\ttab \\ back \"q\" \x01 end").
        ('caf\u00e9\ttab \\ back "q" \x01 end', 'caf\\xc3\\xa9\\ttab \\\\ back "q" \\x01 end'),
        ("\b\v\r\x7f", "\\b\\v\\r\\x7f"),
    ],
)
def test_error_log_lines_are_escaped_as_apache_escapes_them(
    tmp_path: Path, text: str, logged: str
) -> None:
    path = tmp_path / "error.log"
    ErrorLog(LogFile(str(path))).error(text, client="c:1")
    assert read(path).endswith(f"[client c:1] {logged}\n")


def test_a_referer_follows_each_line_escaped(tmp_path: Path) -> None:
    path = tmp_path / "error.log"
    log = ErrorLog(LogFile(str(path)))
    log.error("one\ntwo", client="c:1", referer='http://ref.test/\xc3\xa9"x'.encode("latin-1"))
    log.error("none", client="c:1", referer=None)
    lines = read(path).splitlines()
    # As Apache wrote it for a Referer of http://ref.test/é"x (UTF-8 bytes).
    assert lines[0].endswith('] one, referer: http://ref.test/\\xc3\\xa9"x')
    assert lines[1].endswith('] two, referer: http://ref.test/\\xc3\\xa9"x')
    assert lines[2].endswith("] none")
