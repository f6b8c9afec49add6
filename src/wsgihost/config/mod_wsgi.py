"""mod_wsgi's remaining directives: proxy headers, HEAD, restrictions, tuning.

Pure. Declared here and joined to the directive table through
``MODULE_TABLES`` (:mod:`wsgihost.config.directives`), where each record
replaces the core's "ignored" placeholder of the same name. What they do at
run time lives with what they change: :mod:`wsgihost.wsgi.proxyheaders`
(WSGITrustedProxyHeaders, WSGITrustedProxies), :func:`wsgihost.wsgi.environ.
build_environ` (WSGIMapHEADToGET), :mod:`wsgihost.daemon.restrict`
(WSGIRestrictStdin/Stdout/Signal, WSGISwitchInterval) and the front end's
dispatch (WSGIRestrictProcess). A directive with no meaning here is accepted,
with a warning that says what will not happen and why, only where the
setting asks for something mod_wsgi would do differently from wsgihost.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from functools import partial

from wsgihost.config.draft import Context
from wsgihost.config.table import ANY, GLOBAL, Apply, Directive, record
from wsgihost.config.values import parse_flag
from wsgihost.wsgi import proxyheaders

_ONE = (1, 1)
_MANY = (1, None)


def _trusted_proxy_headers(ctx: Context, args: list[str]) -> None:
    names: list[str] = []
    for header in args:
        name = proxyheaders.header_env_name(header)
        if name is None:
            ctx.error(f"'{header}' is not a header name (letters, digits and '-')")
            return
        if name not in proxyheaders.KNOWN:
            ctx.warn(
                f"mod_wsgi does nothing with '{header}': it reaches the app as it came, "
                "from any client"
            )
        names.append(name)
    # Repeated in one scope, the lists add up, as mod_wsgi's do.
    before = ctx.dir.settings.trusted_proxy_headers or ()
    ctx.dir.settings = replace(ctx.dir.settings, trusted_proxy_headers=(*before, *names))


_IPV4 = set("0123456789./")
_IPV6 = set("0123456789abcdef:/")


def _trusted_proxies(ctx: Context, args: list[str]) -> None:
    networks: list[str] = []
    for text in args:
        # mod_wsgi takes addresses and subnets only: no host names.
        allowed = _IPV6 if ":" in text else _IPV4
        network = proxyheaders.parse_network(text) if set(text.lower()) <= allowed else None
        if network is None:
            ctx.error(f'unable to parse trusted proxy IP address/subnet of "{text}"')
            return
        networks.append(str(network))
    before = ctx.dir.settings.trusted_proxies or ()
    ctx.dir.settings = replace(ctx.dir.settings, trusted_proxies=(*before, *networks))


def _map_head_to_get(ctx: Context, args: list[str]) -> None:
    value = args[0].lower()
    if value not in ("on", "off", "auto"):
        ctx.error(f"must be one of: Off | On | Auto, not '{args[0]}'")
        return
    ctx.dir.settings = replace(ctx.dir.settings, map_head_to_get=value)


def _restrict_process(ctx: Context, args: list[str]) -> None:
    groups = tuple("" if a == "%{GLOBAL}" else a for a in args)
    ctx.dir.settings = replace(ctx.dir.settings, restrict_process=groups)


def _server_flag(field_name: str) -> Apply:
    def apply(ctx: Context, args: list[str]) -> None:
        flag = parse_flag(ctx, args[0])
        if flag is not None:
            ctx.server.set(**{field_name: flag})

    return apply


def _switch_interval(ctx: Context, args: list[str]) -> None:
    try:
        seconds = float(args[0])
    except ValueError:
        seconds = 0.0
    if not seconds > 0 or seconds == float("inf"):
        ctx.error(f"must be a positive number of seconds, not '{args[0]}'")
        return
    ctx.server.set(switch_interval=seconds)


def _python_eggs(ctx: Context, args: list[str]) -> None:
    ctx.server.set(python_eggs=ctx.path(args[0]))


def _flag_warning(warn_when: bool | None, why: str) -> Apply:
    """On|Off checked; a warning naming ``why`` when the flag is ``warn_when``
    (None: either way), the other value being what wsgihost does anyway."""

    def apply(ctx: Context, args: list[str]) -> None:
        flag = parse_flag(ctx, args[0])
        if flag is not None and (warn_when is None or flag == warn_when):
            ctx.warn(why)

    return apply


def _accept_mutex(ctx: Context, args: list[str]) -> None:
    mechanisms = ("default", "flock", "fcntl", "posixsem", "pthread", "sysvsem")
    if args[0].lower() not in mechanisms:
        ctx.error(f"unknown mutex mechanism '{args[0]}': one of {', '.join(mechanisms)}")
        return
    ctx.warn(
        "the daemon processes of a group accept from one socket with no mutex "
        "(the kernel hands each connection to one process): there is no mechanism to choose"
    )


def _warning(why: str) -> Apply:
    def apply(ctx: Context, args: list[str]) -> None:
        ctx.warn(why)

    return apply


# Every record here is mod_wsgi's.
_mod_wsgi = partial(record, module="mod_wsgi")


_STDIO = (
    "`sys.stdin` is the null device, as in Apache; with On, any use of it raises "
    "`OSError: sys.stdin access restricted by mod_wsgi`"
)

DIRECTIVES: tuple[Directive, ...] = (
    _mod_wsgi(
        "WSGITrustedProxyHeaders",
        "WSGITrustedProxyHeaders header [header ...]",
        ANY,
        _MANY,
        "none",
        "The headers a proxy in front sets that the app may believe, as mod_wsgi 4.x "
        "reads them: `X-Forwarded-For`, `X-Client-IP`, `X-Real-IP` give `REMOTE_ADDR` "
        "(`X-Forwarded-For` its first address, or with WSGITrustedProxies the one before "
        "the trusted proxies at its end); `X-Forwarded-Host`, `X-Host` give `HTTP_HOST`; "
        "`X-Forwarded-Server` `SERVER_NAME`; `X-Forwarded-Port` `SERVER_PORT`; "
        "`X-Script-Name`, `X-Forwarded-Script-Name` `SCRIPT_NAME` (and "
        "`mod_wsgi.mount_point`); `X-Forwarded-Proto`, `X-Forwarded-Scheme`, `X-Scheme` "
        "(`https`/`http`) and `X-Forwarded-HTTPS`, `X-Forwarded-SSL`, `X-HTTPS` "
        "(`On`/`Off`, `true`/`false`, `1`/`0`) give `wsgi.url_scheme`. Believed from the "
        "proxies WSGITrustedProxies lists, from any client without it. The other headers "
        "of each kind named (and a named header not believed) are taken out of the "
        "environ, so the app never reads one a client made up. The access log keeps the "
        "peer's address, as in Apache.",
        _trusted_proxy_headers,
    ),
    _mod_wsgi(
        "WSGITrustedProxies",
        "WSGITrustedProxies address|address/bits ...",
        ANY,
        _MANY,
        "none: any peer",
        "The proxies (IPv4 or IPv6 addresses or subnets) whose WSGITrustedProxyHeaders "
        "are believed; from any other peer they are removed. A host name is an error, "
        "as in mod_wsgi.",
        _trusted_proxies,
    ),
    _mod_wsgi(
        "WSGIMapHEADToGET",
        "WSGIMapHEADToGET On|Off|Auto",
        ANY,
        _ONE,
        "Auto",
        "On: a HEAD request reaches the app as GET (`REQUEST_METHOD`), so it answers "
        "with the headers a GET gets; the body is not sent. Auto maps only where an "
        "Apache output filter ahead of the protocol filters may need the body. Apache 2.4 + "
        "mod_wsgi 4.9.4 leaves HEAD as it is under Auto, as measured with no filter, with "
        "`AddOutputFilterByType DEFLATE` and with `SetOutputFilter DEFLATE`, and so does "
        "wsgihost (a compressed HEAD answer then has no Content-Length, as Apache's).",
        _map_head_to_get,
    ),
    _mod_wsgi(
        "WSGIRestrictStdin",
        "WSGIRestrictStdin On|Off",
        GLOBAL,
        _ONE,
        "Off",
        f"Off: {_STDIO}. In every process that runs apps (daemon processes, and the "
        "front-end workers for embedded mode).",
        _server_flag("restrict_stdin"),
    ),
    _mod_wsgi(
        "WSGIRestrictStdout",
        "WSGIRestrictStdout On|Off",
        GLOBAL,
        _ONE,
        "Off",
        "Off: what an app prints goes to the error log, as in mod_wsgi 4.x. On: any use "
        "of `sys.stdout` raises `OSError: sys.stdout access restricted by mod_wsgi` "
        "(write to `wsgi.errors` or `sys.stderr` instead).",
        _server_flag("restrict_stdout"),
    ),
    _mod_wsgi(
        "WSGIRestrictSignal",
        "WSGIRestrictSignal On|Off",
        GLOBAL,
        _ONE,
        "On",
        "On: `signal.signal()` called by an app is ignored (it returns the handler it was "
        "given), with the warning `mod_wsgi (pid=N): Callback registration for signal N "
        "ignored.` and the calling stack in the error log: the server's processes use "
        "their signals to stop, reload and reopen logs. Off lets an app take them over.",
        _server_flag("restrict_signal"),
    ),
    _mod_wsgi(
        "WSGIRestrictProcess",
        "WSGIRestrictProcess group|%{GLOBAL} ...",
        ANY,
        _MANY,
        "none: any group",
        "The process groups the apps here may run in; a request for one whose "
        "WSGIProcessGroup names another gets 500 and the error log says `Daemon process "
        "called 'NAME' cannot be accessed by this WSGI application as not a member of "
        "allowed groups`, as in mod_wsgi. `%{GLOBAL}` is embedded mode.",
        _restrict_process,
    ),
    _mod_wsgi(
        "WSGISwitchInterval",
        "WSGISwitchInterval seconds",
        GLOBAL,
        _ONE,
        "Python's own (0.005)",
        "mod_wsgi 6's: how often Python switches between the threads of a process "
        "(`sys.setswitchinterval`), in the processes that run apps; a daemon group's "
        "`switch-interval=` wins for its processes.",
        _switch_interval,
    ),
    _mod_wsgi(
        "WSGIPythonEggs",
        "WSGIPythonEggs directory",
        GLOBAL,
        _ONE,
        "none",
        "The Python egg cache (`PYTHON_EGG_CACHE` in the environment of every process "
        "that runs apps; a daemon group's `python-eggs=` wins for its processes).",
        _python_eggs,
    ),
    _mod_wsgi(
        "WSGILazyInitialization",
        "WSGILazyInitialization On|Off",
        GLOBAL,
        _ONE,
        "On",
        "On: Python for the apps starts in the processes that run them, after they "
        "dropped root, never in the process that holds root; that is how wsgihost always "
        "works, so Off is accepted with a warning.",
        _flag_warning(
            False,
            "Off is not provided: the apps' Python always starts in the processes that run "
            "them, after they dropped root (what On does)",
        ),
    ),
    _mod_wsgi(
        "WSGIAcceptMutex",
        "WSGIAcceptMutex default|flock|fcntl|posixsem|pthread|sysvsem",
        GLOBAL,
        _ONE,
        "default",
        "The lock mod_wsgi's daemon processes take turns accepting with. wsgihost's share "
        "a socket the kernel hands each connection out from, with no lock: accepted with "
        "a warning.",
        _accept_mutex,
    ),
    _mod_wsgi(
        "WSGIVerboseDebugging",
        "WSGIVerboseDebugging On|Off",
        GLOBAL,
        _ONE,
        "Off",
        "mod_wsgi's tracing of its own C internals. On is a warning: wsgihost's own "
        "tracing is at `LogLevel debug`.",
        _flag_warning(
            True,
            "mod_wsgi's tracing of its C internals has no counterpart: use LogLevel debug",
        ),
    ),
    _mod_wsgi(
        "WSGIDestroyInterpreter",
        "WSGIDestroyInterpreter On|Off",
        GLOBAL,
        _ONE,
        "On",
        "On: a daemon process or front-end worker (embedded mode) that stops once its "
        "requests are done runs the apps' `atexit` functions, as mod_wsgi's Python "
        "finalisation does (not when it is stopped at once). Off: it exits without them.",
        _server_flag("destroy_interpreter"),
    ),
    _mod_wsgi(
        "WSGICaseSensitivity",
        "WSGICaseSensitivity On|Off",
        GLOBAL,
        _ONE,
        "On",
        "Whether mod_wsgi folds script paths to lower case to name application groups "
        "(for case-insensitive file systems, such as on Windows and macOS). On is what "
        "wsgihost does; Off is a warning.",
        _flag_warning(
            False,
            "Off is not provided: script paths are compared as written (file systems on "
            "Linux are case-sensitive)",
        ),
    ),
    _mod_wsgi(
        "WSGIEnableSendfile",
        "WSGIEnableSendfile On|Off",
        ANY,
        _ONE,
        "Off",
        "Whether `wsgi.file_wrapper` may use the kernel's sendfile. wsgihost writes a "
        "file_wrapper's file from user space either way (its answer is the same); On is "
        "a warning, and `mod_wsgi.enable_sendfile` stays `0`.",
        _flag_warning(
            True, "sendfile is not used: a wsgi.file_wrapper's file is copied (same response)"
        ),
    ),
    _mod_wsgi(
        "WSGISocketRotation",
        "WSGISocketRotation On|Off",
        GLOBAL,
        _ONE,
        "On (wsgihost: as Off)",
        "Whether each restart gives the daemon sockets new names (mod_wsgi's default). "
        "wsgihost's keep their names, as with Off, and a restart rolls the processes "
        "behind them; On is a warning.",
        _flag_warning(True, "daemon sockets keep their names across restarts (what Off does)"),
    ),
    _mod_wsgi(
        "WSGIServerMetrics",
        "WSGIServerMetrics On|Off",
        GLOBAL,
        _ONE,
        "Off",
        "Whether `mod_wsgi.server_metrics()` reports Apache's scoreboard to the app. "
        "wsgihost has no scoreboard and no `mod_wsgi` module: On is a warning (see "
        "`wsgihost status` for the processes' state).",
        _flag_warning(
            True,
            "mod_wsgi.server_metrics() is not provided (there is no Apache scoreboard; "
            "'wsgihost status' shows the processes)",
        ),
    ),
    _mod_wsgi(
        "WSGIIgnoreActivity",
        "WSGIIgnoreActivity On|Off",
        ANY,
        _ONE,
        "Off",
        "Whether requests here leave a daemon process's `inactivity-timeout` running (for "
        "health checks). On is a warning: every request counts as activity, and "
        "`mod_wsgi.ignore_activity` stays `0`.",
        _flag_warning(
            True,
            "not provided: these requests still count as activity for inactivity-timeout",
        ),
    ),
    _mod_wsgi(
        "WSGIPassApacheRequest",
        "WSGIPassApacheRequest On|Off",
        ANY,
        _ONE,
        "Off",
        "Whether the app gets Apache's request object (`apache.request_rec`). There is "
        "no Apache request here: On is a warning.",
        _flag_warning(True, "there is no Apache request object to pass (apache.request_rec)"),
    ),
    _mod_wsgi(
        "WSGIPy3kWarningFlag",
        "WSGIPy3kWarningFlag On|Off",
        GLOBAL,
        _ONE,
        "Off",
        "Python 2's `-3` option: meaningless for Python 3; accepted with a warning when On.",
        _flag_warning(True, "Python 3 has no -3 option"),
    ),
    _mod_wsgi(
        "WSGINewRelicConfigFile",
        "WSGINewRelicConfigFile file-path",
        GLOBAL,
        _ONE,
        "none",
        "mod_wsgi's built-in New Relic agent (mod_wsgi 4 and 5; removed in 6): not provided; a "
        "warning. Start the agent in the WSGI script instead.",
        _warning("the built-in New Relic agent is not provided: start it in the WSGI script"),
    ),
    _mod_wsgi(
        "WSGINewRelicEnvironment",
        "WSGINewRelicEnvironment name",
        GLOBAL,
        _ONE,
        "none",
        "See WSGINewRelicConfigFile.",
        _warning("the built-in New Relic agent is not provided: start it in the WSGI script"),
    ),
    _mod_wsgi(
        "WSGIFreeThreading",
        "WSGIFreeThreading On|Off",
        GLOBAL,
        _ONE,
        "Off",
        "mod_wsgi 6's switch for a free-threaded Python build. The apps run on the Python "
        "wsgihost runs on, with its GIL: accepted with a warning when On.",
        _flag_warning(True, "the apps run on the Python wsgihost runs on, GIL and all"),
    ),
    _mod_wsgi(
        "WSGIPerInterpreterGIL",
        "WSGIPerInterpreterGIL On|Off",
        GLOBAL,
        _ONE,
        "Off",
        "mod_wsgi 6's sub-interpreters with a GIL each. wsgihost runs each application "
        "group in processes of its own, which share no GIL anyway: a warning when On.",
        _flag_warning(True, "application groups run in processes of their own, which share no GIL"),
    ),
    _mod_wsgi(
        "WSGISlowRequests",
        "WSGISlowRequests seconds",
        GLOBAL,
        _MANY,
        "none",
        "mod_wsgi 6's report of slow requests: not provided; a warning (the access log's "
        "`%D` gives each request's time).",
        _warning("not provided: log %D in a LogFormat to see each request's time"),
    ),
    _mod_wsgi(
        "WSGITelemetryService",
        "WSGITelemetryService ...",
        GLOBAL,
        _MANY,
        "none",
        "mod_wsgi 6's telemetry: not provided; a warning.",
        _warning("mod_wsgi's telemetry is not provided"),
    ),
    _mod_wsgi(
        "WSGITelemetryOptions",
        "WSGITelemetryOptions ...",
        GLOBAL,
        _MANY,
        "none",
        "mod_wsgi 6's telemetry: not provided; a warning.",
        _warning("mod_wsgi's telemetry is not provided"),
    ),
)


_ENV = re.compile(r"%\{ENV:([^}]*)\}\Z")


def env_variable(value: str) -> str | None:
    """NAME of a ``%{ENV:NAME}`` setting, else None."""
    match = _ENV.match(value)
    return match.group(1) if match is not None else None


def from_environment(value: str) -> str | None:
    """``%{ENV:NAME}`` of WSGIProcessGroup and WSGIApplicationGroup: NAME's value
    (None when it is not set); any other setting as it is.

    mod_wsgi looks NAME up per request, in the request's variables (SetEnv,
    SetEnvIf), then in the server's environment. wsgihost provides no request
    variables, so the answer is the environment's, the same for every request:
    it is read once, when the configuration is, from the environment the
    server starts with, and so every daemon process set is known from the
    configuration. A value that is ``%{GLOBAL}`` or the like is then read as
    if written in its place (another ``%{ENV:...}`` is a plain name), as
    mod_wsgi does.
    """
    name = env_variable(value)
    if name is None:
        return value
    return os.environ.get(name)  # the server's environment: mod_wsgi's getenv()
