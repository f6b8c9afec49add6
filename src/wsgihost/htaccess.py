""".htaccess files, read per request as Apache's directory walk reads them.

For the folder a request's file is in, Apache walks from ``/`` down, level by
level: at each folder it merges the ``<Directory>`` sections for that folder,
then, if the ``AllowOverride`` (or ``AllowOverrideList``) merged so far
allows anything, the folder's ``.htaccess`` (the first ``AccessFileName``
present). ``<DirectoryMatch>``, ``<Files>`` and ``<Location>`` come after
the walk. :func:`walk` is that loop (pure, given a reader); :func:`apply`
turns a parsed file into per-directory settings through the directive table,
checking each directive's override class (pure); :class:`HtaccessFiles` is
the front end's reader: one ``stat`` per folder and name on every request
(Apache opens the file on every request), a parse only when the file's
(mtime, size, inode) changed.

Failures are :class:`HtaccessError`: a 500 with Apache's message for a file
that cannot be applied, a 403 for one that cannot be read. A directive that
wsgihost only accepts with a warning, or refuses, is a 500 too: at request
time nobody would see the warning, and a rule silently dropped from a
``.htaccess`` is the hole this module closes.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from wsgihost.config import directives
from wsgihost.config import htaccess as classes
from wsgihost.config.draft import Context, HostDraft, SectionDraft, ServerDraft
from wsgihost.config.lexer import first_word, logical_lines
from wsgihost.config.model import DirSettings, Section, Where
from wsgihost.config.parser import CONDITIONALS, Node, parse
from wsgihost.config.problems import Problems

# Acted on while a file is read, and never allowed in .htaccess: caught in the
# text, since the parser would already have acted on them.
_READ_TIME = {"include": "Include", "includeoptional": "IncludeOptional", "define": "Define"}
_READ_TIME["undefine"] = "UnDefine"

T = TypeVar("T")
Version = tuple[int, int, int, int] | None  # (mtime, size, inode, device); None: absent


class HtaccessError(Exception):
    """A .htaccess that stops the request: the status and the error-log line."""

    def __init__(self, status: int, message: str, level: str = "alert") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.level = level  # Apache's: alert for a bad file, crit for an unreadable one
        self.folder = ""  # where the walk stopped (set by HtaccessFiles.read)


@dataclass(frozen=True)
class Allowed:
    """What a folder's merged AllowOverride and AllowOverrideList let in."""

    classes: frozenset[str]
    options: frozenset[str] | None  # Options=...; None: every option
    names: frozenset[str]  # AllowOverrideList, lower case

    @staticmethod
    def of(settings: DirSettings) -> Allowed | None:
        """None where the folder's .htaccess is not even looked for: an explicit
        ``AllowOverride None`` (and no AllowOverrideList names)."""
        found = settings.allow_override
        names = settings.allow_override_list or frozenset()
        if found is not None and not found and not names:
            return None
        # AllowOverride never given: Apache still looks (its "unset" mark counts
        # as an override in the walk) and then allows nothing, so any directive
        # there is a 500. Debian's apache2.conf says None for / to avoid it.
        return Allowed(found or frozenset(), settings.allow_override_opts, names)


@dataclass(frozen=True)
class Applied:
    """One .htaccess applied: its folder's settings and its <Files> sections."""

    settings: DirSettings
    files: tuple[Section, ...] = ()
    warnings: tuple[str, ...] = ()  # AllowOverride Nonfatal=...: what was skipped


def may_override(settings: Iterable[DirSettings]) -> bool:
    """Whether any of these settings lets a .htaccess be read (else no stat at all)."""
    return any(Allowed.of(s) is not None for s in settings)


# -- the walk ------------------------------------------------------------------------


def _components(pattern: str) -> int:
    """How deep a <Directory> pattern sits: the level of the walk that merges it."""
    pattern = pattern.rstrip("/")
    return pattern.count("/") if pattern else 0


