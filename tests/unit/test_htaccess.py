""".htaccess: the override classes, AllowOverride, applying one file, the walk, the
cache, and the router with them (pure parts, on files in a temporary folder)."""

from __future__ import annotations

import errno
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from wsgihost.config import directives, load, table
from wsgihost.config import htaccess as classes
from wsgihost.config.model import DEFAULT_SETTINGS, DirSettings, Server
from wsgihost.config.parser import parse
from wsgihost.config.problems import Problems
from wsgihost.htaccess import HtaccessFiles, may_override, walk
from wsgihost.htfile import (
    Allowed,
    Applied,
    HtaccessError,
    apply,
    check_read_time,
    conditionals,
    with_conditionals,
)
from wsgihost.routing import FileTarget, Refusal, Router, WSGITarget

# -- the classes ------------------------------------------------------------------------


def test_every_directive_allowed_in_directories_has_an_override_class_or_none() -> None:
    """A directive added to the table must say whether .htaccess may hold it."""
    unclassified = [
        d.name
        for d in directives.TABLE
        if table.DIRECTORY in d.contexts
        and classes.override_class(d.name) is None
        and d.name not in classes.NOT_IN_HTACCESS
    ]
    assert unclassified == [], (
        "classify these in src/wsgihost/config/htaccess.py: OVERRIDE_CLASS (Apache's "
        "'Override:' class) or NOT_IN_HTACCESS (never in .htaccess)"
    )
    both = set(classes.OVERRIDE_CLASS) & classes.NOT_IN_HTACCESS
    assert both == set()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("AuthType", "AuthConfig"),
        ("Require", "AuthConfig"),
        ("AddType", "FileInfo"),
        ("SetHandler", "FileInfo"),
        ("ErrorDocument", "FileInfo"),
        ("RewriteRule", "FileInfo"),
        ("DirectoryIndex", "Indexes"),
        ("ExpiresActive", "Indexes"),
        ("Order", "Limit"),
        ("Options", "Options"),
        ("Files", "All"),
        ("WSGICallableObject", "FileInfo"),
        ("WSGIPassAuthorization", "FileInfo"),
        ("WSGIScriptReloading", "FileInfo"),
        ("wsgiaccessscript", "AuthConfig"),
        # mod_wsgi 4.9: ACCESS_CONF|RSRC_CONF, never in .htaccess.
        ("WSGIProcessGroup", None),
        ("WSGIApplicationGroup", None),
        ("AllowOverride", None),
    ],
)
def test_override_classes_are_apaches(name: str, expected: str | None) -> None:
    assert classes.override_class(name) == expected


def test_all_needs_any_class_and_limit_takes_either() -> None:
    assert classes.allowed_by("Files", frozenset({"Indexes"}))
    assert not classes.allowed_by("Files", frozenset())
    assert classes.allowed_by("Limit", frozenset({"AuthConfig"}))
    assert not classes.allowed_by("AddType", frozenset({"Indexes", "AuthConfig"}))


# -- AllowOverride in the configuration -------------------------------------------------


def configure(tmp_path: Path, text: str) -> tuple[Server | None, list[str]]:
    conf = tmp_path / "site.conf"
    conf.write_text(f"Listen 127.0.0.1:8080\nDocumentRoot {tmp_path}\n{text}")
    server, problems = load(str(conf), {}, {})
    return server, [str(p).replace(str(tmp_path), "T") for p in problems]


def section_settings(server: Server) -> DirSettings:
    return server.main.sections[0].settings


