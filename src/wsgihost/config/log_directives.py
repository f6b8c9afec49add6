"""The logging directives: ErrorLog and LogLevel (core) and mod_log_config's
LogFormat, CustomLog and TransferLog.

Pure: each checks its arguments (formats compile, piped logs and syslog are
refused) and writes them into the drafts; :mod:`wsgihost.logs` writes the
lines. ErrorLogFormat, ErrorDocument and the other error-page directives are
:mod:`wsgihost.config.mod_log`'s.
"""

from __future__ import annotations

from wsgihost.config.draft import AccessLogDraft, Context
from wsgihost.config.model import Logging
from wsgihost.config.table import TOP, Directive, model_default, record
from wsgihost.config.values import suggest
from wsgihost.logs import LEVELS, LogFormatError, compile_format


def _log_target(ctx: Context, target: str) -> str | None:
    if target.startswith("|"):
        ctx.error(
            "piped logs are not supported: log to a file (wsgihost reopens its logs on "
            "SIGUSR1, for logrotate)"
        )
        return None
    if target.lower().startswith("syslog"):
        ctx.error("logging to syslog is not supported: log to a file")
        return None
    return ctx.path(target)


def _check_format(ctx: Context, fmt: str) -> bool:
    try:
        compile_format(fmt)
    except LogFormatError as e:
        ctx.error(str(e))
        return False
    return True


def _error_log(ctx: Context, args: list[str]) -> None:
    path = _log_target(ctx, args[0])
    if path is not None:
        ctx.host.error_log = path


def _custom_log(ctx: Context, args: list[str]) -> None:
    path = _log_target(ctx, args[0])
    fmt = args[1]
    literal = "%" in fmt
    if literal and not _check_format(ctx, fmt):
        return
    if len(args) == 3:
        if not args[2].startswith(("env=", "expr=")):
            ctx.error(f"expected env=... or expr=..., not '{args[2]}'")
            return
        ctx.warn("conditional logging is not provided; every request is logged")
    if path is not None:
        ctx.host.access_logs.append(
            AccessLogDraft(path, fmt if literal else None, None if literal else fmt, ctx.where)
        )


def _transfer_log(ctx: Context, args: list[str]) -> None:
    path = _log_target(ctx, args[0])
    if path is not None:
        ctx.host.access_logs.append(AccessLogDraft(path, None, None, ctx.where))


def _log_format(ctx: Context, args: list[str]) -> None:
    fmt = args[0]
    if not _check_format(ctx, fmt):
        return
    if len(args) == 2:
        ctx.host.log_formats[args[1]] = fmt
    else:
        ctx.host.default_format = fmt


_TRACE = tuple(f"trace{n}" for n in range(1, 9))


def _level(ctx: Context, value: str) -> str | None:
    lowered = value.lower()
    if lowered in LEVELS:
        return lowered
    if lowered in _TRACE:
        return "debug"  # wsgihost's finest level
    ctx.error(f"unknown level '{value}'{suggest(value, LEVELS + _TRACE)}")
    return None


def _log_level(ctx: Context, args: list[str]) -> None:
    for word in args:
        _, colon, level = word.rpartition(":")
        if colon:
            if _level(ctx, level) is not None:
                ctx.warn(f"per-module levels ('{word}') are not provided; ignored")
            continue
        value = _level(ctx, word)
        if value is not None:
            ctx.host.log_level = value


DIRECTIVES: tuple[Directive, ...] = (
    record(
        "ErrorLog",
        "ErrorLog file-path",
        TOP,
        (1, 1),
        "standard error",
        "The error log file. Piped logs (`|program`) and syslog are refused: log to a file "
        "and rotate it with logrotate (wsgihost reopens its logs on SIGUSR1).",
        _error_log,
    ),
    record(
        "LogLevel",
        "LogLevel level",
        TOP,
        (1, None),
        model_default(Logging, "level"),
        "The least severe error log messages written: emerg, alert, crit, error, warn, "
        "notice, info, debug; trace1 to trace8 mean debug. Per-module levels "
        "(`ssl:warn`) are a warning and ignored.",
        _log_level,
    ),
    record(
        "LogFormat",
        "LogFormat format [nickname]",
        TOP,
        (1, 2),
        "`combined` and `common` are predefined",
        "Names an access log format for CustomLog (or, without a nickname, sets the one "
        "TransferLog uses). The `%` codes of Apache's mod_log_config: `%h %l %u %t %r %s "
        "%>s %b %B %D %T %m %U %q %H %v %V %p %P %a %%`, `%{Name}i`, `%{Name}o`, "
        "`%{format}t`, `%{unit}T`, and mod_logio's `%I %O %S` (bytes received and sent, "
        "heads included). An unknown code is an error.",
        _log_format,
        module="mod_log_config",
    ),
    record(
        "CustomLog",
        "CustomLog file-path format|nickname [env=...]",
        TOP,
        (2, 3),
        "none: standard output",
        "An access log, with a format or a LogFormat nickname (`combined` and `common` "
        "are predefined). An unknown nickname is an error. Conditions (`env=`, `expr=`) "
        "are not provided: a warning, and every request is logged.",
        _custom_log,
        module="mod_log_config",
    ),
    record(
        "TransferLog",
        "TransferLog file-path",
        TOP,
        (1, 1),
        "",
        "An access log in the format of the last LogFormat without a nickname, else common.",
        _transfer_log,
        module="mod_log_config",
    ),
)
