"""The server's own error answers: Apache's pages, ErrorDocument, ServerSignature,
WSGIErrorOverride, ForceType; and the logs: ErrorLogFormat, mod_logio's %I %O %S."""

from __future__ import annotations

import socket
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.functional.helpers import (
    Response,
    build,
    free_port,
    next_response,
    read_to_eof,
    wait_for,
)
from tests.functional.server import APPS, Reader, ServerProcess

APP = APPS / "errors.wsgi"
PAGE_TYPE = "text/html; charset=iso-8859-1"


@dataclass
class Site:
    server: ServerProcess
    root: Path
    port: int

    def log(self, name: str) -> str:
        path = self.root / name
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("error-pages")
    www = root / "www"
    (www / "errors").mkdir(parents=True)
    (www / "errors" / "404.html").write_text("<p>OUR OWN 404 PAGE</p>\n")
    (www / "forced" / "none").mkdir(parents=True)
    (www / "forced" / "data.html").write_text("not html at all\n")
    (www / "forced" / "none" / "page.html").write_text("<p>html</p>\n")
    port = free_port()
    (root / "site.conf").write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:{port}
            ServerName main.test
            ServerAdmin ops@example.com
            ServerSignature On
            ErrorLog {root}/error.log
            ErrorLogFormat "[%l] [%m] [%v] [client\\ %a] %M% ,\\ referer\\ %{{Referer}}i"
            LogFormat "%h \\"%r\\" %>s %I %O %S" io
            CustomLog {root}/access.log io
            DocumentRoot {www}
            ErrorDocument 404 /errors/404.html
            ErrorDocument 414 "That URL is too long for us"
            <Directory {www}/forced>
                ForceType text/plain
            </Directory>
            <Directory {www}/forced/none>
                ForceType None
            </Directory>
            <Location /text>
                ErrorDocument 404 "Nothing to see here"
            </Location>
            <Location /away>
                ErrorDocument 404 https://example.com/missing
            </Location>
            <Location /broken-doc>
                ErrorDocument 404 /errors/missing.html
            </Location>
            <Location /appdoc>
                ErrorDocument 404 /app/errordoc
            </Location>
            <Location /plain>
                ErrorDocument 404 default
                ServerSignature Off
            </Location>
            WSGIScriptAlias /app {APP}
            WSGIDaemonProcess grp processes=1 threads=2
            WSGIScriptAlias /daemon {APP} process-group=grp
            <Location /daemon/fail>
                WSGIErrorOverride On
                ErrorDocument 403 "Forbidden by the server"
            </Location>
            """
        )
    )
    server = ServerProcess(["serve", "--config", str(root / "site.conf")])
    try:
        server.wait_listening()
        yield Site(server, root, port)
    finally:
        server.close()


def call(site: Site, method: str, path: str, **kw: object) -> tuple[Response, int]:
    """One request on a connection of its own; the response and the client's port."""
    with socket.create_connection(("127.0.0.1", site.port), timeout=30) as sock:
        client_port = sock.getsockname()[1]
        data = build(method, path, host=f"www.example.com:{site.port}", **kw)  # type: ignore[arg-type]
        sock.sendall(data)
        return next_response(Reader(sock), head_only=method == "HEAD"), client_port


def test_a_missing_file_gets_the_error_document_with_status_404(site: Site) -> None:
    r, _ = call(site, "GET", "/nothing-here")
    assert r.status == 404
    assert r.body == b"<p>OUR OWN 404 PAGE</p>\n"
    assert r.headers["content-type"].startswith("text/html")


def test_apaches_page_with_the_signature_where_no_document_applies(site: Site) -> None:
    r, _ = call(site, "PUT", "/errors/404.html", body=b"x")
    assert r.status == 405
    assert r.headers["content-type"] == PAGE_TYPE
    assert r.text == (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" '
        '"http://www.w3.org/TR/html4/strict.dtd">\n<html><head>\n'
        "<title>405 Method Not Allowed</title>\n</head><body>\n<h1>Method Not Allowed</h1>\n"
        "<p>The requested method PUT is not allowed for this URL.</p>\n"
        f"<hr>\n<address>wsgihost Server at www.example.com Port {site.port}</address>\n"
        "</body></html>\n"
    )


def test_error_document_default_and_signature_off_by_section(site: Site) -> None:
    r, _ = call(site, "GET", "/plain/x")
    assert r.status == 404
    assert r.text.endswith(
        "<p>The requested URL was not found on this server.</p>\n</body></html>\n"
    )


def test_error_document_text_and_url(site: Site) -> None:
    r, _ = call(site, "GET", "/text/x")
    assert (r.status, r.body) == (404, b"Nothing to see here")
    assert r.headers["content-type"] == PAGE_TYPE
    r, _ = call(site, "GET", "/away/x")
    assert r.status == 302
    assert r.headers["location"] == "https://example.com/missing"
    assert '<a href="https://example.com/missing">here</a>' in r.text


def test_an_error_document_that_fails_is_said_on_the_page(site: Site) -> None:
    r, _ = call(site, "GET", "/broken-doc/x")
    assert r.status == 404
    assert "<p>Additionally, a 404 Not Found\nerror was encountered" in r.text


