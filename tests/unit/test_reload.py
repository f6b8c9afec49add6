"""The change monitor: signatures compared whole, settled before reported."""

from __future__ import annotations

import os
from pathlib import Path

from wsgihost.reload import ChangeMonitor


def touch(path: Path, mtime_ns: int) -> None:
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_a_touch_is_reported_once_it_settled(tmp_path: Path) -> None:
    script = tmp_path / "app.wsgi"
    script.write_text("v1")
    monitor = ChangeMonitor(settle=0.2)
    monitor.watch([str(script)], now=0.0)
    assert monitor.poll(1.0) == []
    touch(script, 2_000_000_000_000_000_000)
    assert monitor.poll(1.0) == []  # just seen: not settled yet
    assert monitor.poll(1.1) == []
    assert monitor.poll(1.25) == [str(script)]
    assert monitor.poll(2.0) == []  # reported once


def test_a_rollback_to_an_older_mtime_counts(tmp_path: Path) -> None:
    script = tmp_path / "app.wsgi"
    script.write_text("v2")
    touch(script, 2_000_000_000_000_000_000)
    monitor = ChangeMonitor(settle=0.0)
    monitor.watch([str(script)], now=0.0)
    touch(script, 1_000_000_000_000_000_000)
    monitor.poll(1.0)
    assert monitor.poll(1.0) == [str(script)]


def test_a_replacement_by_rename_counts_even_with_the_same_times(tmp_path: Path) -> None:
    script = tmp_path / "app.wsgi"
    script.write_text("v1")
    touch(script, 1_000_000_000_000_000_000)
    monitor = ChangeMonitor(settle=0.0)
    monitor.watch([str(script)], now=0.0)
    new = tmp_path / "app.wsgi.new"
    new.write_text("v2")
    touch(new, 1_000_000_000_000_000_000)
    os.rename(new, script)  # another inode
    monitor.poll(1.0)
    assert monitor.poll(1.0) == [str(script)]


def test_a_file_still_changing_is_not_reported(tmp_path: Path) -> None:
    script = tmp_path / "app.wsgi"
    script.write_text("")
    monitor = ChangeMonitor(settle=0.5)
    monitor.watch([str(script)], now=0.0)
    for step in range(5):  # a slow writer appends every 0.3 s
        with open(script, "a") as f:
            f.write("x" * (step + 1))
        assert monitor.poll(1.0 + step * 0.3) == []
    assert monitor.poll(3.0) == [str(script)]


def test_a_missing_file_is_not_a_change_but_its_return_is(tmp_path: Path) -> None:
    script = tmp_path / "app.wsgi"
    script.write_text("v1")
    monitor = ChangeMonitor(settle=0.0)
    monitor.watch([str(script)], now=0.0)
    script.unlink()
    monitor.poll(1.0)
    assert monitor.poll(2.0) == []
    script.write_text("v2")
    monitor.poll(3.0)
    assert monitor.poll(3.0) == [str(script)]


def test_next_deadline_says_when_to_look_again(tmp_path: Path) -> None:
    script = tmp_path / "app.wsgi"
    script.write_text("v1")
    monitor = ChangeMonitor(settle=0.25)
    monitor.watch([str(script)], now=0.0)
    assert monitor.next_deadline() is None
    touch(script, 3_000_000_000_000_000_000)
    monitor.poll(1.0)
    assert monitor.next_deadline() == 1.25
