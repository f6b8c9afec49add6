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
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.functional.helpers import children, free_port, get, members, wait_for
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
    # home=: a group whose user is not User starts in that user's home, as under
    # mod_wsgi, and nobody's (/nonexistent) does not exist.
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
            WSGIDaemonProcess alpha user={alpha} group={group_of(account(alpha))} \
                threads=2 home={site}
            WSGIDaemonProcess beta user={beta} group={group_of(account(beta))} \
                threads=2 home={site}
            WSGIScriptAlias /alpha {site}/alpha.wsgi process-group=alpha
            WSGIScriptAlias /beta {site}/beta.wsgi process-group=beta
            """
        )
    )
    return config


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


# -- who each process runs as, by default and when told ---------------------------------


def gid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Gid:"):
            return int(line.split()[1])
    raise AssertionError(f"no Gid: line for {pid}")


def identities(server: ServerProcess, groups: list[str]) -> dict[str, set[tuple[int, int]]]:
    """(uid, gid) of the processes of each role: "front", or a daemon group's name."""
    found: dict[str, set[tuple[int, int]]] = {}
    for pid, kind in members(server.proc.pid).items():
        name = next((g for g in groups if f"wsgihost: daemon {g}" in title(pid)), kind)
        try:
            found.setdefault(name, set()).add((uid_of(pid), gid_of(pid)))
        except (OSError, AssertionError):
            pass  # it exited meanwhile
    return found


def ids(user: str, group: str | None = None) -> tuple[int, int]:
    entry = account(user)
    return entry.pw_uid, grp.getgrnam(group).gr_gid if group else entry.pw_gid


def wait_identities(
    server: ServerProcess, wanted: dict[str, set[tuple[int, int]]], processes: int
) -> None:
    """Every process of every role as ``wanted`` (workers drop once their logs are open)."""

    def settled() -> bool:
        if len(members(server.proc.pid)) < processes:
            return False
        return identities(server, [k for k in wanted if k != "front"]) == wanted

    try:
        wait_for(settled, 20, f"the processes to run as {wanted}")
    except AssertionError:
        raise AssertionError(f"{identities(server, list(wanted))} != {wanted}") from None
    # Nothing but the master runs as root.
    assert uid_of(server.proc.pid) == 0
    assert all(uid_of(p) != 0 for p in members(server.proc.pid))


def isolated(site: Path) -> dict[str, str]:
    """The environment of a server with a runtime directory of its own, and the real default."""
    xdg = site / "xdg"
    xdg.mkdir(mode=0o755, exist_ok=True)
    return {**REAL_DEFAULT, "XDG_RUNTIME_DIR": str(xdg)}


def three_roles(site: Path, head: str) -> Path:
    """A site with an embedded app, a group with user=nobody and one with no user=."""
    script = site / "who.wsgi"
    script.write_text(WHOAMI)
    script.chmod(0o644)
    config = site / "site.conf"
    config.write_text(
        f"Listen 127.0.0.1:{free_port()}\nServerName localhost\nErrorLog {site}/error.log\n"
        + textwrap.dedent(head)
        + textwrap.dedent(
            f"""
            StartServers 2
            WSGIDaemonProcess own user=nobody processes=1 threads=2 home={site}
            WSGIDaemonProcess follows processes=2 threads=2
            WSGIScriptAlias /front {script}
            WSGIScriptAlias /own {script} process-group=own
            WSGIScriptAlias /follows {script} process-group=follows
            """
        )
    )
    return config


def serving(server: ServerProcess) -> None:
    for path in ("/front", "/own", "/follows"):
        wait_for(lambda p=path: get(server, p).status == 200, 20, f"{path} to answer")


@needs_root
def test_groups_without_user_run_as_user_and_group_as_in_mod_wsgi(site: Path) -> None:
    config = three_roles(site, "User www-data\nGroup www-data\n")
    server = ServerProcess(["serve", "--config", str(config)], isolated(site)).wait_listening()
    try:
        serving(server)
        www = ids("www-data", "www-data")
        # user= alone keeps Group, as mod_wsgi (its gid defaults to Apache's Group).
        own = ids("nobody", "www-data")
        assert (whoami(server, "/front")["uid"], whoami(server, "/front")["gid"]) == www
        assert (whoami(server, "/own")["uid"], whoami(server, "/own")["gid"]) == own
        assert (whoami(server, "/follows")["uid"], whoami(server, "/follows")["gid"]) == www
        wait_identities(server, {"front": {www}, "own": {own}, "follows": {www}}, 5)
        assert "started as root with no User" not in (site / "error.log").read_text()
    finally:
        server.close()


@needs_root
def test_started_as_root_with_no_user_everything_runs_as_the_web_user(site: Path) -> None:
    config = three_roles(site, "")
    server = ServerProcess(["serve", "--config", str(config)], isolated(site)).wait_listening()
    try:
        serving(server)
        www = ids("www-data")
        wait_identities(
            server, {"front": {www}, "own": {ids("nobody", "www-data")}, "follows": {www}}, 5
        )
        log = site / "error.log"
        assert log.read_text().count("started as root with no User") == 1
        warning = next(line for line in log.read_text().splitlines() if "no User" in line)
        assert "[wsgihost:warn]" in warning and "'www-data'" in warning and "--user" in warning

        # A restart reads the configuration again: the same users, no second warning.
        def fronts() -> set[int]:
            return {p for p, kind in members(server.proc.pid).items() if kind == "front"}

        old = fronts()
        server.signal(signal.SIGHUP)
        wait_for(lambda: not old & fronts(), 20, "the front-end workers replaced by the restart")
        serving(server)
        wait_identities(
            server, {"front": {www}, "own": {ids("nobody", "www-data")}, "follows": {www}}, 5
        )
        assert log.read_text().count("started as root with no User") == 1
    finally:
        server.close()


