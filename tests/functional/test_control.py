"""`wsgihost status|reload|stop --config FILE` against a running server."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.helpers import free_port, wait_for
from tests.functional.server import ServerProcess

pytestmark = pytest.mark.slow

APP = """\
import os
VERSION = {version!r}

def application(environ, start_response):
    body = ("%s %d" % (VERSION, os.getpid())).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
"""


def wsgihost(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wsgihost", *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[ServerProcess, Path, Path]]:
    script = tmp_path / "app.wsgi"
    script.write_text(APP.format(version="v1"))
    conf = tmp_path / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:{free_port()}
            WSGIDaemonProcess alpha processes=2 threads=2
            WSGIDaemonProcess beta processes=1 threads=2
            WSGIScriptAlias /a {script} process-group=alpha
            WSGIScriptAlias /b {script} process-group=beta
            """
        )
    )
    server = ServerProcess(["serve", "--config", str(conf)])
    try:
        server.wait_listening()
        yield server, conf, script
    finally:
        server.close()


def status(conf: Path) -> dict:  # type: ignore[type-arg]
    result = wsgihost("status", "--config", str(conf), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def group(state: dict, name: str) -> dict:  # type: ignore[type-arg]
    return next(g for g in state["groups"] if g["name"] == name)  # type: ignore[no-any-return]


def all_ready(state: dict, name: str, generation: int) -> bool:  # type: ignore[type-arg]
    g = group(state, name)
    members = [m for m in g["members"] if m["state"] == "ready"]
    return len(members) == g["processes"] and all(m["generation"] == generation for m in members)


def test_status_lists_groups_processes_and_workers(site: tuple) -> None:  # type: ignore[type-arg]
    server, conf, _ = site
    state = wait_for(lambda: (s := status(conf)) and all_ready(s, "alpha", 0) and s, 20, "ready")
    assert state["pid"] == server.proc.pid
    assert {g["name"] for g in state["groups"]} == {"alpha", "beta"}
    assert len(group(state, "alpha")["members"]) == 2
    assert state["workers"]
    human = wsgihost("status", "--config", str(conf))
    assert human.returncode == 0
    assert "group alpha: ready" in human.stdout
    # Requests served show up (the daemons report about once a second).
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        for _ in range(5):
            sock.sendall(b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536)
    wait_for(
        lambda: sum(m["served"] for m in group(status(conf), "beta")["members"]) >= 5,
        10,
        "the served count",
    )


def test_reload_rolls_only_the_named_group(site: tuple) -> None:  # type: ignore[type-arg]
    _, conf, _ = site
    wait_for(lambda: all_ready(status(conf), "beta", 0), 20, "beta ready")
    before = {m["pid"] for m in group(status(conf), "beta")["members"]}
    result = wsgihost("reload", "--config", str(conf), "alpha")
    assert result.returncode == 0, result.stderr
    assert "rolling daemon group alpha" in result.stdout
    wait_for(lambda: all_ready(status(conf), "alpha", 1), 30, "alpha rolled")
    beta = group(status(conf), "beta")
    assert {m["pid"] for m in beta["members"]} == before
    assert beta["generation"] == 0


def test_a_broken_script_shows_in_status_and_the_fix_completes_the_roll(
    site: tuple,  # type: ignore[type-arg]
) -> None:
    _, conf, script = site
    wait_for(lambda: all_ready(status(conf), "alpha", 0), 20, "alpha ready")
    script.write_text("def broken(:\n")
    wait_for(lambda: group(status(conf), "alpha")["roll_stopped"], 30, "the roll to stop")
    alpha = group(status(conf), "alpha")
    assert alpha["last_error"]
    assert len([m for m in alpha["members"] if m["state"] == "ready"]) == 2  # old still serve
    script.write_text(APP.format(version="v2"))
    wait_for(lambda: all_ready(status(conf), "alpha", 2), 30, "the fixed roll")
    assert not group(status(conf), "alpha")["roll_stopped"]


def test_reload_of_an_unknown_group_and_of_no_server_fail_clearly(
    site: tuple,
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    _, conf, _ = site
    result = wsgihost("reload", "--config", str(conf), "nosuch")
    assert result.returncode == 1
    assert "no daemon group 'nosuch'" in result.stderr
    other = tmp_path / "other.conf"
    other.write_text("")
    result = wsgihost("status", "--config", str(other))
    assert result.returncode == 1
    assert "no wsgihost is running" in result.stderr


def test_stop_stops_the_server(site: tuple) -> None:  # type: ignore[type-arg]
    server, conf, _ = site
    result = wsgihost("stop", "--config", str(conf))
    assert result.returncode == 0, result.stderr
    assert server.wait(30) == 0


# -- restart: the configuration read again ---------------------------------------------


def test_restart_with_an_invalid_configuration_keeps_the_old_one(
    site: tuple,  # type: ignore[type-arg]
) -> None:
    server, conf, _ = site
    wait_for(lambda: all_ready(status(conf), "alpha", 0), 20, "alpha ready")
    good = conf.read_text()
    conf.write_text(good + "WSGIDaemonProcess gamma proceses=2\n")
    result = wsgihost("restart", "--config", str(conf))
    assert result.returncode == 1
    assert f"{conf}:6:" in result.stderr and "proceses" in result.stderr
    assert "keeps running the previous configuration" in result.stderr
    state = status(conf)
    assert {g["name"] for g in state["groups"]} == {"alpha", "beta"}
    assert all_ready(state, "alpha", 0)
    assert server.proc.poll() is None


def test_restart_that_changes_one_groups_threads_rolls_only_that_group(
    site: tuple,  # type: ignore[type-arg]
) -> None:
    _, conf, _ = site
    wait_for(lambda: all_ready(status(conf), "beta", 0), 20, "beta ready")
    wait_for(lambda: all_ready(status(conf), "alpha", 0), 20, "alpha ready")
    alpha_before = {m["pid"] for m in group(status(conf), "alpha")["members"]}
    conf.write_text(
        conf.read_text().replace("beta processes=1 threads=2", "beta processes=1 threads=3")
    )
    result = wsgihost("restart", "--config", str(conf))
    assert result.returncode == 0, result.stderr
    assert "rolled daemon group beta" in result.stdout
    wait_for(lambda: all_ready(status(conf), "beta", 1), 30, "beta rolled")
    state = status(conf)
    assert group(state, "beta")["threads"] == 3
    alpha = group(state, "alpha")
    assert alpha["generation"] == 0
    assert {m["pid"] for m in alpha["members"]} == alpha_before


def test_restart_adds_and_removes_groups(site: tuple) -> None:  # type: ignore[type-arg]
    _, conf, script = site
    wait_for(lambda: all_ready(status(conf), "beta", 0), 20, "beta ready")
    text = conf.read_text()
    text = text.replace("WSGIDaemonProcess beta processes=1 threads=2\n", "")
    text = text.replace(f"WSGIScriptAlias /b {script} process-group=beta\n", "")
    text += "WSGIDaemonProcess gamma processes=1 threads=2\n"
    text += f"WSGIScriptAlias /c {script} process-group=gamma\n"
    conf.write_text(text)
    result = wsgihost("restart", "--config", str(conf))
    assert result.returncode == 0, result.stderr
    wait_for(lambda: all_ready(status(conf), "gamma", 0), 30, "gamma started")
    assert {g["name"] for g in status(conf)["groups"]} == {"alpha", "gamma"}


def test_a_new_process_not_ready_within_startup_timeout_stops_the_roll(tmp_path: Path) -> None:
    script = tmp_path / "app.wsgi"
    script.write_text(APP.format(version="v1"))
    conf = tmp_path / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:{free_port()}
            WSGIDaemonProcess slow processes=1 threads=2 startup-timeout=1
            WSGIScriptAlias / {script} process-group=slow
            """
        )
    )
    server = ServerProcess(["serve", "--config", str(conf)])
    try:
        server.wait_listening()
        wait_for(lambda: all_ready(status(conf), "slow", 0), 20, "ready")
        # The new code hangs at import: it never says READY.
        script.write_text("import time\ntime.sleep(60)\n" + APP.format(version="v2"))
        wait_for(lambda: group(status(conf), "slow")["roll_stopped"], 30, "the roll to stop")
        slow = group(status(conf), "slow")
        assert "startup-timeout" in slow["last_error"]
        assert [m["state"] for m in slow["members"] if m["generation"] == 0] == ["ready"]
    finally:
        server.close()


def test_restart_that_cannot_open_a_new_group_changes_nothing(
    site: tuple,  # type: ignore[type-arg]
) -> None:
    server, conf, script = site
    wait_for(lambda: all_ready(status(conf), "alpha", 0), 20, "alpha ready")
    good = conf.read_text()
    # A socket path longer than a UNIX socket allows: the group cannot be opened.
    long_prefix = "/tmp/" + "x" * 120 + "/wsgi"
    conf.write_text(
        f"WSGISocketPrefix {long_prefix}\n"
        + good
        + f"WSGIDaemonProcess delta processes=1 threads=1\n"
        f"WSGIScriptAlias /d {script} process-group=delta\n"
    )
    result = wsgihost("restart", "--config", str(conf))
    assert result.returncode == 1, result.stdout
    assert "delta" in result.stderr
    state = status(conf)
    assert {g["name"] for g in state["groups"]} == {"alpha", "beta"}
    # A later SIGHUP with the same file is refused the same way, and the master lives on.
    server.signal(signal.SIGHUP)
    wait_for(lambda: server.stderr().count("delta") >= 2, 10, "the second refusal")
    assert server.proc.poll() is None
    assert all_ready(status(conf), "alpha", 0)
