"""Touch to new code: a script whose writer closed it, or renamed into place, rolls at once.

The master hears of it from inotify: a close after writing (``touch`` too) or a
rename into place ends the settle time early; a write still under way (the
file open, half written) waits for its close, so half a script is never
imported; ``WSGIScriptReloading Off`` still ignores it all.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path

import pytest

from tests.functional.helpers import children, wait_for
from tests.functional.server import ServerProcess
from tests.functional.test_rolling import APP, Load, ask, cmdline, group_server, write_app

pytestmark = pytest.mark.slow

ROLLING = re.compile(r"^\[(\w{3} \w{3} \d\d [\d:.]+ \d{4})\] .*rolling daemon group", re.M)
SETTLE = 0.2  # the settle time of a change inotify says nothing about (reload.ChangeMonitor)


def server(
    tmp_path: Path, reloading: str = "On"
) -> AbstractContextManager[tuple[ServerProcess, Path]]:
    """test_rolling's group (2 processes), with its notices logged: "rolling" shows."""
    return group_server(tmp_path, reloading, log_level="notice")


def rolls(proc: ServerProcess) -> list[float]:
    """When each roll began, from the error log's timestamps (wall clock)."""
    return [
        datetime.strptime(stamp, "%a %b %d %H:%M:%S.%f %Y").timestamp()
        for stamp in ROLLING.findall(proc.stderr())
    ]


def rename_in(script: Path, version: str) -> None:
    new = script.with_name("app.wsgi.new")
    new.write_text(APP.format(version=version))
    os.rename(new, script)


def daemons(proc: ServerProcess) -> set[int]:
    return {p for p in children(proc.proc.pid) if b"wsgihost: daemon" in cmdline(p)}


def answered_by_new_process(proc: ServerProcess, version: str, old: set[int]) -> bool:
    got = ask(proc)
    return got is not None and got[0] == version and got[1] not in old


def test_a_closed_write_or_rename_rolls_before_the_settle_time(tmp_path: Path) -> None:
    with server(tmp_path) as (proc, script):
        delays = []
        for number, change in enumerate([write_app, rename_in, write_app], start=2):
            before = len(rolls(proc))
            at = time.time()
            change(script, f"v{number}")
            wait_for(lambda b=before: len(rolls(proc)) > b, 10, "the roll to begin")
            delays.append(rolls(proc)[before] - at)
            wait_for(lambda v=f"v{number}": (a := ask(proc)) and a[0] == v, 20, "the new code")
        # A change inotify says nothing of waits SETTLE, always; a closed one need not.
        assert min(delays) < SETTLE, delays
        assert len(rolls(proc)) == 3  # one roll per change, not one more for a trailing event


def test_touch_starts_new_processes_at_once(tmp_path: Path) -> None:
    with server(tmp_path) as (proc, script):
        wait_for(lambda: len(daemons(proc)) == 2, 20, "both daemon processes")
        old = daemons(proc)
        at = time.time()
        subprocess.run(["touch", str(script)], check=True)
        wait_for(lambda: answered_by_new_process(proc, "v1", old), 20, "a new process")
        assert rolls(proc)[0] - at < SETTLE  # touch opens the file: its close ends the settle


def test_a_half_written_script_is_never_imported(tmp_path: Path) -> None:
    with server(tmp_path) as (proc, script), Load(proc, clients=4) as load:
        wait_for(lambda: len(load.answers) > 20, 20, "answers from v1")
        # The first half is a whole app of its own, so importing it would show.
        with open(script, "w") as writer:
            writer.write(APP.format(version="half"))
            writer.flush()
            time.sleep(1.0)  # far beyond the settle time: only the open file holds it back
            assert "rolling" not in proc.stderr()
            writer.write('VERSION = "v2"\n')
        wait_for(
            lambda: (n := len(load.answers)) > 20 and load.versions_since(n - 10) == {"v2"},
            30,
            "v2",
        )
    assert "half" not in load.versions_since(0)
    assert load.failures == 0
    assert len(rolls(proc)) == 1


def test_no_request_fails_while_changes_roll_the_group(tmp_path: Path) -> None:
    with server(tmp_path) as (proc, script), Load(proc, clients=6) as load:
        wait_for(lambda: len(load.answers) > 20, 20, "answers from v1")
        changes = [write_app, rename_in, write_app, rename_in]
        for number, change in enumerate(changes, start=2):
            change(script, f"v{number}")
            wait_for(
                lambda v=f"v{number}": (
                    (n := len(load.answers)) > 20 and load.versions_since(n - 10) == {v}
                ),
                30,
                f"v{number}",
            )
        mark = len(load.answers)
        subprocess.run(["touch", str(script)], check=True)
        wait_for(lambda: len(rolls(proc)) == 5, 10, "the touch to roll the group")
        wait_for(lambda: len(load.answers) > mark + 40, 20, "answers after the touch")
    assert load.failures == 0
    assert len(rolls(proc)) == 5


def test_reloading_off_ignores_touch_write_and_rename(tmp_path: Path) -> None:
    with server(tmp_path, reloading="Off") as (proc, script):
        first = ask(proc)
        subprocess.run(["touch", str(script)], check=True)
        rename_in(script, "v2")
        write_app(script, "v3")
        deadline = time.monotonic() + 2  # ten times what a roll would take to begin
        seen = set()
        while time.monotonic() < deadline:
            got = ask(proc)
            assert got is not None
            seen.add(got)
        assert first is not None and {version for version, _ in seen} == {"v1"}
        assert rolls(proc) == []
        assert "notice" in proc.stderr()  # notices are logged: a roll would have shown


def test_a_swapped_site_folder_is_watched_again(tmp_path: Path) -> None:
    site = tmp_path / "current"
    site.mkdir()
    with server(site) as (proc, script):
        # A deploy moves the old release away and puts the new one at the same path.
        site.rename(tmp_path / "previous")
        site.mkdir()
        write_app(script, "v2")
        wait_for(lambda: (a := ask(proc)) and a[0] == "v2", 20, "the new release")
        before = len(rolls(proc))
        at = time.time()
        write_app(script, "v3")
        wait_for(lambda: len(rolls(proc)) > before, 10, "the roll to begin")
        # inotify follows the new folder: no waiting out the settle time
        assert rolls(proc)[before] - at < SETTLE
        wait_for(lambda: (a := ask(proc)) and a[0] == "v3", 20, "v3")
