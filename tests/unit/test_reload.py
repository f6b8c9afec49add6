"""The change monitor: signatures compared whole, settled before reported, faster on a close."""

from __future__ import annotations

import os
from pathlib import Path

from wsgihost.reload import COMPLETE, REPLACED, WRITING, ChangeMonitor


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


def watched(tmp_path: Path) -> tuple[Path, ChangeMonitor]:
    """A script holding "v1" and a monitor watching it since 0.0 (quick 20 ms, hold 5 s)."""
    script = tmp_path / "app.wsgi"
    script.write_text("v1")
    monitor = ChangeMonitor(settle=0.2, quick=0.02, hold=5.0)
    monitor.watch([str(script)], now=0.0)
    return script, monitor


def test_a_closed_file_settles_quickly(tmp_path: Path) -> None:
    script, monitor = watched(tmp_path)
    script.write_text("v2")
    monitor.note(str(script), WRITING)
    monitor.note(str(script), COMPLETE)  # the writer closed it
    assert monitor.poll(1.0) == []
    assert monitor.next_deadline() == 1.02
    assert monitor.poll(1.03) == [str(script)]


def test_a_chmod_right_after_the_close_is_the_same_change(tmp_path: Path) -> None:
    script, monitor = watched(tmp_path)
    script.write_text("v2")
    monitor.note(str(script), COMPLETE)
    assert monitor.poll(1.0) == []
    script.chmod(0o600)  # IN_ATTRIB: says nothing of the content, so the close still counts
    assert monitor.poll(1.01) == []
    assert monitor.poll(1.04) == [str(script)]
    assert monitor.poll(2.0) == []  # one change, reported once


def test_a_file_open_for_writing_waits_for_its_close(tmp_path: Path) -> None:
    script, monitor = watched(tmp_path)
    with open(script, "w") as f:
        f.write("half")
        f.flush()
        monitor.note(str(script), WRITING)
        monitor.poll(1.0)
        assert monitor.poll(2.0) == []  # quiet for a second, but its writer has not closed it
        f.write(" and the rest")
    monitor.note(str(script), WRITING)
    monitor.note(str(script), COMPLETE)
    monitor.poll(2.5)
    assert monitor.poll(2.6) == [str(script)]


def test_a_writer_that_never_closes_is_taken_as_done_after_hold(tmp_path: Path) -> None:
    script, monitor = watched(tmp_path)
    script.write_text("v2")
    monitor.note(str(script), WRITING)
    monitor.poll(1.0)
    assert monitor.next_deadline() == 6.0
    assert monitor.poll(5.9) == []
    assert monitor.poll(6.0) == [str(script)]


def test_a_new_inode_forgets_the_old_writer(tmp_path: Path) -> None:
    script, monitor = watched(tmp_path)
    monitor.note(str(script), WRITING)
    new = tmp_path / "app.wsgi.new"
    new.write_text("v2")
    os.rename(new, script)
    monitor.note(str(script), REPLACED)  # IN_MOVED_FROM of the old name, say
    monitor.poll(1.0)
    assert monitor.next_deadline() == 1.2  # plain settling: no writer known for this inode
    monitor.note(str(script), COMPLETE)  # ... and IN_MOVED_TO: a whole file put in place
    assert monitor.poll(1.03) == [str(script)]


def test_lost_events_fall_back_to_plain_settling(tmp_path: Path) -> None:
    script, monitor = watched(tmp_path)
    script.write_text("v2")
    monitor.note(str(script), WRITING)
    monitor.forget_notes()  # IN_Q_OVERFLOW: the close may have been among the lost
    monitor.poll(1.0)
    assert monitor.poll(1.1) == []
    assert monitor.poll(1.25) == [str(script)]


def test_notes_about_unwatched_files_are_ignored(tmp_path: Path) -> None:
    monitor = ChangeMonitor()
    monitor.note(str(tmp_path / "other.py"), COMPLETE)
    assert monitor.paths == []
