"""wsgihost.daemon.errorlogs: which log a daemon process writes each request's output to.

And the configuration's side: which logs a group's processes are given.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from wsgihost.config import load
from wsgihost.daemon import errorlogs
from wsgihost.daemon.errorlogs import DaemonLogs


def settings(tmp_path: Path, **extra: object) -> dict[str, object]:
    return {
        "group": "g",
        "error_log": str(tmp_path / "group.log"),
        "log_level": "warn",
        "main_error_log": str(tmp_path / "main.log"),
        "main_log_level": "warn",
        "request_error_logs": [str(tmp_path / "group.log"), str(tmp_path / "other.log")],
        **extra,
    }


def text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def test_a_request_logs_to_its_hosts_log_with_remote(tmp_path: Path) -> None:
    logs = DaemonLogs(settings(tmp_path))
    logs.for_request({"error_log": str(tmp_path / "other.log")}).error("hello", "127.0.0.1:9")
    assert text(tmp_path / "other.log").endswith("] [remote 127.0.0.1:9] hello\n")
    assert text(tmp_path / "group.log") == ""


def test_a_host_without_its_own_log_uses_the_main_servers(tmp_path: Path) -> None:
    logs = DaemonLogs(settings(tmp_path))
    logs.for_request({}).error("main", "127.0.0.1:9")
    assert "main" in text(tmp_path / "main.log")


def test_a_log_not_opened_at_start_falls_back_to_the_groups_own(tmp_path: Path) -> None:
    logs = DaemonLogs(settings(tmp_path))
    logs.for_request({"error_log": str(tmp_path / "unknown.log")}).error("where?")
    assert "where?" in text(tmp_path / "group.log")
    assert not (tmp_path / "unknown.log").exists()


def test_the_request_hosts_level_filters(tmp_path: Path) -> None:
    logs = DaemonLogs(settings(tmp_path))
    head = {"error_log": str(tmp_path / "other.log"), "log_level": "crit"}
    logs.for_request(head).error("hidden")
    logs.for_request({"error_log": str(tmp_path / "other.log")}).error("shown")
    assert "hidden" not in text(tmp_path / "other.log")
    assert "shown" in text(tmp_path / "other.log")


def test_at_most_max_files_are_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(errorlogs, "MAX_FILES", 3)
    many = [str(tmp_path / f"host{i}.log") for i in range(10)]
    DaemonLogs(settings(tmp_path, request_error_logs=many))
    opened = sorted(p.name for p in tmp_path.glob("*.log"))
    assert opened == ["group.log", "host0.log", "main.log"]


def test_an_own_log_that_cannot_be_opened_is_standard_error(tmp_path: Path) -> None:
    logs = DaemonLogs(settings(tmp_path, error_log=str(tmp_path / "missing" / "x.log")))
    assert logs.own.dest.fd == 2 and not logs.own.dest.is_file


def test_reopen_reopens_every_file(tmp_path: Path) -> None:
    logs = DaemonLogs(settings(tmp_path))
    for name in ("group.log", "other.log", "main.log"):
        (tmp_path / name).rename(tmp_path / (name + ".1"))
    logs.reopen()
    logs.own.error("own")
    logs.for_request({"error_log": str(tmp_path / "other.log")}).error("other")
    logs.for_request({}).error("main")
    assert "own" in text(tmp_path / "group.log")
    assert "other" in text(tmp_path / "other.log")
    assert "main" in text(tmp_path / "main.log")


# -- what the configuration gives a group -------------------------------------------


def test_a_group_knows_its_hosts_log_and_the_logs_of_the_hosts_that_may_use_it(
    tmp_path: Path,
) -> None:
    conf = tmp_path / "site.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            Listen 127.0.0.1:8001
            Listen 127.0.0.1:8002
            ServerName main.test
            ErrorLog {tmp_path}/main.log
            WSGIDaemonProcess everywhere
            <VirtualHost *:8001>
                ServerName a.test
                ErrorLog {tmp_path}/a.log
                LogLevel info
                WSGIDaemonProcess ga
            </VirtualHost>
            <VirtualHost *:8002>
                ServerName a.test
                ErrorLog {tmp_path}/a2.log
            </VirtualHost>
            <VirtualHost *:8002>
                ServerName b.test
                WSGIDaemonProcess gb
            </VirtualHost>
            """
        )
    )
    server, problems = load(str(conf), {}, {})
    assert server is not None, problems
    groups = {g.name: g for g in server.groups}
    a, b, everywhere = groups["ga"], groups["gb"], groups["everywhere"]
    assert (a.error_log, a.log_level) == (f"{tmp_path}/a.log", "info")
    assert a.request_error_logs == (f"{tmp_path}/a.log", f"{tmp_path}/a2.log")
    # No ErrorLog of its own: the main server's.
    assert (b.error_log, b.log_level) == (f"{tmp_path}/main.log", None)
    assert b.request_error_logs == (f"{tmp_path}/main.log",)
    # Defined in the main server: any host may use it.
    assert everywhere.error_log == f"{tmp_path}/main.log"
    assert everywhere.request_error_logs == (
        f"{tmp_path}/main.log",
        f"{tmp_path}/a.log",
        f"{tmp_path}/a2.log",
    )
