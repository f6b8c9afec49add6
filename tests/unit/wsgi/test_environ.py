"""wsgihost.wsgi.environ: the PEP 3333 environ an app sees, checked by wsgiref.validate too."""

from __future__ import annotations

import re
import warnings
from typing import Any
from wsgiref.validate import validator

import pytest

from wsgihost.wsgi.environ import (
    MOD_WSGI_VERSION,
    Mount,
    RequestHead,
    build_environ,
    log_id,
)
from wsgihost.wsgi.streams import ErrorStream, FileWrapper, InputStream


def make_head(
    path: bytes = b"/",
    headers: list[tuple[bytes, bytes]] | None = None,
    **kwargs: Any,
) -> RequestHead:
    fields: dict[str, Any] = {
        "method": "GET",
        "target": path.decode("latin-1"),
        "path": path,
        "query": "",
        "version": "HTTP/1.1",
        "headers": [(b"Host", b"example.com")] if headers is None else headers,
        "client_addr": "192.0.2.7",
        "client_port": 51234,
        "server_addr": "198.51.100.1",
        "server_port": 8080,
    }
    fields.update(kwargs)
    return RequestHead(**fields)


def environ_for(
    path: bytes = b"/",
    headers: list[tuple[bytes, bytes]] | None = None,
    mount: Mount | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    return build_environ(
        make_head(path, headers, **kwargs),
        mount or Mount("", "/srv/app.wsgi"),
        InputStream(lambda n: b""),
        ErrorStream(lambda line: None),
        FileWrapper,
    )


# -- paths ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, path_info",
    [
        (b"/", "/"),
        (b"/plain/path", "/plain/path"),
        (b"/a%20b", "/a b"),
        (b"/a+b", "/a+b"),
        (b"/50%25", "/50%"),
        (b"/caf%C3%A9", "/caf\u00c3\u00a9"),  # UTF-8 bytes as latin-1 (PEP 3333)
        (b"/caf\xc3\xa9", "/caf\u00c3\u00a9"),
        (b"/%E2%82%AC", "/\u00e2\u0082\u00ac"),
        (b"/bad%zzescape", "/bad%zzescape"),
    ],
)
def test_path_info_is_percent_decoded_bytes_as_latin_1(raw: bytes, path_info: str) -> None:
    env = environ_for(raw)
    assert env["PATH_INFO"] == path_info
    assert env["SCRIPT_NAME"] == ""


def test_an_app_can_recover_utf_8_from_path_info() -> None:
    env = environ_for(b"/caf%C3%A9/%E2%82%AC")
    assert env["PATH_INFO"].encode("latin-1").decode("utf-8") == "/caf\u00e9/\u20ac"


@pytest.mark.parametrize(
    "mount, raw, script_name, path_info",
    [
        ("/app", b"/app/x/y", "/app", "/x/y"),
        ("/app", b"/app", "/app", ""),
        ("/app", b"/app/", "/app", "/"),
        ("/app/", b"/app/x", "/app", "/x"),
        ("/", b"/x", "", "/x"),
        ("", b"/x", "", "/x"),
        ("/a/b", b"/a/b/c", "/a/b", "/c"),
        ("/app", b"/ap%70/x%20y", "/app", "/x y"),
    ],
)
def test_script_name_is_the_mount_and_is_stripped_from_path_info(
    mount: str, raw: bytes, script_name: str, path_info: str
) -> None:
    env = environ_for(raw, mount=Mount(mount, "/srv/app.wsgi"))
    assert env["SCRIPT_NAME"] == script_name
    assert env["PATH_INFO"] == path_info
    assert env["mod_wsgi.script_name"] == script_name