def test_allow_override_classes_options_and_nonfatal(tmp_path: Path) -> None:
    server, problems = configure(
        tmp_path,
        f"<Directory {tmp_path}>\n AllowOverride FileInfo Options=Indexes,Includes "
        "Nonfatal=Unknown\n AllowOverrideList Redirect DirectoryIndex\n</Directory>\n",
    )
    assert server is not None, problems
    settings = section_settings(server)
    assert settings.allow_override == frozenset({"FileInfo", "Options", classes.NONFATAL_UNKNOWN})
    assert settings.allow_override_opts == frozenset({"indexes", "includes", "includesnoexec"})
    assert settings.allow_override_list == frozenset({"redirect", "directoryindex"})
    assert DEFAULT_SETTINGS.allow_override is None  # unset, which is not None (below)
    assert DEFAULT_SETTINGS.access_file_names == (".htaccess",)


def test_unset_is_read_with_nothing_allowed_explicit_none_is_not_read() -> None:
    """Apache 2.4: with no AllowOverride at all, .htaccess files are still read, and
    any directive in them is 'not allowed here'; AllowOverride None skips them."""
    unset = Allowed.of(DEFAULT_SETTINGS)
    assert unset == Allowed(frozenset(), None, frozenset())
    assert Allowed.of(DirSettings(allow_override=frozenset())) is None
    listed = DirSettings(allow_override=frozenset(), allow_override_list=frozenset({"require"}))
    assert Allowed.of(listed) == Allowed(frozenset(), None, frozenset({"require"}))
    nonfatal = DirSettings(allow_override=frozenset({classes.NONFATAL_UNKNOWN}))
    assert Allowed.of(nonfatal) is not None


NONE = DirSettings(allow_override=frozenset())
SOME = DirSettings(allow_override=frozenset({"FileInfo"}))
LISTED = DirSettings(allow_override_list=frozenset({"redirect"}))


@pytest.mark.parametrize(
    ("sections", "reads"),
    [
        ([], True),  # never said: Apache still looks, allowing nothing
        ([("/", NONE)], False),  # Debian's apache2.conf
        ([("/", NONE), ("/srv", DEFAULT_SETTINGS)], False),  # inherits None
        ([("/srv", NONE)], True),  # / itself is still unset
        ([("/", NONE), ("/srv", SOME)], True),
        ([("/", NONE), ("/srv/*/pub", SOME)], True),  # a wildcard <Directory>
        ([("/", NONE), ("/srv", LISTED)], True),  # AllowOverrideList alone
        ([("/", NONE), ("/", SOME)], True),  # a later root section turns it on
        ([("/", SOME), ("/", NONE)], True),  # conservative: may read
    ],
)
def test_may_override_follows_the_walk(
    sections: list[tuple[str, DirSettings]], reads: bool
) -> None:
    assert may_override(DEFAULT_SETTINGS, sections) is reads


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<Directory /x>\n AllowOverride Fileinfo Bogus\n</Directory>", "Illegal override option"),
        ("<Directory /x>\n AllowOverride Options=Indexes,Nope\n</Directory>", "Illegal option"),
        ("<Directory /x>\n AllowOverride Nonfatal\n</Directory>", "=Override, =Unknown or =All"),
        ("<Directory /x>\n AllowOverrideList None Redirect\n</Directory>", "'None' not allowed"),
        ("AllowOverride All", "AllowOverride is not allowed in the main server config"),
        ("AccessFileName sub/.htaccess", "a file name, not a path"),
    ],
)
def test_bad_allow_override_is_refused_with_its_line(
    tmp_path: Path, text: str, message: str
) -> None:
    server, problems = configure(tmp_path, text + "\n")
    assert server is None
    assert any(p.startswith("T/site.conf:") and message in p for p in problems), problems


def test_allow_override_outside_a_plain_directory_is_a_useless_warning(tmp_path: Path) -> None:
    server, problems = configure(
        tmp_path,
        "<Location /x>\n AllowOverride All\n</Location>\n"
        "<DirectoryMatch ^/x>\n AllowOverride All\n</DirectoryMatch>\n",
    )
    assert server is not None, problems
    assert [p for p in problems if "Useless use of AllowOverride" in p] == [
        p for p in problems if "warning" in p
    ]
    assert len([p for p in problems if "Useless use" in p]) == 2
    assert all(s.settings.allow_override is None for s in server.main.sections)


