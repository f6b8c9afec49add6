"""What the master prepares for daemon process groups: sockets, the library, commands.

Runs in the master. Each group gets one UNIX listening socket, created here
and held by the master for its whole life (daemon processes inherit it), in
the daemon directory (``rundir.daemon_dir``: only we may write there, and
only the users our children run as may pass through); the file name is a
short hash, since a socket path is limited to 107 bytes. A lock file next to it, held
with ``flock`` while the master lives, stops a second server from taking
the socket over.

Daemon processes may run under another interpreter (``python-home``), so
they must not import the server's installed packages: the master copies the
standard-library-only part of wsgihost (``wsgi``, ``daemon``, ``logs``)
into the runtime directory, and the bootstrap imports from that copy only,
then takes it off ``sys.path`` before the app is imported.

The interpreter is started as mod_wsgi starts its own: it honours the
``PYTHON*`` variables of the server's environment (wsgihost's own folder is
taken out of ``PYTHONPATH``), and ``WSGIPythonOptimize``,
``WSGIPythonWarnings``, ``WSGIDontWriteBytecode`` and ``WSGIPythonHashSeed``
become its options. Its working directory follows mod_wsgi 4.9's rule
(:func:`working_directory`).
"""

from __future__ import annotations

import compileall
import fcntl
import hashlib
import os
import pwd
import shutil
import socket
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import wsgihost
from wsgihost import compiled, privileges
from wsgihost.config.model import DaemonGroup, Server
from wsgihost.routing import Router, set_key
from wsgihost.supervisor import plan, rundir


class GroupError(Exception):
    """A group's socket or runtime directory cannot be set up."""


def runtime_dir(server: Server) -> Path:
    """Where sockets, locks and the daemon library live (``WSGISocketPrefix``'s folder)."""
    prefix_dir = str(Path(server.socket_prefix).parent) if server.socket_prefix else None
    try:
        return rundir.daemon_dir(prefix_dir, strangers(server))
    except rundir.RunDirError as e:
        raise GroupError(str(e)) from None


def daemon_user(server: Server, group: DaemonGroup) -> tuple[str | None, str | None]:
    """The user and group a group's processes run as, when started as root.

    mod_wsgi's defaults: ``User``/``Group`` for what ``user=``/``group=``
    leave out (``user=`` alone keeps ``Group``).
    """
    return group.user or server.user, group.group or server.group


def strangers(server: Server) -> list[privileges.Identity]:
    """The users other than ours that our children run as (none unless we are root)."""
    if os.getuid() != 0:
        return []
    wanted = [(server.user, server.group)] + [daemon_user(server, g) for g in server.groups]
    found = []
    for user, group in wanted:
        try:
            identity = privileges.resolve(user, group)
        except (KeyError, ValueError):
            continue  # the process itself will say so when it cannot drop to it
        if identity is not None and identity.uid != os.getuid() and identity not in found:
            found.append(identity)
    return found


def unreadable(server: Server) -> list[str]:
    """What the children will need but cannot read, as the users they run as (root only).

    Checked once at start, for a warning each: the standard library (modules
    imported after the switch of user come from it), each group's
    python-home, and the WSGI scripts each process loads. Apache leaves this
    to the administrator too, but then nothing is said until a request fails.
    """
    if os.getuid() != 0:
        return []
    router = Router(server)
    stdlib = ("the Python standard library", os.path.dirname(os.__file__))
    embedded = {
        alias.path
        for host in (router.main, *router.vhosts)
        for alias in host.script_aliases
        if not alias.regex
        and not host.settings_for(alias.path, alias.url, alias.settings).process_group
    }
    wanted = [
        (
            (server.user, server.group),
            "the front-end workers",
            [stdlib, *(("the WSGI script", path) for path in sorted(embedded))],
        )
    ]
    scripts = router.scripts_by_group()
    for group in server.groups:
        home = group.python_home or server.python_home
        needs = [("python-home", home) if home else stdlib]
        needs += [("the WSGI script", path) for path, _ in sorted(scripts.get(group.name, ()))]
        wanted.append((daemon_user(server, group), f"daemon group {group.name!r}", needs))
    problems = []
    for (user, unix_group), who, needs in wanted:
        try:
            identity = privileges.resolve(user, unix_group)
        except (KeyError, ValueError):
            continue
        if identity is None or identity.uid == 0:
            continue
        for what, path in needs:
            why = privileges.unreadable(identity, path)
            if why:
                name = identity.name or f"#{identity.uid}"
                problems.append(f"{who} run as {name} but cannot read {what} {path}: {why}")
    return problems


