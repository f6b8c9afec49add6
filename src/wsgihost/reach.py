"""What a configuration can reach, for the supervisor (pure).

From a :class:`~wsgihost.routing.Router`: the daemon process sets (daemon
group x application group) that requests can reach, the scripts each imports
before it says READY, and the scripts whose changes roll them. Everything is
known from the configuration alone, so no request can make a new set: a
``WSGIScriptAlias`` is one set per application group; the files a handler
mapping (``SetHandler``/``AddHandler``) reaches are found by requests, so
under ``%{RESOURCE}`` the section that maps them is the set; with a
``WSGIDispatchScript`` any daemon group may get any of its host's requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from wsgihost.config.mod_handlers import HANDLER_CALLABLE, WSGI_HANDLERS
from wsgihost.config.model import DirSettings
from wsgihost.routing import application_group_key

if TYPE_CHECKING:
    from wsgihost.routing import Router, _CompiledHost, _CompiledSection

Script = tuple[str, str]  # (script, callable)


def scripts_by_group(router: Router) -> dict[str, set[Script]]:
    """The (script, callable) pairs each daemon group serves, to import before READY.

    Only plain ``WSGIScriptAlias`` targets and ``WSGIHandlerScript``s are known in
    advance; a ``...Match`` or handler-mapped target is loaded on its first request.
    """
    found: dict[str, set[Script]] = {}
    for host in (router.main, *router.vhosts):
        for group, _, script in _reached(host):
            if group and script is not None:
                found.setdefault(group, set()).add(script)
    for path, group, _ in router.server.import_scripts:
        if group:
            found.setdefault(group, set()).add((path, "application"))
    return found


def process_sets(router: Router) -> dict[tuple[str, str], set[Script]]:
    """Each daemon process set, (group, application group), with the (script,
    callable) pairs it imports before READY.

    One set per application group a request can reach (mod_wsgi makes an
    interpreter for each; we make processes).
    """
    found: dict[tuple[str, str], set[Script]] = {}
    groups = [g.name for g in router.server.groups]
    for host in (router.main, *router.vhosts):
        reached = list(_reached(host))
        if host.dispatches:
            # A dispatch script may send any request of the host to any group, and
            # name %{GLOBAL} (its commonest choice) for it.
            reached.append(("", "", None))
        for group, app, script in reached:
            for name in groups if host.dispatches else [group]:
                if name:
                    scripts = found.setdefault((name, app), set())
                    if script is not None and name == group:
                        scripts.add(script)
    main = router.main
    for path, group, app in router.server.import_scripts:
        if group:
            # WSGIImportScript's application-group= ("" is %{GLOBAL}); no request,
            # so %{SERVER} and %{RESOURCE} are the main server's, SCRIPT_NAME empty.
            key = (group, application_group_key(app, main.server_name, main.port, ""))
            found.setdefault(key, set()).add((path, "application"))
    return found


def reloading_scripts(router: Router) -> dict[str, set[str]]:
    """For each script with ``WSGIScriptReloading On``, the daemon groups that run it."""
    found: dict[str, set[str]] = {}
    for host in (router.main, *router.vhosts):
        for alias in host.script_aliases:
            if alias.regex:
                continue
            settings = host.settings_for(alias.path, alias.url, alias.settings)
            if settings.process_group and settings.script_reloading is not False:
                found.setdefault(alias.path, set()).add(settings.process_group)
        for _, settings, names in handler_origins(host):
            for name, script, named, _, _ in settings.handler_scripts:
                group = named or settings.process_group
                if name in names and group and settings.script_reloading is not False:
                    found.setdefault(script, set()).add(group)
    return found


def _reached(host: _CompiledHost) -> Iterator[tuple[str, str, Script | None]]:
    """(process group, application group, the script to import or None) of each
    kind of request the host's configuration can make."""
    for alias in host.script_aliases:
        for settings in host.alias_settings(alias):
            script = None
            if not alias.regex:
                script = (alias.path, settings.callable_object or "application")
            group = settings.process_group or ""
            yield group, host.application_group(alias, settings), script
    # Handler-mapped scripts: one set per section under %{RESOURCE}, since the
    # scripts are found by requests; a WSGIHandlerScript's script is known.
    for label, settings, names in handler_origins(host):
        for name in sorted(names):
            if name in WSGI_HANDLERS:
                own, script = settings, None
            else:
                entries = [e for e in settings.handler_scripts if e[0] == name]
                if not entries:
                    continue
                _, path, named, app_group, _ = entries[-1]
                over = DirSettings(process_group=named, application_group=app_group)
                own, script = settings.merge(over), (path, HANDLER_CALLABLE)
            app = application_group_key(own.application_group, host.server_name, host.port, label)
            yield own.process_group or "", app, script


def handler_origins(host: _CompiledHost) -> list[tuple[str, DirSettings, set[str]]]:
    """Each section that maps files to handlers: its label, its settings (as far as
    the configuration tells them apart from the files it will reach) and the
    handler names it maps."""
    found: list[tuple[str, DirSettings, set[str]]] = []
    for compiled in [None, *host.directories, *host.files, *host.locations]:
        own = host.base if compiled is None else compiled.settings
        names = {n for _, n, _ in own.add_handlers if n}
        if own.handler and own.handler[0]:
            names.add(own.handler[0])
        if not names:
            continue
        label = (own.handler or own.add_handlers[-1])[-1] if compiled else "*"
        found.append((label, _section_settings(host, compiled), names))
    return found


def _section_settings(host: _CompiledHost, section: _CompiledSection | None) -> DirSettings:
    """A mapping section's settings, with what encloses it where that is known."""
    if section is None:
        return host.base
    plain = section.regex is None and not section.glob
    if plain and section.kind == "directory":
        return host.settings_for(section.pattern.rstrip("/") + "/", "\0", None)
    if plain and section.kind == "location":
        return host.settings_for("\0/", section.pattern, None)
    within = section.within
    if within is not None and within.regex is None and not within.glob:
        # <Files> inside a <Directory>: what that directory sets (WSGIProcessGroup, ...)
        return _section_settings(host, within).merge(section.settings)
    return host.base.merge(section.settings)
