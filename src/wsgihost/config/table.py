"""The shape of the directive table, shared by every module that declares directives.

Pure. :mod:`wsgihost.config.directives` holds the core's records; an Apache
module wsgihost provides declares its own in a module of its own (a tuple
named ``DIRECTIVES`` of :class:`Directive`), and the directive table joins
them. A module's record replaces a core placeholder of the same name (a
directive once ignored or refused that the module now supports).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from wsgihost.config.draft import Context

SERVER = "server config"
VHOST = "virtual host"
DIRECTORY = "directory"
ANY = frozenset({SERVER, VHOST, DIRECTORY})
TOP = frozenset({SERVER, VHOST})
GLOBAL = frozenset({SERVER})
LEVEL_CONTEXT = {"server": SERVER, "vhost": VHOST, "directory": DIRECTORY}

Kind = Literal["supported", "ignored", "refused"]
Apply = Callable[["Context", list[str]], "Context | None"]


@dataclass(frozen=True)
class Directive:
    """One directive (or ``<Section>``) as wsgihost reads it."""

    name: str
    syntax: str
    contexts: frozenset[str]
    min_args: int
    max_args: int | None
    default: str
    doc: str
    kind: Kind = "supported"
    apply: Apply | None = None
    section: bool = False  # written as <Name ...> ... </Name>
    read_time: bool = False  # acted on by the parser as it reads (Include, Define, <IfModule>)
    module: str = "core"
    why: str = ""  # for ignored and refused ones: the reason given in the message


def record(
    name: str,
    syntax: str,
    contexts: frozenset[str],
    args: tuple[int, int | None],
    default: str,
    doc: str,
    apply: Apply | None,
    module: str = "core",
    **more: object,
) -> Directive:
    return Directive(
        name=name,
        syntax=syntax,
        contexts=contexts,
        min_args=args[0],
        max_args=args[1],
        default=default,
        doc=doc,
        apply=apply,
        module=module,
        **more,  # type: ignore[arg-type]
    )


def not_ours(
    names: str,
    why: str,
    contexts: frozenset[str] = ANY,
    module: str = "core",
    apply: Apply | None = None,
) -> list[Directive]:
    return [
        Directive(
            name=name,
            syntax=f"{name} ...",
            contexts=contexts,
            min_args=1 if apply is not None else 0,  # the checks read the first argument
            max_args=None,
            default="",
            doc=why[0].upper() + why[1:] + ".",
            kind="ignored",
            apply=apply,
            module=module,
            why=why,
        )
        for name in names.split()
    ]


def refused(names: str, why: str, module: str = "core", section: bool = False) -> list[Directive]:
    return [
        Directive(
            name=name,
            syntax=f"<{name} ...>" if section else f"{name} ...",
            contexts=ANY,
            min_args=0,
            max_args=None,
            default="",
            doc=why[0].upper() + why[1:] + ".",
            kind="refused",
            module=module,
            section=section,
            why=why,
        )
        for name in names.split()
    ]


def model_default(record: type, name: str) -> str:
    """A field's default in the model, for the docs (so they cannot drift from it)."""
    for f in fields(record):
        if f.name == name:
            value = f.default
            if isinstance(value, bool):
                return "On" if value else "Off"
            return str(value)
    raise KeyError(name)
