"""One .htaccess file: the checks Apache makes as it reads it, and its directives
applied through the directive table into per-directory settings (pure).

Each directive must be allowed by the folder's ``AllowOverride`` class
(:mod:`wsgihost.config.htaccess` holds every directive's) or named by its
``AllowOverrideList``; Apache's messages say why not. A directive wsgihost
only accepts with a warning, or refuses, is an error here: at request time
nobody would see the warning, and a rule silently dropped from a
``.htaccess`` is the hole this closes. :mod:`wsgihost.htaccess` walks the
folders and keeps the files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from wsgihost.config import directives, mod_authz
from wsgihost.config import htaccess as classes
from wsgihost.config.draft import Context, HostDraft, SectionDraft, ServerDraft
from wsgihost.config.lexer import first_word, logical_lines
from wsgihost.config.model import Section, Where
from wsgihost.config.parser import CONDITIONALS, Node
from wsgihost.config.problems import Problems
from wsgihost.htoverride import Allowed, Applied, HtaccessError

__all__ = [
    "Allowed",
    "Applied",
    "HtaccessError",
    "apply",
    "check_read_time",
    "conditionals",
    "with_conditionals",
]

# Acted on while a file is read, and never allowed in .htaccess: caught in the
# text, since the parser would already have acted on them.
_READ_TIME = {"include": "Include", "includeoptional": "IncludeOptional", "define": "Define"}
_READ_TIME["undefine"] = "UnDefine"


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
        inside = mod_authz.refused_inside(ctx, found.name, found.section)
        if inside is not None:
            raise HtaccessError(500, f"{path}: {inside}")
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
            if child.on_close is not None:
                child.on_close()  # a rule block judged whole
                problem = next(iter(ctx.problems.items), None)
                if problem is not None:
                    raise HtaccessError(500, f"{path}: {problem.message}")


def _check_options(path: str, args: Sequence[str], allowed: frozenset[str]) -> None:
    """AllowOverride Options=...: each option set or cleared must be listed."""
    for word in args:
        name = word[1:] if word[:1] in "+-" else word
        bits = classes.OPTION_BITS.get(name.lower())
        if bits is not None and not bits <= allowed:
            raise HtaccessError(500, f"{path}: Option {name} not allowed here")


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
