"""What bench/run.py and bench/reload.py share: their servers' processes, Apache, the report.

A server runs in a process group of its own, is waited for (its port, its first answer)
and stopped by pid, leftover children included; Apache gets a self-contained httpd.conf
in a directory of its own. Also: the host's facts, the "Not measured" part of a report,
writing the results and the clean-up on SIGTERM/SIGHUP/Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
VENV_DIR = BENCH_DIR / ".peers" / "venv"
RESULTS_DIR = BENCH_DIR / "results"

APACHE_MODULES = Path("/usr/lib/apache2/modules")
UWSGI_PYTHON_PLUGIN = Path("/usr/lib/uwsgi/plugins/python3_plugin.so")
MB = 1_000_000  # memory and MB/s are in MB of 10^6 bytes
HOST = "127.0.0.1"
HELLO_BODY = b"Hello, World!\n"
INTERPRETER_PATH = "/__interpreter__"
IDLE_CONNECTIONS_ROOM = 1200  # connections every server can take at once (run.py's idle)
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
LISTENING_RE = re.compile(r"listening on http://(?:\[[^\]]*\]|[^\s:/]+):(?P<port>\d+)")

# Runs wsgihost's CLI from the interpreter under test, whether or not a console
# script was installed for it (the repository's src/ is put on PYTHONPATH).
WSGIHOST_BOOTSTRAP = (
    "import sys; sys.argv[0] = 'wsgihost'; from wsgihost.cli import main; sys.exit(main())"
)


class Unavailable(Exception):
    """A server cannot run on this machine (not installed); the message says why."""


class ServerFailed(Exception):
    """A server did not come up, answered wrongly or died; the message says why."""


@dataclass
class Launch:
    """How to start one server: the command, and where it will listen."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    port: int | None  # None: the server picks a port and prints "listening on ..."
    budget: str
    launcher: str


class Record(Protocol):
    """What both benchmarks note of a server (their ServerRecord dataclasses)."""

    name: str
    title: str
    status: str  # pending | ran | skipped | failed
    reason: str
    log_tail: str


