"""wsgihost.static.decide over a real directory: types, validators, 304, ranges, directories,
access control and symbolic links."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest

from wsgihost.config.model import DEFAULT_SETTINGS, Alias, DirSettings, Host, Server
from wsgihost.routing import FileTarget, Router
from wsgihost.static import (
    MIME_TYPES,
    FileResponse,
    decide,
    etag_for,
    parse_mime_types,
)

MTIME = 1_700_000_000  # a fixed whole second, so dates compare exactly
BODY = bytes(range(256)) * 4  # 1024 bytes


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """``tmp_path/root`` with a few files; ``tmp_path/secret.txt`` lies outside it."""
    top = tmp_path / "root"
    top.mkdir()
    for name, data in {
        "data.bin": BODY,
        "page.html": b"<p>hi</p>",
        "style.css": b"body{}",
        "notes.txt": b"notes",
        "archive.weird": b"??",
        "noext": b"x",
    }.items():
        (top / name).write_bytes(data)
        os.utime(top / name, (MTIME, MTIME))
    (tmp_path / "secret.txt").write_bytes(b"SECRET-OUTSIDE-ROOT")
    return top


def target(root: Path, rel: str, url: str | None = None, **settings: Any) -> FileTarget:
    """A target as the router builds it: DEFAULT_SETTINGS with ``settings`` on top."""
    merged = DEFAULT_SETTINGS.merge(DirSettings(**settings))
    path = str(root) + "/" + rel if rel else str(root)
    return FileTarget(Host(), path, str(root), url if url is not None else "/" + rel, merged)


def hdrs(**given: str) -> Callable[[str], str | None]:
    """A request_header function: keyword names use ``_`` for ``-`` (if_none_match)."""
    table = {k.replace("_", "-"): v for k, v in given.items()}
    return table.get


def run(
    t: FileTarget,
    method: str = "GET",
    query: str = "",
    table: dict[str, str] | None = None,
    **headers: str,
) -> FileResponse:
    if table is None:
        return decide(t, method, query, hdrs(**headers))
    return decide(t, method, query, hdrs(**headers), table)


def header(resp: FileResponse, name: str) -> str | None:
    found = [v for n, v in resp.headers if n.lower() == name.lower()]
    assert len(found) <= 1, resp.headers
    return found[0] if found else None


def content(resp: FileResponse) -> bytes:
    """What the front end would send as the body."""
    if resp.path is None:
        return resp.body
    with open(resp.path, "rb") as f:
        f.seek(resp.offset)
        return f.read(resp.length)


# -- 200, MIME types, validators ---------------------------------------------------


def test_a_file_is_200_with_its_type_length_and_validators(root: Path) -> None:
    resp = run(target(root, "data.bin"))
    assert resp.status == 200
    assert resp.path == str(root / "data.bin")
    assert (resp.offset, resp.length) == (0, len(BODY))
    assert content(resp) == BODY
    assert header(resp, "Content-Length") == str(len(BODY))
    assert header(resp, "Content-Type") is None  # .bin is not in the shipped table
    assert header(resp, "Last-Modified") == formatdate(MTIME, usegmt=True)
    assert header(resp, "Last-Modified") == "Tue, 14 Nov 2023 22:13:20 GMT"
    st = os.stat(root / "data.bin")
    assert header(resp, "ETag") == etag_for(st)
    assert header(resp, "ETag") == '"%x-%x"' % (len(BODY), st.st_mtime_ns // 1000)
    assert header(resp, "Accept-Ranges") == "bytes"


def test_head_gets_the_same_answer_as_get(root: Path) -> None:
    get = run(target(root, "data.bin"))
    head = run(target(root, "data.bin"), "HEAD")
    assert (head.status, head.headers, head.path) == (get.status, get.headers, get.path)


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        # No charset is assumed: AddDefaultCharset is Off by default, as in Apache.
        ("page.html", "text/html"),
        ("style.css", "text/css"),
        ("notes.txt", "text/plain"),
        # No type is known: none is sent, and the client decides (Apache 2.4).
        ("archive.weird", None),
        ("noext", None),
        ("data.bin", None),
    ],
)
def test_the_shipped_table_gives_the_type(root: Path, name: str, mime: str | None) -> None:
    assert header(run(target(root, name)), "Content-Type") == mime


def test_the_extension_is_matched_without_regard_to_case(root: Path) -> None:
    (root / "PHOTO.PNG").write_bytes(b"\x89PNG")
    assert header(run(target(root, "PHOTO.PNG")), "Content-Type") == "image/png"


def test_the_shipped_table_covers_the_common_types() -> None:
    assert MIME_TYPES[".js"] == "text/javascript"
    assert MIME_TYPES[".json"] == "application/json"
    assert MIME_TYPES[".svg"] == "image/svg+xml"
    assert MIME_TYPES[".woff2"] == "font/woff2"
    assert MIME_TYPES[".wasm"] == "application/wasm"


def test_add_type_adds_and_overrides(root: Path) -> None:
    types = ((".weird", "application/x-weird"), (".txt", "text/x-special"))
    assert (
        header(run(target(root, "archive.weird", add_types=types)), "Content-Type")
        == "application/x-weird"
    )
    # AddType wins over the table.
    assert (
        header(run(target(root, "notes.txt", add_types=types)), "Content-Type") == "text/x-special"
    )


def test_a_later_add_type_wins_as_merged_settings_stack(root: Path) -> None:
    outer = DEFAULT_SETTINGS.merge(DirSettings(add_types=((".weird", "a/one"),)))
    inner = outer.merge(DirSettings(add_types=((".weird", "a/two"),)))
    t = FileTarget(Host(), str(root / "archive.weird"), str(root), "/archive.weird", inner)
    assert header(run(t), "Content-Type") == "a/two"


def test_an_explicit_charset_is_kept(root: Path) -> None:
    types = ((".txt", "text/plain; charset=latin-1"),)
    resp = run(target(root, "notes.txt", add_types=types))
    assert header(resp, "Content-Type") == "text/plain; charset=latin-1"


def test_parse_mime_types_reads_a_types_config_file() -> None:
    text = (
        "# a comment line\n"
        "\n"
        "text/html\t\t\t\thtml htm\n"
        "application/x-thing   THING .dotted   # trailing comment\n"
        "application/no-extensions\n"
        "image/png png\n"
    )
    table = parse_mime_types(text)
    assert table == {
        ".html": "text/html",
        ".htm": "text/html",
        ".thing": "application/x-thing",
        ".dotted": "application/x-thing",
        ".png": "image/png",
    }


def test_a_types_config_table_replaces_the_shipped_one(root: Path) -> None:
    table = parse_mime_types("application/x-weird weird\ntext/x-notes txt\n")
    assert header(run(target(root, "archive.weird"), table=table), "Content-Type") == (
        "application/x-weird"
    )
    assert header(run(target(root, "notes.txt"), table=table), "Content-Type") == ("text/x-notes")
    # Replaced, not merged: .css is no longer known.
    assert header(run(target(root, "style.css"), table=table), "Content-Type") is None
    # AddType still wins over TypesConfig.
    t = target(root, "archive.weird", add_types=((".weird", "a/b"),))
    assert header(run(t, table=table), "Content-Type") == "a/b"


# -- conditional requests ----------------------------------------------------------


@pytest.fixture
def etag(root: Path) -> str:
    return etag_for(os.stat(root / "data.bin"))


def assert_not_modified(resp: FileResponse, etag: str) -> None:
    assert resp.status == 304
    assert resp.path is None and resp.body == b""
    assert header(resp, "ETag") == etag
    assert header(resp, "Last-Modified") == formatdate(MTIME, usegmt=True)


@pytest.mark.parametrize(
    "form",
    [
        "{e}",
        "W/{e}",
        '"other", {e}',
        '"a",{e},"b"',
        '  "x" ,  W/{e} ',
        "*",
    ],
)
def test_if_none_match_gives_304(root: Path, etag: str, form: str) -> None:
    for method in ("GET", "HEAD"):
        resp = run(target(root, "data.bin"), method, if_none_match=form.format(e=etag))
        assert_not_modified(resp, etag)


@pytest.mark.parametrize("form", ['"other"', 'W/"other"', '"a", "b"', '"{bare}"x'])
def test_if_none_match_without_a_match_gives_200(root: Path, etag: str, form: str) -> None:
    resp = run(target(root, "data.bin"), if_none_match=form.format(bare=etag.strip('"')))
    assert resp.status == 200


def test_if_modified_since_gives_304_when_not_modified(root: Path, etag: str) -> None:
    t = target(root, "data.bin")
    for when in (MTIME, MTIME + 1, MTIME + 86400):
        assert_not_modified(run(t, if_modified_since=formatdate(when, usegmt=True)), etag)
    # RFC 850 form, which recipients must accept.
    assert_not_modified(run(t, if_modified_since="Tuesday, 14-Nov-23 22:13:20 GMT"), etag)


def test_if_modified_since_older_than_the_file_gives_200(root: Path) -> None:
    t = target(root, "data.bin")
    assert run(t, if_modified_since=formatdate(MTIME - 1, usegmt=True)).status == 200
    assert run(t, if_modified_since=formatdate(0, usegmt=True)).status == 200


@pytest.mark.parametrize("junk", ["", "yesterday", "Tue, 99 Foo 2023 99:99:99 GMT", "1700000000"])
def test_an_invalid_if_modified_since_is_ignored(root: Path, junk: str) -> None:
    assert run(target(root, "data.bin"), if_modified_since=junk).status == 200


@pytest.fixture
def tz_east() -> Iterator[None]:
    """The local time zone nine hours east of UTC (a POSIX TZ rule, no tzdata needed)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "JST-9"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