def socket_name(
    server: Server, group: DaemonGroup, where: list[str], application_group: str = ""
) -> str:
    """A short name, stable for one configuration and daemon process set.

    ``where`` is the server's bound listening addresses: no two live servers
    share one, so two servers of the same script or file never collide.
    Each application group of a group has a set of processes, and a socket,
    of its own (``%{GLOBAL}``, the empty name, keeps the group's).
    """
    identity = f"{server.config_files[:1]}|{server.server_root}|{sorted(where)}|{group.name}"
    if application_group:
        identity += f"|{application_group}"
    prefix = Path(server.socket_prefix).name if server.socket_prefix else "wsgi"
    return f"{prefix}.{hashlib.sha1(identity.encode()).hexdigest()[:12]}"


@dataclass
class GroupSocket:
    group: DaemonGroup
    path: str
    sock: socket.socket
    lock_fd: int
    inode: int = 0  # of the socket file we bound: a file put in its place is not ours

    def present(self) -> bool:
        """Whether our socket file is still where front ends look for it."""
        try:
            return os.lstat(self.path).st_ino == self.inode
        except OSError:
            return False

    def abandon(self) -> None:
        """Close our copies, leaving the path alone (it names a new socket now).

        The daemon processes still hold the listener; it goes when they do.
        """
        self.sock.close()
        os.close(self.lock_fd)

    def close(self) -> None:
        """Only when the group is removed or the server stops: queued clients are reset."""
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self.lock_fd)


def open_group_socket(
    server: Server,
    group: DaemonGroup,
    directory: Path,
    where: list[str],
    front_end: privileges.Identity | None = None,
    application_group: str = "",
) -> GroupSocket:
    """The group's listening socket, which only the front end's user may connect to.

    ``front_end`` is who the front-end workers run as when that is not us
    (started as root): the socket becomes theirs, still 0600. ``directory``
    (from ``runtime_dir``) already lets them pass through to it.
    """
    name = socket_name(server, group, where, application_group)
    path = str(directory / (name + ".sock"))
    if len(path.encode()) > 107:
        raise GroupError(f"socket path {path} is too long for a UNIX socket; set WSGISocketPrefix")
    lock_fd = os.open(
        str(directory / (name + ".lock")),
        os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW,
        0o600,
    )
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock_fd)
        raise GroupError(
            f"the socket of daemon group {group.name!r} ({path}) is in use by another wsgihost"
        ) from None
    try:
        os.unlink(path)  # left over from a server that died; we hold the lock now
    except FileNotFoundError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # created 0600: only the front end's user may connect
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    if front_end is not None and front_end.uid != os.getuid():
        os.chown(path, front_end.uid, front_end.gid)
    sock.listen(group.listen_backlog)
    sock.setblocking(False)
    return GroupSocket(group, path, sock, lock_fd, os.lstat(path).st_ino)


def somaxconn() -> int | None:
    try:
        return int(Path("/proc/sys/net/core/somaxconn").read_text())
    except (OSError, ValueError):
        return None


def library_files() -> list[str]:
    """The modules a daemon process imports, relative to the package: standard library only."""
    package = Path(wsgihost.__file__).parent
    return [
        "__init__.py",
        "compiled.py",
        "errorformat.py",
        "errorpages.py",
        "logs.py",
        "memory.py",
        "privileges.py",
        "proctitle.py",
    ] + [
        f"{sub}/{p.name}"
        for sub in ("wsgi", "daemon")
        for p in sorted((package / sub).glob("*.py"))
    ]


def library_extensions() -> list[tuple[Path, str]]:
    """The compiled build's extension modules of the library's modules, with
    mypyc's shared runtime module (top level, beside the package): (file, its
    path in the library). They travel with the ``.py`` files: a daemon on this
    interpreter's ABI imports them, one on another Python the ``.py`` files."""
    runtime = compiled.runtime_path()
    if runtime is None:
        return []
    package = Path(wsgihost.__file__).parent
    files = [(Path(runtime), Path(runtime).name)]
    for name in library_files():
        extension = compiled.extension_path(name.removesuffix(".py").replace("/", "."))
        if extension is not None:
            path = Path(extension)
            files.append((path, "wsgihost/" + path.relative_to(package).as_posix()))
    return files if len(files) > 1 else []