def walk(
    directory: str,
    settings: DirSettings,
    sections: Sequence[tuple[str, DirSettings]],
    read: Callable[[str, DirSettings, Allowed], Applied | None],
) -> tuple[DirSettings, tuple[Section, ...]]:
    """``settings`` merged with the matching plain <Directory> ``sections``
    (pattern, settings) and each folder's .htaccess, level by level.

    Returns the settings and the <Files> sections the .htaccess files held,
    which apply after the configuration's own <Files> sections.
    """
    parts = [p for p in directory.split("/") if p]
    by_level = sorted(sections, key=lambda s: _components(s[0]))  # stable: config order
    files: list[Section] = []
    index = 0
    for level in range(len(parts) + 1):
        while index < len(by_level) and _components(by_level[index][0]) <= level:
            settings = settings.merge(by_level[index][1])
            index += 1
        allowed = Allowed.of(settings)
        if allowed is None:
            continue
        folder = "/" + "/".join(parts[:level])
        applied = read(folder, settings, allowed)
        if applied is not None:
            settings = settings.merge(applied.settings)
            files.extend(applied.files)
    for _, rest in by_level[index:]:
        settings = settings.merge(rest)
    return settings, tuple(files)


# -- one file ------------------------------------------------------------------------


def _label(name: str, section: bool) -> str:
    return f"<{name}" if section else name


def check_read_time(path: str, text: str) -> None:
    """Include and Define are acted on as the file is read; in .htaccess they are errors."""
    for line in logical_lines(text, path):
        name = _READ_TIME.get(first_word(line.text).lower())
        if name is not None:
            raise HtaccessError(500, f"{path}: {name} not allowed here")


def apply(path: str, nodes: Sequence[Node], allowed: Allowed, server_root: str = "/") -> Applied:
    """The settings of a parsed .htaccess at ``path``, or :class:`HtaccessError`."""
    folder = os.path.dirname(path) or "/"
    host = HostDraft(where=Where(path, 0), main=True)
    server = ServerDraft(server_root=server_root, main=host)
    own = SectionDraft("directory", folder, False, Where(path, 0))
    ctx = Context("directory", server, host, Problems(), own)
    warnings: list[str] = []
    _apply_nodes(path, ctx, nodes, allowed, None, warnings)
    files = tuple(
        Section(draft.kind, draft.pattern, draft.regex, draft.dir.freeze(), draft.where)
        for draft in host.sections
        if draft.kind == "files"
    )
    return Applied(own.dir.freeze(), files, tuple(warnings))


def _permitted(name: str, allowed: Allowed) -> bool:
    return name.lower() in allowed.names or classes.allowed_by(name, allowed.classes)


def _apply_nodes(
    path: str,
    ctx: Context,
    nodes: Sequence[Node],
    allowed: Allowed,
    parent: str | None,
    warnings: list[str],
) -> None:
    for node in nodes:
        found = directives.lookup(node.name)
        if found is None:
            label = _label(node.name, node.is_section)
            if classes.NONFATAL_UNKNOWN in allowed.classes:
                warnings.append(
                    f"{path}: Unknown directive {label.lower()} perhaps misspelled or defined "
                    "by a module not included in the server configuration"
                )
                continue
            raise HtaccessError(
                500,
                f"{path}: Invalid command '{label}', perhaps misspelled or defined by a "
                "module not included in the server configuration",
            )
        label = _label(found.name, found.section)
        if not _permitted(found.name, allowed):
            if classes.NONFATAL_OVERRIDE in allowed.classes:
                warnings.append(f"{path}: {label} in .htaccess forbidden by AllowOverride")
                continue
            where = f" in <{parent}> context" if parent else " here"
            raise HtaccessError(500, f"{path}: {label} not allowed{where}")
        if found.section != node.is_section:
            what = "a section" if found.section else "a directive, not a section"
            raise HtaccessError(500, f"{path}: {found.name} is {what}")
        count = len(node.args)
        if count < found.min_args or (found.max_args is not None and count > found.max_args):
            raise HtaccessError(500, f"{path}: {label} takes {found.syntax}, got {count} arguments")
        if found.kind != "supported":
            raise HtaccessError(
                500,
                f"{path}: {label}: {found.why}, and wsgihost does not skip a .htaccess rule",
            )
        if found.name == "Options" and allowed.options is not None:
            _check_options(path, node.args, allowed.options)
        if found.apply is None:
            continue
        child = found.apply(ctx.at(path, node.line, found.name), list(node.args))
        problem = next(iter(ctx.problems.items), None)
        if problem is not None:
            # A warning here is something wsgihost would not do: as much a 500 as an error.
            raise HtaccessError(500, f"{path}: {problem.message}")
        if node.children is not None and child is not None:
            _apply_nodes(path, child, node.children, allowed, found.name, warnings)


