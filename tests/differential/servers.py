"""Apache + mod_wsgi and wsgihost, started side by side on one site file.

The tree both serve is built once per session in a world-readable temporary
folder (``Tree``): Apache's children and the daemon processes run as
``www-data``, which must be able to reach the site, the apps and the Python
packages, while pytest's own temporary folders and the repository may sit
under folders only root can enter.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAIN_CONF = HERE / "main.conf"
APACHE = Path("/usr/sbin/apache2")
MOD_WSGI = Path("/usr/lib/apache2/modules/mod_wsgi.so")
SYSTEM_PYTHON = Path("/usr/bin/python3")

# The packages Django and Flask need at run time. Apache's mod_wsgi embeds
# Debian's /usr/bin/python3 (3.11.2), which cannot see the test venv, and the
# venv sits under /root (0700), which www-data cannot enter: copying them into
# the world-readable site folder and naming it in python-path= lets both
# servers' apps import the very same code.
FRAMEWORK_PACKAGES = (
    "django",
    "asgiref",
    "sqlparse",
    "flask",
    "werkzeug",
    "jinja2",
    "markupsafe",
    "itsdangerous",
    "click",
    "blinker",
)


def apache_available() -> bool:
    """True when Debian's apache2 and mod_wsgi are installed (and not hidden with
    WSGIHOST_DIFF_NO_APACHE=1, which runs the suite as on a machine without them)."""
    if os.environ.get("WSGIHOST_DIFF_NO_APACHE", "") not in ("", "0"):
        return False
    return APACHE.exists() and MOD_WSGI.exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Tree:
    """The temporary folder: ``site/`` (site.conf, apps, pylib) shared by both servers,
    and one folder of its own per server (its ServerRoot: logs and run files)."""

    root: Path
    site_file: Path = HERE / "site.conf"

    @property
    def site(self) -> Path:
        return self.root / "site"

    @classmethod
    def build(cls, site_file: Path | None = None) -> Tree:
        """The tree, serving ``site_file`` (``site.conf`` unless a topic has its own)."""
        # Under /tmp whatever TMPDIR says: the path's length shows in recorded answers.
        folder = tempfile.mkdtemp(prefix="wsgihost-diff-", dir="/tmp")
        tree = cls(Path(folder), site_file or HERE / "site.conf")
        try:
            tree._fill()
        except BaseException:
            tree.remove()
            raise
        return tree

    def _fill(self) -> None:
        self.root.chmod(0o755)
        self.site.mkdir(mode=0o755)
        shutil.copy(self.site_file, self.site / "site.conf")
        # A main configuration of the tree's own: wsgihost keys its control socket
        # on the configuration's path, so two trees (two topics, or two engineers'
        # runs) on one shared file could not run at once.
        shutil.copy(MAIN_CONF, self.main_conf)
        shutil.copytree(HERE / "apps", self.site / "apps", ignore=_NO_CACHE)
        _copy_packages(FRAMEWORK_PACKAGES, self.site / "pylib")
        # wsgihost itself and its dependencies, for SYSTEM_PYTHON (see start_wsgihost).
        _copy_packages(("wsgihost", "uvloop", "httptools", "bcrypt"), self.root / "serverlib")
        subprocess.run(["chmod", "-R", "a+rX", str(self.root)], check=True)

    @property
    def main_conf(self) -> Path:
        return self.root / "main.conf"

    def server_root(self, name: str) -> Path:
        path = self.root / name
        for sub in ("logs", "run"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        path.chmod(0o755)
        return path

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


_NO_CACHE = shutil.ignore_patterns("__pycache__", "*.pyc")


def _copy_packages(names: tuple[str, ...], into: Path) -> None:
    """Copy the installed packages ``names`` (as this interpreter finds them) into a folder."""
    into.mkdir()
    for name in names:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.submodule_search_locations, name
        source = Path(next(iter(spec.submodule_search_locations)))
        shutil.copytree(source, into / name, ignore=_NO_CACHE)
        # The compiled build's shared runtime module (mypyc's) lives beside the package.
        for runtime in source.parent.glob(f"{name}__mypyc.*"):
            shutil.copy2(runtime, into)


@dataclass
class Server:
    """One server process (Apache or wsgihost) in a session of its own."""

    name: str
    root: Path
    port: int
    proc: subprocess.Popen[bytes]
    output: Path
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def log(self, name: str) -> str:
        """The text of ``logs/NAME`` ('' if it does not exist yet)."""
        try:
            return (self.logs / name).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def all_logs(self) -> dict[str, str]:
        return {p.name: p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log"))}

    def connect(self, timeout: float = 30.0) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Poll the port until it accepts; fail with the server's output if it exited."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.say()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not listen on {self.port}:\n{self.say()}")

    def say(self) -> str:
        """What the server printed, and its main error log."""
        return self.output.read_text(errors="replace") + self.log("error.log")

    def stop(self) -> None:
        """SIGTERM to the server's process group, then SIGKILL to whatever is left.

        Apache's children share its group; wsgihost's live in groups of their
        own and are stopped by the master (and exit if it dies).
        """
        pgid = self.proc.pid
        if self.proc.poll() is None:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.proc.poll() is None:
            self.proc.wait(5)


def start(name: str, argv: list[str], tree: Tree, env: dict[str, str] | None = None) -> Server:
    """Start ``argv`` with the site's environment (DIFF_ROOT, DIFF_SITE, DIFF_PORT),
    from the site folder, so the working directory a daemon inherits is the same."""
    root = tree.server_root(name)
    port = free_port()
    # A second free port, for a topic that listens for TLS too (sites/tls.conf).
    tls_port = free_port()
    env = {
        **os.environ,
        "DIFF_ROOT": str(root),
        "DIFF_SITE": str(tree.site),
        "DIFF_PORT": str(port),
        "DIFF_TLS_PORT": str(tls_port),
        # Listings date files in local time on both sides; the recordings are UTC's.
        "TZ": "UTC",
        **(env or {}),
    }
    output = root / "output.txt"
    with open(output, "wb") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=tree.site,
            env=env,
            start_new_session=True,
        )
    server = Server(name, root, port, proc, output, {"tls_port": str(tls_port)})
    try:
        server.wait_ready()
    except BaseException:
        server.stop()
        raise
    return server


def start_apache(tree: Tree, env: dict[str, str] | None = None) -> Server:
    argv = [str(APACHE), "-f", str(tree.main_conf), "-DFOREGROUND"]
    return start("apache", argv, tree, env)


def _same_python(python: Path) -> bool:
    """Whether ``python`` exists and is this interpreter's version (the copied
    uvloop and httptools are built for it)."""
    if not python.exists():
        return False
    ask = [str(python), "-c", "import sys; print(sys.version_info[:2])"]
    said = subprocess.run(ask, capture_output=True, text=True, check=False).stdout.strip()
    return said == str(sys.version_info[:2])


def start_wsgihost(tree: Tree, env: dict[str, str] | None = None) -> Server:
    """wsgihost on the same main configuration Apache reads: it accepts every line
    of it (LoadModule and DefaultRuntimeDir with a warning), so no wrapper is needed.

    It runs on Debian's /usr/bin/python3, the interpreter mod_wsgi embeds, with
    the copies in ``serverlib`` on its path: its children run as www-data, and
    the test's own interpreter may live where www-data cannot read (pyenv under
    /root, 0700), so a daemon's first ``import logging`` would fail.
    """
    python = str(SYSTEM_PYTHON) if _same_python(SYSTEM_PYTHON) else sys.executable
    argv = [python, "-m", "wsgihost", "serve", "--config", str(tree.main_conf)]
    return start(
        "wsgihost", argv, tree, {**(env or {}), "PYTHONPATH": str(tree.root / "serverlib")}
    )