# --------------------------------------------------------------------------- helpers


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def http_get(port: int, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def python_can_import(python: Path, module: str) -> bool:
    result = subprocess.run(
        [str(python), "-c", f"import {module}"],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def command_output(argv: Sequence[str]) -> str:
    """First line a command prints (on either stream), or "" when it cannot run."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = (result.stdout + result.stderr).strip().splitlines()
    return lines[0].strip() if lines else ""


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def default_python() -> Path:
    venv_python = VENV_DIR / "bin" / "python"
    return venv_python if venv_python.exists() else Path(sys.executable)


def prepend_path(value: str, existing: str | None) -> str:
    return value if not existing else f"{value}{os.pathsep}{existing}"


def host_facts() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python_running_bench": f"{sys.executable} {platform.python_version()}",
        "git_commit": command_output(["git", "-C", str(REPO_DIR), "rev-parse", "HEAD"]),
    }


def gunicorn_argv(
    python: Path,
    port: int,
    workers: int,
    worker_class: str,
    threads: int | None,
    chdir: Path,
    app: str,
    keepalive: int | None = None,
) -> list[str]:
    """gunicorn on HOST:port from python; threads None: no --threads (sync workers)."""
    argv = [
        str(python),
        "-m",
        "gunicorn",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        worker_class,
        "--log-level",
        "warning",
        "--chdir",
        str(chdir),
    ]
    if threads is not None:
        argv += ["--threads", str(threads)]
    if keepalive is not None:
        argv += ["--keep-alive", str(keepalive)]
    argv.append(app)
    return argv


def find_uwsgi(python: Path) -> Path:
    beside = python.parent / "uwsgi"  # pip install uwsgi into the --python venv
    found = str(beside) if os.access(beside, os.X_OK) else shutil.which("uwsgi")
    if not found:
        raise Unavailable(
            f"uWSGI is not installed (no uwsgi beside {python} or on PATH; run "
            "python bench/run.py --install-peers, which builds it with pip and needs a C "
            "compiler and Python's headers, or apt-get install uwsgi-core uwsgi-plugin-python3)"
        )
    return Path(found)


def uwsgi_argv(
    binary: Path, port: int, processes: int, threads: int, chdir: Path, script: Path
) -> list[str]:
    """uWSGI behind its HTTP router: one router process per app process, keep-alive on.

    The router (``--http``) speaks HTTP to clients and passes each request to the
    workers over a UNIX socket of uWSGI's own protocol: the same shape as Apache's
    children in front of mod_wsgi's daemon processes, or wsgihost's daemon mode.
    """
    # Debian's uwsgi-core has no Python built in; its plugin package provides it.
    plugin = (
        ["--plugin", "python3"] if UWSGI_PYTHON_PLUGIN.exists() and "/usr/" in str(binary) else []
    )
    return [
        str(binary),
        *plugin,
        "--master",
        "--http",
        f"{HOST}:{port}",
        "--http-processes",
        str(processes),
        "--http-keepalive",
        "--wsgi-file",
        str(script),
        "--processes",
        str(processes),
        "--threads",
        str(threads),
        "--need-app",
        "--die-on-term",  # SIGTERM stops uWSGI (older versions reload on it)
        "--disable-logging",
        "--auto-procname",  # "uWSGI master", "uWSGI worker 1", "uWSGI http 1": roles in ps
        "--chdir",
        str(chdir),
    ]


def granian_argv(
    python: Path,
    port: int,
    workers: int,
    threads: int,
    chdir: Path,
    app: str,
    extra: Sequence[str] = (),
) -> list[str]:
    """granian's WSGI interface: workers processes, each with threads blocking threads."""
    return [
        str(python),
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        # The Python threads that run the app in each worker; granian warns above
        # 2 x CPUs + 1 but allows it, so every server gets the same 15.
        "--blocking-threads",
        str(threads),
        "--no-ws",
        "--log-level",
        "warning",
        "--working-dir",
        str(chdir),
        *extra,
        app,
    ]


def waitress_argv(python: Path, port: int, threads: int, app: str) -> list[str]:
    """waitress: one process (it has no others) with threads threads."""
    return [
        str(python),
        "-m",
        "waitress",
        f"--listen={HOST}:{port}",
        f"--threads={threads}",
        # Its default of 100 connections would shut out wrk behind 1,000 idle ones.
        f"--connection-limit={IDLE_CONNECTIONS_ROOM}",
        # select() (its default) fails on descriptors past 1024: poll() does not.
        "--asyncore-use-poll",
        app,
    ]


# --------------------------------------------------------------------------- Apache


def find_apache() -> Path:
    found = shutil.which("apache2") or shutil.which("apache2", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise Unavailable("apache2 is not installed (run with --install-peers)")
    needed = (
        "mod_mpm_event.so",
        "mod_authz_core.so",
        "mod_alias.so",
        "mod_mime.so",
        "mod_wsgi.so",
    )
    missing = [name for name in needed if not (APACHE_MODULES / name).exists()]
    if missing:
        raise Unavailable(
            f"{', '.join(missing)} missing from {APACHE_MODULES} "
            "(libapache2-mod-wsgi-py3 not installed? run with --install-peers)"
        )
    return Path(found)


def apache_command(
    binary: Path, config: Path, run_dir: Path, env: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    """argv and environment for apache2 in the foreground, with config, everything in run_dir."""
    env = dict(env)
    # Debian's apache2 reads these through its envvars file; point them all at our dir.
    for variable in ("APACHE_RUN_DIR", "APACHE_LOCK_DIR", "APACHE_LOG_DIR"):
        env[variable] = str(run_dir)
    env["APACHE_PID_FILE"] = str(run_dir / "apache2.pid")
    env["APACHE_RUN_USER"] = env["APACHE_RUN_GROUP"] = "www-data"
    env["LANG"] = "C"
    return [str(binary), "-f", str(config), "-DFOREGROUND"], env


def apache_head(root: Path, modules: Sequence[str]) -> str:
    """The first lines of a bench script's Apache site file: its run folder, the
    user its children take when started as root, mpm_event and authz_core, then
    ``modules`` (names as in ``mod_NAME.so``)."""
    identity = "User www-data\nGroup www-data\n" if os.geteuid() == 0 else ""
    loads = "".join(
        f"LoadModule {name}_module {APACHE_MODULES}/mod_{name}.so\n"
        for name in ("mpm_event", "authz_core", *modules)
    )
    return (
        f'ServerRoot "{root}"\nDefaultRuntimeDir "{root}"\nPidFile "{root}/apache2.pid"\n'
        f"{identity}{loads}"
    )


def apache_config(
    writer: str, run_dir: Path, port: int, processes: int, threads: int, wsgi: str, app_dir: Path
) -> str:
    """A self-contained httpd.conf: mpm_event with the budget, mod_wsgi as wsgi says."""
    total = processes * threads
    async_factor = max(2, -(-IDLE_CONNECTIONS_ROOM // total))
    # Root may not serve requests with Debian's Apache; the children (and mod_wsgi's
    # daemon processes) switch to www-data, which can read the world-readable copy of
    # the app. A non-root Apache stays as is.
    identity = "User www-data\nGroup www-data\n" if os.geteuid() == 0 else ""
    return f"""\
# Written by {writer}; deleted afterwards.
ServerRoot "{run_dir}"
DefaultRuntimeDir "{run_dir}"
PidFile "{run_dir}/apache2.pid"
ErrorLog "{run_dir}/error.log"
LogLevel warn
ServerName {HOST}
Listen {HOST}:{port}
{identity}
LoadModule mpm_event_module {APACHE_MODULES}/mod_mpm_event.so
LoadModule authz_core_module {APACHE_MODULES}/mod_authz_core.so
LoadModule alias_module {APACHE_MODULES}/mod_alias.so
LoadModule mime_module {APACHE_MODULES}/mod_mime.so
LoadModule wsgi_module {APACHE_MODULES}/mod_wsgi.so
TypesConfig /etc/mime.types

# The budget: exactly {processes} child processes of {threads} request
# threads, in both modes. MinSpareThreads/MaxSpareThreads keep both children alive when idle.
StartServers {processes}
ServerLimit {processes}
ThreadLimit {threads}
ThreadsPerChild {threads}
MaxRequestWorkers {total}
MinSpareThreads {threads}
MaxSpareThreads {total}
MaxConnectionsPerChild 0
# How many connections a child takes is ThreadsPerChild plus this factor times its
# idle threads: raised from 2, so that 1,000 idle keep-alive connections fit in as
# they do for the other servers (no effect when every connection is busy).
AsyncRequestWorkerFactor {async_factor}

# Like the Python servers: no cap on requests per connection, no access log.
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5

{wsgi}
<Directory "{app_dir}">
    Require all granted
</Directory>
"""


# --------------------------------------------------------------------------- processes


class RunningServer:
    """One server process in its own process group, from start to a certain stop."""

    def __init__(self, name: str, launch: Launch, log_path: Path) -> None:
        self.name = name
        self.launch = launch
        self.log_path = log_path
        self.port = launch.port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.launch.argv,
                cwd=self.launch.cwd,
                env=self.launch.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: stopped as a whole, by id
            )
        deadline = time.monotonic() + timeout
        if self.port is None:
            self.port = self._wait_for_listening_line(deadline)
        while not accepts_connections(self.port):
            self._check_progress(deadline, f"port {self.port} to accept connections")
            time.sleep(0.1)
        self._check_hello(deadline)

    def _check_progress(self, deadline: float, waiting_for: str) -> None:
        assert self.process is not None
        code = self.process.poll()
        if code is not None:
            raise ServerFailed(f"exited with status {code} while waiting for {waiting_for}")
        if time.monotonic() > deadline:
            raise ServerFailed(f"timed out waiting for {waiting_for}")

    def _wait_for_listening_line(self, deadline: float) -> int:
        while True:
            match = LISTENING_RE.search(self.log_path.read_text(errors="replace"))
            if match:
                return int(match.group("port"))
            self._check_progress(deadline, "its 'listening on http://HOST:PORT' line")
            time.sleep(0.1)

    def _check_hello(self, deadline: float) -> None:
        assert self.port is not None
        while True:
            try:
                status, body = http_get(self.port, "/")
            except (OSError, http.client.HTTPException) as exc:
                self._check_progress(deadline, f"an answer to GET / (last error: {exc})")
                time.sleep(0.2)
                continue
            if status == 200 and body == HELLO_BODY:
                return
            raise ServerFailed(f"GET / answered {status} {body[:80]!r}, not 200 {HELLO_BODY!r}")

    def interpreter(self) -> dict[str, Any]:
        assert self.port is not None
        status, body = http_get(self.port, INTERPRETER_PATH)
        if status != 200:
            raise ServerFailed(f"GET {INTERPRETER_PATH} answered {status}")
        report: dict[str, Any] = json.loads(body)
        return report

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """SIGTERM to the server's main process, then SIGKILL to whatever of its group is left."""
        process = self.process
        if process is None:
            return
        # A second Ctrl-C must not cut the clean-up short; every wait below is bounded.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            self._stop(process)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        self.process = None

    def _stop(self, process: subprocess.Popen[bytes]) -> None:
        group = process.pid  # start_new_session made it the group leader
        # wsgihost puts its workers and daemon processes in process groups of their own,
        # out of reach of killpg: they are noted here, to be killed too if they linger.
        family = descendants(process.pid)
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                say(f"  {self.name}: no exit 15 s after SIGTERM, killing its group")
        # Children that outlive their parent get a few seconds, then SIGKILL.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (
            group_exists(group) or any(same_process(pid, start) for pid, start in family.items())
        ):
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
        for pid, start in family.items():
            if same_process(pid, start):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        process.wait()


def proc_stat(pid: int | str) -> tuple[int, str] | None:
    """(parent pid, start time) of a process, from /proc; None when it is gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after it.
    fields = text.rpartition(")")[2].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return int(fields[1]), fields[19]


def descendants(root: int) -> dict[int, str]:
    """{pid: start time} of every live descendant of root (Linux /proc; {} elsewhere)."""
    children: dict[int, list[tuple[int, str]]] = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                stat = proc_stat(entry.name)
                if stat is not None:
                    children.setdefault(stat[0], []).append((int(entry.name), stat[1]))
    found: dict[int, str] = {}
    pending = [root]
    while pending:
        for pid, start in children.get(pending.pop(), []):
            if pid not in found:
                found[pid] = start
                pending.append(pid)
    return found


def same_process(pid: int, start: str) -> bool:
    """Whether pid still is the process that started at start (not a reused pid)."""
    stat = proc_stat(pid)
    return stat is not None and stat[1] == start


def group_exists(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------- memory


def proc_text(pid: int, name: str) -> str:
    try:
        return Path(f"/proc/{pid}/{name}").read_text(errors="replace")
    except OSError:
        return ""


def rss_mb(pid: int) -> float | None:
    """A process's resident memory (VmRSS) in MB, or None when it is gone."""
    for line in proc_text(pid, "status").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / MB
    return None


def process_title(pid: int) -> str:
    """What ps shows: the command line (which some servers rewrite), else the short name."""
    title = proc_text(pid, "cmdline").replace("\0", " ").strip()
    return title or proc_text(pid, "comm").strip()


def process_role(family: str, pid: int, main_pid: int) -> str:
    """The part a process plays in its server, from its name (each server names its own)."""
    comm = proc_text(pid, "comm").strip()
    title = process_title(pid)
    if family == "wsgihost":
        if comm == "wsgihost:master" or pid == main_pid:
            return "master"
        if comm == "wsgihost:front" or "front-end worker" in title:
            return "front-end worker"
        if "wsgihost: daemon" in title:
            return "daemon process"
        return "other"
    if family == "apache":
        if pid == main_pid:
            return "parent"
        # display-name=%{GROUP} names mod_wsgi's daemon processes "(wsgi:GROUP)".
        return "mod_wsgi daemon process" if title.startswith("(wsgi:") else "child (mpm_event)"
    if family == "uwsgi":
        for prefix, role in (
            ("uWSGI master", "master"),
            ("uWSGI http", "http router"),
            ("uWSGI worker", "worker"),
        ):
            if title.startswith(prefix):
                return role
        return "master" if pid == main_pid else "other"
    if family == "waitress":
        return "server" if pid == main_pid else "other"
    return ("main" if family == "granian" else "master") if pid == main_pid else "worker"


def memory_snapshot(family: str, main_pid: int) -> list[dict[str, Any]]:
    """[{pid, role, rss_mb, title}] for the server's main process and all its descendants."""
    snapshot = []
    for pid in [main_pid, *sorted(descendants(main_pid))]:
        rss = rss_mb(pid)
        if rss is not None:
            snapshot.append(
                {
                    "pid": pid,
                    "role": process_role(family, pid, main_pid),
                    "rss_mb": round(rss, 2),
                    "title": process_title(pid)[:120],
                }
            )
    return snapshot


def python_rss_with_app(python: Path, script: Path) -> float | None:
    """RSS in MB of a bare python that has loaded script: the app's own share of a process."""
    code = (
        "import runpy, sys; runpy.run_path(sys.argv[1]); "
        "print([l for l in open('/proc/self/status') if l.startswith('VmRSS:')][0].split()[1])"
    )
    line = command_output([str(python), "-c", code, str(script)])
    return int(line) * 1024 / MB if line.isdigit() else None


# --------------------------------------------------------------------------- versions


PACKAGE_VERSIONS = (
    "import importlib.metadata as m, json, platform\n"
    "found = {'python': platform.python_version()}\n"
    "for name in ('gunicorn', 'uWSGI', 'granian', 'waitress', 'uvloop', 'httptools', "
    "'matplotlib'):\n"
    "    try:\n"
    "        found[name.lower()] = m.version(name)\n"
    "    except m.PackageNotFoundError:\n"
    "        pass\n"
    "print(json.dumps(found))"
)


def software_versions(python: Path) -> dict[str, str]:
    """Versions of everything measured: the interpreters, Apache, mod_wsgi, the peers, wrk."""
    versions: dict[str, str] = {}
    with contextlib.suppress(ValueError):
        found = json.loads(command_output([str(python), "-c", PACKAGE_VERSIONS]) or "{}")
        versions.update({key: str(value) for key, value in found.items()})
    versions["python"] = f"{versions.get('python', '?')} ({python})"
    versions["python_mod_wsgi"] = command_output(
        ["/usr/bin/python3", "-c", "import sys; print(sys.version.split()[0])"]
    )
    with contextlib.suppress(Unavailable):
        versions["apache"] = command_output([str(find_apache()), "-v"]).removeprefix(
            "Server version: "
        )
    versions["mod_wsgi"] = command_output(
        ["dpkg-query", "-W", "-f=${Version}", "libapache2-mod-wsgi-py3"]
    )
    with contextlib.suppress(Unavailable):
        versions["uwsgi"] = command_output([str(find_uwsgi(python)), "--version"])
    src = str(REPO_DIR / "src")
    code = f"import sys; sys.path.insert(0, {src!r}); import wsgihost; print(wsgihost.__version__)"
    versions["wsgihost"] = command_output([str(python), "-c", code])
    versions["wrk"] = command_output(["wrk", "--version"]).split(" Copyright")[0]
    return {key: value for key, value in versions.items() if value}


def raise_open_files(wanted: int) -> None:
    """Raise this process's soft RLIMIT_NOFILE to wanted (the servers started inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    if limit < wanted:
        say(f"open files limited to {limit} (hard limit); wanted {wanted}")


def fail(record: Record, server: RunningServer, reason: str) -> None:
    server.stop()
    record.status = "failed"
    record.reason = reason
    record.log_tail = tail(server.log_path)
    say(f"  {record.name} FAILED: {reason}")
    if record.log_tail:
        say("  last lines of its output:\n    " + record.log_tail.replace("\n", "\n    "))


# --------------------------------------------------------------------------- command line


def add_server_options(
    parser: argparse.ArgumentParser, names: Sequence[str], default: Sequence[str], python_runs: str
) -> None:
    """The options a one-purpose benchmark shares with the others.

    --servers (a subset of names, default default), the budget (--processes,
    --threads), --python (python_runs says what it runs), --startup-timeout and
    --output-dir. check_servers checks --servers once parsed.
    """
    add = parser.add_argument
    add(
        "--servers",
        default=",".join(default),
        help=f"comma-separated subset of: {', '.join(names)} (default: %(default)s)",
    )
    add("--processes", type=int, default=2, help="processes per server (%(default)s)")
    add("--threads", type=int, default=15, help="threads per process (%(default)s)")
    add(
        "--python",
        type=Path,
        help=f"interpreter for {python_runs} "
        f"(default: {VENV_DIR.relative_to(REPO_DIR)}/bin/python if it exists, else this one)",
    )
    add("--startup-timeout", type=float, default=30.0, help="seconds to come up (%(default)s)")
    add(
        "--output-dir",
        type=Path,
        default=RESULTS_DIR,
        help="where the JSON and the markdown go (default: %(default)s)",
    )


def check_servers(parser: argparse.ArgumentParser, servers: str, names: Sequence[str]) -> None:
    unknown = set(servers.split(",")) - set(names)
    if unknown:
        parser.error(f"unknown server(s): {', '.join(sorted(unknown))}")


def chosen_python(python: Path | None) -> Path | None:
    """--python as given (absolute), or the default; None (and said) when it cannot run."""
    # Absolute, but not resolved: a venv's python is a symlink out of the venv.
    chosen = Path(os.path.abspath(python)) if python else default_python()
    if not os.access(chosen, os.X_OK):
        say(f"--python {chosen}: no such interpreter")
        return None
    return chosen


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def stop_on_signals() -> None:
    for signum in (signal.SIGTERM, signal.SIGHUP):  # so that the clean-up runs for these too
        signal.signal(signum, _interrupt)


def entry_point(main: Callable[[], int], interrupted: str) -> None:
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say(interrupted)
        sys.exit(130)


# --------------------------------------------------------------------------- report


def settings_json(settings: Any) -> dict[str, Any]:
    """A settings dataclass as JSON-ready values (paths as strings)."""
    return {
        key: str(value) if isinstance(value, Path) else value
        for key, value in asdict(settings).items()
    }


def not_measured(records: Iterable[Record]) -> list[str]:
    """The report's "Not measured" section: every server that did not run, and why."""
    others = [record for record in records if record.status != "ran"]
    if not others:
        return []
    lines = ["", "### Not measured", ""]
    for record in others:
        line = f"- {record.title}: **{record.status}**: {record.reason}"
        last_output = record.log_tail.splitlines()[-1:] if record.log_tail else []
        if record.status == "failed" and last_output:
            line += f"; its last output: `{last_output[0].strip()}`"
        lines.append(line)
    return lines


def publish(
    output_dir: Path,
    prefix: str,
    started: datetime,
    result: dict[str, Any],
    report: str,
    echo: bool = True,
) -> Path:
    """The JSON and the markdown report to output_dir/prefix-TIME.json and .md.

    With echo, the report also goes to stdout.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    out = output_dir / f"{prefix}-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(report)
    if echo:
        print(report)
    say(f"Results written to {out} and {out.with_suffix('.md').name}")
    return out


def report_failed(records: Iterable[Record]) -> bool:
    """Says which servers failed; whether any did."""
    failed = [record.name for record in records if record.status == "failed"]
    if failed:
        say(f"FAILED: {', '.join(failed)} (see 'Not measured' above)")
    return bool(failed)
