"""The known differences between wsgihost and Apache + mod_wsgi, as data.

Each entry names the cases it applies to (a glob over case names), a place in
the observation (a path of keys), what Apache shows there and what wsgihost
shows, and why: either the issue that will fix it or why it is deliberate.
``docs/differences.md`` lists the same entries for users. An entry whose
difference is no longer seen fails the case, so the table never outlives
the difference it describes.
"""

from __future__ import annotations

import copy
import fnmatch
from dataclasses import dataclass
from typing import Any


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ABSENT: Any = _Marker("ABSENT")  # the key is not there
ANY: Any = _Marker("ANY")  # any value, as long as the key is there


@dataclass(frozen=True)
class Known:
    cases: str
    path: tuple[str, ...]
    apache: Any
    wsgihost: Any
    why: str  # "to fix (issue N): ..." or "deliberate: ..."
    # Only where Apache's observation has this value at this path (see apply_known).
    when: tuple[tuple[str, ...], Any] | None = None


def _env(key: str, apache: Any, wsgihost: Any, why: str, cases: str = "*environ*") -> Known:
    return Known(cases, ("environ", key), apache, wsgihost, why)


_ONE_PIECE = (
    "deliberate: a response with no Content-Length whose app has finished before its "
    "head is sent (a list, say) gets one from wsgihost, as Apache's own content-length "
    "filter gives one to other handlers; mod_wsgi flushes each piece, so Apache sends it "
    "chunked (HTTP/1.1) or until the connection closes (HTTP/1.0), and HEAD with no length"
)


_RANGE_416 = (
    "deliberate: a 416 carries Content-Range: bytes */SIZE, as RFC 9110 15.5.17 asks, "
    "and a Content-Length; Apache's 416 page has neither and is chunked"
)


_TLS_CHAIN = (
    "to fix when Python's ssl can give it (3.13's get_verified_chain): mod_ssl's "
    "SSL_CLIENT_CERT_CHAIN_n and SSL_CLIENT_CERT_RFC4523_CEA need the client's chain "
    "and the certificate's ASN.1, which Python 3.11's ssl does not expose"
)

_REDIRECT_CTL = (
    "deliberate: a redirect whose Location would hold a control character (a CR/LF a "
    "RedirectMatch group put in the query) is answered 500 by wsgihost's check "
    "before any header is made; Apache builds the header, refuses it as it goes out "
    "and sends its 500 page chunked, with 'Additionally, a 302 Found error was "
    "encountered' under it"
)


_BARE_UNKNOWN = (
    "deliberate: 'PROXY UNKNOWN\\r\\n' (the v1 form HAProxy sends for a client it cannot "
    "name) keeps the peer's address, as the PROXY protocol says; mod_remoteip decides "
    "the version on the first 15 bytes, which hold that whole line, then reads the next "
    "line too and closes the connection (AH03513, 'have data left over')"
)


