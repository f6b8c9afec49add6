"""mod_autoindex beside Apache: directory listings (Options Indexes) compared byte for
byte, in Debian's default options (FancyIndexing, HTMLTable, VersionSort, icons)
and each IndexOptions form, sorting by each column (and bad query strings),
IndexIgnore, HeaderName/ReadmeName, AddDescription, names that need HTML and URL
escaping, hidden files, and mod_dir's redirect, Options -Indexes and an index
file. Every file of the tree has a fixed modification time, so the pages match."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.differential.cases import call, view
from tests.differential.client import Answer
from tests.differential.compare import Differential, LogMark, mask_log_line
from tests.differential.conftest import topic
from tests.differential.servers import Server, Tree

pytestmark = pytest.mark.slow

HOST = "autoindex.test:{port}"
# 2021-03-04 05:06:07 UTC and on, a minute and a day apart: the listing shows minutes.
BASE_TIME = 1614834367

# folder -> {name: size}; a name ending in / is a folder. Sizes cover each of
# apr_strfsize's forms (bytes, 9.9K, 973 bytes and up, megabytes, gigabytes).
FILES: dict[str, dict[str, int]] = {
    "": {"index-less.txt": 3},
    "fancy": {
        "a.txt": 12,
        "B.html": 972,
        "c.png": 973,
        "d.tar.gz": 1024,
        "e.bin": 10239,
        "file10.txt": 1,
        "file9.txt": 2,
        "file1.txt": 3,
        "movie.ogm": 1_500_000,
        "huge.iso": 5_000_000_000,
        "odd.odt": 9 * 1024 + 1000,
        "README": 7,
        "sub/": 0,
        "Sub2/": 0,
        ".hidden": 1,
        ".x": 1,
        "backup~": 1,
        "#autosave#": 1,
        "CVS/": 0,
        "notes,v": 1,
        ".htaccess": 0,
        "secret.txt": 5,
        "Makefile": 100,
        "core": 4,
    },
    "pre": {
        "short.txt": 1,
        "a-rather-long-file-name-beyond-the-width.txt": 2,
        "sub/": 0,
    },
    "prewide": {
        "short.txt": 1,
        "a-rather-long-file-name-beyond-the-width.txt": 2,
        "sub/": 0,
    },
    "plain": {"b.txt": 1, "a.txt": 2, "dir/": 0},
    "folders": {"b.txt": 1, "a/": 0, "c.txt": 3, "z/": 0},
    "icase": {"b.txt": 1, "B.txt": 2, "a.txt": 3, "C.txt": 4, "x10": 5, "x9": 6},
    "cased": {"b.txt": 1, "B.txt": 2, "a.txt": 3, "C.txt": 4, "x10": 5, "x9": 6},
    "nosort": {"one.txt": 1, "two.txt": 2},
    "charset": {"caf\u00e9.txt": 1, "plain.txt": 2},
    "nocharset": {"caf\u00e9.txt": 1, "plain.txt": 2},
    "ignore": {"app.log": 1, "secret-plan": 2, "sub/": 0, "kept.txt": 3, ".dot": 4},
    "reset": {".dotfile": 1, "old.bak": 2, "keep~": 3},
    "header": {"HEADER.html": 0, "README.txt": 0, "data.csv": 10},
    "desc": {"first.txt": 1, "second.txt": 22, "sub/": 0, "pack.tar.gz": 333, "x.dat": 4},
    "desccut": {"first.txt": 1, "notes.md": 2},
    "names": {
        "a b.txt": 1,
        "<tag>.txt": 2,
        "x&y.txt": 3,
        "100%.txt": 4,
        "caf\u00e9 \u00fcber \u65e5\u672c.txt": 5,
        'quote"s.txt': 6,
        "it's.txt": 7,
        "colon:name.txt": 8,
        "semi;colon#hash?.txt": 9,
        "plus+equals=.txt": 10,
        "dir with space/": 0,
        "a-very-long-name-" + "\u00e9" * 12 + ".txt": 11,
    },
    "noindex": {"hidden-list.txt": 1},
    "withindex": {"index.html": 0, "other.txt": 1},
    "empty": {},
    "xhtml": {"a.txt": 1, "b.unknownext": 2, "sub/": 0},
    "bydate": {"new.txt": 1, "old.txt": 2, "mid.txt": 3},
    "signed": {"a.txt": 1},
    "showforbidden": {"secret.txt": 1, "open.txt": 2},
    "xhtml2": {"a.txt": 1, "sub/": 0, "c.zip": 3},
    "readmehtml": {"HEADER.txt": 0, "README.html": 0, "x.txt": 1},
    "scan": {"titled.html": 0, "described.html": 0, "untitled.html": 0, "spaced.html": 0},
    "style": {"a.txt": 1, "b.png": 2, "sub/": 0},
    "noamble": {"HEADER.html": 0, "README.html": 0, "a.txt": 1},
    "ignoreclient": {"a.txt": 3, "b.txt": 1},
    "olddate": {"a.txt": 1, "sub/": 0},
    "links": {"target.txt": 5, "dir/": 0},
    "htaccess": {".htaccess": 0, "a.txt": 1, "b.tmp": 2, "c.md": 3},
}

CONTENTS = {
    "header/HEADER.html": b"<p>Header &amp; <b>bold</b></p>\n",
    "header/README.txt": b"Read <me> & weep\nsecond line\n",
    "withindex/index.html": b"<p>the index file</p>\n",
    "fancy/README": b"readme\n",
    "readmehtml/HEADER.txt": b"Plain <header> & more\n",
    "readmehtml/README.html": b"<p>The readme, <em>as HTML</em></p>\n",
    "scan/titled.html": b"<html><head><TITLE>A &amp; B</TITLE></head></html>\n",
    "scan/described.html": b"<title>Not shown</title>\n",
    "scan/spaced.html": b"<title>\n  Two\nlines </title>\n",
    "noamble/HEADER.html": b"<!DOCTYPE html>\n<html><head><title>Mine</title></head><body>\n",
    "noamble/README.html": b"<p>end</p></body></html>\n",
    "htaccess/.htaccess": b"IndexOptions -HTMLTable +SuppressSize\nIndexIgnore *.tmp\n"
    b'AddDescription "Markdown" *.md\n',
}

# Modification times out of name order, so that sorting by date is its own order.
MTIME_ORDER = {"new.txt": 30, "old.txt": 1, "mid.txt": 10}


def _make_tree(tree: Tree) -> None:
    root = tree.site / "listing"
    stamps: list[tuple[Path, int]] = []
    for n, (folder, entries) in enumerate(sorted(FILES.items())):
        base = root / folder if folder else root
        base.mkdir(parents=True, exist_ok=True)
        for i, (name, size) in enumerate(entries.items()):
            path = base / name.rstrip("/")
            when = BASE_TIME + 86400 * n + 61 * MTIME_ORDER.get(name, i)
            if name.endswith("/"):
                path.mkdir()
            else:
                key = f"{folder}/{name}"
                with open(path, "wb") as f:
                    if key in CONTENTS:
                        f.write(CONTENTS[key])
                    else:
                        f.truncate(size)  # sparse: the gigabytes cost nothing
            stamps.append((path, when))
        stamps.append((base, BASE_TIME + 86400 * n))
    (root / "fancy" / ".htaccess").write_text('AddDescription "From .htaccess" a.txt\n')
    # Symbolic links are listed as what they point at; a broken one is left out.
    (root / "links" / "to-file").symlink_to("target.txt")
    (root / "links" / "to-dir").symlink_to("dir")
    (root / "links" / "broken").symlink_to("nowhere")
    (root / "plain" / "link.txt").symlink_to("a.txt")  # no FollowSymLinks there: left out
    # A name that is not UTF-8: its bytes, as they are.
    latin = os.path.join(os.fsencode(root / "names"), b"latin\xe9.txt")
    with open(latin, "wb") as f:
        f.write(b"x")
    stamps.append((Path(os.fsdecode(latin)), BASE_TIME))
    stamps.append((root / "fancy" / ".htaccess", BASE_TIME))
    for sub in ("fancy/sub", "fancy/Sub2", "fancy/CVS", "pre/sub", "prewide/sub", "plain/dir"):
        stamps.append((root / sub, BASE_TIME + 7200))
    os.system(f"chmod -R a+rX {root}")
    # Children before parents: writing into a folder changes its time.
    for path, when in sorted(stamps, key=lambda s: -len(str(s[0]))):
        os.utime(path, (when, when))


@pytest.fixture(scope="module")
def pair() -> Iterator[Differential]:
    yield from topic("autoindex.conf", warm=[(HOST, "/fancy/")], prepare=_make_tree)


# case -> request target, with a method, another host or HTTP/1.0 first where not a
# GET on autoindex.test over HTTP/1.1
CASES: dict[str, str] = {
    "autoindex-fancy-table": "/fancy/",
    "autoindex-sort-name-descending": "/fancy/?C=N;O=D",
    "autoindex-sort-date-ascending": "/fancy/?C=M;O=A",
    "autoindex-sort-date-descending": "/fancy/?C=M;O=D",
    "autoindex-sort-size": "/fancy/?C=S",
    "autoindex-sort-size-descending": "/fancy/?C=S;O=D",
    "autoindex-sort-description": "/fancy/?C=D",
    "autoindex-sort-ampersand": "/fancy/?C=S&O=D",
    "autoindex-sort-order-first": "/fancy/?O=D;C=M",
    "autoindex-bad-column": "/fancy/?C=X;O=D",
    "autoindex-bad-order": "/fancy/?C=M;O=Z",
    "autoindex-lower-case-query": "/fancy/?c=m;o=d",
    "autoindex-long-value": "/fancy/?C=MM;O=D",
    "autoindex-junk-after": "/fancy/?C=S;O=D;junk=1",
    "autoindex-junk-before": "/fancy/?junk;C=S",
    "autoindex-format-plain": "/fancy/?F=0",
    "autoindex-format-pre": "/fancy/?F=1;C=S",
    "autoindex-version-off": "/fancy/?V=0",
    "autoindex-pattern": "/fancy/?P=*.txt",
    "autoindex-pattern-escaped": "/fancy/?P=file1%2A;C=N;O=D",
    "autoindex-head": "HEAD /fancy/",
    "autoindex-post": "POST /fancy/",
    "autoindex-pre": "/pre/",
    "autoindex-pre-wide": "/prewide/",
    "autoindex-plain": "/plain/",
    "autoindex-plain-sorted": "/plain/?C=N;O=D",
    "autoindex-folders-first": "/folders/",
    "autoindex-folders-first-descending": "/folders/?C=N;O=D",
    "autoindex-ignore-case": "/icase/",
    "autoindex-case-sensitive": "/cased/",
    "autoindex-suppress-sorting": "/nosort/",
    "autoindex-charset": "/charset/",
    "autoindex-no-charset": "/nocharset/",
    "autoindex-ignore": "/ignore/",
    "autoindex-ignore-reset": "/reset/",
    "autoindex-header-readme": "/header/",
    "autoindex-header-readme-query": "/header/?C=S",
    "autoindex-description": "/desc/",
    "autoindex-description-cut": "/desccut/",
    "autoindex-escaped-names": "/names/",
    "autoindex-escaped-names-pre": "/names/?F=1",
    "autoindex-escaped-names-plain": "/names/?F=0",
    "autoindex-escaped-directory": "/names/dir%20with%20space/",
    "autoindex-no-slash": "/fancy",
    "autoindex-no-slash-query": "/fancy?C=S",
    "autoindex-forbidden": "/noindex/",
    "autoindex-index-file": "/withindex/",
    "autoindex-empty": "/empty/",
    "autoindex-root": "/",
    "autoindex-xhtml": "/xhtml/",
    "autoindex-default-order-date": "/bydate/",
    "autoindex-signature": "/signed/",
    "autoindex-subfolder": "/fancy/sub/",
    "autoindex-readme-html-header-text": "/readmehtml/",
    "autoindex-scan-titles": "/scan/",
    "autoindex-style-sheet": "/style/",
    "autoindex-suppress-preamble": "/noamble/",
    "autoindex-ignore-client": "/ignoreclient/?C=S;O=D",
    "autoindex-old-date-type": "/olddate/",
    "autoindex-symbolic-links": "/links/",
    "autoindex-alias": "/aliased/",
    "autoindex-alias-no-slash": "/aliased",
    "autoindex-htaccess": "/htaccess/",
    "autoindex-pattern-bad-escape": "/fancy/?P=%zz;C=S",
    "autoindex-pattern-slash": "/fancy/?P=a%2fb",
    # A host with no section a file could match and no .htaccess.
    "autoindex-plain-host-fancy": "plain.test /fancy/",
    "autoindex-plain-host-links": "plain.test /links/",
    "autoindex-plain-host-names": "plain.test /names/",
    # An HTML header under HTTP/1.0: no length, so the connection's end.
    "autoindex-http10-html-header": "HTTP/1.0 /header/",
    "autoindex-show-forbidden": "/showforbidden/",
    "autoindex-xhtml-table": "/xhtml2/",
    "autoindex-xhtml-pre": "/xhtml2/?F=1",
}

# The signature names the server: Apache's banner against wsgihost's (the
# only part of a page that cannot match).
BANNER = re.compile(r"<address>.*? Server at")


def observe(diff: Differential, server: Server, target: str) -> Any:
    first, _, path = target.rpartition(" ")
    host = HOST.format(port=server.port)
    method, version = first or "GET", "HTTP/1.1"
    if first.endswith(".test"):  # another virtual host
        host, method = f"{first}:{server.port}", "GET"
    if first.startswith("HTTP/"):  # another protocol version
        method, version = "GET", first
    mark = LogMark(server)
    body = b"x" * (method == "POST")
    answer = call(server, method, path, host, body=body, version=version)
    if not isinstance(answer, Answer):
        return answer
    masker = diff.masker(server)
    if answer.status >= 400:
        # mod_autoindex's own error-log lines (AH01276 for Options -Indexes).
        mark.wait(lambda new: any("autoindex-error" in name for name in new), timeout=2)
    lines = [
        masker.text(mask_log_line(line))
        for name, found in mark.new().items()
        if name.endswith("autoindex-error.log")
        for line in found
        if "[autoindex:" in line
    ]
    seen = view(answer, masker)
    # The whole page, line by line, so a difference shows where it is.
    text = answer.body.decode("latin-1")
    if BANNER.search(text):
        text = BANNER.sub("<address><BANNER> Server at", text)
        if "content-length" in seen["headers"]:
            # The length of the page with the banner masked, so the rest still counts.
            seen["headers"]["content-length"] = f"{len(text.encode('latin-1'))} (banner masked)"
    seen["body"] = [masker.text(line) for line in text.split("\n")]
    if lines:
        seen["errors"] = lines
    return seen


@pytest.mark.parametrize("case", sorted(CASES))
def test_autoindex_as_with_apache(pair: Differential, case: str) -> None:
    pair.check(case, lambda server: observe(pair, server, CASES[case]))
