"""Apache configuration files to a tree of directives.

Pure apart from reading the files it is asked to (the configuration and what
it includes). What Apache does while it reads, this does too, in the same
order, so a file means the same thing to both:

- ``Define``/``UnDefine`` take effect for the lines after them, and ``${VAR}``
  is expanded line by line (Defines first, then the environment);
- ``Include``/``IncludeOptional`` read other files in place, relative to the
  ``ServerRoot`` in force at that point;
- ``<IfModule>``, ``<IfDefine>``, ``<IfFile>``, ``<IfDirective>``,
  ``<IfSection>`` and ``<IfVersion>`` are decided here: a true one is replaced
  by what it encloses, a false one is skipped without expanding or checking
  anything inside it (as Apache does);
- every other section becomes a :class:`Node` with children.

Names are compared without regard to letter case. A section must close in
the file that opened it. Problems (unclosed or mismatched sections, undefined
variables, unreadable includes) are collected, and reading goes on, so one
run reports everything it can.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from wsgihost.config import directives, macro, modules
from wsgihost.config.lexer import ConfigError, Line, expand, first_word, logical_lines, split_args
from wsgihost.config.problems import Problems


@dataclass(frozen=True)
class Node:
    """A directive, or a section when ``children`` is not None."""

    name: str  # as written; a section's without the '<'
    args: tuple[str, ...]
    file: str
    line: int
    children: tuple[Node, ...] | None = None

    @property
    def is_section(self) -> bool:
        return self.children is not None


@dataclass(frozen=True)
class Parsed:
    """The tree, and what reading it decided."""

    nodes: tuple[Node, ...]
    server_root: str  # absolute; the last ServerRoot, else the main file's folder
    files: tuple[str, ...]  # as shown in problems, in the order read
    paths: tuple[str, ...]  # the same files, absolute
    # The modules LoadModule loaded (with Apache's built-ins); None for a
    # configuration with no LoadModule, read as if all wsgihost provides were.
    loaded: frozenset[str] | None = None


CONDITIONALS = frozenset(
    {"ifmodule", "ifdefine", "iffile", "ifdirective", "ifsection", "ifversion"}
)


def parse(
    path: str,
    problems: Problems,
    defines: Mapping[str, str | None] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Parsed:
    """Read ``path`` and what it includes; problems go to ``problems``.

    ``defines`` are ``-D`` names (a value of None defines only the name, for
    ``<IfDefine>``); ``environ`` is where ``${VAR}`` looks after them.
    """
    root = os.path.dirname(os.path.abspath(path))
    env = environ if environ is not None else {}
    # As Apache: <IfModule> finds the built-in modules and those LoadModule has
    # loaded in the lines read so far. A configuration with no LoadModule at all
    # (a site file on its own) is read again as if every module wsgihost
    # provides were loaded, since the main file that would load them is not read.
    scratch = Problems()
    reader = _Reader(root, scratch, dict(defines or {}), env, set(modules.BUILT_IN_MODULES))
    nodes = reader.read(path, path, None)
    if not reader.saw_load_module:
        scratch = Problems()
        reader = _Reader(root, scratch, dict(defines or {}), env, None)
        nodes = reader.read(path, path, None)
    problems.items.extend(scratch.items)
    loaded = frozenset(reader.loaded) if reader.loaded is not None else None
    return Parsed(
        tuple(nodes), reader.server_root, tuple(reader.files), tuple(reader.paths), loaded
    )


def _tag_name(word: str) -> str:
    """``<VirtualHost``, ``</VirtualHost>`` or ``<IfModule>`` to the bare name."""
    return word.lstrip("<").lstrip("/").rstrip(">")


def _raw_tag_name(text: str) -> str:
    """The name of an opening tag, unexpanded, even if written ``< Name``."""
    inner = text.strip()[1:].strip()
    return _tag_name(inner.split(None, 1)[0]) if inner else ""


def _files_below(folder: str) -> list[str]:
    """Every file under ``folder``, in sorted order, sub-folders where they sort."""
    found: list[str] = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        found.extend(_files_below(path) if os.path.isdir(path) else [path])
    return found


class _Reader:
    def __init__(
        self,
        server_root: str,
        problems: Problems,
        defines: dict[str, str | None],
        environ: Mapping[str, str],
        loaded: set[str] | None,
    ) -> None:
        self.server_root = server_root
        self.loaded = loaded  # module ids <IfModule> finds; None: every one wsgihost provides
        self.saw_load_module = False
        self.problems = problems
        self.defines = defines
        self.environ = environ
        self.files: list[str] = []
        self.paths: list[str] = []
        self.reading: list[str] = []  # real paths of the files open now, for include loops
        self.real_depth = 0  # how many real (not conditional) sections we are inside
        self.macros = macro.Macros(problems)  # mod_macro's, defined as they are read

    # -- files ---------------------------------------------------------------------

    def read(self, path: str, shown: str, at: Line | None) -> list[Node]:
        try:
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError as e:
            message = f"cannot read '{shown}': {e.strerror}"
            if at is None:
                self.problems.error(shown, 0, message)
            else:
                self.problems.error(at.file, at.lineno, f"Include: {message}")
            return []
        real = os.path.realpath(path)
        self.files.append(shown)
        self.paths.append(os.path.abspath(path))
        self.reading.append(real)
        try:
            lines = list(logical_lines(text, shown))
            nodes, _ = self.block(lines, 0, [], live=True)
        finally:
            self.reading.pop()
        return nodes

    def include(self, line: Line, pattern: str, optional: bool) -> list[Node]:
        full = pattern if os.path.isabs(pattern) else os.path.join(self.server_root, pattern)
        if glob.has_magic(full):
            matches = sorted(glob.glob(full))
            if not matches and not optional:
                self._error(line, f"Include: no file matches '{pattern}'")
        elif os.path.exists(full):
            matches = [full]
        else:
            if not optional:
                self._error(line, f"Include: '{full}' does not exist")
            matches = []
        files: list[str] = []
        for match in matches:
            if os.path.isdir(match):
                files.extend(_files_below(match))
            else:
                files.append(match)
        nodes: list[Node] = []
        for file in files:
            if os.path.realpath(file) in self.reading:
                self._error(line, f"Include: '{file}' would include itself")
                continue
            nodes.extend(self.read(file, file, line))
        return nodes

    # -- blocks ----------------------------------------------------------------------

    def block(
        self, lines: list[Line], i: int, stack: list[tuple[str, Line]], live: bool
    ) -> tuple[list[Node], int]:
        """Lines up to the end tag of ``stack[-1]`` (or the end of the file).

        Returns the nodes and the index after the end tag. A mismatched end
        tag that closes an outer section is left for that section.
        """
        out: list[Node] = []
        while i < len(lines):
            line = lines[i]
            word = first_word(line.text)
            if word.startswith("</"):
                name = _tag_name(word)
                if stack and name.lower() == stack[-1][0].lower():
                    return out, i + 1
                if any(name.lower() == open_name.lower() for open_name, _ in stack):
                    top, opened = stack[-1]
                    self._error(
                        line,
                        f"</{name}> found, but <{top}> (line {opened.lineno}) is not closed",
                    )
                    return out, i
                expected = f"; expected </{stack[-1][0]}>" if stack else ""
                self._error(line, f"</{name}> without a matching <{name}>{expected}")
                i += 1
            elif word.startswith("<"):
                i = self.section(lines, i, stack, live, out)
            elif live and word.lower() in ("use", "undefmacro"):
                self.use_macro(lines, i)  # the line is replaced by what it stands for
            else:
                if live:
                    self.directive(line, out)
                i += 1
        if stack:
            name, opened = stack[-1]
            self._error(
                opened, f"<{name}> is not closed (expected </{name}> before the end of the file)"
            )
        return out, i

    def section(
        self,
        lines: list[Line],
        i: int,
        stack: list[tuple[str, Line]],
        live: bool,
        out: list[Node],
    ) -> int:
        line = lines[i]
        if not live:
            name = _raw_tag_name(line.text)
            _, after = self.block(lines, i + 1, [*stack, (name, line)], live=False)
            return after
        parsed = self._open_tag(line)
        if parsed is None:
            name = _raw_tag_name(line.text)
            _, after = self.block(lines, i + 1, [*stack, (name, line)], live=False)
            return after
        name, args = parsed
        if name.lower() == "macro":
            return self.define_macro(lines, i, args)
        inner = [*stack, (name, line)]
        if name.lower() in CONDITIONALS:
            if self.condition(line, name, args):
                children, after = self.block(lines, i + 1, inner, live=True)
                out.extend(children)
            else:
                _, after = self.block(lines, i + 1, inner, live=False)
            return after
        self.real_depth += 1
        try:
            children, after = self.block(lines, i + 1, inner, live=True)
        finally:
            self.real_depth -= 1
        out.append(Node(name, tuple(args), line.file, line.lineno, tuple(children)))
        return after

    def _open_tag(self, line: Line) -> tuple[str, list[str]] | None:
        text = self._expand(line)
        if text is None:
            return None
        if text.endswith(">"):
            text = text[:-1]
        else:
            self._error(line, f"<{_raw_tag_name(line.text)}> is missing its closing '>'")
        inner = text[1:]
        name = inner.split(None, 1)[0] if inner.strip() else ""
        if not name or inner[:1].isspace():
            self._error(line, "a section tag needs a name right after '<'")
            return None
        try:
            args = split_args(inner[len(name) :], line.file, line.lineno)
        except ConfigError as e:
            self._error(line, e.message)
            return None
        return name, args

    # -- mod_macro (config/macro.py) ----------------------------------------------------

    def _macro_module(self, line: Line, name: str) -> bool:
        if self.loaded is None or "macro" in self.loaded:
            return True
        self._error(
            line,
            f"Invalid command '{name}', perhaps misspelled or defined by a module not "
            "included in the server configuration (LoadModule macro_module)",
        )
        return False

    def define_macro(self, lines: list[Line], i: int, args: list[str]) -> int:
        line = lines[i]
        end = macro.body_end(lines, i + 1)
        if end is None:
            self._error(line, "<Macro> contents error: expected token not found: </Macro>")
            return len(lines)
        if self._macro_module(line, "<Macro"):
            self.macros.define(line, args, lines[i + 1 : end])
        return end + 1

    def use_macro(self, lines: list[Line], i: int) -> None:
        """Replace the ``Use`` (or ``UndefMacro``) line at ``i`` by what it stands for."""
        line = lines[i]
        text = self._expand(line)
        expansion: list[Line] = []
        if text is not None and self._macro_module(line, first_word(text)):
            if first_word(text).lower() == "use":
                expansion = self.macros.expand(line, text) or []
            else:
                self.macros.undefine(line, text)
        lines[i : i + 1] = expansion

    # -- directives --------------------------------------------------------------------

    def directive(self, line: Line, out: list[Node]) -> None:
        text = self._expand(line)
        if text is None:
            return
        try:
            words = split_args(text, line.file, line.lineno)
        except ConfigError as e:
            self._error(line, e.message)
            return
        name, args = words[0], words[1:]
        key = name.lower()
        if key in ("include", "includeoptional"):
            if len(args) != 1:
                self._error(line, f"{name}: expected one path, got {len(args)} arguments")
                return
            out.extend(self.include(line, args[0], key == "includeoptional"))
            return
        if key == "define":
            self.define(line, args)
        elif key == "undefine":
            for arg in args:
                self.defines.pop(arg, None)
        elif key == "loadmodule" and args:
            self.saw_load_module = True
            if self.loaded is not None:
                self.loaded.add(modules.module_id(args[0]))
        elif key == "serverroot" and self.real_depth == 0 and len(args) == 1:
            self.set_server_root(line, args[0])
        out.append(Node(name, tuple(args), line.file, line.lineno))

    def define(self, line: Line, args: list[str]) -> None:
        if not 1 <= len(args) <= 2:
            return  # the builder reports the argument count
        name = args[0]
        if ":" in name:
            self._error(line, f"Define: a name may not contain ':' ('{name}')")
            return
        if len(args) == 2:
            self.defines[name] = args[1]
        else:
            self.defines.setdefault(name, None)

    def set_server_root(self, line: Line, path: str) -> None:
        full = os.path.normpath(os.path.join(self.server_root, path))
        if not os.path.isdir(full):
            self._error(line, f"ServerRoot: directory '{full}' does not exist")
            return
        self.server_root = full

    # -- conditions --------------------------------------------------------------------

    def condition(self, line: Line, name: str, args: list[str]) -> bool:
        key = name.lower()
        if key == "ifversion":
            return self._if_version(line, name, args)
        if len(args) != 1 or args[0] in ("", "!"):
            self._error(line, f"<{name}> takes one argument (with an optional '!' before it)")
            return False
        arg = args[0]
        negate = arg.startswith("!")
        arg = arg[1:] if negate else arg
        if key == "ifmodule":
            found = modules.module_loaded(arg, self.loaded)
        elif key == "ifdefine":
            found = arg in self.defines
        elif key == "iffile":
            path = arg if os.path.isabs(arg) else os.path.join(self.server_root, arg)
            found = os.path.exists(path)
        else:
            record = directives.lookup(arg.lstrip("<").rstrip(">"))
            wants_section = key == "ifsection"
            found = (
                record is not None
                and record.section == wants_section
                and record.kind != "refused"
                and (record.kind == "supported" or not wants_section)
            )
        return found != negate

    def _if_version(self, line: Line, name: str, args: list[str]) -> bool:
        text = " ".join(args)
        m = re.fullmatch(r"\s*(!?)\s*(==|>=|<=|=|>|<|~)?\s*(\S+)\s*", text)
        if m is None:
            self._error(line, f"<{name}> expects [[!]operator] version, not '{text}'")
            return False
        negate, op, version = m.group(1) == "!", m.group(2) or "=", m.group(3)
        current = ".".join(map(str, directives.APACHE_VERSION))
        pattern: str | None = None
        if len(version) > 1 and version.startswith("/") and version.endswith("/"):
            pattern = version[1:-1]
        elif op == "~":
            pattern = version
        if pattern is not None:
            try:
                found = re.search(pattern, current) is not None
            except re.error as e:
                self._error(line, f"<{name}>: bad regular expression '{pattern}': {e}")
                return False
            return found != negate
        if not re.fullmatch(r"\d+(\.\d+){0,2}", version):
            self._error(line, f"<{name}>: '{version}' is not a version such as 2.4 or 2.4.1")
            return False
        wanted = tuple(int(part) for part in version.split("."))
        mine = directives.APACHE_VERSION[: len(wanted)]
        found = {
            "=": mine == wanted,
            "==": mine == wanted,
            ">": mine > wanted,
            ">=": mine >= wanted,
            "<": mine < wanted,
            "<=": mine <= wanted,
        }[op]
        return found != negate

    # -- helpers -----------------------------------------------------------------------

    def _lookup(self, name: str) -> str | None:
        value = self.defines.get(name)
        return value if value is not None else self.environ.get(name)

    def _expand(self, line: Line) -> str | None:
        try:
            return expand(line, self._lookup)
        except ConfigError as e:
            self._error(line, e.message)
            return None

    def _error(self, line: Line, message: str) -> None:
        self.problems.error(line.file, line.lineno, message)