def install_library(directory: Path) -> Path:
    """Copy the standard-library-only modules for daemon processes (with their
    compiled extension modules, if built); return the path root."""
    package = Path(wsgihost.__file__).parent
    copies = [(package / name, "wsgihost/" + name) for name in library_files()]
    copies += library_extensions()
    digest = hashlib.sha1()
    for source, name in copies:
        digest.update(name.encode())
        digest.update(source.read_bytes())
    root = directory / f"lib-{digest.hexdigest()[:12]}"
    if root.is_symlink():
        root.unlink()
    elif root.exists() and not _ours(root):
        shutil.rmtree(root, ignore_errors=True)
    if not (root / "wsgihost" / "daemon" / "process.py").exists():
        staging = Path(tempfile.mkdtemp(dir=directory, prefix="lib-tmp-"))
        for source, name in copies:
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        # Compiled here, once: a daemon that runs as another user (or under
        # PYTHONDONTWRITEBYTECODE) cannot cache them itself, and compiling them at
        # every start delays each process of a roll (tens of ms each). Another
        # Python, or -O, compiles its own as before.
        compileall.compile_dir(staging, quiet=2)
        # Modes set outright, whatever the umask: readable by a group's
        # user= (daemons may drop privileges), writable by us alone.
        for path in [staging, *staging.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        try:
            staging.rename(root)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another master made it first
    return root


def _ours(root: Path) -> bool:
    """Every file and folder under ``root`` is ours, no link, writable by no one else."""
    for path in [root, *root.rglob("*")]:
        st = path.lstat()
        if st.st_uid != os.getuid() or stat.S_IMODE(st.st_mode) & 0o022 or stat.S_ISLNK(st.st_mode):
            return False
    return True


def interpreter(server: Server, group: DaemonGroup) -> str:
    """The group's Python: its python-home's, WSGIPythonHome's, else the server's."""
    home = group.python_home or server.python_home
    if home:
        for name in ("python", "python3"):
            candidate = Path(home) / "bin" / name
            if candidate.exists():
                return str(candidate)
        raise GroupError(f"python-home {home} of group {group.name!r} has no bin/python")
    return sys.executable


def python_options(server: Server) -> list[str]:
    """The interpreter options for WSGIPythonOptimize, WSGIDontWriteBytecode and
    WSGIPythonWarnings, as mod_wsgi sets them before it starts Python."""
    options = ["-" + "O" * server.python_optimize] if server.python_optimize else []
    if server.dont_write_bytecode:
        options.append("-B")
    for warning in server.python_warnings:
        options += ["-W", warning]
    return options


def environment(server: Server, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a group's interpreter starts with: the server's, as mod_wsgi's
    interpreter has it, without wsgihost's own folder in ``PYTHONPATH`` (the
    server may need it there to run; the app would see it on ``sys.path``), and
    with ``PYTHONHASHSEED`` when WSGIPythonHashSeed gives one (``PYTHON_EGG_CACHE``
    when WSGIPythonEggs does)."""
    env = dict(os.environ if base is None else base)
    own = os.path.dirname(os.path.dirname(os.path.abspath(wsgihost.__file__)))
    if "PYTHONPATH" in env:
        kept = [
            p
            for p in env["PYTHONPATH"].split(os.pathsep)
            if p and os.path.abspath(p) not in (own, os.path.realpath(own))
        ]
        if kept:
            env["PYTHONPATH"] = os.pathsep.join(kept)
        else:
            del env["PYTHONPATH"]
    if server.python_eggs:
        env["PYTHON_EGG_CACHE"] = server.python_eggs  # WSGIPythonEggs (python-eggs= wins)
    if server.python_hash_seed is not None:
        env["PYTHONHASHSEED"] = (
            "random" if server.python_hash_seed == "random" else str(server.python_hash_seed)
        )
    return env


def _uid_of(user: str | None, group: str | None) -> int:
    """Who a child runs as: ``user`` when started as root, else whoever we are."""
    if os.getuid() != 0:
        return os.getuid()
    try:
        identity = privileges.resolve(user, group)
    except (KeyError, ValueError):
        return os.getuid()  # the process itself says so when it cannot drop to it
    return os.getuid() if identity is None else identity.uid


def _user_uid(server: Server) -> int:
    """Whose user ``User`` names (the front ends' when started as root); without
    one, ours, as the front ends then run as we do."""
    try:
        identity = privileges.resolve(server.user, None) if server.user else None
    except (KeyError, ValueError):
        identity = None
    return os.getuid() if identity is None else identity.uid


NO_HOME = "~"  # working_directory's answer for a user with no passwd entry


def working_directory(server: Server, group: DaemonGroup) -> str | None:
    """Where a group's processes start, by mod_wsgi 4.9's rule; None: the server's own.

    ``home=`` if given; else, when the group runs as another user than
    ``User`` names (``user=``; or, not started as root, a ``User`` that is not
    us), that user's home directory; else the server's working directory, the
    one the front-end workers have too (Apache's is ``/`` when it is started
    as a service). ``NO_HOME`` when that user has no passwd entry.
    """
    if group.home:
        return group.home
    runs_as = _uid_of(*daemon_user(server, group))
    if runs_as == _user_uid(server):
        return None
    try:
        return pwd.getpwuid(runs_as).pw_dir
    except KeyError:
        return NO_HOME


def working_directory_problem(server: Server, group: DaemonGroup) -> str | None:
    """Why a group's processes could not enter their working directory, or None."""
    path = working_directory(server, group)
    if path is None or (path != NO_HOME and os.path.isdir(path)):
        return None
    if path == NO_HOME:
        what = "its user has no home directory (no passwd entry)"
    else:
        why = "home=" if group.home else "the home directory of its user, who is not User"
        what = f"its working directory {path} ({why}, as mod_wsgi chooses it) does not exist"
    return f"daemon group {group.name!r} cannot start: {what}; tried again when it does"


def command(
    python: str,
    lib: Path,
    listen_fd: int,
    channel_fd: int,
    title: str,
    options: list[str] | None = None,
) -> list[str]:
    """The daemon's command line: the title is an argument, so ``ps`` shows it."""
    return [
        python,
        *(options or []),
        str(lib / "wsgihost" / "daemon" / "bootstrap.py"),
        "--listen",
        str(listen_fd),
        "--channel",
        str(channel_fd),
        "--",
        title,
    ]


def title_for(group: DaemonGroup) -> str:
    if group.display_name:
        return group.display_name.replace("%{GROUP}", f"(wsgi:{group.name})")
    return f"wsgihost: daemon {group.name}"


def daemon_settings(
    server: Server, spec: DaemonGroup, scripts: list[tuple[str, str]], peer_uids: list[int]
) -> dict[str, object]:
    """What the master hands a new daemon process of ``spec`` (as JSON on its channel).

    ``scripts`` are the (script, callable) pairs its set imports before READY;
    ``peer_uids`` who may connect to it (the front end's user).
    """
    main_log = server.main.error_log or server.logging.error_log
    return {
        "group": spec.name,
        "threads": spec.threads,
        "multiprocess": spec.multiprocess or spec.processes > 1,
        "maximum_requests": spec.maximum_requests,
        "socket_timeout": spec.socket_timeout,
        "queue_timeout": spec.queue_timeout,
        "request_timeout": spec.request_timeout,
        "inactivity_timeout": spec.inactivity_timeout,
        "memory_limit": spec.memory_limit,
        "virtual_memory_limit": spec.virtual_memory_limit,
        "cpu_time_limit": spec.cpu_time_limit,
        "graceful_timeout": spec.graceful_timeout,
        "shutdown_timeout": spec.shutdown_timeout,
        "python_path": [*spec.python_path, *server.python_path],
        "home": spec.home,
        "cwd": working_directory(server, spec),
        "hash_seed_set": server.python_hash_seed is not None,
        "lang": spec.lang,
        "locale": spec.locale,
        "umask": spec.umask,
        # user=/group= or else User/Group, as mod_wsgi (root only acts on them).
        "user": daemon_user(server, spec)[0],
        "unix_group": daemon_user(server, spec)[1],
        "peer_uids": peer_uids,
        "script_user": spec.script_user,
        "script_group": spec.script_group,
        "scripts": scripts,
        # The processes' own output goes to the log of the host that
        # defines the group; wsgi.errors to the log of the request's host
        # (the front end names it), opened among request_error_logs.
        "error_log": spec.error_log or main_log,
        "log_level": spec.log_level or server.logging.level,
        "main_error_log": main_log,
        "main_log_level": server.logging.level,
        "request_error_logs": list(spec.request_error_logs),
        # ErrorLogFormat of the host that defines the group (None: Apache's lines).
        "error_log_format": _group_error_format(server, spec),
        "report_modules": server.reload_on_changes,
        # WSGIRestrictStdin/Stdout/Signal; switch-interval, else WSGISwitchInterval.
        "restrict_stdin": server.restrict_stdin,
        "restrict_stdout": server.restrict_stdout,
        "restrict_signal": server.restrict_signal,
        "switch_interval": spec.switch_interval or server.switch_interval,
        "python_eggs": spec.python_eggs or server.python_eggs,
        "cpu_priority": spec.cpu_priority,
        "stack_size": spec.stack_size,
        "destroy_interpreter": server.destroy_interpreter,
    }


def process_sets(server: Server) -> tuple[dict[str, plan.ProcessSet], list[str]]:
    """The daemon process sets a configuration wants (one per daemon group and
    application group), and why it cannot have them (WSGIApplicationGroupLimit)."""
    reached = Router(server).process_sets()
    names = [g.name for g in server.groups]
    return plan.process_sets(names, reached, server.application_group_limit, set_key)


def _group_error_format(server: Server, spec: DaemonGroup) -> str | None:
    """The ErrorLogFormat of the host that defines ``spec`` (found by its ServerName)."""
    for host in server.vhosts:
        if spec.server_name and host.server_name == spec.server_name:
            return server.error_log_format(host)
    return server.error_log_format(server.main)
