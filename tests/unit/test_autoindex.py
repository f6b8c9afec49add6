"""mod_autoindex's pure parts: its directives as Apache reads them (errors word for
word), its merge, and the byte-level pieces of the page (sizes, natural order, the
query string, cut descriptions, escaping). The pages themselves are compared with
Apache's in tests/differential/test_autoindex.py."""

from __future__ import annotations

import os
import random
import textwrap
from collections.abc import Callable
from functools import cmp_to_key
from pathlib import Path

import pytest

from wsgihost.config import load
from wsgihost.config import mod_autoindex as conf
from wsgihost.config.mod_autoindex import AutoindexSettings
from wsgihost.config.model import DEFAULT_SETTINGS, DirSettings, Host, Server
from wsgihost.frontend import listing
from wsgihost.mods import autoindex_order as order
from wsgihost.mods.autoindex_rows import terminate
from wsgihost.routing import FileTarget
from wsgihost.static import FileSystem, decide


def problems(tmp_path: Path, text: str) -> list[tuple[int, str]]:
    site = tmp_path / "site.conf"
    site.write_text("Listen 8000\n" + textwrap.dedent(text))
    _, found = load(str(site), {}, {})
    return [(p.line, p.message) for p in found]


def main_settings(tmp_path: Path, text: str) -> AutoindexSettings:
    site = tmp_path / "site.conf"
    site.write_text("Listen 8000\n" + textwrap.dedent(text))
    server, found = load(str(site), {}, {})
    assert isinstance(server, Server), found
    settings = server.main.settings.autoindex
    assert settings is not None
    return settings


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("IndexOptions Fancy", "IndexOptions: Invalid directory indexing option"),
        ("IndexOptions +None", "IndexOptions: Cannot combine '+' or '-' with 'None' keyword"),
        (
            "IndexOptions None FancyIndexing",
            "IndexOptions: Cannot combine other IndexOptions keywords with 'None'",
        ),
        (
            "IndexOptions NameWidth",
            "IndexOptions: NameWidth with no value may only appear as '-NameWidth'",
        ),
        ("IndexOptions NameWidth=3", "IndexOptions: NameWidth value must be greater than 5"),
        ("IndexOptions -NameWidth=9", "IndexOptions: Cannot combine '-' with NameWidth=n"),
        (
            "IndexOptions DescriptionWidth=11",
            "IndexOptions: DescriptionWidth value must be greater than 12",
        ),
        (
            "IndexOrderDefault Up Name",
            "IndexOrderDefault: First keyword must be 'Ascending' or 'Descending'",
        ),
        (
            "IndexOrderDefault Ascending Colour",
            "IndexOrderDefault: Second keyword must be 'Name', 'Date', 'Size', or 'Description'",
        ),
        ("AddIcon (ALT,/a.gif .a", "AddIcon: missing closing paren"),
        (
            "FancyIndexing on",
            "FancyIndexing: The FancyIndexing directive is no longer supported. "
            "Use IndexOptions FancyIndexing.",
        ),
    ],
)
def test_apaches_refusals(tmp_path: Path, line: str, message: str) -> None:
    assert problems(tmp_path, line + "\n") == [(2, message)]


def test_options_replace_or_add_as_apache_merges_them(tmp_path: Path) -> None:
    top = main_settings(tmp_path, "IndexOptions FancyIndexing HTMLTable FoldersFirst\n")
    adding = AutoindexSettings(incremented=conf.IGNORE_CASE, decremented=conf.TABLE_INDEXING)
    merged = top.merge(adding).options
    assert merged & conf.FANCY_INDEXING and merged & conf.IGNORE_CASE
    assert not merged & conf.TABLE_INDEXING
    # Options without +/- replace what is inherited.
    replacing = AutoindexSettings(opts=conf.OPTION_UNSET | conf.SUPPRESS_SIZE)
    assert top.merge(replacing).options & (conf.FANCY_INDEXING | conf.FOLDERS_FIRST) == 0
    # None also drops the +/- ones inherited from above.
    none = AutoindexSettings(opts=conf.NO_OPTIONS)
    assert top.merge(adding).merge(none).options == conf.NO_OPTIONS


