"""The options of ``WSGIDaemonProcess``, declared once, and the directive that reads them.

Pure. Each :class:`DaemonOption` names a ``name=value`` option, the
:class:`~wsgihost.config.model.DaemonGroup` field it fills, its parser and its
documentation; ``docs/directives.md`` lists them from :data:`DAEMON_OPTIONS`.
Split out of :mod:`wsgihost.config.directives`, which registers
:func:`daemon_process` for the directive itself.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, fields

from wsgihost import privileges
from wsgihost.config.draft import Context
from wsgihost.config.model import DaemonGroup
from wsgihost.config.values import parse_pairs, suggest


@dataclass(frozen=True)
class DaemonOption:
    """One ``name=value`` option of ``WSGIDaemonProcess``; ``parse`` raises ValueError."""

    name: str
    value: str
    doc: str
    parse: Callable[[Context, str], object]
    default: str = ""  # shown in the docs when the model's own default would mislead

    @property
    def field(self) -> str:
        return self.name.replace("-", "_")


def _opt_int(minimum: int = 0, maximum: int | None = None, floor: int = 0) -> Callable[..., int]:
    """A whole number in range; ``floor`` > 0 means "0, or at least floor"."""

    def parse(ctx: Context, value: str) -> int:
        try:
            number = int(value, 10)
        except ValueError:
            raise ValueError("expected a whole number") from None
        if number < minimum or (maximum is not None and number > maximum):
            top = f" to {maximum}" if maximum is not None else " or more"
            raise ValueError(f"expected {minimum}{top}")
        if floor and number and number < floor:
            raise ValueError(f"expected 0 (the default) or at least {floor}")
        return number

    return parse


def _opt_seconds(ctx: Context, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError("expected a number of seconds") from None
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError("expected a number of seconds, 0 or more")
    return seconds


def _opt_text(ctx: Context, value: str) -> str:
    return value


def _opt_user(ctx: Context, value: str) -> str:
    # mod_wsgi: "WSGI process blocked from running as root.", for any name of uid 0.
    if value in ("root", "#0") or privileges.is_root(value):
        raise ValueError("daemon processes may not run as root (as in mod_wsgi)")
    return value


def _opt_absolute(ctx: Context, value: str) -> str:
    if not value.startswith("/"):
        raise ValueError("expected an absolute path (as mod_wsgi requires)")
    return os.path.normpath(value)


def _opt_path(ctx: Context, value: str) -> str:
    return ctx.path(value).rstrip("/") or "/"


def _opt_python_home(ctx: Context, value: str) -> str:
    path = _opt_path(ctx, value)
    if not os.path.isdir(path):
        ctx.warn(f"python-home '{path}' does not exist; the group's processes cannot start")
    return path


def _opt_paths(ctx: Context, value: str) -> tuple[str, ...]:
    return tuple(_opt_path(ctx, p) for p in value.split(":") if p)


def _opt_names(ctx: Context, value: str) -> tuple[str, ...]:
    names = tuple(n for n in value.split(",") if n)
    if not names:
        raise ValueError("expected group names separated by commas")
    return names


def _opt_umask(ctx: Context, value: str) -> int:
    try:
        return int(value, 8)
    except ValueError:
        raise ValueError("expected an octal number such as 0022") from None


def _opt_flag(ctx: Context, value: str) -> bool:
    if value.lower() not in ("on", "off"):
        raise ValueError("expected On or Off")
    return value.lower() == "on"


def _opt_refused(ctx: Context, value: str) -> str:
    raise ValueError(
        "chroot is not provided, and without it the app would see the whole file system"
    )


def _opt_metrics(ctx: Context, value: str) -> bool:
    flag = _opt_flag(ctx, value)
    if flag:
        ctx.warn("server-metrics=On is not applied: there is no mod_wsgi module with metrics")
    return flag


def _opt_positive_seconds(ctx: Context, value: str) -> float:
    seconds = _opt_seconds(ctx, value)
    if seconds <= 0:
        raise ValueError("expected a positive number of seconds (as mod_wsgi requires)")
    return seconds


def _opt_unapplied(
    name: str, parse: Callable[[Context, str], object], why: str
) -> Callable[[Context, str], object]:
    """An option mod_wsgi has and wsgihost cannot honour: checked, then a warning."""

    def check(ctx: Context, value: str) -> object:
        parsed = parse(ctx, value)
        ctx.warn(f"{name}= is not applied: {why}")
        return parsed

    return check


_SIZE = re.compile(r"(\d+)\s*([kmg]?)b?", re.IGNORECASE)


def _opt_size(ctx: Context, value: str) -> int:
    m = _SIZE.fullmatch(value)
    if m is None:
        raise ValueError("expected a size in bytes, or with K, M or G")
    return int(m.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[m.group(2).lower()]


_SECONDS = "sss"
DAEMON_OPTIONS: tuple[DaemonOption, ...] = (
    DaemonOption(
        "processes",
        "num",
        "How many daemon processes the group runs. Giving it at all (even "
        "`processes=1`) makes `wsgi.multiprocess` true, as in mod_wsgi.",
        _opt_int(1),
    ),
    DaemonOption("threads", "num", "Request threads in each daemon process.", _opt_int(1)),
    DaemonOption(
        "display-name",
        "value",
        "The process name shown by `ps`; `%{GROUP}` means `(wsgi:NAME)`.",
        _opt_text,
    ),
    DaemonOption(
        "home",
        "directory",
        "The working directory of the daemon processes (an absolute path), also put first "
        "on their `sys.path`, as mod_wsgi does. Without it they start in the home directory "
        "of the group's user when that user is not `User`'s, else in the server's working "
        "directory.",
        _opt_absolute,
    ),
    DaemonOption(
        "user",
        "name | #uid",
        "The user the processes run as when wsgihost is started as root (`User` if not "
        "given); never root.",
        _opt_user,
    ),
    DaemonOption(
        "group",
        "name | #gid",
        "The primary group the processes run as (`Group` if not given, even with `user=`).",
        _opt_text,
    ),
    DaemonOption(
        "supplementary-groups",
        "group1,group2",
        "More groups for the processes' user, separated by commas. Accepted with a "
        "warning: the processes get their user's own groups (as `initgroups` gives them), "
        "not these.",
        _opt_unapplied(
            "supplementary-groups",
            _opt_names,
            "the processes get their user's own groups only; add the user to these groups",
        ),
    ),
    DaemonOption("umask", "0nnn", "The processes' umask, in octal.", _opt_umask),
    DaemonOption("lang", "locale", "`LANG` for the processes, such as `en_US.UTF-8`.", _opt_text),
    DaemonOption("locale", "locale", "`LC_ALL` for the processes.", _opt_text),
    DaemonOption(
        "chroot",
        "directory",
        "Run the processes inside this directory with chroot (deprecated in mod_wsgi). "
        "Not provided, and an error: without it the app would see the whole file system.",
        _opt_refused,
    ),
    DaemonOption(
        "script-user",
        "name | #uid",
        "The owner a WSGI script must have to run in this group (403 otherwise).",
        _opt_text,
    ),
    DaemonOption(
        "script-group",
        "name | #gid",
        "The group a WSGI script must have to run in this group; not with `script-user`.",
        _opt_text,
    ),
    DaemonOption(
        "python-home",
        "directory",
        "The Python virtual environment the processes run in (its `sys.prefix`). "
        "A missing directory is a warning.",
        _opt_python_home,
    ),
    DaemonOption(
        "python-path",
        "directory:directory",
        "Directories added to `sys.path` (with `site.addsitedir`), separated by colons.",
        _opt_paths,
    ),
    DaemonOption(
        "python-eggs", "directory", "The Python egg cache (`PYTHON_EGG_CACHE`).", _opt_path
    ),
    DaemonOption(
        "restart-interval",
        _SECONDS,
        "Replace each process once it has run this many seconds (0: never). As for every "
        "replacement below, its successor starts first and the old process retires once the "
        "new one is ready, one process of a group at a time.",
        _opt_seconds,
    ),
    DaemonOption(
        "maximum-requests",
        "nnn",
        "Replace a process after it has served this many requests (0: never).",
        _opt_int(0),
    ),
    DaemonOption(
        "inactivity-timeout",
        _SECONDS,
        "Replace a process that has had no request for this long, so the memory its app "
        "collected goes back (0: never). As in mod_wsgi, except that a process that has "
        "served nothing since it started is left alone, and a request that hangs is "
        "`request-timeout`'s business.",
        _opt_seconds,
    ),
    DaemonOption(
        "request-timeout",
        _SECONDS,
        "A request that runs longer than this gets a 504 (or, if its response had begun, "
        "a cut connection), its thread's Python stack goes to the error log, and the process "
        "is replaced: Python cannot stop the thread (0: never). On by default, with "
        "mod_wsgi-express's value; mod_wsgi's own default is off, and it averages over the "
        "threads of a process where wsgihost times each request. Raise it for long "
        "downloads, uploads or streamed responses.",
        _opt_seconds,
    ),
    DaemonOption(
        "deadlock-timeout",
        _SECONDS,
        "Restart a process whose Python interpreter (its GIL) has been stuck this long. "
        "Accepted with a warning: wsgihost does not watch the GIL; `request-timeout` "
        "replaces a process whose requests hang.",
        _opt_unapplied(
            "deadlock-timeout",
            _opt_seconds,
            "a stuck interpreter is not detected as such; request-timeout replaces a process "
            "whose requests hang",
        ),
    ),
    DaemonOption(
        "startup-timeout",
        _SECONDS,
        "How long a new process may take to load the WSGI scripts and say it is ready before "
        "it is killed (which stops a roll).",
        _opt_seconds,
    ),
    DaemonOption(
        "graceful-timeout",
        _SECONDS,
        "How long a retiring process may take to finish the requests it accepted; then "
        "`shutdown-timeout` more before it is killed.",
        _opt_seconds,
    ),
    DaemonOption(
        "eviction-timeout",
        _SECONDS,
        "Like `graceful-timeout`, for a restart that was asked for (0: the graceful-timeout). "
        "Accepted with a warning: every replacement waits `graceful-timeout`.",
        _opt_unapplied(
            "eviction-timeout",
            _opt_seconds,
            "a restart that was asked for waits graceful-timeout, as every other replacement",
        ),
    ),
    DaemonOption(
        "shutdown-timeout",
        _SECONDS,
        "How long a stopping process may take before it is killed. A process replaced for "
        "`request-timeout` exits this long after only requests past their time are left.",
        _opt_seconds,
    ),
    DaemonOption(
        "connect-timeout",
        _SECONDS,
        "How long the front end keeps trying to connect to the group's socket.",
        _opt_seconds,
    ),
    DaemonOption(
        "socket-timeout",
        _SECONDS,
        "The most a read or write between front end and daemon may wait.",
        _opt_seconds,
        default="the Timeout directive's value",
    ),
    DaemonOption(
        "queue-timeout",
        _SECONDS,
        "A request that waited longer than this for a daemon thread gets 503 before the app "
        "sees it (0: no limit but `Timeout`). On by default, with mod_wsgi-express's value "
        "(mod_wsgi's is off).",
        _opt_seconds,
        default="45, or Timeout if that is shorter",
    ),
    DaemonOption("listen-backlog", "nnn", "The depth of the group's socket queue.", _opt_int(0)),
    DaemonOption(
        "socket-user",
        "name | #uid",
        "The owner of the group's UNIX socket. Accepted with a warning: the socket "
        "belongs to the server, and a daemon process takes requests from the front-end "
        "workers' user only (it checks its peer's credentials).",
        _opt_unapplied(
            "socket-user",
            _opt_text,
            "the socket's owner is the server's; daemon processes take requests from the "
            "front-end workers' user only",
        ),
    ),
    DaemonOption(
        "cpu-time-limit",
        _SECONDS,
        "A process that has used this much CPU time retires (the kernel's SIGXCPU) and is "
        "replaced; one that computes on for `shutdown-timeout` CPU seconds more is killed "
        "(RLIMIT_CPU; 0: no limit).",
        _opt_int(0),
    ),
    DaemonOption(
        "cpu-priority",
        "num",
        "The processes' scheduling priority (nice value), -20 to 20; below 0 only when "
        "wsgihost is started as root (else a warning in the error log).",
        _opt_int(-20, 20),
    ),
    DaemonOption(
        "memory-limit",
        "num",
        "A hard limit on the memory a process may allocate, in bytes (RLIMIT_DATA, as in "
        "mod_wsgi; 0: no limit): past it allocations fail with MemoryError, so requests "
        "fail. To replace a growing process gracefully instead, use `rss-limit`.",
        _opt_int(0),
    ),
    DaemonOption(
        "virtual-memory-limit",
        "num",
        "A hard limit on a process's address space, in bytes (RLIMIT_AS, as in mod_wsgi; "
        "0: no limit). Each thread's stack counts in full.",
        _opt_int(0),
    ),
    DaemonOption(
        "stack-size",
        "nnn",
        "The stack size of each request thread, in bytes (0: the system's).",
        _opt_int(1),
    ),
    DaemonOption(
        "receive-buffer-size",
        "nnn",
        "The socket buffer for data to the daemon: 0 (the system's) or at least 512. "
        "Accepted with a warning: the daemon sockets keep the system's buffers.",
        _opt_unapplied(
            "receive-buffer-size", _opt_int(0, floor=512), "the daemon sockets keep the system's"
        ),
    ),
    DaemonOption(
        "send-buffer-size",
        "nnn",
        "The socket buffer for data from the daemon: 0 (the system's) or at least 512. "
        "Accepted with a warning: the daemon sockets keep the system's buffers.",
        _opt_unapplied(
            "send-buffer-size", _opt_int(0, floor=512), "the daemon sockets keep the system's"
        ),
    ),
    DaemonOption(
        "header-buffer-size",
        "nnn",
        "The largest response header the app may send: 0 (32768) or at least 8192. "
        "Accepted with a warning: the front end takes response headers of any size the "
        "daemon protocol carries.",
        _opt_unapplied(
            "header-buffer-size",
            _opt_int(0, floor=8192),
            "response headers are not limited by it",
        ),
    ),
    DaemonOption(
        "response-buffer-size",
        "nnn",
        "How much of a response the front end holds for a slow client before it stops "
        "reading from the daemon, which then waits: 0 (1 MiB; mod_wsgi's default is 65536) "
        "or at least 65536.",
        _opt_int(0, floor=65536),
    ),
    DaemonOption(
        "response-socket-timeout",
        _SECONDS,
        "How long a write of the response to the client may wait (0: the socket-timeout).",
        _opt_seconds,
    ),
    DaemonOption(
        "server-metrics",
        "On | Off",
        "Whether `mod_wsgi.process_metrics()` and `server_metrics()` work in the group. "
        "wsgihost provides no `mod_wsgi` module: On is a warning.",
        _opt_metrics,
    ),
    DaemonOption(
        "switch-interval",
        _SECONDS,
        "mod_wsgi 6's: how often Python switches between the threads of a process "
        "(`sys.setswitchinterval`), a positive number of seconds; WSGISwitchInterval's "
        "when not given.",
        _opt_positive_seconds,
        default="Python's own (0.005)",
    ),
    DaemonOption(
        "interrupt-timeout",
        _SECONDS,
        "mod_wsgi 6's: how long it waits, after `request-timeout`, for a request that it "
        "interrupted (by raising an exception in its thread) before restarting the "
        "process. Accepted with a warning: wsgihost does not interrupt a request's thread; "
        "the process is replaced as `request-timeout` says.",
        _opt_unapplied(
            "interrupt-timeout",
            _opt_seconds,
            "requests past request-timeout are not interrupted in their thread; the process "
            "is replaced instead",
        ),
    ),
    DaemonOption(
        "response-flush-delay",
        "ms",
        "mod_wsgi 6's: how long a daemon holds small pieces of a response to send them "
        "together. Accepted with a warning: wsgihost sends each piece the app yields at "
        "once (so a streamed response is never delayed).",
        _opt_unapplied(
            "response-flush-delay",
            _opt_int(0),
            "each piece of a response is sent as the app yields it, without delay",
        ),
    ),
    DaemonOption(
        "newrelic-config-file",
        "file-path",
        "mod_wsgi's built-in New Relic agent (mod_wsgi 4 and 5; removed in 6): accepted with a "
        "warning; start the agent in the WSGI script instead.",
        _opt_unapplied(
            "newrelic-config-file", _opt_text, "the built-in New Relic agent is not provided"
        ),
    ),
    DaemonOption(
        "newrelic-environment",
        "name",
        "See `newrelic-config-file`.",
        _opt_unapplied(
            "newrelic-environment", _opt_text, "the built-in New Relic agent is not provided"
        ),
    ),
    DaemonOption(
        "rss-limit",
        "SIZE",
        "wsgihost's own: a process whose resident memory (RSS) grows past this, such as "
        "`512M` (K, M or G; 0: no limit), is replaced gracefully; checked every second. "
        "Unlike `memory-limit`, no allocation ever fails. A process already past it before "
        "serving a request is left alone, with a warning.",
        _opt_size,
    ),
)
DAEMON_OPTION_INDEX = {o.name: o for o in DAEMON_OPTIONS}
_GROUP_FIELDS = {f.name for f in fields(DaemonGroup)}
assert all(o.field in _GROUP_FIELDS for o in DAEMON_OPTIONS), "every option has a model field"


def daemon_process(ctx: Context, args: list[str]) -> None:
    name, words = args[0], args[1:]
    if "=" in name or name.startswith("%"):
        ctx.error(f"the first argument is the group's name, not '{name}'")
        return
    pairs = parse_pairs(ctx, words)
    if pairs is None:
        return
    values: dict[str, object] = {}
    given: list[str] = []
    ok = True
    for option, value in pairs:
        spec = DAEMON_OPTION_INDEX.get(option)
        if spec is None:
            ctx.error(f"unknown option '{option}'{suggest(option, DAEMON_OPTION_INDEX)}")
            ok = False
            continue
        if not value:
            ctx.error(f"option '{option}' needs a value")
            ok = False
            continue
        try:
            values[spec.field] = spec.parse(ctx, value)
        except ValueError as e:
            ctx.error(f"{option}={value}: {e}")
            ok = False
            continue
        if option in given:
            ctx.warn(f"option '{option}' is given twice; the last one counts")
        given.append(option)
    if "script-user" in given and "script-group" in given:
        ctx.error("give script-user or script-group, not both (as mod_wsgi requires)")
        ok = False
    if not ok:
        # Still define the group (there will be no model anyway), so that the
        # WSGIProcessGroup lines naming it are not reported as well.
        values.clear()
    if "processes" in given:
        values["multiprocess"] = True
    raw = tuple((option, value) for option, value in pairs)
    group = DaemonGroup(name=name, options=raw, where=ctx.where, **values)  # type: ignore[arg-type]
    ctx.host.groups.append(group)
    ctx.host.group_options[name] = frozenset(given)