def test_an_app_as_error_document_gets_the_redirect_environ(site: Site) -> None:
    r, _ = call(site, "POST", "/appdoc/missing?a=1", body=b"data")
    assert r.status == 200  # the app's own status, as under mod_wsgi
    assert r.json() == {
        "PATH_INFO": "/errordoc",
        "REDIRECT_QUERY_STRING": "a=1",
        "REDIRECT_REQUEST_METHOD": "POST",
        "REDIRECT_STATUS": "404",
        "REDIRECT_URL": "/appdoc/missing",
        "REQUEST_METHOD": "GET",
    }
    # The access log names the request the client made.
    wait_for(lambda: '"POST /appdoc/missing?a=1 HTTP/1.1" 200' in site.log("access.log"))


def test_error_override_replaces_a_daemon_apps_error(site: Site) -> None:
    r, _ = call(site, "GET", "/daemon/fail?403")
    assert (r.status, r.body) == (403, b"Forbidden by the server")
    assert "x-app" not in r.headers
    r, _ = call(site, "GET", "/daemon/fail?500")
    assert r.status == 500
    assert "administrator at \n ops@example.com to inform" in r.text
    r, _ = call(site, "GET", "/daemon/fail?404")
    assert (r.status, r.body) == (404, b"<p>OUR OWN 404 PAGE</p>\n")
    # Without it (the app elsewhere) the app's own answer goes out.
    r, _ = call(site, "GET", "/app/fail?403")
    assert (r.status, r.body) == (403, b"APP BODY 403")


def test_force_type_and_force_type_none(site: Site) -> None:
    r, _ = call(site, "GET", "/forced/data.html")
    assert (r.status, r.headers["content-type"]) == (200, "text/plain")
    r, _ = call(site, "GET", "/forced/none/page.html")
    assert r.headers["content-type"] == "text/html"


def test_logio_counts_the_bytes_on_the_wire(site: Site) -> None:
    # %I: the bytes of the request the server read; %O: every byte the client got.
    for path, body in (("/app/log?io", b"z" * 300), ("/missing-io", b"")):
        request = build(
            "POST" if body else "GET",
            path,
            [("Connection", "close")],
            body=body,
            host="io.test",
        )
        with socket.create_connection(("127.0.0.1", site.port), timeout=30) as sock:
            sock.sendall(request)
            received = read_to_eof(sock)
        line = wait_for(
            lambda path=path: next(
                (x for x in site.log("access.log").splitlines() if f" {path} " in x), None
            )
        )
        got_in, got_out, got_sum = (int(v) for v in line.split()[-3:])
        # A body the app did not read, on a connection that ends, is never read
        # (Apache's rule too): %I is the line and the head.
        assert (got_in, got_out, got_sum) == (
            len(request) - len(body),
            len(received),
            len(request) - len(body) + len(received),
        )


def test_error_log_lines_in_the_configured_format(site: Site) -> None:
    _, port = call(site, "GET", "/app/log", headers=[("Referer", "http://ref.test/")])
    expected = f"[error] [wsgi] [main.test] [client 127.0.0.1:{port}] LOGGED LINE, referer http://ref.test/"
    wait_for(lambda: expected in site.log("error.log"))
    # A daemon process writes the same format (a traceback, line by line).
    _, port = call(site, "GET", "/daemon/raise")
    wait_for(lambda: "RuntimeError: BOOM" in site.log("error.log"))
    lines = [x for x in site.log("error.log").splitlines() if f"127.0.0.1:{port}]" in x]
    assert lines and all(
        x.startswith("[error] [wsgi] [main.test] [client 127.0.0.1:") for x in lines
    )


def test_refusals_before_routing_and_by_mod_wsgi_carry_the_signature(site: Site) -> None:
    # A bad request line (400, before any routing) and a chunked body to an app
    # without WSGIChunkedRequest (411): Apache's pages, signed as the host says.
    for data, name, port in (
        # A bad escape: refused by routing, so the Host header names the server.
        (b"GET /a%zz HTTP/1.1\r\nHost: www.example.com\r\n\r\n", b"www.example.com", 80),
        # A header line with no colon: refused as it is read (Apache names its
        # ServerName and the default port, as the differential suite saw).
        (b"GET / HTTP/1.1\r\nno colon\r\n\r\n", b"main.test", 80),
    ):
        with socket.create_connection(("127.0.0.1", site.port), timeout=30) as sock:
            sock.sendall(data)
            raw = read_to_eof(sock)
        assert raw.startswith(b"HTTP/1.1 400 Bad Request\r\n"), raw
        assert raw.endswith(
            b"<p>Your browser sent a request that this server could not understand.<br />\n"
            b"</p>\n<hr>\n<address>wsgihost Server at %s Port %d</address>\n</body></html>\n"
            % (name, port or site.port)
        ), raw
    headers = [("Transfer-Encoding", "chunked")]
    r, _ = call(site, "POST", "/app/log", headers=headers, body=b"1\r\nx\r\n0\r\n\r\n")
    assert r.status == 411
    assert "<p>A request of the requested method POST requires a valid Content-length." in r.text
    assert f"<address>wsgihost Server at www.example.com Port {site.port}</address>" in r.text


def test_a_refusal_before_routing_gets_a_text_error_document(site: Site) -> None:
    with socket.create_connection(("127.0.0.1", site.port), timeout=30) as sock:
        sock.sendall(b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
        raw = read_to_eof(sock)
    assert raw.startswith(b"HTTP/1.1 414 Request-URI Too Long\r\n")
    assert raw.endswith(b"\r\n\r\nThat URL is too long for us")
    wait_for(lambda: '" 414 ' in site.log("access.log"))