# -- one file ----------------------------------------------------------------------------

ALL = Allowed(frozenset(classes.CLASSES), None, frozenset())


def applied(tmp_path: Path, text: str, allowed: Allowed = ALL) -> Applied:
    path = tmp_path / ".htaccess"
    path.write_text(text)
    problems = Problems()
    parsed = parse(str(path), problems)
    assert not problems.items
    return apply(str(path), parsed.nodes, allowed)


def failure(tmp_path: Path, text: str, allowed: Allowed = ALL) -> HtaccessError:
    with pytest.raises(HtaccessError) as caught:
        applied(tmp_path, text, allowed)
    return caught.value


def test_supported_directives_become_the_folders_settings(tmp_path: Path) -> None:
    result = applied(
        tmp_path,
        "DirectoryIndex home.html\nAddType application/x-foo .foo\nRequire all denied\n"
        "<Files secret.txt>\n Require all denied\n</Files>\n",
    )
    assert result.settings.directory_index == ("home.html",)
    assert result.settings.add_types == ((".foo", "application/x-foo"),)
    assert result.settings.require == "denied"
    assert [(f.kind, f.pattern) for f in result.files] == [("files", "secret.txt")]
    assert result.files[0].settings.require == "denied"


def test_a_class_not_allowed_is_apaches_not_allowed_here(tmp_path: Path) -> None:
    indexes = Allowed(frozenset({"Indexes"}), None, frozenset())
    error = failure(tmp_path, "DirectoryIndex a.html\nAddType text/x .x\n", indexes)
    assert error.status == 500
    assert error.message == f"{tmp_path}/.htaccess: AddType not allowed here"
    inside = failure(tmp_path, "<Files x>\n AddType text/x .x\n</Files>\n", indexes)
    assert inside.message.endswith("AddType not allowed in <Files> context")


def test_allow_override_list_lets_one_directive_in(tmp_path: Path) -> None:
    listed = Allowed(frozenset(), None, frozenset({"directoryindex"}))
    assert applied(tmp_path, "DirectoryIndex a.html\n", listed).settings.directory_index == (
        "a.html",
    )
    assert "AddType not allowed here" in failure(tmp_path, "AddType text/x .x\n", listed).message


def test_unknown_and_server_only_directives(tmp_path: Path) -> None:
    assert failure(tmp_path, "Bogus on\n").message.endswith(
        "Invalid command 'Bogus', perhaps misspelled or defined by a module not included "
        "in the server configuration"
    )
    assert failure(tmp_path, "<Directory />\n</Directory>\n").message.endswith(
        "<Directory not allowed here"
    )
    assert failure(tmp_path, "WSGIProcessGroup x\n").message.endswith(
        "WSGIProcessGroup not allowed here"
    )
    with pytest.raises(HtaccessError, match="Include not allowed here"):
        check_read_time("/d/.htaccess", "# read-time directives\nInclude other.conf\n")


def test_nonfatal_turns_both_into_warnings(tmp_path: Path) -> None:
    lenient = Allowed(
        frozenset({"Indexes", classes.NONFATAL_OVERRIDE, classes.NONFATAL_UNKNOWN}),
        None,
        frozenset(),
    )
    result = applied(tmp_path, "AddType text/x .x\nBogus on\nDirectoryIndex a.html\n", lenient)
    assert result.settings.directory_index == ("a.html",)
    assert result.settings.add_types == ()
    assert [w.split(": ", 1)[1] for w in result.warnings] == [
        "AddType in .htaccess forbidden by AllowOverride",
        "Unknown directive bogus perhaps misspelled or defined by a module not included "
        "in the server configuration",
    ]


