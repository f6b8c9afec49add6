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
HOST = "127.0.0.1"
HELLO_BODY = b"Hello, World!\n"
INTERPRETER_PATH = "/__interpreter__"
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
    argv.append(app)
    return argv


# --------------------------------------------------------------------------- Apache


def find_apache() -> Path:
    found = shutil.which("apache2") or shutil.which("apache2", path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise Unavailable("apache2 is not installed (run with --install-peers)")
    needed = ("mod_mpm_event.so", "mod_authz_core.so", "mod_wsgi.so")
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


def apache_config(
    writer: str, run_dir: Path, port: int, processes: int, threads: int, wsgi: str, app_dir: Path
) -> str:
    """A self-contained httpd.conf: mpm_event with the budget, mod_wsgi as wsgi says."""
    total = processes * threads
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
LoadModule wsgi_module {APACHE_MODULES}/mod_wsgi.so

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


def fail(record: Record, server: RunningServer, reason: str) -> None:
    server.stop()
    record.status = "failed"
    record.reason = reason
    record.log_tail = tail(server.log_path)
    say(f"  {record.name} FAILED: {reason}")
    if record.log_tail:
        say("  last lines of its output:\n    " + record.log_tail.replace("\n", "\n    "))


# --------------------------------------------------------------------------- command line


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
    output_dir: Path, prefix: str, started: datetime, result: dict[str, Any], report: str
) -> Path:
    """The JSON to output_dir/prefix-TIME.json, the markdown report to stdout."""
    output_dir.mkdir(parents=True, exist_ok=True)
    out = output_dir / f"{prefix}-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(report)
    say(f"Results written to {out}")
    return out


def report_failed(records: Iterable[Record]) -> bool:
    """Says which servers failed; whether any did."""
    failed = [record.name for record in records if record.status == "failed"]
    if failed:
        say(f"FAILED: {', '.join(failed)} (see 'Not measured' above)")
    return bool(failed)
