"""The inotify watcher: real kernel events in a temporary folder, read as the master reads them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from wsgihost.reload import COMPLETE, REPLACED, WRITING
from wsgihost.supervisor.inotify import Watcher, meaning, open_watcher


@pytest.fixture
def watcher() -> Watcher:
    found = open_watcher()
    if found is None:
        pytest.fail("inotify is not available on this machine")
    return found


def said(watcher: Watcher) -> list[str | None]:
    """What the pending events say about the watched files' writers, in order."""
    return [meaning(mask) for _, mask in watcher.read().files]


def test_a_rewrite_in_place_ends_complete(tmp_path: Path, watcher: Watcher) -> None:
    script = tmp_path / "app.wsgi"
    script.write_text("v1")
    watcher.watch([str(script)])
    with open(script, "w") as f:
        f.write("v2")
        f.flush()
        assert WRITING in said(watcher)  # written to, not closed: a write under way
    assert said(watcher)[-1] == COMPLETE
    watcher.close()


def test_touch_opens_the_file_so_its_close_counts(tmp_path: Path, watcher: Watcher) -> None:
    script = tmp_path / "app.wsgi"
    script.write_text("v1")
    watcher.watch([str(script)])
    subprocess.run(["touch", str(script)], check=True)
    assert said(watcher)[-1] == COMPLETE
    os.utime(script)  # a bare utime (touch -c -d ...): IN_ATTRIB only, no word on a writer
    assert said(watcher) == [None]
    watcher.close()


def test_a_rename_into_place_is_complete_and_others_files_are_not_reported(
    tmp_path: Path, watcher: Watcher
) -> None:
    script = tmp_path / "app.wsgi"
    script.write_text("v1")
    watcher.watch([str(script)])
    new = tmp_path / "app.wsgi.new"
    new.write_text("v2")  # another file in the same folder: only a reason to look
    os.rename(new, script)
    events = watcher.read()
    assert events.seen
    assert [(path, meaning(mask)) for path, mask in events.files] == [(str(script), COMPLETE)]
    script.unlink()
    assert said(watcher) == [REPLACED]
    watcher.close()


def test_a_folder_swapped_for_another_is_watched_again(tmp_path: Path, watcher: Watcher) -> None:
    site = tmp_path / "current"
    site.mkdir()
    script = site / "app.wsgi"
    script.write_text("v1")
    watcher.watch([str(script)])
    assert not watcher.missing
    # A deploy moves the old release away and puts a new folder in its place.
    site.rename(tmp_path / "previous")
    site.mkdir()
    (site / "app.wsgi").write_text("v2")
    watcher.read()
    assert watcher.missing  # the watch follows the old folder, not the path
    (tmp_path / "previous" / "app.wsgi").write_text("old")
    assert watcher.read().files == []  # the old folder's file is not the script any more
    watcher.retry([str(script)])
    assert not watcher.missing
    subprocess.run(["touch", str(script)], check=True)
    assert said(watcher)[-1] == COMPLETE
    watcher.close()