def test_lists_put_the_deeper_scope_first_and_reset_drops_ignores(tmp_path: Path) -> None:
    top = main_settings(tmp_path, "IndexIgnore *~\nAddDescription Top *.txt\n")
    deeper = AutoindexSettings(
        ignores=(conf.Item("", "*.bak", "*", ""),),
        descriptions=(conf.Description("*.txt", "Deep", False, True),),
    )
    merged = top.merge(deeper)
    assert [d.text for d in merged.descriptions] == ["Deep", "Top"]
    assert [i.apply_to for i in merged.ignores] == ["*.bak", "*~"]
    reset = top.merge(deeper.__class__(ignores=deeper.ignores, ignore_reset=True))
    assert [i.apply_to for i in reset.ignores] == ["*.bak"]


def test_icons_keep_their_directory_and_alt_text(tmp_path: Path) -> None:
    s = main_settings(
        tmp_path,
        """\
        <Directory /srv/site>
        </Directory>
        AddIcon (SND,/icons/sound2.gif) .ogg
        AddIcon /icons/folder.gif ^^DIRECTORY^^ **DIRECTORY**
        AddIconByEncoding (CMP,/icons/c.gif) X-GZIP
        """,
    )
    assert [(i.kind, i.apply_to, i.apply_path, i.data) for i in s.icons] == [
        ("path", "*.ogg", "*", "/icons/sound2.gif"),
        ("path", "*^^DIRECTORY^^", "*", "/icons/folder.gif"),
        ("path", "*^^DIRECTORY^^", "*", "/icons/folder.gif"),
        ("encoding", "x-gzip", "*", "/icons/c.gif"),
    ]
    assert [(i.apply_to, i.data) for i in s.alts] == [("*.ogg", "SND"), ("x-gzip", "CMP")]


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (-1, "  - "),
        (0, "  0 "),
        (972, "972 "),
        (973, "1.0K"),
        (1024, "1.0K"),
        (9 * 1024 + 972, "9.9K"),
        (9 * 1024 + 973, " 10K"),
        (10239, " 10K"),
        (1_500_000, "1.4M"),
        (5_000_000_000, "4.7G"),
    ],
)
def test_sizes_as_apr_strfsize(size: int, text: str) -> None:
    assert order.size_text(size) == text


def test_natural_order_compares_numbers_by_value() -> None:
    names = ["file10.txt", "file9.txt", "file1.txt", "file01.txt", "File2.txt"]
    key = cmp_to_key(order.natcmp)
    assert sorted(names, key=key) == [
        "File2.txt",
        "file01.txt",
        "file1.txt",
        "file9.txt",
        "file10.txt",
    ]
    assert order.natcmp("x 2", "x2") == 0  # spaces are skipped
    assert order.natcmp("a", "B", fold=True) == -1
    # A byte from 0x80 up is a negative C char: before ASCII, unlike strcmp.
    assert order.natcmp("\xe9", "a") == -1


def test_the_query_string_is_read_until_a_word_apache_does_not_know() -> None:
    q = order.parse_query("C=S;O=D", "N", "A", 0)
    assert (q.key, q.direction, q.colargs) == ("S", "D", "")
    q = order.parse_query("junk;C=S", "N", "A", 0)
    assert (q.key, q.direction) == ("N", "A")
    q = order.parse_query("C=M&O=X", "N", "A", 0)
    assert (q.key, q.direction) == ("M", "A")
    q = order.parse_query("F=0;V=1;P=a%20*", "N", "A", conf.FANCY_INDEXING)
    assert q.opts == conf.VERSION_SORT
    assert (q.pattern, q.colargs) == ("a *", ";F=0;V=1;P=a%20*")
    assert order.parse_query("P=a%2fb", "N", "A", 0).pattern is None
    ignoring = order.parse_query("C=S", "N", "A", conf.IGNORE_CLIENT)
    assert ignoring.key == "N" and ignoring.opts & conf.SUPPRESS_COLSORT