def test_what_wsgihost_cannot_apply_is_a_500_not_a_skip(tmp_path: Path) -> None:
    unknown_here = [
        d.name
        for d in directives.TABLE
        if d.kind != "supported" and classes.override_class(d.name) == "FileInfo"
    ]
    assert unknown_here, "no ignored or refused FileInfo directive left to check"
    name = unknown_here[0]
    error = failure(tmp_path, f"{name} x y\n")
    assert error.status == 500 and "does not skip a .htaccess rule" in error.message
    # A supported directive whose value wsgihost would only warn about: also a 500.
    assert "MultiViews" in failure(tmp_path, "Options +MultiViews\n").message


def test_options_limited_by_allow_override_options(tmp_path: Path) -> None:
    only_indexes = Allowed(frozenset({"Options"}), frozenset({"indexes"}), frozenset())
    assert applied(tmp_path, "Options -Indexes\n", only_indexes).settings.indexes is False
    error = failure(tmp_path, "Options +FollowSymLinks\n", only_indexes)
    assert error.message.endswith("Option FollowSymLinks not allowed here")


# -- the walk -----------------------------------------------------------------------------


def test_walk_merges_each_folders_file_after_its_sections_and_before_deeper_ones() -> None:
    read: list[str] = []
    files = {
        "/srv": DirSettings(directory_index=("from-srv-file",)),
        "/srv/www": DirSettings(directory_index=("from-www-file",), indexes=True),
    }

    def reader(folder: str, settings: DirSettings, allowed: Allowed) -> Applied | None:
        read.append(folder)
        found = files.get(folder)
        return Applied(found) if found is not None else None

    sections = [
        ("/srv/www/deep", DirSettings(directory_index=("from-deep-section",))),
        ("/srv", DirSettings(allow_override=frozenset({"Indexes"}))),
        ("/srv/www", DirSettings(directory_index=("from-www-section",))),
    ]
    base = DEFAULT_SETTINGS.merge(DirSettings(allow_override=frozenset()))  # None, given
    settings, _ = walk("/srv/www/deep", base, sections, reader)
    assert read == ["/srv", "/srv/www", "/srv/www/deep"]  # none above /srv: AllowOverride None
    assert settings.directory_index == ("from-deep-section",)
    assert settings.indexes is True
    settings, _ = walk("/srv/www", base, sections[1:], reader)
    assert settings.directory_index == ("from-www-file",)  # the file beats its own section


# -- the cache ------------------------------------------------------------------------------


