"""Which pipeline modules a configuration uses.

Each entry of :data:`MODULES` is a module under :mod:`wsgihost.mods` with a
function ``activate(server: Server) -> Module | None``: None where the
configuration does not use it, so that an unconfigured site runs no hook.
The order is the order of the hooks within a phase, chosen as Apache's
hook priorities order them (mod_remoteip's post_read_request first,
mod_rewrite's translate_name before mod_alias's, mod_env's fixup before
mod_headers'). Insert a new module where its hooks belong.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from wsgihost.pipeline.hooks import Module
from wsgihost.pipeline.runner import Pipeline

if TYPE_CHECKING:
    from wsgihost.config.model import DirSettings, Section, Server

MODULES: tuple[str, ...] = (
    "wsgihost.mods.ifsections",  # map_to_storage only: the <If> walk
    "wsgihost.mods.remoteip",
    "wsgihost.mods.setenvif",
    "wsgihost.mods.rewrite",
    "wsgihost.revproxy.module",  # mod_proxy: translate_name after mod_rewrite's
    "wsgihost.mods.redirect",
    "wsgihost.mods.env",
    "wsgihost.mods.deflate",  # output_filter only: DEFLATE
    # output_headers: ForceType, then mod_expires (which reads the forced type), then
    # mod_headers, whose output filter comes after mod_expires' in Apache.
    "wsgihost.mods.mime",
    "wsgihost.mods.expires",
    "wsgihost.mods.headers",
)


def all_settings(server: Server) -> Iterator[DirSettings]:
    """Every per-directory scope the configuration wrote: each host's own, its
    sections' (a <Files> within a <Directory> included) and its aliases' options."""
    for host in (server.main, *server.vhosts):
        yield host.settings
        for section in host.sections:
            scope: Section | None = section
            while scope is not None:
                yield scope.settings
                scope = scope.within
        for alias in host.aliases:
            yield alias.settings


def configured(server: Server, field: str) -> bool:
    """Whether DirSettings ``field`` is set in some scope, or may be set by a
    .htaccess file (some scope lets one override something)."""
    for settings in all_settings(server):
        if getattr(settings, field) is not None:
            return True
        if settings.allow_override or settings.allow_override_list:
            return True
    return False


def active_modules(server: Server, names: tuple[str, ...] = MODULES) -> list[Module]:
    """The modules ``server``'s configuration uses, in hook order."""
    found: list[Module] = []
    for name in names:
        module = importlib.import_module(name).activate(server)
        if module is not None:
            if not isinstance(module, Module):
                raise TypeError(f"{name}.activate returned {module!r}, not a Module")
            found.append(module)
    return found


def build(server: Server) -> Pipeline:
    """The pipeline of a worker serving ``server``."""
    return Pipeline(active_modules(server))
