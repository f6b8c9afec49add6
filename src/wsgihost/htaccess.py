""".htaccess files, read per request as Apache's directory walk reads them.

For the folder a request's file is in, Apache walks from ``/`` down, level by
level: at each folder it merges the ``<Directory>`` sections for that folder,
then, if the ``AllowOverride`` (or ``AllowOverrideList``) merged so far
allows anything, the folder's ``.htaccess`` (the first ``AccessFileName``
present). ``<DirectoryMatch>``, ``<Files>`` and ``<Location>`` come after
the walk. :func:`walk` is that loop (pure, given a reader);
:mod:`wsgihost.htfile` applies one file; :class:`HtaccessFiles` is the
front end's reader: one ``stat`` per folder and name in each request (Apache
opens the file in each request), a parse only when the file's (mtime, size,
inode) changed, and a merged result kept while its files stay the same.

Failures are :class:`HtaccessError`: a 500 with Apache's message for a file
that cannot be applied, a 403 for one that cannot be read.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from wsgihost.config.model import DirSettings, Section
from wsgihost.htoverride import Allowed, Applied, HtaccessError

if TYPE_CHECKING:
    from wsgihost.config.parser import Node

__all__ = [
    "Allowed",
    "Applied",
    "HtaccessError",
    "HtaccessFiles",
    "may_override",
    "preload",
    "walk",
]

T = TypeVar("T")
Version = tuple[int, int, int, int] | None  # (mtime, size, inode, device); None: absent


def may_override(base: DirSettings, plain: Iterable[tuple[str, DirSettings]]) -> bool:
    """Whether the walk may read a .htaccess anywhere under a host (else no stat
    at all), given its settings and its plain <Directory> sections (pattern,
    settings): some section lets one in, or the root's never says
    AllowOverride, where Apache's unset still looks (:meth:`Allowed.of`). So
    Debian's ``<Directory /> AllowOverride None``, with nothing turning it back
    on, reads none."""
    root = base
    for pattern, settings in plain:
        if settings.allow_override or settings.allow_override_list:
            return True
        if _components(pattern) == 0:
            root = root.merge(settings)
    return Allowed.of(root) is not None


def preload() -> None:
    """Import the parser and the directive tables that applying a .htaccess takes.

    :func:`_load` imports them when a file is first read; a front-end worker
    whose configuration lets one be read calls this at start, while it may
    still be root, so that the first request does not pay for the import
    (``wsgihost.expr``, for an ``<If>``, the worker has imported already).
    Where no AllowOverride allows anything, the worker never holds the tables
    (megabytes).
    """
    from wsgihost import htfile  # noqa: F401
    from wsgihost.config import parser  # noqa: F401


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
) -> tuple[DirSettings | None, tuple[Section, ...]]:
    """The matching plain <Directory> ``sections`` (pattern, settings) and each
    folder's .htaccess, level by level, merged among themselves (None: none).

    As Apache's directory walk, the chain is built from nothing and the caller
    merges it onto ``settings`` (which matters where a merge is not associative:
    an UnsetEnv in a .htaccess does not reach the server's variables); what
    each level allows is read from ``settings`` with the chain so far on top.
    Returns the chain and the <Files> sections the .htaccess files held,
    which apply after the configuration's own <Files> sections.
    """
    parts = [p for p in directory.split("/") if p]
    by_level = sorted(sections, key=lambda s: _components(s[0]))  # stable: config order
    files: list[Section] = []
    chain: DirSettings | None = None
    index = 0
    for level in range(len(parts) + 1):
        while index < len(by_level) and _components(by_level[index][0]) <= level:
            layer = by_level[index][1]
            settings = settings.merge(layer)
            chain = layer if chain is None else chain.merge(layer)
            index += 1
        allowed = Allowed.of(settings)
        if allowed is None:
            continue
        folder = "/" + "/".join(parts[:level])
        applied = read(folder, settings, allowed)
        if applied is not None:
            settings = settings.merge(applied.settings)
            chain = applied.settings if chain is None else chain.merge(applied.settings)
            files.extend(applied.files)
    for _, rest in by_level[index:]:
        chain = rest if chain is None else chain.merge(rest)
    return chain, tuple(files)


# -- the front end's reader ----------------------------------------------------------


def _load(path: str) -> tuple[Node, ...]:
    """Read and parse one .htaccess (only when it changed)."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except OSError as e:
        raise _unreadable(path, e) from None
    from wsgihost import htfile
    from wsgihost.config.parser import parse
    from wsgihost.config.problems import Problems

    htfile.check_read_time(path, text)
    problems = Problems()
    parsed = parse(path, problems, environ=os.environ)
    bad = next((p for p in problems.items if p.severity == "error"), None)
    if bad is not None:
        raise HtaccessError(500, f"{path}: {bad.message}")
    return htfile.with_conditionals(parsed.nodes, htfile.conditionals(path, text))


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
                from wsgihost import htfile

                applied = htfile.apply(path, entry.nodes, allowed, self.server_root)
            except HtaccessError as e:
                applied = e
            entry.applied[allowed] = applied
            if self._warn is not None and isinstance(applied, Applied):
                for warning in applied.warnings:
                    self._warn(warning)
        if isinstance(applied, HtaccessError):
            raise applied
        return applied