class FakeFiles:
    """os.stat and the loader, counted, over a dict of path -> (text, mtime)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.files: dict[str, tuple[str, int]] = {}
        self.loads = 0
        self.stats = 0

    def stat(self, path: str) -> os.stat_result:
        self.stats += 1
        if path.endswith("locked/.htaccess"):
            raise PermissionError(errno.EACCES, "Permission denied")
        if path not in self.files:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory")
        text, mtime = self.files[path]
        fields = (0o100644, 1, 1, 1, 0, 0, len(text), mtime, mtime, mtime)
        return os.stat_result(fields, {"st_mtime_ns": mtime * 10**9})

    def load(self, path: str) -> tuple:  # type: ignore[type-arg]
        self.loads += 1
        real = self.tmp_path / "copy"
        real.write_text(self.files[path][0])
        return parse(str(real), Problems()).nodes


def test_the_cache_parses_a_file_once_per_version(tmp_path: Path) -> None:
    fake = FakeFiles(tmp_path)
    cache = HtaccessFiles(stat_file=fake.stat, load=fake.load)
    fake.files["/d/.htaccess"] = ("DirectoryIndex one.html\n", 1)
    for _ in range(3):
        result = cache.read("/d", DEFAULT_SETTINGS, ALL)
        assert result is not None and result.settings.directory_index == ("one.html",)
    assert (fake.loads, fake.stats) == (1, 3)
    fake.files["/d/.htaccess"] = ("DirectoryIndex two.html\n", 2)
    result = cache.read("/d", DEFAULT_SETTINGS, ALL)
    assert result is not None and result.settings.directory_index == ("two.html",)
    assert fake.loads == 2
    fake.files["/d/.htaccess"] = ("Bogus\n", 3)
    for _ in range(2):
        with pytest.raises(HtaccessError):
            cache.read("/d", DEFAULT_SETTINGS, ALL)
    assert fake.loads == 3  # a broken file is not parsed again until it changes


def test_missing_unreadable_and_several_access_file_names(tmp_path: Path) -> None:
    fake = FakeFiles(tmp_path)
    cache = HtaccessFiles(stat_file=fake.stat, load=fake.load)
    assert cache.read("/d", DEFAULT_SETTINGS, ALL) is None
    with pytest.raises(HtaccessError) as caught:
        cache.read("/locked", DEFAULT_SETTINGS, ALL)
    assert caught.value.status == 403
    assert caught.value.message == (
        "(13)Permission denied: /locked/.htaccess pcfg_openfile: unable to check htaccess "
        "file, ensure it is readable and that '/locked/' is executable"
    )
    names = DirSettings(access_file_names=(".config", ".htaccess"))
    fake.files["/d/.htaccess"] = ("DirectoryIndex second.html\n", 1)
    first = cache.read("/d", names, ALL)
    assert first is not None and first.settings.directory_index == ("second.html",)
    fake.files["/d/.config"] = ("DirectoryIndex first.html\n", 1)
    first = cache.read("/d", names, ALL)
    assert first is not None and first.settings.directory_index == ("first.html",)


# -- the router ------------------------------------------------------------------------------


def test_the_router_reads_htaccess_only_where_allowed(tmp_path: Path) -> None:
    (tmp_path / "open").mkdir()
    (tmp_path / "shut").mkdir()
    (tmp_path / "open" / ".htaccess").write_text("DirectoryIndex open.html\n")
    (tmp_path / "shut" / ".htaccess").write_text("DirectoryIndex shut.html\n")
    (tmp_path / "unset").mkdir()
    (tmp_path / "unset" / ".htaccess").write_text("# nothing but a comment\n")
    server, problems = configure(
        tmp_path,
        f"<Directory />\n AllowOverride None\n</Directory>\n"
        f"<Directory {tmp_path}/open>\n AllowOverride Indexes\n</Directory>\n",
    )
    assert server is not None, problems
    router = Router(server, HtaccessFiles())

    def index(path: bytes) -> tuple[str, ...] | None:
        target = router.route("127.0.0.1", 8080, b"x", path)
        assert isinstance(target, FileTarget), target
        return target.settings.directory_index

    assert index(b"/open/") == ("open.html",)
    assert index(b"/shut/") == ("index.html",)
    (tmp_path / "open" / ".htaccess").write_text("DirectoryIndex changed.html\n")
    assert index(b"/open/") == ("changed.html",)  # read again on the next request
    (tmp_path / "open" / ".htaccess").write_text("Options +Indexes\n")
    refused = router.route("127.0.0.1", 8080, b"x", b"/open/")
    assert isinstance(refused, Refusal) and refused.status == 500
    assert refused.log == f"{tmp_path}/open/.htaccess: Options not allowed here"
    # A router without a reader (the supervisor's) never reads one.
    assert isinstance(Router(server).route("127.0.0.1", 8080, b"x", b"/open/"), FileTarget)


# What a front-end worker does with the server it is sent: unpickle it, build
# its router with a .htaccess reader. Run in a fresh interpreter, to see what
# that imports.
_WORKER = """
import pickle, sys
from wsgihost.htaccess import HtaccessFiles
from wsgihost.routing import Router
server = pickle.loads(sys.stdin.buffer.read())
Router(server, HtaccessFiles())
print(" ".join(m for m in ("wsgihost.config.parser", "wsgihost.config.directives",
                           "wsgihost.htfile") if m in sys.modules))
