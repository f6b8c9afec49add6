"""Handlers: SetHandler, AddHandler, RemoveHandler, WSGIHandlerScript, WSGIDispatchScript.

Pure. mod_wsgi's second way of mapping URLs to apps, besides
``WSGIScriptAlias``: a file that a handler mapping (``SetHandler
wsgi-script`` in a section, ``AddHandler wsgi-script .wsgi``) reaches is an
app of its own, where ``Options ExecCGI`` allows it. A ``WSGIHandlerScript``
names a handler whose app (``handle_request``) serves the files mapped to
it. A ``WSGIDispatchScript`` chooses, per request, the process group, the
application group and the callable. :mod:`wsgihost.routing` resolves the
mappings; :mod:`wsgihost.frontend.dispatcher` runs dispatch scripts.

Each mapping records where it was written (the section's label): the daemon
process set that runs the scripts it reaches under the default application
group is that section's, since the scripts themselves are not known when
the configuration is read.
"""

from __future__ import annotations

import os
from dataclasses import replace

from wsgihost.config.draft import Context
from wsgihost.config.table import ANY, Directive, record
from wsgihost.config.values import parse_flag, parse_pairs, suggest

# The handler names under which mod_wsgi runs a file as a WSGI script.
WSGI_HANDLERS = ("wsgi-script", "application/x-httpd-wsgi")
# The callable a WSGIHandlerScript must define, as mod_wsgi calls it.
HANDLER_CALLABLE = "handle_request"

CGI_WHY = (
    "the cgi-script handler: CGI is not provided by wsgihost (these scripts would be "
    "served as text): run "
    "Python apps with wsgi-script, or CGI programs behind another server"
)

# Apache handlers of modules wsgihost does not provide: what would not happen.
_NOT_PROVIDED = {
    "server-status": "mod_status is not provided: the status page will not exist, and "
    "its URL is served as it would be without the handler",
    "server-info": "mod_info is not provided: the information page will not exist, and "
    "its URL is served as it would be without the handler",
    "type-map": "mod_negotiation is not provided: type maps are served as files, not negotiated",
    "send-as-is": "mod_asis is not provided: .asis files are served as files, with "
    "headers of wsgihost's own",
    "imap-file": "image maps are not provided: the map files are served as files",
    "balancer-manager": "mod_proxy_balancer is not provided: the page will not exist",
    "ldap-status": "mod_ldap is not provided: the page will not exist",
}


def section_label(ctx: Context) -> str:
    """Where a mapping was written, as a process set names it: ``<Directory /srv/x>``,
    or ``*`` for the host itself (every script it maps)."""
    section = ctx.section
    if section is None:
        return "*"
    kind = {"directory": "Directory", "location": "Location", "files": "Files", "if": "If"}[
        section.kind
    ]
    return f"<{kind}{'Match' if section.regex else ''} {section.pattern}>"


def _handler_name(ctx: Context, name: str) -> str | None:
    """The handler a mapping names, after refusing or warning about what it cannot do."""
    lowered = name.lower()
    if lowered == "cgi-script":
        ctx.error(CGI_WHY)
        return None
    if lowered in _NOT_PROVIDED:
        ctx.warn(_NOT_PROVIDED[lowered])
    elif lowered in WSGI_HANDLERS or lowered == "default-handler":
        return lowered
    # Any other name may be a WSGIHandlerScript's (defined anywhere); one that is
    # not is served as a file, as when no module takes a handler. Apache stores
    # handler names lower-case (so a WSGIHandlerScript name with capitals never
    # matches, as under mod_wsgi).
    return lowered


def _set_handler(ctx: Context, args: list[str]) -> None:
    if args[0].lower() == "none":
        ctx.dir.settings = replace(ctx.dir.settings, handler=("", ""))
        return
    name = _handler_name(ctx, args[0])
    if name is not None:
        ctx.dir.settings = replace(ctx.dir.settings, handler=(name, section_label(ctx)))


def _extensions(args: list[str]) -> list[str]:
    # mod_mime stores extensions lower-case, with or without the leading dot.
    return ["." + ext.lstrip(".").lower() for ext in args]


def _add_handler(ctx: Context, args: list[str]) -> None:
    name = _handler_name(ctx, args[0])
    if name is None:
        return
    label = section_label(ctx)
    added = tuple((ext, name, label) for ext in _extensions(args[1:]))
    ctx.dir.settings = replace(ctx.dir.settings, add_handlers=ctx.dir.settings.add_handlers + added)


def _remove_handler(ctx: Context, args: list[str]) -> None:
    removed = tuple((ext, "", "") for ext in _extensions(args))
    ctx.dir.settings = replace(
        ctx.dir.settings, add_handlers=ctx.dir.settings.add_handlers + removed
    )