KNOWN: tuple[Known, ...] = (
    # -- mod_alias's redirects ---------------------------------------------------------
    *(
        Known("redirect-crlf-in-query-group", path, apache, ANY, _REDIRECT_CTL)
        for path, apache in ((("body",), ANY), (("headers", "content-length"), ABSENT))
    ),
    Known(
        "redirect-crlf-in-query-group",
        ("errors",),
        ANY,
        ANY,
        "deliberate: AH02430's line shows the CR/LF as \\\\r\\\\n (the line is escaped once "
        "more as wsgihost writes a message); Apache's as \\r\\n; one line either way",
    ),
    Known(
        "redirect-head",
        ("headers", "content-length"),
        ABSENT,
        ANY,
        "deliberate: a HEAD answered with the server's own page (a redirect, an error) "
        "carries the Content-Length the GET would have, as RFC 9110 9.3.2 suggests; "
        "Apache sends none",
    ),
    # -- mod_remoteip: a bare "PROXY UNKNOWN" line ------------------------------------
    *(
        Known("remoteip-proxy-v1-unknown", (key,), apache, ours, _BARE_UNKNOWN)
        for key, apache, ours in (
            ("closed", "without an answer", ABSENT),
            ("status", ABSENT, 200),
            ("environ", ABSENT, ANY),
            ("access", ABSENT, ANY),
            ("errors", ANY, ABSENT),
        )
    ),
    Known(
        "redirect-open-encoded-slashes",
        ("access",),
        ANY,
        [],
        "to fix: a request refused for its path before routing (an encoded slash: 404) "
        "is logged in the main server's access log, not in its virtual host's "
        "(dispatch.log_access has no host for it)",
    ),
    # -- expressions and mod_macro (tests/differential/test_expr.py) --------------
    Known(
        "expr-header-agent",
        ("vary",),
        "X-Token,User-Agent",
        "X-Token, User-Agent",
        "to fix (issue 18, the core's output pipeline): Apache's core rewrites every Vary "
        "into one list joined by ',' (fix_vary); wsgihost sends the names as the "
        "expression evaluator joined them",
    ),
    Known(
        "expr-evaluation-fails",
        ("errors",),
        ANY,
        [
            "[<TIME>] [authz_core:error] [pid <PID>] [client 127.0.0.1:<CLIENT-PORT>] "
            "AH02320: Error evaluating expression in 'Require expr': Cannot open file "
            "<SITE>/nothing-here"
        ],
        "to fix (issue 16): before AH02320, Apache logs 'Evaluation of expression from "
        "FILE:LINE failed: ...' naming where the Require line was written; a Require rule "
        "does not carry its file and line to the access phase yet",
    ),
    # -- TLS (tests/differential/test_tls.py) ---------------------------------------
    *(
        Known("tls-client-cert-*", ("ssl_keys", key), True, ABSENT, _TLS_CHAIN)
        for key in ("SSL_CLIENT_CERT_CHAIN_0", "SSL_CLIENT_CERT_RFC4523_CEA")
    ),
    # -- mod_deflate (tests/differential/test_deflate.py) ------------------------------
    # An app's response the DEFLATE filter leaves as it is: framed as any other.
    *(
        known
        for case in (
            "206",
            "404-by-type",
            "location-types-replace",
            "no-accept",
            "no-gzip",
            "other-type",
        )
        for known in (
            Known(f"deflate-*-{case}", ("transfer-encoding",), "chunked", ABSENT, _ONE_PIECE),
            Known(f"deflate-*-{case}", ("content-length",), ABSENT, ANY, _ONE_PIECE),
            Known(f"deflate-*-{case}", ("framing",), "chunked", "length", _ONE_PIECE),
        )
    ),
    # -- framing -----------------------------------------------------------------
    *(
        known
        for cases in (
            "logs-*-output",
            "django-append-slash",
            "headers-*-no-length*",
            "errors-app-document",
            "errors-*-wsgi-errors",
            "errors-no-override-*",
        )
        for known in (
            Known(cases, ("*", "headers", "transfer-encoding"), "chunked", ABSENT, _ONE_PIECE),
            Known(cases, ("*", "headers", "content-length"), ABSENT, ANY, _ONE_PIECE),
            Known(cases, ("framing",), lambda f: f in ("chunked", "close"), "length", _ONE_PIECE),
        )
    ),
    # -- a malformed chunked body under WSGIChunkedRequest On (case 6) -----------
    Known(
        "chunked-daemon-on-malformed",
        ("app called",),
        True,
        False,
        "deliberate: a chunked body that arrived whole is checked before the app is "
        "called, so the app never sees a broken request; mod_wsgi calls the app, whose "
        "wsgi.input.read() raises OSError, then sends Apache's 400 page followed by its "
        "500 page in one close-delimited body and logs the request as a 500",
    ),
    Known(
        "chunked-daemon-on-malformed",
        ("answer", "body"),
        lambda body: "<title>500 Internal Server Error</title>" in body,
        lambda body: "<title>400 Bad Request</title>" in body and "500" not in body,
        "deliberate: wsgihost's answer is Apache's 400 page alone (see above)",
    ),
    Known(
        "chunked-daemon-on-malformed",
        ("answer", "headers", "content-length"),
        ABSENT,
        ANY,
        "deliberate: wsgihost's 400 has a Content-Length; Apache's (above) ends with the "
        "connection",
    ),
    Known(
        "chunked-daemon-on-malformed",
        ("access logs", "daemon-access.log"),
        lambda lines: '" 500 ' in lines[0],
        lambda lines: '" 400 ' in lines[0],
        "deliberate: wsgihost logs the 400 it sent; Apache logs 500 (see above)",
    ),
    # -- a range past the end of a static file ----------------------------------
    Known(
        "django-static",
        ("range past the end", "headers", "content-range"),
        ABSENT,
        "bytes */67",
        _RANGE_416,
    ),
    Known(
        "django-static",
        ("range past the end", "headers", "transfer-encoding"),
        "chunked",
        ABSENT,
        _RANGE_416,
    ),
    Known(
        "django-static",
        ("range past the end", "headers", "content-length"),
        ABSENT,
        ANY,
        _RANGE_416,
    ),
    *(
        Known("static-range-unsatisfiable", ("answer", *path), apache, wsgihost, _RANGE_416)
        for path, apache, wsgihost in (
            (("headers", "content-range"), ABSENT, "bytes */1000"),
            (("headers", "transfer-encoding"), "chunked", ABSENT),
            (("headers", "content-length"), ABSENT, ANY),
            (("framing",), "chunked", "length"),
        )
    ),
    # -- ErrorLogFormat's %A in a daemon process -----------------------------------
    Known(
        "errors-daemon-*",
        ("error log %A",),
        lambda found: found != ["127.0.0.1:<PORT>"],
        ABSENT,
        "deliberate: in mod_wsgi's daemon processes %A is the bytes of the daemon socket's "
        "path read as an IPv4 address (109.112.47.119 is 'mp/w' of /tmp/wsgi...); "
        "wsgihost's daemon lines leave the field out",
    ),
    # -- a response head Apache's strict check refuses (a control byte) ----------
    *(
        Known(
            case,
            ("headers", "content-length"),
            ANY,
            ANY,
            "deliberate: the 500 page is the same, but Apache's Content-Length also counts "
            "the app's first body piece, which it never sends; wsgihost's is the page's",
        )
        for case in ("response-header-control-byte", "response-header-del")
    ),
    # -- the environ -----------------------------------------------------------
    _env(
        "SERVER_SOFTWARE",
        ANY,
        "wsgihost",
        "deliberate: the server says which server it is "
        "(Apache's is 'Apache/2.4.x (Debian) mod_wsgi/4.9.x Python/3.x')",
    ),
    _env(
        "mod_wsgi.application_group",
        "daemon.test|/echo",
        "daemon.test:<PORT>|/echo",
        "deliberate: the port in the application group is the virtual host's configured "
        "one; mod_wsgi takes it from the Host header, so a client could make new "
        "application groups (here: sets of daemon processes) by naming new ports",
        cases="environ-host-without-port",
    ),
    _env(
        "wsgi.multiprocess",
        True,
        False,
        "deliberate: wsgihost runs exactly StartServers front-end processes, so with "
        "StartServers 1 embedded apps run in one process; Apache may start more "
        "(up to MaxRequestWorkers / ThreadsPerChild) and says True",
        cases="environ-embedded",
    ),
    # -- mod_headers (tests/differential/test_headers_module.py) -------------------
    Known(
        "modheaders-*-cors",
        ("headers", "vary"),
        ["Origin,Accept-Encoding"],
        ["Origin, Accept-Encoding"],
        "to fix (issue 18, the core's output pipeline): Apache's core rewrites every "
        "Vary into one list without repeats, joined by ',' (fix_vary); wsgihost sends "
        "Vary as the app and Header lines made it",
    ),
    Known(
        "modheaders-*-request-headers",
        ("app saw", "HTTP_X_TWICE"),
        "second",
        "first, second",
        "deliberate: after 'RequestHeader add' the request has two such headers; "
        "mod_wsgi's environ keeps the last, wsgihost joins them with ', ' as it joins a "
        "client's repeated headers (RFC 9110 5.3), so no value is lost",
    ),
    Known(
        "modheaders-literal-crlf",
        ("headers", "x-early-response"),
        ABSENT,
        ["from-early"],
        "deliberate: Apache builds the 500 for a refused response head anew, running "
        "only the late 'Header always' lines again, so what an 'early' line set is lost; "
        "wsgihost's 500 keeps it, as every other error page of both servers does",
    ),
    *(
        Known(
            "modheaders-*-tables-500",
            ("headers", name),
            apache,
            ours,
            "to fix (issue 16, the pipeline's output hook): the 500 page an app's "
            "exception gets is not yet told apart from the app's own answers, so "
            "'Header onsuccess' lines reach it; Apache sends only 'Header always' ones",
        )
        for name, apache, ours in (
            ("x-both", ["always-value"], ["always-value", "onsuccess-value"]),
            ("x-frame-options", ABSENT, ["DENY"]),
            ("x-success", ABSENT, ["yes"]),
        )
    ),
    # -- mod_proxy: CONNECT (a forward proxy's method) is refused by the core ----------
    Known(
        "proxy-connect-refused",
        ("headers", "allow"),
        "GET, HEAD, OPTIONS, POST, TRACE",
        ABSENT,
        "to fix (core): wsgihost's 405 for a method nothing here handles names no Allow "
        "header; Apache's core lists the methods it knows (the status and page are the same)",
    ),
    Known(
        "proxy-connect-refused",
        ("closes",),
        False,
        True,
        "to fix (core): wsgihost ends the connection after its 405 for CONNECT; Apache's "
        "core keeps it",
    ),
    # -- charsets and types: what the core does to an app's head -----------------------
    Known(
        "mime-dmn-capital-type",
        ("content-type",),
        ["text/html; charset=iso-8859-1"],
        ["TEXT/HTML; charset=iso-8859-1"],
        "to fix (daemon mode's head, frontend/proxy.py): Apache reads a daemon's head as "
        "a script's (ap_scan_script_header_err), which lower-cases the media type of its "
        "Content-Type (not its parameters); wsgihost passes it on as the app wrote it",
    ),
    Known(
        "mime-typed-script-no-type*",
        ("content-type",),
        ["text/x-python"],
        [],
        "deliberate: an app that sends no Content-Type gets none from wsgihost; Apache "
        "sends the type mod_mime gives the script's file name (text/x-python for app.py), "
        "which describes the script, not the answer, and would cost every site with such "
        "a script the request pipeline",
    ),
    Known(
        "mime-*-304-with-type",
        ("content-type",),
        [],
        ["text/html; charset=iso-8859-1"],
        "to fix (core, httpcore.build_head): Apache drops the Content-Type of a 204 or 304 "
        "an app sends (AP_STATUS_IS_HEADER_ONLY); wsgihost sends it",
    ),
)