def test_if_modified_since_in_asctime_form_is_utc_whatever_the_local_zone(
    root: Path, etag: str, tz_east: None
) -> None:
    # RFC 9110 5.6.7: recipients must accept asctime dates, and every HTTP date is UTC.
    # email.utils.parsedate_to_datetime returns a naive datetime for this form, and
    # .timestamp() then reads it as local time.
    resp = run(target(root, "data.bin"), if_modified_since="Tue Nov 14 22:13:20 2023")
    assert_not_modified(resp, etag)


def test_if_none_match_and_if_modified_since_must_both_match(root: Path, etag: str) -> None:
    t = target(root, "data.bin")
    fresh = formatdate(MTIME + 10, usegmt=True)
    stale = formatdate(MTIME - 10, usegmt=True)
    # As Apache's ap_meets_conditions: each validator present must agree to a 304
    # (RFC 9110 13.2.2 would ignore the date; Apache does not).
    assert run(t, if_none_match='"other"', if_modified_since=fresh).status == 200
    assert run(t, if_none_match=etag, if_modified_since=stale).status == 200
    assert_not_modified(run(t, if_none_match=etag, if_modified_since=fresh), etag)


def test_a_conditional_304_wins_over_a_range(root: Path, etag: str) -> None:
    assert_not_modified(run(target(root, "data.bin"), if_none_match=etag, range="bytes=0-9"), etag)