def _group_options(
    ctx: Context, words: list[str], allowed: tuple[str, ...]
) -> dict[str, str | bool] | None:
    """``process-group=``, ``application-group=``, ``pass-authorization=``, as mod_wsgi
    reads them for handler and dispatch scripts."""
    from wsgihost.config import directives  # the shared mod_wsgi value parsers

    pairs = parse_pairs(ctx, words)
    if pairs is None:
        return None
    found: dict[str, str | bool] = {}
    for name, value in pairs:
        parsed: str | bool | None
        if name not in allowed:
            ctx.error(f"unknown option '{name}'{suggest(name, allowed)}")
            return None
        if name == "process-group":
            parsed = directives._process_group(ctx, value)
            if parsed:
                directives._refer(ctx, parsed, "process-group=")
        elif name == "application-group":
            parsed = directives._application_group(ctx, value)
        else:
            parsed = parse_flag(ctx, value)
        if parsed is None:
            return None
        found[name] = parsed
    return found


def _handler_script(ctx: Context, args: list[str]) -> None:
    name, path = args[0], ctx.path(args[1])
    if name.lower() in WSGI_HANDLERS or name.lower() == "cgi-script":
        ctx.error(f"'{name}' is a handler of its own; give the handler script another name")
        return
    options = _group_options(
        ctx, args[2:], ("process-group", "application-group", "pass-authorization")
    )
    if options is None:
        return
    group = options.get("process-group")
    app = options.get("application-group")
    auth = options.get("pass-authorization")
    entry = (
        name,
        path,
        group if isinstance(group, str) else None,
        app if isinstance(app, str) else None,
        auth if isinstance(auth, bool) else None,
    )
    settings = ctx.dir.settings
    ctx.dir.settings = replace(settings, handler_scripts=(*settings.handler_scripts, entry))
    _check_exists(ctx, path)


def _check_exists(ctx: Context, path: str) -> None:
    """A missing script is a warning, as for WSGIScriptAlias: it may come later."""
    if not os.path.isfile(path):
        ctx.warn(f"script '{path}' does not exist (the requests that need it fail until it does)")


def _dispatch_script(ctx: Context, args: list[str]) -> None:
    options = _group_options(ctx, args[1:], ("application-group",))
    if options is None:
        return
    app = options.get("application-group")
    script = (ctx.path(args[0]), app if isinstance(app, str) else None)
    ctx.dir.settings = replace(ctx.dir.settings, dispatch_script=script)
    _check_exists(ctx, script[0])


DIRECTIVES: tuple[Directive, ...] = (
    record(
        "SetHandler",
        "SetHandler handler-name|None",
        ANY,
        (1, 1),
        "none",
        "Every file the section reaches is served by the handler. `wsgi-script` runs each "
        "file as a WSGI app of its own (where `Options ExecCGI` is on: without it, 403 and "
        "mod_wsgi's 'Options ExecCGI is off in this directory' in the error log); a "
        "WSGIHandlerScript's name runs that script's `handle_request` for them. The "
        "request's URL up to the file is SCRIPT_NAME, the rest PATH_INFO. `None` clears "
        "what an enclosing section set. `cgi-script` is refused (CGI is not provided); "
        "`server-status`, `server-info`, `type-map`, `send-as-is` and `imap-file` are "
        "warnings: their modules are not provided, so the URL is served as without them.",
        _set_handler,
        module="core",
    ),
    record(
        "AddHandler",
        "AddHandler handler-name extension [extension] ...",
        ANY,
        (2, None),
        "",
        "Files with one of the extensions, anywhere among their name's extensions "
        "(`app.wsgi`, `app.wsgi.bak`), as mod_mime finds them, are served by the handler: "
        "see SetHandler, which wins over it.",
        _add_handler,
        module="mod_mime",
    ),
    record(
        "RemoveHandler",
        "RemoveHandler extension [extension] ...",
        ANY,
        (1, None),
        "",
        "Undoes AddHandler for the extensions, here and below.",
        _remove_handler,
        module="mod_mime",
    ),
    record(
        "WSGIHandlerScript",
        "WSGIHandlerScript name script [process-group=G] [application-group=A] "
        "[pass-authorization=On|Off]",
        ANY,
        (2, None),
        "",
        "Defines handler `name` for SetHandler and AddHandler: the files mapped to it are "
        "served by `handle_request(environ, start_response)` of `script`, which finds the "
        "file in `SCRIPT_FILENAME`. The options choose where it runs, as on "
        "WSGIScriptAlias.",
        _handler_script,
        module="mod_wsgi",
    ),
    record(
        "WSGIDispatchScript",
        "WSGIDispatchScript script [application-group=A]",
        ANY,
        (1, None),
        "",
        "A script whose optional functions `process_group(environ)`, "
        "`application_group(environ)` and `callable_object(environ)` override "
        "WSGIProcessGroup, WSGIApplicationGroup and WSGICallableObject for each request to "
        "a WSGI app here (None keeps the configured value). As mod_wsgi runs it in the web "
        "server's own processes, wsgihost runs it in the front-end worker, as its user, on "
        "the worker's embedded-app threads, and loads it again when it changes. A process "
        "group it names that no WSGIDaemonProcess defines is a 500 with mod_wsgi's 'No WSGI "
        "daemon process called ... has been configured' in the error log; an application "
        "group that is not one the configuration can reach (see docs/differences.md) is a "
        "500 too.",
        _dispatch_script,
        module="mod_wsgi",
    ),
)
