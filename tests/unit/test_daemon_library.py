"""The daemons' copy of wsgihost comes compiled: a daemon started in a roll need not compile it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from wsgihost.supervisor.groups import install_library


def test_the_library_is_installed_with_its_bytecode(tmp_path: Path) -> None:
    root = install_library(tmp_path)
    for source in (root / "wsgihost").rglob("*.py"):
        cached = Path(importlib.util.cache_from_source(str(source)))
        assert cached.is_file(), f"{source.relative_to(root)} has no {cached.name}"
        assert cached.stat().st_mode & 0o777 == 0o644  # readable by a group's user=, ours alone
