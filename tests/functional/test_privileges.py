"""Privileges: a server started as root runs its sites as other users, and keeps them apart.

The master keeps root (ports, logs, daemon sockets, the open-files limit);
the front-end workers drop to ``User``/``Group``, each daemon group to its
``user=``/``group=`` (``User``/``Group`` when it names none, as mod_wsgi);
with no ``User`` they all run as the distribution's web user, with a
warning; ``serve --user/--group`` override ``User``/``Group``. Nothing but
the master runs as root. Only the front end's user may connect to a daemon
socket: the socket's owner and mode say so, and each daemon checks its
peer's credentials (SO_PEERCRED) before it reads a request. ``script-user``
refuses scripts owned by someone else with a 403. A start that fails
changes the mode of no directory, and the next one works.

The root-only tests use accounts every Debian system has (www-data, nobody,
daemon, games) and skip, saying why, when not run as root.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import resource
import shutil
import socket
import stat
import struct
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.functional.helpers import children, get, members, wait_for
from tests.functional.server import ServerProcess

pytestmark = pytest.mark.slow

ROOT = os.getuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="only a server started as root changes user")
# conftest.py keeps other tests' children root; these test the real default.
REAL_DEFAULT = {"WSGIHOST_KEEP_ROOT": ""}

# Reports who it runs as, and what happens when it connects to the socket paths it is given.
WHOAMI = textwrap.dedent(
    """
    import json, os, socket
    from urllib.parse import parse_qs

    def application(environ, start_response):
        tried = {}
        for path in parse_qs(environ.get("QUERY_STRING", "")).get("try", []):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                tried[path] = "connected"
            except OSError as e:
                tried[path] = type(e).__name__
            finally:
                s.close()
        body = json.dumps(
            {"uid": os.getuid(), "gid": os.getgid(), "pid": os.getpid(), "tried": tried}
        ).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    """
)

# Tries to connect to each path given, as whoever runs it.
CONNECT = textwrap.dedent(
    """
    import socket, sys
    for path in sys.argv[1:]:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            print(path, "connected")
        except OSError as e:
            print(path, type(e).__name__)
    """
)


def account(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        pytest.skip(f"this machine has no {name!r} account")


def group_of(user: pwd.struct_passwd) -> str:
    return grp.getgrgid(user.pw_gid).gr_name


def uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])  # the real uid; the others follow
    raise AssertionError(f"no Uid: line for {pid}")


def title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.fixture
def site() -> Iterator[Path]:
    """A directory everyone may read: the daemon users load their scripts from it."""
    path = Path(tempfile.mkdtemp(prefix="wsgihost-priv-"))
    path.chmod(0o755)
    yield path
    subprocess.run(["rm", "-rf", str(path)], check=False)


def write_site(site: Path, port: int, front: str, alpha: str, beta: str) -> Path:
    for name in ("alpha", "beta"):
        script = site / f"{name}.wsgi"
        script.write_text(WHOAMI)
        script.chmod(0o644)
    run = site / "run"  # made by the master, 0711: the users below pass through it
    config = site / "site.conf"
    config.write_text(
        textwrap.dedent(
            f"""
            Listen 127.0.0.1:{port}
            ServerName localhost
            User {front}
            Group {group_of(account(front))}
            ErrorLog {site}/error.log
            WSGISocketPrefix {run}/wsgi
            WSGIDaemonProcess alpha user={alpha} group={group_of(account(alpha))} threads=2
            WSGIDaemonProcess beta user={beta} group={group_of(account(beta))} threads=2
            WSGIScriptAlias /alpha {site}/alpha.wsgi process-group=alpha
            WSGIScriptAlias /beta {site}/beta.wsgi process-group=beta
            """
        )
    )
    return config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def two_users(site: Path) -> Iterator[tuple[ServerProcess, Path]]:
    account("www-data"), account("nobody"), account("daemon")
    config = write_site(site, free_port(), "www-data", "nobody", "daemon")
    server = ServerProcess(["serve", "--config", str(config)], REAL_DEFAULT).wait_listening()
    try:
        # Both groups ready: each has answered once.
        for path in ("/alpha", "/beta"):
            wait_for(lambda p=path: get(server, p).status == 200, 20, f"{path} to answer")
        yield server, site
    finally:
        server.close()


def whoami(server: ServerProcess, path: str, tries: list[str] = ()) -> dict:
    query = "&".join("try=" + quote(t, safe="") for t in tries)
    response = get(server, path + ("?" + query if query else ""))
    assert response.status == 200, response.body
    return json.loads(response.body)


def sockets(site: Path) -> list[str]:
    found = sorted(str(p) for p in (site / "run").glob("*.sock"))
    assert len(found) == 2, found
    return found


@needs_root
def test_each_daemon_group_runs_as_its_user_and_the_front_end_as_user(
    two_users: tuple[ServerProcess, Path],
) -> None:
    server, _site = two_users
    assert whoami(server, "/alpha")["uid"] == account("nobody").pw_uid
    assert whoami(server, "/alpha")["gid"] == account("nobody").pw_gid
    assert whoami(server, "/beta")["uid"] == account("daemon").pw_uid

    def front_end_uids() -> set[int]:
        fronts = [p for p in children(server.proc.pid) if "front-end worker" in title(p)]
        return {uid_of(p) for p in fronts}

    # A worker drops to User once its logs are open: poll, not one look.
    www = account("www-data").pw_uid
    wait_for(lambda: front_end_uids() == {www}, 10, "every front-end worker to run as www-data")
    assert uid_of(server.proc.pid) == 0  # the master keeps root


@needs_root
def test_only_the_front_ends_user_can_reach_the_daemon_sockets(
    two_users: tuple[ServerProcess, Path],
) -> None:
    server, site = two_users
    paths = sockets(site)
    for path in paths:
        st = os.stat(path)
        assert st.st_uid == account("www-data").pw_uid
        assert stat.S_IMODE(st.st_mode) == 0o600
    # Neither site's app can connect to the other's socket (nor to its own).
    for group in ("/alpha", "/beta"):
        tried = whoami(server, group, paths)["tried"]
        assert tried == {path: "PermissionError" for path in paths}, (group, tried)
    # Nor can another local user (with the system's Python: ours may sit in root's home).
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        pytest.skip("no system python3 for an unprivileged user to run")
    outsider = subprocess.run(
        [python, "-I", "-c", CONNECT, *paths],
        user="games",
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert outsider.stdout.split() == [w for p in paths for w in (p, "PermissionError")]
    assert get(server, "/alpha").status == 200  # and the sites still serve


@needs_root
def test_a_daemon_refuses_a_peer_that_is_not_the_front_end(
    two_users: tuple[ServerProcess, Path],
) -> None:
    server, site = two_users
    # Root passes the socket's permissions; the daemon's credential check still refuses.
    for path in sockets(site):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(path)
            payload = b"0"  # a REQUEST frame with no values
            try:
                s.sendall(struct.pack("!BI", 1, len(payload)) + payload)
                answer = s.recv(100)
            except (BrokenPipeError, ConnectionResetError):
                answer = b""  # closed before or after our request, unread
            assert answer == b"", "the daemon answered a peer it must refuse"
    log = site / "error.log"
    wait_for(lambda: log.read_text().count("refused a connection") >= 2, 10, "the refusals logged")
    assert "(uid 0)" in log.read_text()
    assert get(server, "/beta").status == 200


@needs_root
def test_the_master_raises_its_open_files_limit(two_users: tuple[ServerProcess, Path]) -> None:
    server, _site = two_users
    limits = Path(f"/proc/{server.proc.pid}/limits").read_text()
    line = next(x for x in limits.splitlines() if x.startswith("Max open files"))
    soft, hard = (int(v) for v in line.split()[3:5])
    # As far as allowed: the hard limit at least (higher where the kernel lets root).
    assert soft == hard >= resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def test_script_user_refuses_a_script_owned_by_someone_else(site: Path) -> None:
    me = pwd.getpwuid(os.getuid()).pw_name
    other = next(
        (p.pw_name for p in pwd.getpwall() if p.pw_uid != os.getuid() and p.pw_name != "root"),
        None,
    )
    if other is None:
        pytest.skip("this machine has no second account")
    script = site / "app.wsgi"
    script.write_text(WHOAMI)
    port = free_port()
    config = site / "site.conf"
    config.write_text(
        textwrap.dedent(
            f"""
            Listen 127.0.0.1:{port}
            ServerName localhost
            ErrorLog {site}/error.log
            WSGIDaemonProcess mine script-user={me} processes=1 threads=2
            WSGIDaemonProcess theirs script-user={other} processes=1 threads=2
            WSGIScriptAlias /mine {script} process-group=mine
            WSGIScriptAlias /theirs {script} process-group=theirs
            """
        )
    )
    server = ServerProcess(["serve", "--config", str(config)]).wait_listening()
    try:
        wait_for(lambda: get(server, "/mine").status == 200, 20, "/mine to answer")
        refused = get(server, "/theirs")
        assert refused.status == 403
        assert b"uid" not in refused.body  # the app never ran
        log = (site / "error.log").read_text()
        assert f"is not owned by user {other!r} (script-user)" in log
        assert get(server, "/mine").status == 200
    finally:
        server.close()
