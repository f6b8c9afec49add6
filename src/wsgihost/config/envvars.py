"""Debian's ``envvars``: the shell file that gives Apache its ``${APACHE_*}`` variables.

Pure: text and an environment in, variables out. ``apache2ctl`` and the
systemd unit source ``/etc/apache2/envvars`` before starting Apache, and
``apache2.conf`` then names ``${APACHE_RUN_USER}``, ``${APACHE_LOG_DIR}``
and the like. wsgihost reads the file the way ``/bin/sh`` would, but
evaluates it here instead of running a shell: a configuration is often
checked by someone who did not write it (``configtest`` on a copied tree,
as root), and reading it must not run its commands. What these files use
is a small part of the shell language, and that part is evaluated exactly:

- ``NAME=value``, ``export NAME=value``, ``export NAME``, ``unset NAME``;
- words in single quotes, double quotes, and with backslashes;
- ``$NAME``, ``${NAME}``, ``${NAME:-word}``, ``${NAME-word}``,
  ``${NAME:=word}``, ``${NAME=word}``, ``${NAME:+word}``, ``${NAME#pat}``,
  ``${NAME##pat}``, ``${NAME%pat}``, ``${NAME%%pat}`` (``*``/``?`` patterns);
- ``: ${NAME:=default}`` (the ``:`` command, for its assignments);
- ``if [ A = B ]; then ... elif ...; else ... fi`` with ``=``, ``!=``,
  ``-z``, ``-n`` (nested too).

Anything else (a command substitution, ``. other-file``, a command) is not
run: the line is reported, and reading goes on.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

# Debian's values, for ${APACHE_*} when no envvars file says otherwise (a site
# file checked on its own, outside /etc/apache2): what /etc/apache2/envvars sets.
DEBIAN_DEFAULTS: dict[str, str] = {
    "APACHE_RUN_USER": "www-data",
    "APACHE_RUN_GROUP": "www-data",
    "APACHE_PID_FILE": "/var/run/apache2/apache2.pid",
    "APACHE_RUN_DIR": "/var/run/apache2",
    "APACHE_LOCK_DIR": "/var/lock/apache2",
    "APACHE_LOG_DIR": "/var/log/apache2",
}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.S)
_BRACED = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(:-|:=|:\+|##|%%|-|=|\+|#|%)?(.*)", re.S)


class ShellError(Exception):
    """A construct this evaluator does not run."""


@dataclass
class Result:
    """The exported variables, and the lines not understood (line number, message)."""

    exported: dict[str, str]
    skipped: list[tuple[int, str]] = field(default_factory=list)


def evaluate(text: str, environ: Mapping[str, str]) -> Result:
    """The environment after ``. envvars`` in a shell started with ``environ``."""
    shell = _Shell(dict(environ))
    for lineno, statement in _statements(text):
        try:
            shell.run(statement)
        except ShellError as e:
            shell.skipped.append((lineno, str(e)))
    if shell.blocks:
        shell.skipped.append((0, "'if' without 'fi' at the end of the file"))
    exported = {k: v for k, v in shell.variables.items() if k in shell.exported}
    return Result(exported, shell.skipped)


# -- words ---------------------------------------------------------------------------


def _chars(text: str) -> Iterator[tuple[str, bool]]:
    """Each character with whether it is plain: outside quotes and not escaped.
    Quotes and backslashes are kept in the text (expansion removes them)."""
    quote = ""
    escaped = False
    for c in text:
        if escaped:
            escaped = False
            yield c, False
        elif quote:
            if c == quote:
                quote = ""
            elif c == "\\" and quote == '"':
                escaped = True
            yield c, False
        elif c in "'\"\\":
            quote = "" if c == "\\" else c
            escaped = c == "\\"
            yield c, False
        else:
            yield c, True
    if quote:
        raise ShellError("a quote is not closed on this line")


def _split(line: str) -> list[str]:
    """The statements of one line, split at ``;`` outside quotes; a ``#`` at the
    start of a word ends the line."""
    out: list[str] = []
    current: list[str] = []
    for c, plain in _chars(line):
        if plain and c == "#" and (not current or current[-1].isspace()):
            break
        if plain and c == ";":
            out.append("".join(current))
            current = []
            continue
        current.append(c)
    out.append("".join(current))
    return out


def _statements(text: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        try:
            parts = _split(line)
        except ShellError:
            found.append((lineno, line))  # reported when run
            continue
        found.extend((lineno, part.strip()) for part in parts if part.strip())
    return found


def _words(text: str) -> list[str]:
    """The raw words (quotes kept) of a statement, split at plain blanks outside ``${}``."""
    words: list[str] = []
    current: list[str] = []
    depth = 0
    previous = ""
    for c, plain in _chars(text):
        if plain and c == "{" and previous == "$":
            depth += 1
        elif plain and c == "}" and depth:
            depth -= 1
        elif plain and c.isspace() and not depth:
            if current:
                words.append("".join(current))
                current = []
            previous = c
            continue
        current.append(c)
        previous = c
    if current:
        words.append("".join(current))
    return words


class _Shell:
    def __init__(self, variables: dict[str, str]) -> None:
        self.variables = variables
        self.exported = set(variables)  # what the shell inherits is exported
        self.skipped: list[tuple[int, str]] = []
        # One entry per open 'if': (running now, some branch already taken, outer running)
        self.blocks: list[tuple[bool, bool, bool]] = []

    @property
    def live(self) -> bool:
        return not self.blocks or self.blocks[-1][0]

    # -- statements ------------------------------------------------------------------

    def run(self, statement: str) -> None:
        words = _words(statement)
        if not words:
            return
        head = words[0]
        if head in ("if", "elif", "else", "fi", "then"):
            self._flow(head, words)
            return
        if not self.live:
            return
        if head == "export":
            for word in words[1:]:
                self._assign(word, export=True)
        elif head == "unset":
            for word in words[1:]:
                self.variables.pop(word, None)
                self.exported.discard(word)
        elif head == ":":
            for word in words[1:]:
                self.expand(word)
        elif _ASSIGNMENT.fullmatch(head) and all(_ASSIGNMENT.fullmatch(w) for w in words):
            for word in words:
                self._assign(word, export=False)
        else:
            raise ShellError(f"'{statement}' is a command; commands are not run")

    def _assign(self, word: str, export: bool) -> None:
        m = _ASSIGNMENT.fullmatch(word)
        if m is None:
            if not _NAME.fullmatch(word):
                raise ShellError(f"'{word}' is not a variable name")
            if export:
                self.exported.add(word)
            return
        self.variables[m.group(1)] = self.expand(m.group(2))
        if export:
            self.exported.add(m.group(1))

    def _flow(self, head: str, words: list[str]) -> None:
        if head == "then":
            if len(words) > 1:
                self.run(" ".join(words[1:]))
            return
        if head == "if":
            outer = self.live
            taken = outer and self._test(words[1:])
            self.blocks.append((taken, taken, outer))
            return
        if not self.blocks:
            raise ShellError(f"'{head}' without 'if'")
        _, done, outer = self.blocks[-1]
        if head == "fi":
            self.blocks.pop()
        elif head == "else":
            self.blocks[-1] = (outer and not done, True, outer)
            if len(words) > 1:
                self.run(" ".join(words[1:]))
        else:  # elif
            taken = outer and not done and self._test(words[1:])
            self.blocks[-1] = (taken, done or taken, outer)

    def _test(self, words: list[str]) -> bool:
        if words[:1] == ["test"]:
            words = words[1:]
        elif words[:1] == ["["] and words[-1:] == ["]"]:
            words = words[1:-1]
        else:
            raise ShellError(f"'if {' '.join(words)}' runs a command; only [ ... ] is read")
        negate = words[:1] == ["!"]
        words = words[1:] if negate else words
        values = [self.expand(w) for w in words]
        if len(values) == 3 and words[1] in ("=", "==", "!="):
            found = (values[0] == values[2]) == (words[1] != "!=")
        elif len(values) == 2 and words[0] in ("-z", "-n"):
            found = (values[1] == "") == (words[0] == "-z")
        elif len(values) == 1:
            found = values[0] != ""
        else:
            raise ShellError(f"the test [ {' '.join(words)} ] is not one this reader knows")
        return found != negate

    # -- expansion -------------------------------------------------------------------

    def expand(self, word: str) -> str:
        """A word with its quotes removed and its parameters expanded."""
        out: list[str] = []
        i = 0
        quote = ""
        while i < len(word):
            c = word[i]
            if quote == "'":
                if c == "'":
                    quote = ""
                else:
                    out.append(c)
                i += 1
            elif c == "'" and not quote:
                quote = "'"
                i += 1
            elif c == '"':
                quote = "" if quote else '"'
                i += 1
            elif c == "\\" and i + 1 < len(word):
                nxt = word[i + 1]
                if quote and nxt not in '$`"\\':
                    out.append(c)
                out.append(nxt)
                i += 2
            elif c == "`" or word.startswith("$(", i):
                raise ShellError("command substitution is not run")
            elif c == "$":
                value, i = self._parameter(word, i + 1)
                out.append(value)
            else:
                out.append(c)
                i += 1
        return "".join(out)

    def _parameter(self, word: str, i: int) -> tuple[str, int]:
        if word.startswith("{", i):
            end = _closing_brace(word, i + 1)
            return self._braced(word[i + 1 : end]), end + 1
        m = _NAME.match(word, i)
        if m is None:
            return "$", i
        return self.variables.get(m.group(0), ""), m.end()

    def _braced(self, inner: str) -> str:
        m = _BRACED.fullmatch(inner)
        if m is None:
            raise ShellError(f"'${{{inner}}}' is not a parameter expansion this reader knows")
        name, op, arg = m.group(1), m.group(2), m.group(3)
        value = self.variables.get(name)
        if op is None:
            if arg:
                raise ShellError(f"'${{{inner}}}' is not a parameter expansion this reader knows")
            return value or ""
        unset_or_empty = not value if op.startswith(":") else value is None
        if op in (":-", "-"):
            return self.expand(arg) if unset_or_empty else value or ""
        if op in (":=", "="):
            if unset_or_empty:
                self.variables[name] = self.expand(arg)
            return self.variables[name]
        if op in (":+", "+"):
            return "" if unset_or_empty else self.expand(arg)
        return _trim(value or "", op, self.expand(arg))


def _closing_brace(word: str, i: int) -> int:
    depth = 1
    while i < len(word):
        if word[i] == "{":
            depth += 1
        elif word[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ShellError("a '${' is not closed")


def _trim(value: str, op: str, pattern: str) -> str:
    """``#``/``##`` remove the shortest/longest matching prefix, ``%``/``%%`` the suffix."""
    sizes = range(len(value) + 1)
    if op in ("#", "##"):
        order = reversed(sizes) if op == "##" else iter(sizes)
        for n in order:
            if fnmatch.fnmatchcase(value[:n], pattern):
                return value[n:]
        return value
    order = iter(sizes) if op == "%%" else reversed(sizes)
    for n in order:
        if fnmatch.fnmatchcase(value[n:], pattern):
            return value[:n]
    return value


def environment(
    envvars_text: str | None, environ: Mapping[str, str], confdir: str
) -> tuple[dict[str, str], list[tuple[int, str]]]:
    """The variables ``${VAR}`` sees: ``environ``, then what an ``envvars`` file beside
    the configuration exports (``APACHE_CONFDIR`` is the configuration's folder, as
    apache2ctl sets it), then Debian's defaults for the ``APACHE_*`` names still unset.
    """
    start = dict(environ)
    start.setdefault("APACHE_CONFDIR", confdir)
    skipped: list[tuple[int, str]] = []
    if envvars_text is not None:
        result = evaluate(envvars_text, start)
        start, skipped = result.exported, result.skipped  # what it unset is gone
    for name, value in DEBIAN_DEFAULTS.items():
        start.setdefault(name, value)
    return start, skipped