def test_request_line_keys() -> None:
    env = environ_for(
        b"/p",
        method="POST",
        target="/p?a=1&b=%20",
        query="a=1&b=%20",
        version="HTTP/1.0",
    )
    assert env["REQUEST_METHOD"] == "POST"
    assert env["QUERY_STRING"] == "a=1&b=%20"
    assert env["REQUEST_URI"] == "/p?a=1&b=%20"
    assert env["SERVER_PROTOCOL"] == "HTTP/1.0"
    assert env["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert env["SCRIPT_FILENAME"] == "/srv/app.wsgi"


# -- headers ----------------------------------------------------------------------


def test_headers_map_to_http_keys() -> None:
    env = environ_for(
        headers=[
            (b"Host", b"example.com"),
            (b"Accept", b"text/html"),
            (b"x-forwarded-for", b"203.0.113.9"),
            (b"X-Custom-Header", b"value with spaces"),
            (b"User-Agent", b"caf\xe9"),
        ]
    )
    assert env["HTTP_HOST"] == "example.com"
    assert env["HTTP_ACCEPT"] == "text/html"
    assert env["HTTP_X_FORWARDED_FOR"] == "203.0.113.9"
    assert env["HTTP_X_CUSTOM_HEADER"] == "value with spaces"
    assert env["HTTP_USER_AGENT"] == "caf\u00e9"


def test_content_type_and_length_have_no_http_prefix() -> None:
    env = environ_for(
        headers=[(b"Content-Type", b"application/json"), (b"content-length", b"12")],
        method="POST",
    )
    assert env["CONTENT_TYPE"] == "application/json"
    assert env["CONTENT_LENGTH"] == "12"
    assert "HTTP_CONTENT_TYPE" not in env
    assert "HTTP_CONTENT_LENGTH" not in env


def test_no_content_headers_means_no_content_keys() -> None:
    env = environ_for()
    assert "CONTENT_TYPE" not in env
    assert "CONTENT_LENGTH" not in env


@pytest.mark.parametrize(
    "headers",
    [
        [(b"X_Forwarded_For", b"6.6.6.6")],
        [(b"X-Forwarded-For", b"10.0.0.1"), (b"X_Forwarded_For", b"6.6.6.6")],
        [(b"X_Forwarded_For", b"6.6.6.6"), (b"X-Forwarded-For", b"10.0.0.1")],
    ],
)
def test_header_names_with_underscores_are_dropped(headers: list[tuple[bytes, bytes]]) -> None:
    env = environ_for(headers=[(b"Host", b"h"), *headers])
    assert "6.6.6.6" not in env.get("HTTP_X_FORWARDED_FOR", "")
    dashed = [v for n, v in headers if n == b"X-Forwarded-For"]
    if dashed:
        assert env["HTTP_X_FORWARDED_FOR"] == "10.0.0.1"
    else:
        assert "HTTP_X_FORWARDED_FOR" not in env


@pytest.mark.parametrize("name", [b"Proxy", b"proxy", b"PROXY"])
def test_the_proxy_header_is_dropped_httpoxy(name: bytes) -> None:
    env = environ_for(headers=[(b"Host", b"h"), (name, b"http://evil:3128")])
    assert "HTTP_PROXY" not in env
    assert "http://evil:3128" not in env.values()


def test_proxy_connection_is_not_confused_with_proxy() -> None:
    env = environ_for(headers=[(b"Host", b"h"), (b"Proxy-Connection", b"keep-alive")])
    assert env["HTTP_PROXY_CONNECTION"] == "keep-alive"


@pytest.mark.parametrize("pass_authorization", [False, True])
def test_authorization_is_passed_only_when_configured(pass_authorization: bool) -> None:
    mount = Mount("", "/srv/app.wsgi", pass_authorization=pass_authorization)
    env = environ_for(
        headers=[(b"Host", b"h"), (b"Authorization", b"Basic dXNlcjpwYXNz")], mount=mount
    )
    if pass_authorization:
        assert env["HTTP_AUTHORIZATION"] == "Basic dXNlcjpwYXNz"
    else:
        assert "HTTP_AUTHORIZATION" not in env
        assert "Basic dXNlcjpwYXNz" not in env.values()


@pytest.mark.parametrize("pass_authorization", [False, True])
@pytest.mark.parametrize("name", [b"Proxy-Authorization", b"proxy-authorization"])
def test_proxy_authorization_is_never_passed(pass_authorization: bool, name: bytes) -> None:
    # Apache's ap_add_common_vars withholds it; WSGIPassAuthorization is about
    # Authorization only.
    mount = Mount("", "/srv/app.wsgi", pass_authorization=pass_authorization)
    env = environ_for(headers=[(b"Host", b"h"), (name, b"Basic cHJveHk6cHc=")], mount=mount)
    assert "HTTP_PROXY_AUTHORIZATION" not in env
    assert "Basic cHJveHk6cHc=" not in env.values()


@pytest.mark.parametrize("name", [b"X.Dotted", b"X~Tilde", b"X!Bang", b"X+Plus", b"X'Quote"])
def test_header_names_apache_cannot_export_are_dropped(name: bytes) -> None:
    # llhttp accepts any token; Apache's http2env exports letters, digits and '-' only.
    env = environ_for(headers=[(b"Host", b"h"), (name, b"v"), (b"X-Kept-9", b"k")])
    assert "v" not in env.values()
    assert env["HTTP_X_KEPT_9"] == "k"


def test_repeated_headers_are_joined_with_commas() -> None:
    env = environ_for(
        headers=[
            (b"Host", b"h"),
            (b"Accept", b"text/html"),
            (b"X-Other", b"1"),
            (b"accept", b"application/json"),
            (b"ACCEPT", b"*/*"),
        ]
    )
    assert env["HTTP_ACCEPT"] == "text/html, application/json, */*"
    assert env["HTTP_X_OTHER"] == "1"


def test_repeated_cookie_headers_are_joined_with_semicolons() -> None:
    env = environ_for(headers=[(b"Host", b"h"), (b"Cookie", b"a=1"), (b"cookie", b"b=2; c=3")])
    assert env["HTTP_COOKIE"] == "a=1; b=2; c=3"


def test_a_header_cannot_override_a_cgi_key() -> None:
    env = environ_for(
        headers=[(b"Host", b"h"), (b"Script-Name", b"/evil"), (b"Remote-Addr", b"6.6.6.6")]
    )
    assert env["SCRIPT_NAME"] == ""
    assert env["REMOTE_ADDR"] == "192.0.2.7"
    assert env["HTTP_SCRIPT_NAME"] == "/evil"


# -- SERVER_NAME, SERVER_PORT and addresses -------------------------------------------


@pytest.mark.parametrize(
    "host, name, port",
    [
        (b"example.com", "example.com", "80"),  # no port: the scheme's, as Apache
        (b"example.com:9000", "example.com", "9000"),
        (b"EXAMPLE.com:80", "EXAMPLE.com", "80"),
        (b"10.1.2.3:81", "10.1.2.3", "81"),
        (b"[::1]", "[::1]", "80"),
        (b"[::1]:9000", "[::1]", "9000"),
        (b"[2001:db8::7]:443", "[2001:db8::7]", "443"),
    ],
)
def test_server_name_and_port_come_from_host(host: bytes, name: str, port: str) -> None:
    env = environ_for(headers=[(b"Host", host)])
    assert env["SERVER_NAME"] == name
    assert env["SERVER_PORT"] == port
    assert env["HTTP_HOST"] == host.decode()


@pytest.mark.parametrize(
    "server_addr, name",
    [("198.51.100.1", "198.51.100.1"), ("::1", "[::1]"), ("2001:db8::1", "[2001:db8::1]")],
)
def test_without_host_the_listening_address_is_the_server_name(server_addr: str, name: str) -> None:
    env = environ_for(headers=[], server_addr=server_addr, server_port=8000)
    assert env["SERVER_NAME"] == name
    assert env["SERVER_PORT"] == "8000"
    assert "HTTP_HOST" not in env


def test_an_empty_host_falls_back_to_the_listening_address() -> None:
    env = environ_for(headers=[(b"Host", b"")], server_port=8000)
    assert env["SERVER_NAME"] == "198.51.100.1"
    assert env["SERVER_PORT"] == "8000"


def test_without_host_an_ipv4_mapped_listening_address_is_unmapped() -> None:
    env = environ_for(headers=[], server_addr="::ffff:127.0.0.1")
    assert env["SERVER_ADDR"] == "127.0.0.1"
    assert env["SERVER_NAME"] == "127.0.0.1"


def test_a_host_with_an_empty_port_gives_the_plain_name() -> None:
    env = environ_for(headers=[(b"Host", b"example.com:")])
    assert env["SERVER_NAME"] == "example.com"
    assert env["SERVER_PORT"] == "80"


def test_a_host_without_port_over_https_gives_443() -> None:
    env = environ_for(headers=[(b"Host", b"example.com")], scheme="https")
    assert env["SERVER_PORT"] == "443"


@pytest.mark.parametrize(
    "client, remote",
    [
        ("::ffff:203.0.113.5", "203.0.113.5"),
        ("203.0.113.5", "203.0.113.5"),
        ("::1", "::1"),
        ("2001:db8::5", "2001:db8::5"),
        ("::ffff:abcd", "::ffff:abcd"),
    ],
)
def test_remote_addr_unmaps_ipv4_mapped_addresses(client: str, remote: str) -> None:
    env = environ_for(client_addr=client, client_port=40000, server_addr="::ffff:10.0.0.1")
    assert env["REMOTE_ADDR"] == remote
    assert env["REMOTE_PORT"] == "40000"
    assert env["SERVER_ADDR"] == "10.0.0.1"


# -- wsgi.* and mod_wsgi.* ------------------------------------------------------------


def test_wsgi_keys() -> None:
    wsgi_input = InputStream(lambda n: b"")
    wsgi_errors = ErrorStream(lambda line: None)
    env = build_environ(
        make_head(scheme="https"),
        Mount("", "/srv/app.wsgi", multiprocess=False, multithread=True),
        wsgi_input,
        wsgi_errors,
        FileWrapper,
    )
    assert env["wsgi.version"] == (1, 0)
    assert env["wsgi.url_scheme"] == "https"
    assert env["REQUEST_SCHEME"] == "https"
    assert env["wsgi.input"] is wsgi_input
    assert env["wsgi.errors"] is wsgi_errors
    assert env["wsgi.file_wrapper"] is FileWrapper
    assert env["wsgi.multiprocess"] is False
    assert env["wsgi.multithread"] is True
    assert env["wsgi.run_once"] is False
    assert env["wsgi.input_terminated"] is True


def test_mod_wsgi_keys() -> None:
    mount = Mount(
        "/app",
        "/srv/app.wsgi",
        callable_object="make_app",
        process_group="daemon1",
        script_reloading=False,
    )
    env = environ_for(
        b"/app/x",
        mount=mount,
        chunked=True,
        request_id="req-42",
        start_time=1_700_000_000.25,
        server_addr="127.0.0.1",
        server_port=8443,
    )
    assert env["mod_wsgi.process_group"] == "daemon1"
    assert env["mod_wsgi.script_name"] == "/app"
    assert env["mod_wsgi.callable_object"] == "make_app"
    assert env["mod_wsgi.request_handler"] == "wsgi-script"
    assert env["mod_wsgi.script_reloading"] == "0"
    assert env["mod_wsgi.path_info"] == "/x"
    # mod_wsgi 4.9 has no input_chunked key, chunked body or not.
    assert "mod_wsgi.input_chunked" not in env
    assert env["mod_wsgi.request_id"] == "req-42"
    assert env["mod_wsgi.request_start"] == "1700000000250000"
    assert env["mod_wsgi.version"] == MOD_WSGI_VERSION
    assert env["mod_wsgi.listener_host"] == "127.0.0.1"
    assert env["mod_wsgi.listener_port"] == "8443"


def test_mod_wsgi_defaults() -> None:
    env = environ_for()
    assert env["mod_wsgi.process_group"] == ""
    assert env["mod_wsgi.callable_object"] == "application"
    assert env["mod_wsgi.script_reloading"] == "1"
    assert "mod_wsgi.input_chunked" not in env
    assert isinstance(env["mod_wsgi.version"], tuple)
    # What mod_wsgi 4.9 says of the directives wsgihost does not provide: their Off.
    assert env["mod_wsgi.handler_script"] == ""
    assert env["mod_wsgi.enable_sendfile"] == "0"
    assert env["mod_wsgi.ignore_activity"] == "0"


def test_apache_common_variables_without_a_document_root() -> None:
    env = environ_for(b"/a/b", mount=Mount("/a", "/srv/app.wsgi"))
    # Debian's compiled-in DocumentRoot, as Apache reports it for a site without one.
    assert env["DOCUMENT_ROOT"] == env["CONTEXT_DOCUMENT_ROOT"] == "/var/www/html"
    assert env["CONTEXT_PREFIX"] == ""
    assert env["PATH_TRANSLATED"] == "/var/www/html/b"
    assert env["SERVER_ADMIN"] == "[no address given]"
    assert env["SERVER_SIGNATURE"] == ""


def test_apache_common_variables_from_the_host() -> None:
    mount = Mount("/a", "/srv/app.wsgi", document_root="/srv/www", server_admin="ops@example.com")
    env = build_environ(
        make_head(b"/a/b/c"),
        mount,
        InputStream(lambda n: b""),
        ErrorStream(lambda line: None),
        FileWrapper,
        "/a",
        "/b/c",
        "/srv/other.wsgi/c",
    )
    assert env["DOCUMENT_ROOT"] == env["CONTEXT_DOCUMENT_ROOT"] == "/srv/www"
    assert env["PATH_TRANSLATED"] == "/srv/other.wsgi/c"  # the router's translation
    assert env["SERVER_ADMIN"] == "ops@example.com"


def test_no_path_translated_without_path_info() -> None:
    # As Apache: PATH_TRANSLATED only where there is a PATH_INFO.
    env = environ_for(b"/a", mount=Mount("/a", "/srv/app.wsgi"))
    assert env["PATH_INFO"] == "" and env["mod_wsgi.path_info"] == ""
    assert "PATH_TRANSLATED" not in env


@pytest.mark.parametrize(
    "host, mount, group",
    [
        (b"example.com", "/app", "example.com|/app"),
        (b"example.com:80", "/app", "example.com|/app"),
        (b"example.com:443", "", "example.com|"),
        (b"example.com:9000", "/", "example.com:9000|"),
        (b"[::1]:9000", "/x", "[::1]:9000|/x"),
    ],
)
def test_default_application_group_is_host_port_and_script_name(
    host: bytes, mount: str, group: str
) -> None:
    env = environ_for(headers=[(b"Host", host)], mount=Mount(mount, "/srv/app.wsgi"))
    assert env["mod_wsgi.application_group"] == group


@pytest.mark.parametrize("group", ["", "%{GLOBAL}-like", "shared"])
def test_a_configured_application_group_is_used_as_is(group: str) -> None:
    env = environ_for(mount=Mount("/app", "/srv/app.wsgi", application_group=group))
    assert env["mod_wsgi.application_group"] == group


def test_every_cgi_key_is_a_str() -> None:
    env = environ_for(
        b"/app/x",
        headers=[(b"Host", b"h:1"), (b"Content-Length", b"3"), (b"X-A", b"\xff")],
        mount=Mount("/app", "/srv/app.wsgi"),
    )
    for key, value in env.items():
        if "." not in key:
            assert type(value) is str, key


# -- wsgiref.validate ---------------------------------------------------------------------


def validate(env: dict[str, Any]) -> None:
    """Run the environ through wsgiref's validator, every warning an error."""

    def app(environ: Any, start_response: Any) -> list[bytes]:
        environ["wsgi.input"].read(0)
        environ["wsgi.errors"].write("checked\n")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    started: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        started.append(status)
        return lambda data: None

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = validator(app)(env, start_response)
        try:
            assert list(result) == [b"ok"]
        finally:
            result.close()  # type: ignore[attr-defined]
    assert started == ["200 OK"]


@pytest.mark.parametrize(
    "path, mount, kwargs",
    [
        (b"/", "", {}),
        (b"/app", "/app", {}),
        (b"/app/a%20b", "/app", {"query": "x=1"}),
        (
            b"/upload",
            "",
            {
                "method": "POST",
                "headers": [
                    (b"Host", b"[::1]:8080"),
                    (b"Content-Type", b"text/plain"),
                    (b"Content-Length", b"5"),
                    (b"Cookie", b"a=1"),
                    (b"Cookie", b"b=2"),
                    (b"Authorization", b"Bearer t"),
                ],
            },
        ),
        (b"/", "", {"method": "HEAD", "headers": [], "version": "HTTP/1.0"}),
        (b"/x", "", {"client_addr": "::ffff:127.0.0.1", "server_addr": "::1"}),
        (b"/s", "", {"scheme": "https", "chunked": True, "method": "PUT"}),
    ],
)
def test_the_environ_passes_wsgiref_validation(
    path: bytes, mount: str, kwargs: dict[str, Any]
) -> None:
    m = Mount(mount, "/srv/app.wsgi", pass_authorization=True)
    env = environ_for(path, mount=m, **kwargs)
    validate(env)


def test_wsgiref_validation_would_catch_a_broken_environ() -> None:
    env = environ_for()
    env["SERVER_PORT"] = 8080  # not a str
    with pytest.raises(AssertionError):
        validate(env)


def test_the_router_s_split_overrides_the_mount_point() -> None:
    env = build_environ(
        make_head(b"/svc//billing/./x%20y", headers=[(b"Host", b"example.com:80")]),
        Mount("/ignored", "/srv/billing.wsgi"),
        InputStream(lambda n: b""),
        ErrorStream(lambda line: None),
        FileWrapper,
        script_name="/svc/billing",
        path_info="/x y",
    )
    assert env["SCRIPT_NAME"] == "/svc/billing"
    assert env["PATH_INFO"] == "/x y"
    assert env["mod_wsgi.script_name"] == "/svc/billing"
    assert env["mod_wsgi.application_group"] == "example.com|/svc/billing"
    assert env["REQUEST_URI"] == "/svc//billing/./x%20y"
    validate(env)


def test_log_id_is_apaches_shape_and_differs_per_request() -> None:
    ids = {log_id(1_700_000_000.123456, 4242, serial) for serial in range(1, 100)}
    assert len(ids) == 99  # the same microsecond, still one id each
    for value in ids:
        # As Apache's core_generate_log_id: 8 bytes in base64, the final '=' dropped.
        assert len(value) == 11 and re.fullmatch(r"[A-Za-z0-9+/]{11}", value)


@pytest.mark.parametrize(
    "server_name, expected",
    [("site.test", "site.test"), ("https://site.test:8443", "site.test"), (None, "198.51.100.1")],
)
def test_without_a_host_header_server_name_is_the_virtual_host_s(
    server_name: str | None, expected: str
) -> None:
    # As Apache: the chosen virtual host's ServerName (else the address it was reached on).
    env = environ_for(headers=[], mount=Mount("", "/srv/app.wsgi", server_name=server_name))
    assert env["SERVER_NAME"] == expected
    with_host = environ_for(mount=Mount("", "/srv/app.wsgi", server_name=server_name))
    assert with_host["SERVER_NAME"] == "example.com"  # a Host header wins (UseCanonicalName Off)


def test_with_query_copies_every_field_but_the_query() -> None:
    head = RequestHead(
        "POST", "/a?x=1", b"/a", "x=1", "HTTP/1.1", [(b"Host", b"h")],
        "192.0.2.1", 5000, "127.0.0.1", 8080, "https", True, "rid", 12.5,
    )  # fmt: skip
    head.remote_user, head.auth_type, head.ssl_environ = "u", "Basic", {"HTTPS": "on"}
    copy = head.with_query("y=2")
    assert copy is not head
    assert copy.query == "y=2" and head.query == "x=1"
    # Its fields (slots, or a compiled class's attributes), not its methods.
    fields = [n for n in dir(RequestHead) if not n.startswith("_")]
    fields = [n for n in fields if not callable(getattr(RequestHead, n))]
    assert "remote_user" in fields and "query" in fields
    for name in fields:
        if name != "query":
            assert getattr(copy, name) == getattr(head, name), name