def _check_options(path: str, args: Sequence[str], allowed: frozenset[str]) -> None:
    """AllowOverride Options=...: each option set or cleared must be listed."""
    for word in args:
        name = word[1:] if word[:1] in "+-" else word
        bits = classes.OPTION_BITS.get(name.lower())
        if bits is not None and not bits <= allowed:
            raise HtaccessError(500, f"{path}: Option {name} not allowed here")


# -- the front end's reader ----------------------------------------------------------


def _load(path: str) -> tuple[Node, ...]:
    """Read and parse one .htaccess (only when it changed)."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError as e:
        raise _unreadable(path, e) from None
    check_read_time(path, text)
    problems = Problems()
    parsed = parse(path, problems, environ=os.environ)
    bad = next((p for p in problems.items if p.severity == "error"), None)
    if bad is not None:
        raise HtaccessError(500, f"{path}: {bad.message}")
    return with_conditionals(parsed.nodes, conditionals(path, text))


def conditionals(path: str, text: str) -> list[Node]:
    """The ``<IfModule>``-like sections of a file, which the parser decides as it reads.

    Apache checks their override class too (any class will do), so a file
    whose folder allows nothing fails on one even when it is false; they are
    kept as empty sections for :func:`apply` to check."""
    found = []
    for line in logical_lines(text, path):
        word = first_word(line.text)
        name = word[1:].rstrip(">")
        if word.startswith("<") and name.lower() in CONDITIONALS:
            args = line.text.strip()[len(word) :].rstrip().removesuffix(">").split()
            found.append(Node(name, tuple(args), path, line.lineno, ()))
    return found


def with_conditionals(nodes: tuple[Node, ...], found: list[Node]) -> tuple[Node, ...]:
    """``nodes`` with each of ``found`` before the first node written after it."""
    merged: list[Node] = []
    pending = list(found)
    for node in nodes:
        while pending and pending[0].line < node.line:
            merged.append(pending.pop(0))
        merged.append(node)
    return (*merged, *pending)


def _unreadable(path: str, error: OSError, before: str = "") -> HtaccessError:
    folder = os.path.dirname(path).rstrip("/") + "/"
    return HtaccessError(
        403,
        before + f"({error.errno}){error.strerror}: {path} pcfg_openfile: unable to check "
        f"htaccess file, ensure it is readable and that '{folder}' is executable",
        level="crit",
    )


@dataclass
class _Entry:
    """One version of a file: its tree (or why it has none) and its applications."""

    key: tuple[int, int, int, int]
    nodes: tuple[Node, ...] | HtaccessError
    applied: dict[Allowed, Applied | HtaccessError] = field(default_factory=dict)


class HtaccessFiles:
    """The .htaccess files a front-end worker reads, each parsed once per version.

    ``stat`` and ``load`` are injected (os.stat and a parse, by default) so
    the cache can be tested without a server; ``warn`` gets the Nonfatal
    warnings, once per version of a file.
    """

    def __init__(
        self,
        server_root: str = "/",
        stat_file: Callable[[str], os.stat_result] = os.stat,
        load: Callable[[str], tuple[Node, ...]] = _load,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.server_root = server_root
        self._stat = stat_file
        self._load = load
        self._warn = warn
        self._entries: dict[str, _Entry] = {}
        # remember(): results, with the version of each file they were made from.
        self._results: dict[Hashable, tuple[tuple[tuple[str, Version], ...], object]] = {}
        # The files the computation under way in this thread has looked for
        # (routing runs on the event loop, but an error page may route again
        # from an app's thread).
        self._local = threading.local()

    def remember(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, kept while every .htaccess it read (or found absent) stays
        the same: a request then costs one ``stat`` per file, as Apache's open
        does, and no parsing or merging."""
        outer: list[tuple[str, Version]] | None = getattr(self._local, "seen", None)
        found = self._results.get(key)
        if found is not None:
            files, value = found
            try:
                fresh = all(self._version(path)[0] == version for path, version in files)
            except HtaccessError:
                fresh = False  # computed again below, which raises it
            if fresh:
                if outer is not None:
                    outer.extend(files)
                return value  # type: ignore[return-value]
        seen: list[tuple[str, Version]] = []
        self._local.seen = seen
        try:
            result = compute()
        finally:
            self._local.seen = outer
        if outer is not None:
            outer.extend(seen)
        if len(self._results) > 4096:
            self._results.clear()
        self._results[key] = (tuple(seen), result)
        return result

    def read(self, folder: str, settings: DirSettings, allowed: Allowed) -> Applied | None:
        """The first AccessFileName present in ``folder``, applied; None if none is."""
        try:
            for name in settings.access_file_names or (".htaccess",):
                path = folder.rstrip("/") + "/" + name
                version, info = self._version(path)
                seen = getattr(self._local, "seen", None)
                if seen is not None:
                    seen.append((path, version))
                if version is None or info is None:
                    continue
                return self._applied(path, version, allowed)
        except HtaccessError as e:
            e.folder = folder
            raise
        return None

    def begin(self) -> None:
        """A new request: each file is looked at once during it, as Apache keeps a
        request's .htaccess results (``r->htaccess``) for its sub-requests."""
        self._local.looked = {}

    def _version(self, path: str) -> tuple[Version, os.stat_result | None]:
        """The file's version (None: absent), or HtaccessError if it cannot be read."""
        looked: dict[str, tuple[Version, os.stat_result | None] | HtaccessError] | None
        looked = getattr(self._local, "looked", None)
        found = looked.get(path) if looked is not None else None
        if found is None:
            found = self._look(path)
            if looked is not None:
                looked[path] = found
        if isinstance(found, HtaccessError):
            raise found
        return found

    def _look(self, path: str) -> tuple[Version, os.stat_result | None] | HtaccessError:
        try:
            info = self._stat(path)
        except OSError as e:
            if e.errno in (errno.ENOENT, errno.ENOTDIR):
                return None, None
            return _unreadable(path, e)
        if not stat.S_ISREG(info.st_mode):
            # Apache's pcfg_openfile refuses anything else with EBADF, saying why first.
            why = f"Access to file {path} denied by server: not a regular file\n"
            return _unreadable(path, OSError(errno.EBADF, os.strerror(errno.EBADF)), why)
        return (info.st_mtime_ns, info.st_size, info.st_ino, info.st_dev), info

    def _applied(self, path: str, key: tuple[int, int, int, int], allowed: Allowed) -> Applied:
        # A broken file stays broken until it changes: its error is kept too,
        # so each request answers it without parsing the file again.
        entry = self._entries.get(path)
        if entry is None or entry.key != key:
            if len(self._entries) > 4096:
                self._entries.clear()
            try:
                nodes: tuple[Node, ...] | HtaccessError = self._load(path)
            except HtaccessError as e:
                nodes = e
            entry = self._entries[path] = _Entry(key, nodes)
        applied = entry.applied.get(allowed)
        if applied is None:
            try:
                if isinstance(entry.nodes, HtaccessError):
                    raise entry.nodes
                applied = apply(path, entry.nodes, allowed, self.server_root)
            except HtaccessError as e:
                applied = e
            entry.applied[allowed] = applied
            if self._warn is not None and isinstance(applied, Applied):
                for warning in applied.warnings:
                    self._warn(warning)
        if isinstance(applied, HtaccessError):
            raise applied
        return applied