def test_descriptions_are_cut_counting_entities_once_and_tags_not_at_all() -> None:
    s = AutoindexSettings(desc_adjust=conf.K_NOADJUST)
    assert terminate(s, "abcdefghij", 0, 5) == "abcd>"
    assert terminate(s, "<b>abc</b>de", 0, 5) == "<b>abc</b>de"
    assert terminate(s, "a&amp;bcdef", 0, 5) == "a&amp;bc>"
    assert terminate(s, "short", 0, 23) == "short"


def test_names_are_escaped_as_apache_escapes_paths() -> None:
    assert order.escape_path("a b&c;d?e#f%") == "a%20b&c;d%3fe%23f%25"
    assert order.escape_path("colon:x") == "./colon:x"
    assert order.escape_path("dir/colon:x") == "dir/colon:x"
    assert order.escape_html("<\"&'>") == "&lt;&quot;&amp;'&gt;"


def test_a_listing_with_fancy_indexing_sorts_by_the_query(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    for name, size in (("big", 5000), ("small", 1), ("mid", 100)):
        (folder / name).write_bytes(b"x" * size)
        os.utime(folder / name, (1_600_000_000, 1_600_000_000))
    settings = DEFAULT_SETTINGS.merge(
        DirSettings(indexes=True, autoindex=AutoindexSettings(opts=conf.FANCY_INDEXING))
    )
    t = FileTarget(Host(), str(folder), str(tmp_path), "/d/", settings)
    page = decide(t, "GET", "C=S;O=D", lambda name: None).body.decode()
    assert page.index(">big<") < page.index(">mid<") < page.index(">small<")
    assert '<a href="?C=S;O=A">Size</a>' in page  # the current column, reversed
    assert "<pre>" in page and "4.9K" in page


def _random_name(rng: random.Random) -> str:
    pieces = ["0", "00", "1", "12", "9", "010", " ", "a", "A", "b", "-", ".", "\xe9", "Z", "x"]
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))


def test_the_natural_key_orders_as_apr_strnatcmp() -> None:
    rng = random.Random(18)
    for _ in range(20000):
        a, b = _random_name(rng), _random_name(rng)
        for fold in (False, True):
            want = order.natcmp(a, b, fold)
            ka, kb = order.natural_key(a, fold), order.natural_key(b, fold)
            got = (ka > kb) - (ka < kb)
            assert got == want, (a, b, fold)


@pytest.mark.parametrize("key", ["N", "M", "S", "D"])
@pytest.mark.parametrize("ascending", [True, False])
@pytest.mark.parametrize(("version_sort", "ignore_case"), [(False, False), (True, True)])
def test_sorting_by_keys_gives_dsortfs_order(
    key: str, ascending: bool, version_sort: bool, ignore_case: bool
) -> None:
    rng = random.Random(f"{key}{ascending}{version_sort}")
    names = {_random_name(rng) + str(i % 3) for i in range(300)}
    entries = [order.Entry("/")] + [
        order.Entry(
            n,
            size=rng.choice([-1, 1, 5]),
            mtime=rng.choice([0, 7]),
            desc=rng.choice([None, "a1", "a01", "B"]),
            isdir=rng.random() < 0.2,
        )
        for n in names
    ]
    how = order.Order(key, ascending, version_sort, ignore_case)
    want = sorted(entries, key=cmp_to_key(lambda x, y: order.compare(how, x, y)))
    assert [e.name for e in order.sort_entries(entries, how)] == [e.name for e in want]