# -- ranges ------------------------------------------------------------------------


def assert_partial(resp: FileResponse, start: int, end: int) -> None:
    assert resp.status == 206, resp
    assert header(resp, "Content-Range") == f"bytes {start}-{end}/{len(BODY)}"
    assert header(resp, "Content-Length") == str(end - start + 1)
    assert (resp.offset, resp.length) == (start, end - start + 1)
    assert content(resp) == BODY[start : end + 1]
    assert header(resp, "ETag") is not None
    assert header(resp, "Content-Type") is None  # .bin: no known type


@pytest.mark.parametrize(
    ("spec", "start", "end"),
    [
        ("bytes=0-0", 0, 0),
        ("bytes=10-19", 10, 19),
        ("bytes=1000-5000", 1000, 1023),  # the end is clipped to the file
        ("bytes=1023-1023", 1023, 1023),
        ("bytes=-100", 924, 1023),  # suffix
        ("bytes=-5000", 0, 1023),  # a suffix longer than the file is all of it
        ("bytes=500-", 500, 1023),  # open
        ("bytes=0-", 0, 1023),
        ("Bytes=5-6", 5, 6),  # the unit is case-insensitive
    ],
)
def test_one_range_gives_206(root: Path, spec: str, start: int, end: int) -> None:
    assert_partial(run(target(root, "data.bin"), range=spec), start, end)


