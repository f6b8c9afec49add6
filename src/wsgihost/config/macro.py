"""mod_macro: ``<Macro name $a $b>`` ... ``</Macro>``, ``Use name x y``, ``UndefMacro name``.

Pure. Expanded as the configuration is read (:mod:`wsgihost.config.parser`
calls in), as Apache's mod_macro does with its EXEC_ON_READ directives: a
``<Macro>`` keeps its lines unread, and a ``Use`` line is replaced by them
with every argument name swapped for its value, then read as if written
there (so ``${VAR}``, ``Include`` and sections inside work as anywhere).

As mod_macro: names in any letter case; a name is replaced wherever it
appears (the longest name wins where two start at one place); an argument
named ``@x`` is replaced by its value in double quotes, with ``"`` and ``\\``
escaped; warnings for arguments never used, names that are prefixes of each
other, names without a ``$``, ``%`` or ``@`` in front, empty bodies and
redefinitions; errors for a wrong number of values, an unknown macro, and a
macro used inside itself.

An expanded line is reported at ``USEFILE:USELINE: macro 'name' at
MACROFILE:LINE``, so a problem in it names both the ``Use`` and the line of
the macro it came from.
"""

from __future__ import annotations

from dataclasses import dataclass

from wsgihost.config.lexer import ConfigError, Line, first_word, split_args
from wsgihost.config.problems import Problems
from wsgihost.config.table import ANY, Directive

ARG_PREFIX = "$%@"
QUOTED_PREFIX = "@"
# Lines one configuration may expand to: a guard against macros that use
# each other (not recursion, which is refused) doubling up without end.
MAX_EXPANDED_LINES = 200_000


@dataclass(frozen=True)
class Macro:
    name: str  # lower case
    params: tuple[str, ...]
    body: tuple[Line, ...]
    file: str
    line: int

    @property
    def location(self) -> str:
        return f'defined on line {self.line} of "{self.file}"'

    @property
    def label(self) -> str:
        return f"macro '{self.name}' ({self.location})"


def body_end(lines: list[Line], i: int) -> int | None:
    """The index of the ``</Macro>`` closing the ``<Macro>`` whose body starts at ``i``
    (nested ``<Macro>`` sections counted); None if the file ends first."""
    depth = 1
    while i < len(lines):
        word = first_word(lines[i].text).lower().rstrip(">")
        if word == "</macro":
            depth -= 1
            if depth == 0:
                return i
        elif word == "<macro":
            depth += 1
        i += 1
    return None


def _substitute(text: str, params: tuple[str, ...], values: tuple[str, ...], used: set[int]) -> str:
    """Every parameter name in ``text`` replaced, scanning left to right (mod_macro's order)."""
    out: list[str] = []
    i = 0
    while True:
        chosen, which = -1, -1
        for index, name in enumerate(params):
            found = text.find(name, i)
            if found >= 0 and (
                chosen < 0 or found < chosen or (found == chosen and len(name) > len(params[which]))
            ):
                chosen, which = found, index
        if chosen < 0:
            out.append(text[i:])
            return "".join(out)
        used.add(which)
        value = values[which]
        if params[which].startswith(QUOTED_PREFIX):
            value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        out.append(text[i:chosen])
        out.append(value)
        i = chosen + len(params[which])