"""


def worker_imports(server: Server) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _WORKER],
        input=pickle.dumps(server),
        capture_output=True,
        check=True,
    )
    return set(done.stdout.decode().split())


def test_the_htaccess_tables_are_loaded_at_start_only_where_a_file_may_be_read(
    tmp_path: Path,
) -> None:
    # Where AllowOverride None holds everywhere (Debian's apache2.conf), a worker
    # never reads a .htaccess: the parser and the directive tables (megabytes of
    # a worker's memory) stay out of it.
    shut, problems = configure(tmp_path, "<Directory />\n AllowOverride None\n</Directory>\n")
    assert shut is not None, problems
    assert worker_imports(shut) == set()
    # Where one may be read, they are imported with the router, at start, while
    # the worker may still be root: not by the first request, as the User the
    # worker runs as, who may not be able to read the package.
    opened, problems = configure(
        tmp_path,
        f"<Directory />\n AllowOverride None\n</Directory>\n"
        f"<Directory {tmp_path}>\n AllowOverride FileInfo\n</Directory>\n",
    )
    assert opened is not None, problems
    assert worker_imports(opened) == {
        "wsgihost.config.parser",
        "wsgihost.config.directives",
        "wsgihost.htfile",
    }


def test_the_root_directory_merges_first_whether_or_not_a_htaccess_may_be_read(
    tmp_path: Path,
) -> None:
    # Apache merges <Directory /> before every other <Directory>, wherever it
    # stands in the file. A depth-1 section (/tmp) written before it must still
    # win, on the walk a .htaccess reader takes and on the path without one.
    (tmp_path / "x.txt").write_text("x")
    top = "/" + tmp_path.parts[1]
    texts = {
        "no reader": "<Directory />\n AllowOverride None\n Require all granted\n</Directory>\n",
        "reader": "<Directory />\n Require all granted\n</Directory>\n",
    }
    for kind, root in texts.items():
        server, problems = configure(
            tmp_path, f"<Directory {top}>\n Require all denied\n</Directory>\n{root}"
        )
        assert server is not None, problems
        target = Router(server, HtaccessFiles()).route("127.0.0.1", 8080, b"x", b"/x.txt")
        assert isinstance(target, FileTarget), (kind, target)
        assert target.settings.require == "denied", kind


def test_without_any_allow_override_a_directive_is_refused_as_apache(tmp_path: Path) -> None:
    (tmp_path / "quiet").mkdir()
    (tmp_path / "quiet" / ".htaccess").write_text("# nothing but a comment\n")
    (tmp_path / "loud").mkdir()
    (tmp_path / "loud" / ".htaccess").write_text("Require all denied\n")
    server, problems = configure(tmp_path, "")
    assert server is not None, problems
    router = Router(server, HtaccessFiles())
    assert isinstance(router.route("127.0.0.1", 8080, b"x", b"/quiet/"), FileTarget)
    refused = router.route("127.0.0.1", 8080, b"x", b"/loud/x.txt")
    assert isinstance(refused, Refusal) and refused.status == 500
    assert refused.log == f"{tmp_path}/loud/.htaccess: Require not allowed here"


def test_remembered_results_last_while_their_files_do(tmp_path: Path) -> None:
    fake = FakeFiles(tmp_path)
    cache = HtaccessFiles(stat_file=fake.stat, load=fake.load)
    computed: list[int] = []

    def compute() -> tuple[str, ...] | None:
        computed.append(1)
        found = cache.read("/d", DEFAULT_SETTINGS, ALL)
        return None if found is None else found.settings.directory_index

    assert cache.remember("key", compute) is None
    assert cache.remember("key", compute) is None
    assert len(computed) == 1  # no file then, none now: the result stands
    fake.files["/d/.htaccess"] = ("DirectoryIndex new.html\n", 1)
    assert cache.remember("key", compute) == ("new.html",)  # a file appeared
    assert cache.remember("key", compute) == ("new.html",)
    assert len(computed) == 2
    fake.files["/d/.htaccess"] = ("DirectoryIndex newer.html\n", 2)
    assert cache.remember("key", compute) == ("newer.html",)
    assert len(computed) == 3


def test_a_bad_file_on_path_translated_s_way_does_not_fail_the_app(tmp_path: Path) -> None:
    """Apache's sub-request for PATH_TRANSLATED fails on the .htaccess, the app runs."""
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / ".htaccess").write_text("Bogus on\n")
    (tmp_path / "app.wsgi").write_text("application = None\n")
    server, problems = configure(tmp_path, f"WSGIScriptAlias /app {tmp_path}/app.wsgi\n")
    assert server is not None, problems
    target = Router(server, HtaccessFiles()).route("127.0.0.1", 8080, b"x", b"/app/bad/x.txt")
    assert isinstance(target, WSGITarget), target
    assert target.path_translated == f"{tmp_path}/bad//x.txt"  # where Apache's walk stopped