def test_a_range_on_head_gives_206_headers(root: Path) -> None:
    resp = run(target(root, "data.bin"), "HEAD", range="bytes=10-19")
    assert resp.status == 206
    assert header(resp, "Content-Range") == "bytes 10-19/1024"


@pytest.mark.parametrize(
    "spec", ["bytes=1024-", "bytes=2000-3000", "bytes=1024-1024", "bytes=2000-,3000-4000"]
)
def test_an_unsatisfiable_range_gives_416(root: Path, spec: str) -> None:
    resp = run(target(root, "data.bin"), range=spec)
    assert resp.status == 416
    assert header(resp, "Content-Range") == "bytes */1024"
    assert resp.path is None
    assert header(resp, "Content-Length") == str(len(resp.body))


def test_a_range_of_an_empty_file_is_ignored(root: Path) -> None:
    # Apache's byterange filter steps aside for an empty body: 200, not 416.
    (root / "empty.bin").write_bytes(b"")
    resp = run(target(root, "empty.bin"), range="bytes=0-")
    assert resp.status == 200
    assert header(resp, "Content-Length") == "0"


@pytest.mark.parametrize(
    "spec",
    [
        *("items=0-9", "bytes=9-0", "bytes=x-y", "bytes=5", "bytes", "bytes=-0"),
        # Apache reads bare digits only: a space or a sign anywhere voids the header.
        *("bytes=0-9, 500-", "bytes = 0-9", "bytes=+1-2", "bytes=0-9,a"),
    ],
)
def test_an_invalid_range_is_ignored(root: Path, spec: str) -> None:
    resp = run(target(root, "data.bin"), range=spec)
    assert resp.status == 200
    assert content(resp) == BODY


def test_if_range_with_the_current_validator_allows_the_range(root: Path, etag: str) -> None:
    t = target(root, "data.bin")
    assert_partial(run(t, range="bytes=0-9", if_range=etag), 0, 9)
    assert_partial(run(t, range="bytes=0-9", if_range=formatdate(MTIME, usegmt=True)), 0, 9)


@pytest.mark.parametrize(
    "validator",
    ['"stale"', "W/{e}", "Tue, 14 Nov 2023 22:13:19 GMT", "Mon, 01 Jan 2001 00:00:00 GMT"],
)
def test_if_range_that_does_not_match_gives_the_whole_file(
    root: Path, etag: str, validator: str
) -> None:
    # A weak tag never matches If-Range (strong comparison, RFC 9110 13.1.5).
    resp = run(target(root, "data.bin"), range="bytes=0-9", if_range=validator.format(e=etag))
    assert resp.status == 200
    assert header(resp, "Content-Range") is None
    assert content(resp) == BODY


# -- directories -------------------------------------------------------------------


def test_a_directory_without_a_trailing_slash_is_redirected(root: Path) -> None:
    (root / "docs").mkdir()
    resp = run(target(root, "docs", "/docs"))
    assert resp.status == 301
    # Absolute, as mod_dir makes it: no Host here, so the ServerName ("localhost").
    assert header(resp, "Location") == "http://localhost/docs/"
    assert resp.path is None


def test_the_redirect_keeps_the_query_and_the_alias_url(root: Path) -> None:
    (root / "docs").mkdir()
    resp = run(target(root, "docs", "/static/docs"), query="a=1&b=%20x")
    assert header(resp, "Location") == "http://localhost/static/docs/?a=1&b=%20x"


def test_the_redirect_location_escapes_the_path(root: Path) -> None:
    (root / "two words").mkdir()
    resp = run(target(root, "two words", "/two words"))
    assert header(resp, "Location") == "http://localhost/two%20words/"


def test_the_redirect_location_of_a_non_ascii_directory(root: Path) -> None:
    # The router decodes the URL path byte for byte (latin-1, as PEP 3333 does), so
    # /caf%C3%A9 arrives as url_path "/caf\xc3\xa9"; the Location must carry the same
    # bytes back: /caf%C3%A9/, not a double encoding of them.
    (root / "café").mkdir()
    t = target(root, "café", "/caf\xc3\xa9")
    assert header(run(t), "Location") == "http://localhost/caf%C3%A9/"


