"""rundir: the runtime folders are made with their modes and never changed after."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.test_privileges import stranger
from wsgihost.supervisor import rundir


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def base(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A runtime base everyone may pass through, standing for $XDG_RUNTIME_DIR and /tmp."""
    path = Path(tempfile.mkdtemp(prefix="wsgihost-unit-"))
    path.chmod(0o755)
    (path / "xdg").mkdir(mode=0o755)
    (path / "tmp").mkdir(mode=0o755)
    (path / "xdg").chmod(0o755)
    (path / "tmp").chmod(0o755)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path / "xdg"))
    monkeypatch.setattr(tempfile, "tempdir", str(path / "tmp"))
    yield path
    shutil.rmtree(path)


def runtime(base: Path) -> Path:
    return base / "xdg" / f"wsgihost-{os.getuid()}"


def test_folders_are_made_with_their_modes_whatever_the_umask(base: Path) -> None:
    old = os.umask(0o077)
    try:
        control = rundir.control_dir()
        daemons = rundir.daemon_dir(None, [stranger()])
    finally:
        os.umask(old)
    assert control == runtime(base) / "control" and mode(control) == 0o700
    assert daemons == runtime(base) / "daemons" and mode(daemons) == 0o711
    # Started as root its children need to pass through the runtime folder.
    assert mode(runtime(base)) == (0o711 if os.getuid() == 0 else 0o700)


def test_the_daemon_folder_is_private_when_every_child_is_us(base: Path) -> None:
    assert mode(rundir.daemon_dir(None, [])) == 0o700


@pytest.mark.parametrize("older", [0o700, 0o711])
def test_a_runtime_folder_left_by_an_older_version_is_used_as_it_is(base: Path, older: int) -> None:
    runtime(base).mkdir(mode=older)
    runtime(base).chmod(older)
    (runtime(base) / f"ctl.{'0' * 12}.sock").touch()  # the old layout's control socket
    assert mode(rundir.control_dir()) == 0o700
    daemons = rundir.daemon_dir(None, [stranger()])
    assert mode(runtime(base)) == older
    if older == 0o700:  # they could not reach it: next to it, in the temporary folder
        assert daemons == base / "tmp" / f"wsgihost-{os.getuid()}-daemons"
    else:
        assert daemons == runtime(base) / "daemons"
    assert mode(daemons) == 0o711


def test_a_daemon_folder_made_private_before_is_left_private(base: Path) -> None:
    private = rundir.daemon_dir(None, [])
    shared = rundir.daemon_dir(None, [stranger()])
    assert mode(private) == 0o700 and shared != private and mode(shared) == 0o711


@pytest.mark.parametrize("bad", [0o720, 0o702])
def test_a_runtime_folder_others_may_write_in_is_refused(base: Path, bad: int) -> None:
    runtime(base).mkdir()
    runtime(base).chmod(bad)
    with pytest.raises(rundir.RunDirError, match="writable by us alone"):
        rundir.control_dir()
    assert mode(runtime(base)) == bad


def test_a_control_folder_others_may_enter_is_refused(base: Path) -> None:
    (runtime(base) / "control").mkdir(parents=True)
    (runtime(base) / "control").chmod(0o711)
    with pytest.raises(rundir.RunDirError, match=r"private \(mode 0700\)"):
        rundir.control_dir()
    assert mode(runtime(base) / "control") == 0o711


def test_the_socket_prefix_folder_is_made_or_checked_never_changed(base: Path) -> None:
    made = base / "srv" / "run"
    assert rundir.daemon_dir(str(made), [stranger()]) == made and mode(made) == 0o711
    private = base / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    with pytest.raises(rundir.RunDirError, match=f"may not pass through {private}, where WSGI"):
        rundir.daemon_dir(str(private), [stranger()])
    assert mode(private) == 0o700
    assert rundir.daemon_dir(str(private), []) == private  # nobody else needs to pass