@needs_root
def test_user_and_group_options_override_the_configuration(site: Path) -> None:
    config = three_roles(site, "User nobody\nGroup nogroup\n")
    args = ["serve", "--config", str(config), "--user", "daemon"]
    server = ServerProcess(args, isolated(site)).wait_listening()
    try:
        serving(server)
        # --user alone brings its own group; user=nobody keeps its user, with that group.
        daemon = ids("daemon")
        wait_identities(
            server,
            {
                "front": {daemon},
                "own": {(account("nobody").pw_uid, daemon[1])},
                "follows": {daemon},
            },
            5,
        )
    finally:
        server.close()
    server = ServerProcess([*args, "--group", "www-data"], isolated(site)).wait_listening()
    try:
        serving(server)
        daemon = ids("daemon", "www-data")
        wait_identities(
            server, {"front": {daemon}, "own": {ids("nobody", "www-data")}, "follows": {daemon}}, 5
        )
    finally:
        server.close()


def test_root_is_refused_for_user_and_for_user_option(site: Path) -> None:
    script = site / "who.wsgi"
    script.write_text(WHOAMI)
    for user in ("root", "#0"):
        refused = subprocess.run(
            [sys.executable, "-m", "wsgihost", "serve", str(script), "--port", "0", "--user", user],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 2, refused.stderr
        assert f"argument --user: {user!r} is root" in refused.stderr
    config = site / "site.conf"
    config.write_text(
        "Listen 127.0.0.1:8000\n"  # never bound: the configuration is refused
        "WSGIDaemonProcess g user=root\n"
        f"WSGIScriptAlias / {script} process-group=g\n"
    )
    refused = subprocess.run(
        [sys.executable, "-m", "wsgihost", "serve", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1
    assert (
        f"{config}:2: WSGIDaemonProcess: user=root: daemon processes may not run as root"
        in refused.stderr
    )


# -- runtime directories: made once with their modes, never changed --------------------


def modes(*roots: Path) -> dict[str, int]:
    """The mode of every directory under ``roots`` (and of the roots)."""
    found = {}
    for root in roots:
        for folder in [root, *(p for p in root.rglob("*") if p.is_dir() and not p.is_symlink())]:
            found[str(folder)] = stat.S_IMODE(folder.lstat().st_mode)
    return found


@needs_root
@pytest.mark.parametrize("left_by_older_version", [0o711, 0o700, None])
@pytest.mark.parametrize("failure", ["PidFile", "Listen"])
def test_a_failed_start_changes_no_mode_and_the_next_start_works(
    site: Path, failure: str, left_by_older_version: int | None
) -> None:
    env = isolated(site)
    runtime = Path(env["XDG_RUNTIME_DIR"]) / "wsgihost-0"
    if left_by_older_version is not None:
        runtime.mkdir(mode=left_by_older_version)
        runtime.chmod(left_by_older_version)
    good = three_roles(site, "User www-data\n")
    text = good.read_text()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        if failure == "PidFile":  # fails after the sockets and their folders are made
            bad = text + f"PidFile {site}/missing/wsgihost.pid\n"
        else:  # the second listener is taken
            bad = text + f"Listen 127.0.0.1:{port}\n"
        # A first, good start makes the folders; the failed one must leave them alone.
        server = ServerProcess(["serve", "--config", str(good)], env).wait_listening()
        serving(server)
        server.close()
        before = modes(site, Path(tempfile.gettempdir()) / "wsgihost-0-daemons")
        good.write_text(bad)
        failed = ServerProcess(["serve", "--config", str(good)], env)
        assert failed.wait(30) == 1
        assert (
            f"{site}/missing" if failure == "PidFile" else f"127.0.0.1:{port}"
        ) in failed.stderr()
        after = modes(site, Path(tempfile.gettempdir()) / "wsgihost-0-daemons")
        assert {k: after.get(k) for k in before} == before
    good.write_text(text)
    server = ServerProcess(["serve", "--config", str(good)], env).wait_listening()
    try:
        serving(server)
        wait_identities(
            server,
            {
                "front": {ids("www-data")},
                "own": {ids("nobody", "www-data")},
                "follows": {ids("www-data")},
            },
            5,
        )
        status = subprocess.run(
            [sys.executable, "-m", "wsgihost", "status", "--config", str(good)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **env},
        )
        assert status.returncode == 0, status.stderr
        if left_by_older_version is not None:
            assert stat.S_IMODE(runtime.stat().st_mode) == left_by_older_version
        control = runtime / "control"
        assert stat.S_IMODE(control.stat().st_mode) == 0o700
        assert [p.name[:4] for p in control.iterdir()] == ["ctl."]
    finally:
        server.close()


@needs_root
def test_a_script_its_user_cannot_read_is_named_at_start(site: Path) -> None:
    private = site / "private"
    private.mkdir(mode=0o700)
    config = three_roles(site, "User www-data\n")
    config.write_text(config.read_text().replace(f"{site}/who.wsgi", f"{private}/who.wsgi"))
    (site / "who.wsgi").rename(private / "who.wsgi")
    server = ServerProcess(["serve", "--config", str(config)], isolated(site)).wait_listening()
    try:
        log = site / "error.log"
        for who, user in [
            ("the front-end workers", "www-data"),
            ("daemon group 'own'", "nobody"),
            ("daemon group 'follows'", "www-data"),
        ]:
            assert (
                f"{who} run as {user} but cannot read the WSGI script {private}/who.wsgi: "
                f"it may not pass through {private}"
            ) in log.read_text()
        assert get(server, "/front").status >= 400  # as the warning said (404: it sees no file)
    finally:
        server.close()