def test_an_index_file_a_handler_maps_runs_and_is_never_sent_as_source(tmp_path: Path) -> None:
    """DirectoryIndex index.wsgi with AddHandler wsgi-script .wsgi (in a .htaccess, or
    the configuration): mod_dir's internal redirect maps the index again."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.wsgi").write_text("application = None\n")
    (tmp_path / "site" / ".htaccess").write_text(
        "Options +ExecCGI\nAddHandler wsgi-script .wsgi\nDirectoryIndex index.wsgi\n"
    )
    server, problems = configure(
        tmp_path, f"<Directory {tmp_path}>\n AllowOverride All\n</Directory>\n"
    )
    assert server is not None, problems
    target = Router(server, HtaccessFiles()).route("127.0.0.1", 8080, b"x", b"/site/")
    assert isinstance(target, WSGITarget), target
    assert target.script == f"{tmp_path}/site/index.wsgi"
    assert target.script_name == "/site/index.wsgi"


def test_within_one_request_each_file_is_looked_at_once(tmp_path: Path) -> None:
    fake = FakeFiles(tmp_path)
    cache = HtaccessFiles(stat_file=fake.stat, load=fake.load)
    fake.files["/d/.htaccess"] = ("DirectoryIndex a.html\n", 1)

    def compute() -> Applied | None:
        return cache.read("/d", DEFAULT_SETTINGS, ALL)

    cache.begin()
    cache.remember("one", compute)
    cache.remember("two", compute)
    cache.remember("one", compute)  # checked against the files: no second stat
    assert fake.stats == 1
    cache.begin()  # the next request looks again
    cache.remember("one", compute)
    assert fake.stats == 2


def test_conditional_sections_need_an_override_class_too(tmp_path: Path) -> None:
    """Apache checks <IfModule> as it reads: where nothing is allowed (no AllowOverride
    at all, or only AllowOverrideList), even a false one is 'not allowed here'."""
    text = "DirectoryIndex a.html\n<IfModule mod_brotli.c>\nSetOutputFilter BROTLI\n</IfModule>\n"
    path = tmp_path / ".htaccess"
    path.write_text(text)
    nodes = with_conditionals(parse(str(path), Problems()).nodes, conditionals(str(path), text))
    assert [(n.name, n.args) for n in nodes] == [
        ("DirectoryIndex", ("a.html",)),
        ("IfModule", ("mod_brotli.c",)),
    ]
    listed = Allowed(frozenset(), None, frozenset({"directoryindex"}))
    with pytest.raises(HtaccessError, match="<IfModule not allowed here"):
        apply(str(path), nodes, listed)
    indexes = Allowed(frozenset({"Indexes"}), None, frozenset())
    assert apply(str(path), nodes, indexes).settings.directory_index == ("a.html",)