def test_a_non_ascii_name_routed_from_its_url_is_found(root: Path) -> None:
    # /na%C3%AFve.txt names the UTF-8 file naïve.txt; the router must turn the decoded
    # URL bytes into a file-system path the way the file system encodes names.
    (root / "naïve.txt").write_bytes(b"accents")
    router = Router(Server(listeners=(), main=Host(aliases=(Alias("/static/", f"{root}/"),))))
    t = router.route("127.0.0.1", 80, b"x", b"/static/na%C3%AFve.txt")
    assert isinstance(t, FileTarget)
    resp = run(t)
    assert resp.status == 200
    assert content(resp) == b"accents"


def test_directory_index_serves_the_index_file(root: Path) -> None:
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_bytes(b"<h1>index</h1>")
    resp = run(target(root, "docs/", "/docs/"))
    assert resp.status == 200
    assert content(resp) == b"<h1>index</h1>"
    assert header(resp, "Content-Type") == "text/html"


def test_directory_index_tries_the_names_in_order(root: Path) -> None:
    (root / "docs").mkdir()
    (root / "docs" / "home.txt").write_bytes(b"home")
    (root / "docs" / "index.html").write_bytes(b"index")
    (root / "docs" / "default.htm").mkdir()  # a directory is no index
    names = ("missing.html", "default.htm", "home.txt", "index.html")
    resp = run(target(root, "docs/", "/docs/", directory_index=names))
    assert resp.status == 200
    assert content(resp) == b"home"
    assert header(resp, "Content-Type") == "text/plain"


def test_the_index_file_answers_conditional_and_range_requests(root: Path) -> None:
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_bytes(b"0123456789")
    t = target(root, "docs/", "/docs/")
    tag = etag_for(os.stat(root / "docs" / "index.html"))
    assert run(t, if_none_match=tag).status == 304
    resp = run(t, range="bytes=2-4")
    assert resp.status == 206
    assert content(resp) == b"234"


def test_a_directory_without_an_index_is_403(root: Path) -> None:
    (root / "empty").mkdir()
    resp = run(target(root, "empty/", "/empty/"))
    assert resp.status == 403
    assert resp.path is None


def test_without_mod_autoindex_a_directory_without_an_index_is_404(root: Path) -> None:
    """LoadModule lines that leave mod_autoindex out: no module takes a
    directory, and Apache's core answers 404, Indexes or not, GET or POST."""
    (root / "empty").mkdir()
    (root / "indexed").mkdir()
    (root / "indexed" / "index.html").write_bytes(b"<p>index</p>")
    for settings in ({}, {"indexes": True}):
        for method in ("GET", "POST"):
            t = target(root, "empty/", "/empty/", **settings)
            resp = decide(t, method, "", hdrs(), autoindex=False)
            assert resp.status == 404, (settings, method)
    # mod_dir still finds an index file.
    t = target(root, "indexed/", "/indexed/", directory_index=("index.html",))
    assert decide(t, "GET", "", hdrs(), autoindex=False).status == 200


def test_the_document_root_itself_without_an_index_is_403(root: Path) -> None:
    assert run(target(root, "", "/")).status == 403


def test_indexes_gives_apaches_listing_with_names_escaped(root: Path) -> None:
    d = root / "list"
    d.mkdir()
    (d / "sub").mkdir()
    (d / "<b>&amp;.txt").write_bytes(b"x")
    (d / 'q"uote.txt').write_bytes(b"x")
    (d / "two words.txt").write_bytes(b"x")
    (d / ".hidden").write_bytes(b"x")
    resp = run(target(root, "list/", "/list/", indexes=True))
    assert resp.status == 200
    # No IndexOptions: mod_autoindex's plain list, in ISO-8859-1 (Apache's default).
    assert header(resp, "Content-Type") == "text/html;charset=ISO-8859-1"
    assert header(resp, "Content-Length") == str(len(resp.body))
    page = resp.body.decode()
    assert "<title>Index of /list</title>" in page
    assert '<li><a href="/"> Parent Directory</a></li>' in page
    assert '<li><a href="sub/"> sub/</a></li>' in page
    assert '<a href="%3cb%3e&amp;amp;.txt"> &lt;b&gt;&amp;amp;.txt</a>' in page
    assert '<a href="q%22uote.txt"> q&quot;uote.txt</a>' in page
    assert '<a href="two%20words.txt"> two words.txt</a>' in page
    assert "<b>" not in page
    # Without IndexIgnore (Debian's hides .??*), a dot file is listed, as by Apache.
    assert '<a href=".hidden"> .hidden</a>' in page
    # By name, byte order: folders are not first without FoldersFirst.
    assert page.index(".hidden") < page.index("%3cb%3e") < page.index("sub/") < page.index("two")


