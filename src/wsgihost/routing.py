"""Choose the app for a request path (pure).

Mount points match whole path segments, longest first, as ``WSGIScriptAlias``
does: ``/app`` serves ``/app`` and ``/app/x`` but not ``/apple``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class Router(Generic[T]):
    def __init__(self, mounts: Sequence[tuple[str, T]]) -> None:
        norm = [(m.rstrip("/").encode("latin-1"), target) for m, target in mounts]
        self._mounts = sorted(norm, key=lambda mt: len(mt[0]), reverse=True)

    def match(self, path: bytes) -> tuple[str, T] | None:
        """The mount point (as SCRIPT_NAME) and the target for a decoded path."""
        for mount, target in self._mounts:
            if not mount or path == mount or path.startswith(mount + b"/"):
                return mount.decode("latin-1"), target
        return None