def test_hostile_names_and_links_do_not_break_the_listing(tmp_path: Path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "line\nbreak\r.txt").write_bytes(b"x")
    (folder / "<script>alert(1)<x>").write_bytes(b"x")
    (folder / "loop").symlink_to("loop")  # ELOOP: left out, as Apache leaves it
    (folder / "gone").symlink_to("nowhere")
    os.mkfifo(folder / "pipe")  # neither a file nor a folder: left out
    settings = DEFAULT_SETTINGS.merge(DirSettings(indexes=True, follow_symlinks=True))
    t = FileTarget(Host(), str(folder), str(tmp_path), "/d/", settings)
    resp = decide(t, "GET", "", lambda name: None)
    assert resp.status == 200
    page = resp.body.decode("latin-1")
    assert 'href="line%0abreak%0d.txt"' in page
    assert "<script>" not in page
    assert 'href="%3cscript%3ealert(1)%3cx%3e"> &lt;script&gt;alert(1)&lt;x&gt;</a>' in page
    for name in ("loop", "gone", "pipe"):
        assert f'"{name}"' not in page


def test_a_folder_that_cannot_be_read_is_403_with_apaches_log_line(tmp_path: Path) -> None:
    settings = DEFAULT_SETTINGS.merge(DirSettings(indexes=True))
    t = FileTarget(Host(), str(tmp_path), str(tmp_path), "/", settings)

    def refuse(path: str) -> list[str]:
        raise PermissionError(13, "Permission denied")

    resp = decide(t, "GET", "", lambda name: None, fs=FileSystem(os.stat, os.path.realpath, refuse))
    assert resp.status == 403
    assert resp.log == (
        "autoindex",
        "error",
        f"AH01275: Can't open directory for index: {tmp_path}/",
    )


def test_a_folder_without_indexes_is_403_with_apaches_log_line(tmp_path: Path) -> None:
    t = FileTarget(Host(), str(tmp_path), str(tmp_path), "/", DEFAULT_SETTINGS)
    resp = decide(t, "GET", "", lambda name: None)
    assert resp.status == 403
    assert resp.log is not None
    assert resp.log[2] == (
        f"AH01276: Cannot serve directory {tmp_path}/: No matching DirectoryIndex (index.html) "
        "found, and server-generated directory index forbidden by Options directive"
    )
    # POST: mod_autoindex declines all but GET, and the core has no handler for a folder.
    assert decide(t, "POST", "", lambda name: None).status == 404


def _plain(tmp_path: Path, text: str) -> Callable[[str], bool] | None:
    site = tmp_path / "site.conf"
    site.write_text("Listen 8000\n" + textwrap.dedent(text))
    server, found = load(str(site), {}, {})
    assert isinstance(server, Server), found
    return listing.plain_names(server.main, server.main)


def test_only_names_a_files_section_matches_are_routed_one_by_one(tmp_path: Path) -> None:
    plain = _plain(
        tmp_path,
        """\
        <Directory />
            AllowOverride None
        </Directory>
        <FilesMatch "^\\.ht">
            Require all denied
        </FilesMatch>
        <Files "*.secret">
            Require all denied
        </Files>
        """,
    )
    assert plain is not None
    assert plain("index.txt") and plain("caf\\xc3\\xa9.txt")
    assert not plain(".htaccess") and not plain("keys.secret")


@pytest.mark.parametrize(
    "text",
    [
        "<Location /x>\nRequire all denied\n</Location>\n",  # a URL can tell names apart
        "<Directory /srv>\nAllowOverride Indexes\n</Directory>\n",  # a .htaccess can
    ],
)
def test_every_name_is_routed_where_a_location_or_htaccess_could_differ(
    tmp_path: Path, text: str
) -> None:
    assert _plain(tmp_path, text) is None


def test_a_deferred_listing_is_drawn_when_asked_and_matches_the_direct_one(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_bytes(b"x")
    settings = DEFAULT_SETTINGS.merge(DirSettings(indexes=True))
    t = FileTarget(Host(), str(tmp_path / "d"), str(tmp_path), "/d/", settings)
    later = decide(t, "GET", "", lambda name: None, defer_listing=True)
    assert later.draw is not None and later.body == b""
    assert later.draw().body == decide(t, "GET", "", lambda name: None).body
    # Only listings wait: a file or a refusal is answered at once.
    assert decide(t, "POST", "", lambda name: None, defer_listing=True).draw is None