def test_the_listing_escapes_the_url_in_its_title(root: Path) -> None:
    (root / "x").mkdir()
    page = run(target(root, "x/", "/<script>/", indexes=True)).body.decode()
    assert "<script>" not in page
    assert "Index of /&lt;script&gt;</" in page


def test_the_listing_survives_a_name_that_is_not_utf8(root: Path) -> None:
    d = root / "bytes"
    d.mkdir()
    (d / "ok.txt").write_bytes(b"x")
    with open(os.path.join(os.fsencode(d), b"bad\xff.txt"), "wb") as f:
        f.write(b"x")
    resp = run(target(root, "bytes/", "/bytes/", indexes=True))
    assert resp.status == 200
    # The link points at the name's real bytes, percent-encoded; the text is the bytes.
    assert b'href="bad%ff.txt"> bad\xff.txt</a>' in resp.body
    assert b"ok.txt" in resp.body


def test_an_index_wins_over_indexes(root: Path) -> None:
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_bytes(b"index")
    assert content(run(target(root, "docs/", "/docs/", indexes=True))) == b"index"


# -- missing things and access control ---------------------------------------------


def test_a_missing_file_is_404(root: Path) -> None:
    assert run(target(root, "nothing.txt")).status == 404
    assert run(target(root, "nothing/deeper.txt")).status == 404


def test_a_file_named_as_a_directory_is_404(root: Path) -> None:
    assert run(target(root, "notes.txt/", "/notes.txt/")).status == 404
    assert run(target(root, "notes.txt/more", "/notes.txt/more")).status == 404


def test_a_path_outside_the_root_is_404_even_if_it_exists(root: Path) -> None:
    # The router never builds one, but decide does not trust it to.
    resp = run(target(root, "../secret.txt", "/secret.txt"))
    assert resp.status == 404
    assert b"SECRET" not in content(resp)


def test_a_special_file_is_403(root: Path) -> None:
    os.mkfifo(root / "pipe")
    assert run(target(root, "pipe")).status == 403


def test_require_denied_is_403_for_every_method(root: Path) -> None:
    for method in ("GET", "HEAD", "OPTIONS", "POST"):
        resp = run(target(root, "notes.txt", require="denied"), method)
        assert resp.status == 403, method
        assert resp.path is None
    # Before the file system is looked at: a missing file is 403 too.
    assert run(target(root, "missing", require="denied")).status == 403


