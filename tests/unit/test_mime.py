"""wsgihost.mime: the Content-Type of a static file as mod_mime and AddDefaultCharset
give it: every extension read, no type when none is known, no charset assumed."""

from __future__ import annotations

import pytest

from wsgihost.mime import DEFAULT_CHARSET_NAME, MIME_TYPES, content_type, extensions

TABLE = {".txt": "text/plain", ".html": "text/html", ".gz": "application/gzip", ".json": "x/j"}


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("a.txt", [".txt"]),
        ("/srv/dir.d/a.TXT", [".txt"]),  # only the file's own name, lower-cased
        ("notes.txt.gz", [".txt", ".gz"]),
        (".profile", []),  # leading dots belong to the base name
        ("..a.b", [".b"]),
        ("a..txt", [".txt"]),  # an empty extension is skipped
        ("README", []),
    ],
)
def test_extensions(name: str, found: list[str]) -> None:
    assert extensions(name) == found


@pytest.mark.parametrize(
    ("name", "media"),
    [
        ("notes.txt", "text/plain"),  # no charset unless configured
        ("page.html", "text/html"),
        ("notes.txt.gz", "application/gzip"),  # the later known extension wins
        ("page.html.bak", "text/html"),  # an unknown one is passed over
        ("data.unknownext", None),  # no type at all: no Content-Type
        ("README", None),
        (".txt", None),  # a hidden file named txt
    ],
)
def test_the_type_from_every_extension(name: str, media: str | None) -> None:
    assert content_type(name, (), TABLE) == media


def test_add_type_wins_for_its_extension_and_the_last_one_counts() -> None:
    forced = ((".txt", "text/x-one"), (".txt", "text/x-two"))
    assert content_type("a.txt", forced, TABLE) == "text/x-two"
    assert content_type("a.txt.gz", forced, TABLE) == "application/gzip"


def test_add_charset_names_the_charset_of_any_type() -> None:
    charsets = ((".utf8", "utf-8"), (".l1", "iso-8859-1"))
    assert content_type("page.html.utf8", (), TABLE, charsets) == "text/html; charset=utf-8"
    assert content_type("d.json.l1", (), TABLE, charsets) == "x/j; charset=iso-8859-1"
    # A charset with no type is no Content-Type.
    assert content_type("x.utf8", (), TABLE, charsets) is None


def test_add_charset_replaces_a_charset_the_type_names() -> None:
    forced = ((".txt", "text/plain;charset=ascii; format=flowed"),)
    got = content_type("a.txt.utf8", forced, TABLE, ((".utf8", "utf-8"),))
    assert got == "text/plain; charset=utf-8; format=flowed"


@pytest.mark.parametrize(
    ("name", "media"),
    [
        ("a.txt", "text/plain; charset=iso-8859-1"),
        ("a.html", "text/html; charset=iso-8859-1"),
        ("a.json", "x/j"),  # only text/plain and text/html get it
        ("a.unknownext", None),
    ],
)
def test_add_default_charset_on(name: str, media: str | None) -> None:
    assert content_type(name, (), TABLE, (), DEFAULT_CHARSET_NAME) == media


def test_add_default_charset_leaves_a_named_charset() -> None:
    forced = ((".txt", "text/plain; charset=koi8-r"),)
    got = content_type("a.txt", forced, TABLE, (), "utf-8")
    assert got == "text/plain; charset=koi8-r"
    got = content_type("a.txt.l1", (), TABLE, ((".l1", "latin1"),), "utf-8")
    assert got == "text/plain; charset=latin1"


def test_the_shipped_table_knows_text_but_assumes_no_charset() -> None:
    assert content_type("site.css", (), MIME_TYPES) == "text/css"
    assert content_type("app.js", (), MIME_TYPES) == "text/javascript"


def test_remove_type_hides_the_extension_even_from_types_config() -> None:
    table = {".json": "application/json", ".html": "text/html"}
    removed = ((".json", "text/plain"), (".json", ""))  # AddType, then RemoveType deeper
    assert content_type("data.json", removed, table) is None
    assert content_type("page.html.json", removed, table) == "text/html"
    assert content_type("data.json", (*removed, (".json", "text/x-j")), table) == "text/x-j"


def test_remove_charset_takes_away_the_extensions_charset() -> None:
    charsets = ((".en", "utf-8"), (".en", ""))
    table = {".html": "text/html"}
    assert content_type("page.html.en", (), table, charsets) == "text/html"
    assert content_type("page.html.en", (), table, charsets, "iso-8859-1") == (
        "text/html; charset=iso-8859-1"
    )