def _get(tree: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return ABSENT
        tree = tree[key]
    return tree


def _drop(tree: Any, path: tuple[str, ...]) -> None:
    for key in path[:-1]:
        if not isinstance(tree, dict) or key not in tree:
            return
        tree = tree[key]
    if isinstance(tree, dict):
        tree.pop(path[-1], None)


def _places(apache: Any, wsgihost: Any, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The full paths ``path`` names: itself, or with a leading ``*`` every place in
    either tree whose path ends with the rest."""
    if not path or path[0] != "*":
        return [path]
    tail = path[1:]
    found: set[tuple[str, ...]] = set()

    def walk(tree: Any, at: tuple[str, ...]) -> None:
        if not isinstance(tree, dict):
            return
        for key, value in tree.items():
            here = (*at, key)
            if here[-len(tail) :] == tail:
                found.add(here)
            walk(value, here)

    walk(apache, ())
    walk(wsgihost, ())
    return sorted(found)


def _matches(value: Any, pattern: Any) -> bool:
    if pattern is ANY:
        return value is not ABSENT
    if pattern is ABSENT:
        return value is ABSENT
    if callable(pattern):
        return value is not ABSENT and bool(pattern(value))
    return bool(value == pattern)


def apply_known(case: str, apache: Any, wsgihost: Any) -> tuple[Any, Any, list[str]]:
    """Copies of both observations with the known differences of ``case`` set aside,
    and a note for each. Fails on an entry whose difference is gone."""
    drops: list[tuple[str, ...]] = []
    notes = []
    for known in KNOWN:
        if not fnmatch.fnmatchcase(case, known.cases):
            continue
        for path in _places(apache, wsgihost, known.path):
            parent = path[:-1]
            if _get(apache, parent) is ABSENT or _get(wsgihost, parent) is ABSENT:
                continue  # one server gave nothing to compare here (an error, say)
            if known.when:
                # Relative to where a ``*`` path's named part begins (the answer, say).
                root = path[: len(path) - len(known.path) + 1] if known.path[0] == "*" else ()
                if not _matches(_get(apache, root + known.when[0]), known.when[1]):
                    continue
            theirs, ours = _get(apache, path), _get(wsgihost, path)
            if not _matches(theirs, known.apache):
                continue  # not this case's difference: Apache shows something else here
            where = "/".join(path)
            assert ours != theirs, (
                f"known difference at {where} in {case!r} is no longer seen (both give "
                f"{ours!r}): remove it from tests/differential/known.py and docs/differences.md"
            )
            if not _matches(ours, known.wsgihost):
                continue  # a difference, but not the known one: let the comparison show it
            drops.append(path)
            notes.append(f"{where}: {known.why}")
    apache, wsgihost = copy.deepcopy(apache), copy.deepcopy(wsgihost)
    for path in drops:
        _drop(apache, path)
        _drop(wsgihost, path)
    return apache, wsgihost, notes