def test_an_unreadable_directory_is_403(root: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads everything")
    locked = root / "locked"
    locked.mkdir()
    (locked / "f.txt").write_bytes(b"x")
    locked.chmod(0)
    try:
        assert run(target(root, "locked/f.txt")).status == 403
    finally:
        locked.chmod(0o755)


# -- symbolic links ----------------------------------------------------------------


@pytest.fixture
def links(root: Path) -> Path:
    (root / "out.txt").symlink_to(root.parent / "secret.txt")
    (root / "in.txt").symlink_to(root / "notes.txt")
    (root / "rel-in.txt").symlink_to("notes.txt")
    (root / "rel-out.txt").symlink_to("../secret.txt")
    (root / "outdir").symlink_to(root.parent)
    (root / "real").mkdir()
    (root / "real" / "index.html").symlink_to(root.parent / "secret.txt")
    return root


@pytest.mark.parametrize(
    ("rel", "url"),
    [
        ("out.txt", "/out.txt"),
        ("rel-out.txt", "/rel-out.txt"),
        ("outdir/secret.txt", "/outdir/secret.txt"),
        ("outdir/", "/outdir/"),
        ("real/", "/real/"),  # an index file that is a link to outside
    ],
)
def test_follow_symlinks_off_refuses_a_link_leading_outside_the_root(
    links: Path, rel: str, url: str
) -> None:
    resp = run(target(links, rel, url, follow_symlinks=False, indexes=True))
    assert resp.status == 403
    assert resp.path is None
    assert b"SECRET" not in resp.body


@pytest.mark.parametrize("rel", ["in.txt", "rel-in.txt"])
def test_follow_symlinks_off_allows_a_link_that_stays_inside(links: Path, rel: str) -> None:
    resp = run(target(links, rel, follow_symlinks=False))
    assert resp.status == 200
    assert content(resp) == b"notes"


def test_follow_symlinks_off_allows_a_root_that_is_itself_a_link(links: Path) -> None:
    alias = links.parent / "alias-root"
    alias.symlink_to(links)
    resp = run(target(alias, "notes.txt", follow_symlinks=False))
    assert resp.status == 200


@pytest.mark.parametrize("rel", ["out.txt", "rel-out.txt", "outdir/secret.txt", "in.txt"])
def test_follow_symlinks_on_serves_through_links(links: Path, rel: str) -> None:
    # Apache's default (and the CLI's): links are followed wherever they lead.
    resp = run(target(links, rel, follow_symlinks=True))
    assert resp.status == 200
    assert resp.path is not None


# -- methods -----------------------------------------------------------------------


def test_post_gets_the_file_as_get_does(root: Path) -> None:
    # Apache's default handler serves POST like GET (its body is read and dropped).
    get, post = run(target(root, "notes.txt")), run(target(root, "notes.txt"), "POST")
    assert (post.status, post.headers, post.path) == (get.status, get.headers, get.path)


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "TRACE", "PROPFIND", "MKCOL"])
def test_methods_apache_knows_are_405_with_allow(root: Path, method: str) -> None:
    for rel in ("notes.txt", "missing.txt"):
        resp = run(target(root, rel), method)
        assert resp.status == 405
        assert header(resp, "Allow") == "GET,POST,OPTIONS,HEAD,TRACE"
        assert resp.path is None and not resp.close
        assert header(resp, "Content-Length") == str(len(resp.body))


@pytest.mark.parametrize("method", ["PURGE", "FOO", "get", "Post", "BREW"])
def test_methods_apache_does_not_know_are_501_and_end_the_connection(
    root: Path, method: str
) -> None:
    for rel in ("notes.txt", "missing.txt"):
        resp = run(target(root, rel), method)
        assert resp.status == 501
        assert header(resp, "Allow") == "GET,POST,OPTIONS,HEAD,TRACE"
        assert resp.close
        assert method.encode() in resp.body


def test_a_directory_without_its_slash_is_redirected_whatever_the_method(root: Path) -> None:
    (root / "docs").mkdir()
    for method in ("GET", "POST", "PUT", "FOO", "OPTIONS"):
        assert run(target(root, "docs", "/docs"), method).status == 301


def test_options_answers_allow_and_the_type_without_a_body(root: Path) -> None:
    for rel, media in (
        ("notes.txt", "text/plain"),
        ("missing.html", "text/html"),  # the type comes from the name alone
        ("noext", None),
        ("", "httpd/unix-directory"),  # what mod_mime calls a directory
    ):
        resp = run(target(root, rel, "/" + rel), "OPTIONS")
        assert resp.status == 200
        assert header(resp, "Allow") == "GET,POST,OPTIONS,HEAD,TRACE"
        assert header(resp, "Content-Length") == "0"
        assert header(resp, "Content-Type") == media
        assert resp.path is None and resp.body == b""


# -- Apache's answers: the redirect's URL, several ranges, charsets, validators ------


