"""Error pages and error logs: ErrorDocument, ServerSignature, ServerAdmin, ErrorLogFormat,
ForceType and WSGIErrorOverride.

Pure. What the server writes when it answers an error itself
(:mod:`wsgihost.errorpages`, :mod:`wsgihost.frontend.errordocs`), how its
error-log lines look (:mod:`wsgihost.errorformat`), and ``ForceType``
(mod_mime), which decides the type of every file a section serves.
"""

from __future__ import annotations

import re
from dataclasses import replace

from wsgihost.config.draft import Context
from wsgihost.config.table import ANY, DIRECTORY, TOP, Directive, record
from wsgihost.config.values import parse_flag
from wsgihost.errorformat import ErrorLogFormatError, parse
from wsgihost.errorpages import STATUS_LINES

# Format codes wsgihost has no value for: their fields are left out of every line.
_EMPTY_CODES = re.compile(r"%[-+0-9]*(?:\{[^}]*\})?([FEkLen])")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def _error_log_format(ctx: Context, args: list[str]) -> None:
    if len(args) == 2:
        kind = args[0].lower()
        if kind not in ("request", "connection"):
            ctx.error("ErrorLogFormat type must be one of request, connection")
            return
        try:
            parse(args[1], main=False)
        except ErrorLogFormatError as e:
            ctx.error(str(e))
            return
        ctx.warn(
            f"once-per-{kind} lines are not written by wsgihost; this format is checked and ignored"
        )
        return
    fmt = args[0]
    try:
        parse(fmt, main=True)
    except ErrorLogFormatError as e:
        ctx.error(str(e))
        return
    empty = sorted({m.group(1) for m in _EMPTY_CODES.finditer(fmt)})
    if empty:
        codes = ", ".join("%" + c for c in empty)
        ctx.warn(
            f"{codes}: wsgihost has no value for these (C source line, APR status, "
            "keep-alive count, log id, environment, notes), so their fields are left out"
        )
    where = ctx.host.where
    kept = tuple(pair for pair in ctx.server.model.error_log_formats if pair[0] != where)
    ctx.server.set(error_log_formats=(*kept, (where, fmt)))


def _error_document(ctx: Context, args: list[str]) -> None:
    code_text, value = args
    code = int(code_text) if code_text.isdigit() else 0
    if code not in STATUS_LINES or code < 400:
        ctx.error(f"Unsupported HTTP response code {code_text} (give an error status, 400-599)")
        return
    # Apache's heuristic (core.c set_error_document): text if it has a space,
    # a local path if it starts with "/", a URL if it has a scheme, else text.
    if value.lower() == "default":
        stored = "default"
    elif " " in value or not (value.startswith("/") or _URL.match(value)):
        stored = '"' + value
    else:
        stored = value
    if code == 401 and stored[0] not in ('"', "/") and stored != "default":
        ctx.warn("cannot use a full URL in a 401 ErrorDocument directive --- ignoring!")
        return
    if "%{" in value:
        ctx.warn("expressions (%{...}) are not evaluated by wsgihost: written as given")
    settings = ctx.dir.settings
    documents = (*settings.error_documents, (code, stored))
    ctx.dir.settings = replace(settings, error_documents=documents)


def _server_signature(ctx: Context, args: list[str]) -> None:
    mode = args[0].lower()
    if mode not in ("on", "off", "email"):
        ctx.error(f"'{args[0]}': ServerSignature takes On, Off or EMail")
        return
    ctx.dir.settings = replace(ctx.dir.settings, server_signature=mode)


def _server_admin(ctx: Context, args: list[str]) -> None:
    # Named on the 500 page and in ServerSignature EMail; the app's SERVER_ADMIN.
    ctx.host.server_admin = args[0]


def _force_type(ctx: Context, args: list[str]) -> None:
    media = args[0].lower()  # mod_mime stores it lower-cased
    if media == "none":
        media = ""
    elif "/" not in media.split(";", 1)[0]:
        ctx.error(f"'{args[0]}' is not a media type such as text/html (or None)")
        return
    ctx.dir.settings = replace(ctx.dir.settings, force_type=media)


def _error_override(ctx: Context, args: list[str]) -> None:
    on = parse_flag(ctx, args[0])
    if on is not None:
        ctx.dir.settings = replace(ctx.dir.settings, error_override=on)


DIRECTIVES: tuple[Directive, ...] = (
    record(
        "ErrorLogFormat",
        "ErrorLogFormat [connection|request] format",
        TOP,
        (1, 2),
        "Apache's: `[%{u}t] [%-m:%l] [pid %P:tid %{g}T] [client\\ %a] %M% ,\\ referer\\ "
        "%{Referer}i`",
        "The format of error-log lines, front end and daemon processes alike, in Apache's "
        "language: `%t %{u}t %{cu}t %{cuz}t %{strftime}t %l %m %M %P %T %{g}T %a %A %v %V "
        "%{Name}i %%`, fields (a space or `% `), `%-x`, level conditions (`%7x`). "
        "`%F %E %k %L %{name}e %{name}n` have no value in wsgihost (their fields are left "
        "out, with a warning). `connection` and `request` formats are checked, then "
        "ignored with a warning: wsgihost writes no once-per-request lines.",
        _error_log_format,
    ),
    record(
        "ErrorDocument",
        "ErrorDocument error-code document",
        ANY,
        (2, 2),
        "Apache's own pages",
        'What the server answers for an error it makes itself: `"text"` (the body), a '
        "full URL (a 302 to it; not for 401), or a local path (served in place of the "
        "page, with the error's status; see docs/differences.md for apps); `default` "
        "restores Apache's page.",
        _error_document,
    ),
    record(
        "ServerSignature",
        "ServerSignature On|Off|EMail",
        ANY,
        (1, 1),
        "Off",
        "The `<address>` line under the server's own error pages, as Apache writes it "
        "(`wsgihost Server at NAME Port N`; EMail links to ServerAdmin).",
        _server_signature,
    ),
    record(
        "ServerAdmin",
        "ServerAdmin email-address|URL",
        TOP,
        (1, 1),
        "[no address given]",
        "Named on the 500 page and by `ServerSignature EMail`; the app's SERVER_ADMIN.",
        _server_admin,
    ),
    record(
        "ForceType",
        "ForceType media-type|None",
        frozenset({DIRECTORY}),
        (1, 1),
        "",
        "Every file served from the section gets this Content-Type; `None` undoes an "
        "outer ForceType.",
        _force_type,
        module="mod_mime",
    ),
    record(
        "WSGIErrorOverride",
        "WSGIErrorOverride On|Off",
        ANY,
        (1, 1),
        "Off",
        "Daemon mode: an app's error response (status 400 and up) is replaced by the "
        "server's own page for that status (or its ErrorDocument), as mod_wsgi does.",
        _error_override,
        module="mod_wsgi",
    ),
)
