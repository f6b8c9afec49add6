"""privileges: who is root, the web user, who may pass through which folders."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from wsgihost import privileges
from wsgihost.privileges import Identity


@pytest.fixture
def base() -> Iterator[Path]:
    """A folder everyone may pass through (pytest's own tmp_path is private to us)."""
    path = Path(tempfile.mkdtemp(prefix="wsgihost-unit-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def stranger() -> Identity:
    """Someone who is neither us nor in any group of ours."""
    ours = {os.getgid(), *os.getgroups()}
    gid = next(g for g in range(60000, 65000) if g not in ours)
    return Identity(os.getuid() + 4321, gid, None, None)


@pytest.mark.parametrize("name", ["root", "#0"])
def test_root_by_name_or_number(name: str) -> None:
    assert privileges.is_root(name)


def test_any_name_of_uid_0_is_root() -> None:
    names = [p.pw_name for p in pwd.getpwall() if p.pw_uid == 0]
    assert names and all(privileges.is_root(n) for n in names)


@pytest.mark.parametrize("name", ["#1", "#x", "no-such-user-wsgihost", ""])
def test_others_are_not_root(name: str) -> None:
    assert not privileges.is_root(name)


def test_the_web_user_is_the_first_of_the_distributions_that_exists() -> None:
    existing = [n for n in privileges.WEB_USERS if privileges.exists("user", n)]
    assert privileges.web_user() == (existing[0] if existing else None)


def test_no_web_user_when_none_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(privileges, "WEB_USERS", ("no-such-user-wsgihost",))
    assert privileges.web_user() is None


def test_the_primary_group_is_named_or_numbered() -> None:
    me = pwd.getpwuid(os.getuid())
    assert privileges.primary_group(me.pw_name) == grp.getgrgid(me.pw_gid).gr_name
    assert privileges.primary_group(f"#{me.pw_uid}") == grp.getgrgid(me.pw_gid).gr_name


def test_a_folder_without_x_for_them_blocks_the_way(base: Path) -> None:
    inner = base / "a" / "b"
    inner.mkdir(parents=True)
    (base / "a").chmod(0o700)
    them = stranger()
    assert privileges.blocked_at(them, str(inner / "sock")) == str(base / "a")
    (base / "a").chmod(0o711)  # x for others: they pass, without listing
    assert privileges.blocked_at(them, str(inner)) is None
    inner.chmod(0o700)
    assert privileges.blocked_at(them, str(inner)) == str(inner)


def test_the_group_bit_counts_for_the_folders_group(base: Path) -> None:
    folder = base / "g"
    folder.mkdir(mode=0o710)
    folder.chmod(0o710)
    them = stranger()
    assert privileges.blocked_at(them, str(folder)) == str(folder)
    member = them._replace(gid=folder.stat().st_gid)
    assert privileges.blocked_at(member, str(folder)) is None


def test_the_owner_bit_counts_for_the_owner(base: Path) -> None:
    folder = base / "o"
    folder.mkdir(mode=0o100)
    folder.chmod(0o100)  # only the owner may pass: that is us
    me = Identity(os.getuid(), os.getgid(), None, None)
    assert privileges.blocked_at(me, str(folder)) is None
    assert privileges.blocked_at(stranger(), str(folder)) == str(folder)


def test_unreadable_says_why(base: Path) -> None:
    them = stranger()
    script = base / "app.wsgi"
    script.write_text("")
    script.chmod(0o600)
    assert privileges.unreadable(them, str(script)) == "its mode (600) does not let it read it"
    script.chmod(0o644)
    assert privileges.unreadable(them, str(script)) is None
    base.chmod(0o700)
    assert privileges.unreadable(them, str(script)) == f"it may not pass through {base}"
    assert privileges.unreadable(them, str(base / "missing")) == "No such file or directory"
    base.chmod(0o711)  # a folder they may pass through but not list: imports find nothing
    assert privileges.unreadable(them, str(base)) == "its mode (711) does not let it read it"