@pytest.mark.parametrize(
    ("host_header", "server_name", "location"),
    [
        ("example.com", None, "http://example.com/docs/"),
        ("example.com:8080", None, "http://example.com:8080/docs/"),
        ("Example.COM.:80", None, "http://example.com/docs/"),  # lower case, no final dot
        ("example.com:443", None, "http://example.com:443/docs/"),
        ("[::1]:8080", None, "http://[::1]:8080/docs/"),
        (None, "site.test", "http://site.test/docs/"),  # HTTP/1.0 without Host
        (None, "site.test:8001", "http://site.test:8001/docs/"),
        ("site.test", "https://site.test", "https://site.test/docs/"),
        ("site.test:443", "https://site.test", "https://site.test/docs/"),
    ],
)
def test_the_redirect_location_is_absolute_as_apache_makes_it(
    root: Path, host_header: str | None, server_name: str | None, location: str
) -> None:
    (root / "docs").mkdir()
    settings = DEFAULT_SETTINGS
    t = FileTarget(Host(server_name=server_name), str(root / "docs"), str(root), "/docs", settings)
    given = {} if host_header is None else {"host": host_header}
    assert header(decide(t, "GET", "", hdrs(**given)), "Location") == location


def test_several_ranges_give_a_multipart_body(root: Path) -> None:
    resp = decide(target(root, "notes.txt"), "GET", "", hdrs(range="bytes=0-0,2-3"), boundary="b")
    assert resp.status == 206
    assert header(resp, "Content-Type") == "multipart/byteranges; boundary=b"
    assert header(resp, "Content-Range") is None
    assert resp.multipart is not None and resp.path == str(root / "notes.txt")
    parts = resp.multipart.parts
    assert [(p.offset, p.length) for p in parts] == [(0, 1), (2, 2)]
    assert b"Content-type: text/plain\r\nContent-range: bytes 2-3/5\r\n" in parts[1].head
    assert header(resp, "Content-Length") == str(resp.multipart.length)


def test_more_than_32_parts_are_sent_without_a_length(root: Path) -> None:
    spec = "bytes=" + ",".join(f"{2 * i}-{2 * i}" for i in range(33))
    resp = run(target(root, "data.bin"), range=spec)
    assert resp.status == 206 and resp.multipart is not None
    assert header(resp, "Content-Length") is None


def test_max_ranges_none_turns_ranges_off(root: Path) -> None:
    resp = run(target(root, "data.bin", max_ranges=0), range="bytes=0-9")
    assert resp.status == 200
    assert header(resp, "Accept-Ranges") == "none"
    assert run(target(root, "data.bin", max_ranges=1), range="bytes=0-1,5-6").status == 200


def test_the_charset_settings_reach_the_content_type(root: Path) -> None:
    t = target(root, "notes.txt", default_charset="iso-8859-1")
    assert header(run(t), "Content-Type") == "text/plain; charset=iso-8859-1"
    t = target(root, "notes.txt", add_charsets=((".txt", "utf-8"),))
    assert header(run(t), "Content-Type") == "text/plain; charset=utf-8"
    t = target(root, "style.css", default_charset="utf-8")  # text/css: not for it
    assert header(run(t), "Content-Type") == "text/css"


def test_the_etag_is_weak_within_a_second_of_the_change(root: Path) -> None:
    st = os.stat(root / "data.bin")
    t = target(root, "data.bin")
    resp = decide(t, "GET", "", hdrs(), now=MTIME + 0.5)
    assert header(resp, "ETag") == "W/" + etag_for(st)
    assert header(decide(t, "GET", "", hdrs(), now=MTIME + 1.5), "ETag") == etag_for(st)


def test_a_file_dated_after_the_request_is_dated_at_the_request(root: Path) -> None:
    resp = decide(target(root, "data.bin"), "GET", "", hdrs(), now=MTIME - 100)
    assert header(resp, "Last-Modified") == formatdate(MTIME - 100, usegmt=True)


def test_a_failed_precondition_is_412_with_the_files_headers_and_no_body(
    root: Path, etag: str
) -> None:
    for resp in (
        run(target(root, "data.bin"), if_match='"other"'),
        run(target(root, "data.bin"), "POST", if_none_match=etag),
    ):
        assert resp.status == 412
        assert resp.path is None and resp.body == b""
        assert header(resp, "Content-Length") == "0"
        assert header(resp, "ETag") == etag