class Macros:
    """The macros defined so far (global, as in Apache: not per virtual host)."""

    def __init__(self, problems: Problems) -> None:
        self.problems = problems
        self.table: dict[str, Macro] = {}
        self.expanded = 0

    def define(self, at: Line, args: list[str], body: list[Line]) -> None:
        if not args:
            self.problems.error(at.file, at.lineno, "<Macro macro definition: name not found")
            return
        name = args[0].lower()
        macro = Macro(name, tuple(args[1:]), tuple(body), at.file, at.lineno)
        old = self.table.get(name)
        if old is not None:
            self._warn(
                at,
                f"macro '{name}' multiply defined: {old.location}, redefined on line "
                f'{at.lineno} of "{at.file}"',
            )
        if name[:1] in ARG_PREFIX:
            self._warn(at, f"{macro.label} better prefix a macro name with any of '{ARG_PREFIX}'")
        if not self._check_params(at, macro):
            return
        if not body:
            self._warn(at, f"{macro.label}: empty contents!")
        else:
            used: set[int] = set()
            for line in body:
                _substitute(line.text, macro.params, macro.params, used)
            for index, param in enumerate(macro.params):
                if index not in used:
                    self._warn(at, f"{macro.label}: argument '{param}' (#{index + 1}) never used")
        self.table[name] = macro

    def _check_params(self, at: Line, macro: Macro) -> bool:
        params = macro.params
        for i, a in enumerate(params):
            if not a:
                self._error(at, f"{macro.label}: empty argument #{i + 1} name")
                return False
            if a[0] not in ARG_PREFIX:
                self._warn(
                    at,
                    f"{macro.label} argument name '{a}' (#{i + 1}) without expected prefix, "
                    f"better prefix argument names with one of '{ARG_PREFIX}'.",
                )
            for j in range(i + 1, len(params)):
                b = params[j]
                if a == b:
                    self._error(
                        at,
                        f"argument name conflict in {macro.label}: argument '{a}': "
                        f"#{i + 1} and #{j + 1}, change argument names!",
                    )
                    return False
                if b and (a.startswith(b) or b.startswith(a)):
                    self._warn(
                        at,
                        f"{macro.label}: argument name prefix conflict ({a} #{i + 1} and "
                        f"{b} #{j + 1}), be careful about your macro definition!",
                    )
        return True

    def expand(self, at: Line, text: str) -> list[Line] | None:
        """The lines a ``Use`` line (``text``, ``${}`` already expanded) stands for."""
        try:
            words = split_args(text, at.file, at.lineno)
        except ConfigError as e:
            self._error(at, e.message)
            return None
        args = words[1:]
        if not args:
            self._error(at, "no macro name specified with Use")
            return None
        name = args[0].lower()
        macro = self.table.get(name)
        if macro is None:
            self._error(at, f"macro '{name}' undefined")
            return None
        if f"macro '{name}' at " in at.file:
            self._error(at, f"recursive use of macro '{name}' is invalid")
            return None
        values = tuple(args[1:])
        if len(values) != len(macro.params):
            self._error(
                at,
                f"{macro.label} used with {len(values)} arguments instead of {len(macro.params)}",
            )
            return None
        for i, value in enumerate(values):
            if not value:
                self._warn(
                    at,
                    f'{macro.label} used on line {at.lineno} of "{at.file}": '
                    f"empty argument #{i + 1}",
                )
        self.expanded += len(macro.body)
        if self.expanded > MAX_EXPANDED_LINES:
            self._error(
                at,
                f"macro '{name}': the configuration expands to more than "
                f"{MAX_EXPANDED_LINES} lines; macros using each other without end?",
            )
            return None
        where = f"{at.file}:{at.lineno}: macro '{name}' at {macro.file}"
        used: set[int] = set()
        return [
            Line(where, line.lineno, _substitute(line.text, macro.params, values, used))
            for line in macro.body
        ]

    def undefine(self, at: Line, text: str) -> None:
        words = text.split()
        if len(words) != 2:
            self._error(at, "UndefMacro takes one argument, Remove a macro definition.")
            return
        name = words[1].lower()
        if self.table.pop(name, None) is None:
            self._error(at, f"cannot remove undefined macro '{name}'")

    def _error(self, at: Line, message: str) -> None:
        self.problems.error(at.file, at.lineno, message)

    def _warn(self, at: Line, message: str) -> None:
        self.problems.warning(at.file, at.lineno, message)


_WHY = "expanded as the configuration is read (mod_macro)"
DIRECTIVES: tuple[Directive, ...] = (
    Directive(
        name="Macro",
        syntax="<Macro name [$arg ...]>",
        contexts=ANY,
        min_args=1,
        max_args=None,
        default="",
        doc="Defines a macro: the lines up to `</Macro>`, kept unread until a `Use` "
        "names it. Argument names should start with `$`, `%` or `@` (an `@` argument's "
        "value is put in double quotes); wsgihost warns, as Apache does, about names that "
        "are prefixes of each other and arguments never used.",
        module="mod_macro",
        section=True,
        read_time=True,
    ),
    Directive(
        name="Use",
        syntax="Use name [value ...]",
        contexts=ANY,
        min_args=1,
        max_args=None,
        default="",
        doc="Replaced by the macro's lines with each argument name swapped for its value "
        "(as many values as the macro has arguments), then read where the `Use` is. A "
        "problem in an expanded line is reported at the `Use` and at the macro's line. "
        "A macro may not use itself.",
        module="mod_macro",
        read_time=True,
    ),
    Directive(
        name="UndefMacro",
        syntax="UndefMacro name",
        contexts=ANY,
        min_args=1,
        max_args=1,
        default="",
        doc="Forgets a macro; a later `Use` of it is an error.",
        module="mod_macro",
        read_time=True,
    ),
)
