"""The ``wsgihost`` command: argv in, exit code out.

The only module that reads ``sys.argv`` or decides an exit status.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from wsgihost import __version__, compiled, privileges
from wsgihost.config.model import (
    Alias,
    DaemonGroup,
    DirSettings,
    Host,
    Limits,
    Listener,
    Logging,
    LogSpec,
    Server,
)
from wsgihost.logs import LEVELS, ErrorLog, LogFile, LogFormatError, compile_format


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {value}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 to 65535, not {value}")
    return value


def _remap(text: str) -> tuple[int, int]:
    """``--remap-port 80=8080``."""
    old, eq, new = text.partition("=")
    try:
        pair = (int(old), int(new)) if eq else None
    except ValueError:
        pair = None
    if pair is None or not all(1 <= port <= 65535 for port in pair):
        raise argparse.ArgumentTypeError(
            f"expected FROM=TO with two ports, such as 80=8080, not {text!r}"
        )
    return pair


def _add_remap(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--remap-port",
        dest="remap",
        action="append",
        type=_remap,
        default=[],
        metavar="FROM=TO",
        help=(
            "with --config: use port TO wherever the configuration says FROM (Listen and "
            "<VirtualHost> together), so a site written for 80 runs as a user on 8080; "
            "repeatable"
        ),
    )


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wsgihost",
        description="Host Python WSGI applications the way Apache + mod_wsgi does.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"wsgihost {__version__} ({compiled.describe()})",
        help="show the version and which build runs (compiled or pure Python), then exit",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve",
        help="serve a WSGI script in the foreground",
        description=(
            "Serve one WSGI script in the foreground: in a daemon process group, as "
            "mod_wsgi-express does (with --embedded, inside the front-end workers)."
        ),
    )
    serve.add_argument(
        "script", metavar="SCRIPT", nargs="?", help="the WSGI script file (app.wsgi)"
    )
    serve.add_argument(
        "--config",
        metavar="FILE",
        help="run the sites of an Apache + mod_wsgi configuration file instead of SCRIPT",
    )
    serve.add_argument(
        "-D",
        dest="defines",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="with --config: define NAME for <IfDefine>, VALUE also for ${NAME}",
    )
    _add_remap(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port; 0 picks a free one (8000)")
    serve.add_argument(
        "--processes",
        type=_positive_int,
        default=None,
        help=(
            "daemon processes running the app (2); with --embedded, front-end worker "
            "processes (the number of CPUs)"
        ),
    )
    serve.add_argument(
        "--reload-on-changes",
        action="store_true",
        help="also roll the app's processes when a module it imported changes (development)",
    )
    serve.add_argument(
        "--embedded",
        action="store_true",
        help="run the app inside the front-end workers instead of a daemon process group",
    )
    serve.add_argument(
        "--threads", type=_positive_int, default=15, help="app threads per process (15)"
    )
    serve.add_argument(
        "--callable",
        default="application",
        metavar="NAME",
        help="the WSGI callable in the script (application)",
    )
    serve.add_argument("--mount", default="/", help="URL path the app is mounted at (/)")
    serve.add_argument(
        "--document-root",
        metavar="DIR",
        help="serve static files from DIR for URLs no app or alias takes",
    )
    serve.add_argument(
        "--url-alias",
        nargs=2,
        action="append",
        default=[],
        metavar=("URL_PATH", "PATH"),
        help="serve a file or directory at a URL path (like Alias); repeatable",
    )
    serve.add_argument(
        "--graceful-timeout",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="how long a stop waits for requests in flight (30)",
    )
    serve.add_argument(
        "--request-timeout",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="serve SCRIPT in daemon mode: a request running longer gets a 504 and its "
        "process is replaced; a long download or stream counts too (60; 0: off)",
    )
    serve.add_argument(
        "--keepalive-timeout",
        type=_seconds,
        default=5.0,
        metavar="SECONDS",
        help="how long an idle keep-alive connection stays open (5)",
    )
    serve.add_argument(
        "--header-timeout",
        type=_seconds,
        default=20.0,
        metavar="SECONDS",
        help="deadline for receiving a request head; 408 after it, 0 for none but Timeout (20)",
    )
    serve.add_argument(
        "--header-max-timeout",
        type=_seconds,
        default=Server.header_max_timeout,
        metavar="SECONDS",
        help="the most --header-min-rate can extend the head deadline to; 0: no maximum (0)",
    )
    serve.add_argument(
        "--header-min-rate",
        type=_count,
        default=Server.header_min_rate,
        metavar="BYTES",
        help="bytes per second of head that earn one more second; 0: a fixed deadline (0)",
    )
    serve.add_argument(
        "--body-timeout",
        type=_seconds,
        default=Server.body_timeout,
        metavar="SECONDS",
        help="time a request body starts with (RequestReadTimeout body=); 0 for no deadline (20)",
    )
    serve.add_argument(
        "--body-min-rate",
        type=_count,
        default=Server.body_min_rate,
        metavar="BYTES",
        help="bytes per second that earn a body one more second (MinRate=); 0: fixed (500)",
    )
    serve.add_argument(
        "--body-max-timeout",
        type=_seconds,
        default=Server.body_max_timeout,
        metavar="SECONDS",
        help="the most --body-min-rate can extend the body deadline to; 0: no maximum (0)",
    )
    serve.add_argument(
        "--max-connections",
        type=_count,
        default=Server.max_connections,
        metavar="N",
        help="client connections open at once (MaxRequestWorkers); beyond: idle keep-alive "
        "ones closed, then 503; 0: what the open-file limit allows (0)",
    )
    serve.add_argument(
        "--limit-request-body",
        type=int,
        default=Limits().body,
        metavar="BYTES",
        help="largest request body; 413 beyond it, 0 for no limit (1 GiB)",
    )
    serve.add_argument(
        "--pass-authorization",
        action="store_true",
        help="pass the Authorization header to the app (WSGIPassAuthorization On)",
    )
    serve.add_argument(
        "--chunked-request",
        action="store_true",
        help="accept request bodies sent with Transfer-Encoding: chunked (WSGIChunkedRequest "
        "On); without it they are answered 411",
    )
    serve.add_argument(
        "--no-reload",
        action="store_true",
        help="do not reload the script when it changes (WSGIScriptReloading Off)",
    )
    serve.add_argument(
        "--user",
        type=_existing("user"),
        help="started as root: run the workers and the app as this user (as mod_wsgi-express)",
    )
    serve.add_argument(
        "--group",
        type=_existing("group"),
        help="started as root: run them with this group (the user's own by default)",
    )
    serve.add_argument("--access-log", metavar="FILE", help="access log file (standard output)")
    serve.add_argument(
        "--no-access-log", action="store_true", help="keep no access log (errors are still logged)"
    )
    serve.add_argument("--error-log", metavar="FILE", help="error log file (standard error)")
    serve.add_argument(
        "--access-log-format",
        default=Logging().access_format,
        metavar="FORMAT",
        help="Apache LogFormat string (combined)",
    )
    serve.add_argument("--log-level", choices=LEVELS, default="warn", help="error log level (warn)")

    status = commands.add_parser(
        "status", help="show the processes of a running server and its last reload"
    )
    status.add_argument("--config", required=True, metavar="FILE", help="the server's config")
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    reload = commands.add_parser(
        "reload", help="roll daemon groups (all when none is named), even with no change"
    )
    reload.add_argument("--config", required=True, metavar="FILE", help="the server's config")
    reload.add_argument("groups", nargs="*", metavar="GROUP", help="daemon groups to roll")
    restart = commands.add_parser(
        "restart",
        help="read the configuration again and apply what changed (as SIGHUP does)",
    )
    restart.add_argument("--config", required=True, metavar="FILE", help="the server's config")
    stop = commands.add_parser("stop", help="stop a running server gracefully")
    stop.add_argument("--config", required=True, metavar="FILE", help="the server's config")

    configtest = commands.add_parser(
        "configtest",
        help="check an Apache-style configuration file",
        description=(
            "Read an Apache + mod_wsgi configuration and report every problem as "
            "FILE:LINE: message. Prints 'Syntax OK' and exits 0 when there is no error "
            "(warnings are printed too, and do not fail it); exits 1 otherwise."
        ),
    )
    configtest.add_argument(
        "--config", required=True, metavar="FILE", help="the configuration file to check"
    )
    configtest.add_argument(
        "-D",
        dest="defines",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="define NAME for <IfDefine>, with VALUE also for ${NAME} (as httpd -D)",
    )
    _add_remap(configtest)
    return parser


def _defines(items: Sequence[str]) -> dict[str, str | None]:
    """``-D NAME`` and ``-D NAME=VALUE`` as a mapping for the configuration reader."""
    defines: dict[str, str | None] = {}
    for item in items:
        name, eq, value = item.partition("=")
        defines[name] = value if eq else None
    return defines


def load_config(
    path: str,
    defines: Mapping[str, str | None] | None = None,
    report: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    remap: Sequence[tuple[int, int]] = (),
) -> Server | None:
    """The model for the configuration at ``path``, or None; every problem goes to ``report``.

    For ``configtest`` and for commands that run a configuration; ``remap``
    holds the ``--remap-port`` pairs.
    """
    from wsgihost.config import load

    server, problems = load(path, defines, os.environ, dict(remap))
    for problem in problems:
        report(str(problem))
    return server


def _ask(config: str, request: dict[str, object]) -> dict[str, object] | None:
    """Send a control request; print the error and return None if it failed."""
    from wsgihost.supervisor.control import ControlError, call

    try:
        answer = call(config, request)
    except (ControlError, OSError, ValueError) as e:
        print(f"wsgihost: error: {e}", file=sys.stderr)
        return None
    if not answer.get("ok"):
        print(f"wsgihost: error: {answer.get('error')}", file=sys.stderr)
        return None
    return answer


def cmd_status(args: argparse.Namespace) -> int:
    answer = _ask(args.config, {"cmd": "status"})
    if answer is None:
        return 1
    if args.json:
        _print(json.dumps(answer, indent=2))
        return 0
    _print(
        f"master {answer['pid']}, up {answer['uptime']} s"
        + (", stopping" if answer["stopping"] else "")
    )
    for url in answer["listeners"]:  # type: ignore[attr-defined]
        _print(f"  listening on {url}")
    for worker in answer["workers"]:  # type: ignore[attr-defined]
        _print(f"  front-end worker {worker['pid']}: {worker['state']}, up {worker['uptime']} s")
    for group in answer["groups"]:  # type: ignore[attr-defined]
        _print(
            f"group {group['name']}: {_set_state(group)} ({group['processes']} processes x "
            f"{group['threads']} threads, code version {group['generation']})"
        )
        sets = group.get("sets") or [{**group, "application_group": ""}]
        for one in sets:
            indent = "  "
            if len(sets) > 1 or one["application_group"]:
                # One set of processes per application group (mod_wsgi's interpreters).
                indent = "    "
                name = one["application_group"] or "%{GLOBAL}"
                _print(f"  application group {name}: {_set_state(one)}")
            for m in one["members"]:
                _print(
                    f"{indent}daemon process {m['pid']}: {m['state']}, version {m['generation']}, "
                    f"up {m['uptime']} s, {m['served']} requests served, "
                    f"{m['busy_threads']} threads busy"
                )
            if one["last_error"]:
                _print(f"{indent}last error: {one['last_error']} (see the error log)")
    last = answer.get("last_reload")
    if isinstance(last, dict):
        which = (
            f" (application group {last['application_group']})"
            if last.get("application_group")
            else ""
        )
        _print(f"last reload: group {last['group']}{which} ({last['why']})")
    return 0


def _set_state(entry: dict[str, Any]) -> str:
    """A daemon group's (or one of its sets') state, as status prints it."""
    state = str(entry["status"])
    if entry["roll_stopped"]:
        state += ", roll stopped: the new code does not start"
    elif entry["rolling"]:
        state += ", rolling"
    return state


def cmd_reload(args: argparse.Namespace) -> int:
    answer = _ask(args.config, {"cmd": "reload", "groups": args.groups})
    if answer is None:
        return 1
    for name in answer.get("rolled", []):  # type: ignore[attr-defined]
        _print(f"rolling daemon group {name}")
    return 0


def cmd_restart(args: argparse.Namespace) -> int:
    from wsgihost.supervisor.control import ControlError, call

    try:
        answer = call(args.config, {"cmd": "restart"})
    except (ControlError, OSError, ValueError) as e:
        print(f"wsgihost: error: {e}", file=sys.stderr)
        return 1
    if not answer.get("ok"):
        for problem in answer.get("problems") or [answer.get("error")]:
            print(problem, file=sys.stderr)
        print("wsgihost: the server keeps running the previous configuration", file=sys.stderr)
        return 1
    for key, label in (("rolled", "rolled"), ("started", "started"), ("removed", "removed")):
        for name in answer.get(key, []):
            _print(f"{label} daemon group {name}")
    _print("configuration read again")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    if _ask(args.config, {"cmd": "stop"}) is None:
        return 1
    _print("stopping")
    return 0


def cmd_configtest(args: argparse.Namespace) -> int:
    server = load_config(args.config, _defines(args.defines), remap=args.remap)
    if server is None:
        return 1
    for listener in server.listeners:  # what serve would bind, as it would announce it
        _print(f"would listen on {listener.url()} ({listener.where})")
    for folder in missing_log_folders(server):
        print(
            f"{args.config}: warning: log folder {folder} does not exist (serve creates it)",
            file=sys.stderr,
        )
    from wsgihost.supervisor.groups import process_sets

    _sets, problems = process_sets(server)  # what serve would refuse to start with
    for problem in problems:
        print(f"{args.config}: {problem}", file=sys.stderr)
    if problems:
        return 1
    _print("Syntax OK")
    return 0


def serve_model(args: argparse.Namespace) -> Server:
    mount = "/" + args.mount.strip("/")
    app = Alias(
        url=mount,
        path=os.path.abspath(args.script),
        wsgi=True,
        settings=DirSettings(
            callable_object=args.callable,
            pass_authorization=args.pass_authorization,
            script_reloading=not args.no_reload,
            chunked_request=args.chunked_request,
            # As mod_wsgi-express: the app in the main interpreter (one process set).
            application_group="",
        ),
    )
    aliases = tuple(
        Alias(url=url, path=os.path.abspath(path) + ("/" if path.endswith("/") else ""))
        for url, path in args.url_alias
    )
    groups: tuple[DaemonGroup, ...] = ()
    if args.embedded:
        processes = args.processes or os.cpu_count() or 1
    else:
        # As mod_wsgi-express does: the app in a daemon group named after the
        # address; up to two front-end workers in front of it (the front end
        # is the busier side for small requests).
        group = DaemonGroup(
            name=f"localhost:{args.port}",
            processes=args.processes or 2,
            threads=args.threads,
            multiprocess=True,
            user=args.user,
            group=args.group,
            request_timeout=args.request_timeout,
        )
        groups = (group,)
        app = replace(app, settings=replace(app.settings, process_group=group.name))
        processes = min(2, os.cpu_count() or 1)
    return Server(
        listeners=(Listener(args.host, args.port),),
        main=Host(
            aliases=(*aliases, app),
            document_root=args.document_root and os.path.abspath(args.document_root),
            error_log=args.error_log and os.path.abspath(args.error_log),
            # "-": standard output, where mod_wsgi-express logs in the foreground too.
            access_logs=()
            if args.no_access_log
            else (
                LogSpec(
                    os.path.abspath(args.access_log) if args.access_log else "-",
                    args.access_log_format,
                ),
            ),
        ),
        groups=groups,
        reload_on_changes=args.reload_on_changes,
        processes=processes,
        threads=args.threads,
        keepalive_timeout=args.keepalive_timeout,
        header_timeout=args.header_timeout,
        header_max_timeout=args.header_max_timeout,
        header_min_rate=args.header_min_rate,
        body_timeout=args.body_timeout,
        body_max_timeout=args.body_max_timeout,
        body_min_rate=args.body_min_rate,
        max_connections=args.max_connections,
        graceful_timeout=args.graceful_timeout,
        user=args.user,
        group=args.group,
        limits=Limits(body=args.limit_request_body),
        logging=Logging(
            error_log=args.error_log and os.path.abspath(args.error_log),
            access_log=args.access_log and os.path.abspath(args.access_log),
            access_format=args.access_log_format,
            level=args.log_level,
        ),
    )


def _existing(kind: str) -> Callable[[str], str]:
    def check(name: str) -> str:
        if not privileges.exists(kind, name):
            raise argparse.ArgumentTypeError(f"no {kind} {name!r} on this machine")
        if kind == "user" and privileges.is_root(name):
            raise argparse.ArgumentTypeError(
                f"{name!r} is root: the workers and apps never run as root (as Apache "
                "refuses User root); name an unprivileged user such as www-data"
            )
        return name

    return check


class RunAsError(Exception):
    """Started as root, there is no user to run the workers and apps as."""


# Set to 1: started as root with no User (nor --user), the children keep root
# as before there was a default. For test machines whose Python only root can
# read; like Apache's BIG_SECURITY_HOLE, never for a server people can reach.
KEEP_ROOT = "WSGIHOST_KEEP_ROOT"


def run_as(
    server: Server, user: str | None, group: str | None, root: bool, keep_root: bool = False
) -> tuple[Server, str | None]:
    """The model with the User/Group the children run as; a warning to log once, or None.

    ``--user``/``--group`` override the configuration's ``User``/``Group``
    (a user alone brings its own group), as mod_wsgi-express's options do;
    daemon groups without ``user=``/``group=`` follow (``groups.daemon_user``).
    Started as root with no ``User``, the children run as the distribution's
    web user rather than root, and the warning says so. Not root, nobody
    changes user, whatever the model says.
    """
    if user or group:
        server = replace(
            server, user=user or server.user, group=group or (None if user else server.group)
        )
    if not root:
        return server, None
    if keep_root and not server.user:
        return server, (
            f"{KEEP_ROOT}=1: started as root with no User, the front-end workers and "
            "daemon processes without user= run as root"
        )
    warning = None
    if not server.user:
        name = privileges.web_user()
        if name is None:
            raise RunAsError(
                "started as root with no User, and none of "
                f"{', '.join(privileges.WEB_USERS)} exists: name a user with User or --user"
            )
        server = replace(server, user=name)
        warning = (
            f"started as root with no User: the front-end workers and daemon processes run "
            f"as {name!r}; choose another user with User (or serve --user)"
        )
    if not server.group:
        server = replace(server, group=privileges.primary_group(server.user or ""))
    return server, warning


def control_path(config: str) -> str:
    from wsgihost.supervisor.control import control_path as path

    return path(config)


def _print(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _log_files(server: Server) -> list[str]:
    """Every log file the configuration names (not the standard streams)."""
    paths: set[str] = set()
    for host in (server.main, *server.vhosts):
        if host.error_log:
            paths.add(host.error_log)
        paths.update(spec.path for spec in host.access_logs)
    if server.logging.error_log:
        paths.add(server.logging.error_log)
    return sorted(paths - {"-", "/dev/stdout", "/dev/stderr"})


def missing_log_folders(server: Server) -> list[str]:
    """The folders of log files that do not exist yet (serve creates them)."""
    folders = {os.path.dirname(path) for path in _log_files(server)}
    return sorted(f for f in folders if f and not os.path.isdir(f))


def check_log_files(server: Server) -> list[str]:
    """Open (creating) every log file now, so a bad path fails at start, not in each worker."""
    problems = []
    for path in _log_files(server):
        try:
            # A log folder a site names (${APACHE_LOG_DIR} of a site file run on its
            # own) is created, as the distribution's package would have.
            os.makedirs(os.path.dirname(path) or ".", 0o755, exist_ok=True)
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640))
        except OSError as e:
            problems.append(f"cannot open log file {path}: {e.strerror}")
    return problems


def _reserve_port(host: str) -> socket.socket:
    """A free port on ``host``, held by a bound socket that does not listen.

    ``serve --port 0`` names its daemon group ``localhost:PORT`` after the
    port it serves, as mod_wsgi-express does, so the port must be known
    before the model is built; the master binds it again and listens (Linux
    lets two SO_REUSEADDR sockets share a port while neither listens, and
    nobody else may take it meanwhile).
    """
    family, type_, proto, _, addr = socket.getaddrinfo(
        host or None, 0, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, type_, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
    except OSError:
        sock.close()
        raise
    return sock


def cmd_serve(args: argparse.Namespace, announce: Callable[[str], None] = _print) -> int:
    from wsgihost.supervisor.groups import unreadable
    from wsgihost.supervisor.listeners import StartupError
    from wsgihost.supervisor.master import Master

    if (args.script is None) == (args.config is None):
        print("wsgihost: error: serve takes a WSGI SCRIPT or --config FILE", file=sys.stderr)
        return 2
    keep_root = os.environ.get(KEEP_ROOT) == "1"
    reserved: socket.socket | None = None
    if args.config is not None:
        loaded = load_config(args.config, _defines(args.defines), remap=args.remap)
        if loaded is None:
            return 1
        server = loaded
    else:
        if not os.path.isfile(args.script):
            print(f"wsgihost: error: WSGI script not found: {args.script}", file=sys.stderr)
            return 2
        try:
            compile_format(args.access_log_format)
        except LogFormatError as e:
            print(f"wsgihost: error: --access-log-format: {e}", file=sys.stderr)
            return 2
        if args.port == 0:
            try:
                reserved = _reserve_port(args.host)
            except OSError as e:
                print(f"wsgihost: error: cannot listen on {args.host}: {e}", file=sys.stderr)
                return 1
            args.port = reserved.getsockname()[1]
        server = serve_model(args)
    try:
        server, warning = run_as(server, args.user, args.group, os.getuid() == 0, keep_root)
    except RunAsError as e:
        print(f"wsgihost: error: {e}", file=sys.stderr)
        return 1
    problems = check_log_files(server)
    if problems:
        for problem in problems:
            print(f"wsgihost: error: {problem}", file=sys.stderr)
        return 2
    main_error = server.main.error_log or server.logging.error_log
    dest = LogFile(path=main_error) if main_error else LogFile(fd=2)
    log = ErrorLog(dest, server.logging.level, module="wsgihost")
    if warning:
        log.warn(warning)
    for problem in unreadable(server):  # a warning each: requests would fail, or an import
        log.warn(problem)
    try:
        control = reread = None
        if args.config is not None:
            control = control_path(args.config)
            defines = _defines(args.defines)

            def reread() -> tuple[Server | None, list[str]]:
                from wsgihost.config import load

                new, problems = load(args.config, defines, os.environ, dict(args.remap))
                if new is not None:  # the same users again; the warning was given once
                    try:
                        new = run_as(new, args.user, args.group, os.getuid() == 0, keep_root)[0]
                    except RunAsError as e:
                        return None, [str(e)]
                return new, [str(p) for p in problems]

        return Master(server, log, announce, control, reread).run()
    except StartupError as e:
        print(f"wsgihost: error: {e}", file=sys.stderr)
        return 1
    finally:
        if reserved is not None:
            reserved.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("serve", "configtest"):
        stale = compiled.stale_message()  # pip install -e's trap: compiled code gone stale
        if stale is not None:
            print(stale, file=sys.stderr)
            return 1
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "serve": cmd_serve,
        "configtest": cmd_configtest,
        "status": cmd_status,
        "reload": cmd_reload,
        "restart": cmd_restart,
        "stop": cmd_stop,
    }
    return commands[args.command](args)
