"""Load a WSGI script file as a fresh module, the way mod_wsgi does.

A script is not a module on ``sys.path``: it is compiled and executed into a
new module object whose name is derived from the script's path (mod_wsgi uses
``_mod_wsgi_`` plus an MD5 of the path, and some apps look for it). When the
file changes (inode, size, mtime or ctime differ), the next request loads it
again, as mod_wsgi's embedded mode does with ``WSGIScriptReloading On``.
A failed load is not cached: the next request tries again.

A script being rewritten in place can be read half-written. So when a reload
fails within ``SETTLE`` seconds of the file's last change and an earlier
version loaded fine, that version goes on serving (with a warning) until the
file settles; only a script that stays broken gives errors.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import types
from typing import Any, Callable, NamedTuple, Optional

try:
    # The interpreter's own MD5: hashlib's loads OpenSSL's libcrypto, 3.5 MB of a
    # daemon process's memory for one module name a script (the app may load it
    # anyway; a hello world does not).
    from _md5 import md5 as _md5  # type: ignore[import-not-found]
except ImportError:  # a build without it
    from hashlib import md5 as _md5


class FileSignature(NamedTuple):
    """What identifies one version of a file; any difference counts as a change."""

    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, path: str) -> FileSignature:
        return cls.of_stat(os.stat(path))

    @classmethod
    def of_stat(cls, st: os.stat_result) -> FileSignature:
        return cls(st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


SETTLE = 1.0


class ScriptError(Exception):
    """The script could not be loaded, or has no usable callable."""


def module_name_for(path: str) -> str:
    digest = _md5(path.encode("utf-8", "surrogateescape"), usedforsecurity=False)
    return "_mod_wsgi_" + str(digest.hexdigest())


class ScriptLoader:
    """One WSGI script and the application callable it defines.

    Thread-safe: threads of one process share a loader, and only one of them
    loads the script while the others wait for the result.
    """

    def __init__(
        self,
        path: str,
        callable_name: str = "application",
        reloading: bool = True,
        warn: Optional[Callable[[str], None]] = None,
    ):
        self.path = os.path.abspath(path)
        self.warn = warn
        self.callable_name = callable_name
        self.reloading = reloading
        self.module_name = module_name_for(self.path)
        self._lock = threading.Lock()
        self._app: Optional[Callable[..., Any]] = None
        self._signature: Optional[FileSignature] = None
        self.loads = 0

    def get(self) -> Callable[..., Any]:
        """Return the application, loading the script first if needed."""
        app = self._app
        if app is not None and not self.reloading:
            return app
        try:
            current: Optional[FileSignature] = FileSignature.of(self.path)
        except OSError:
            current = None
        return self.get_as_seen(current)

    def get_as_seen(self, current: Optional[FileSignature]) -> Callable[..., Any]:
        """``get``, with the script's signature as the caller just took it (None:
        not there): one stat per request where the caller needs one anyway."""
        app = self._app
        if app is not None and (current == self._signature or not self.reloading):
            return app
        with self._lock:
            if self._app is not None and current == self._signature:
                return self._app
            try:
                return self._load(current)
            except BaseException:
                previous = self._app
                if previous is None or current is None:
                    raise
                if time.time() - current.mtime_ns / 1e9 > SETTLE:
                    raise
                if self.warn is not None:
                    self.warn(
                        f"WSGI script {self.path!r} changed and does not load yet; "
                        "serving the previous version until it settles"
                    )
                return previous

    def _load(self, signature: Optional[FileSignature]) -> Callable[..., Any]:
        module = load_module(self.path, self.module_name)
        app = getattr(module, self.callable_name, None)
        if app is None:
            raise ScriptError(
                f"WSGI script {self.path!r} does not contain WSGI application "
                f"{self.callable_name!r}"
            )
        if not callable(app):
            raise ScriptError(
                f"{self.callable_name!r} in WSGI script {self.path!r} is not callable"
            )
        self._app = app
        self._signature = signature
        self.loads += 1
        return app  # type: ignore[no-any-return]


def load_module(path: str, module_name: str) -> types.ModuleType:
    """Execute the script at ``path`` as a fresh module named ``module_name``."""
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as e:
        raise ScriptError(f"cannot read WSGI script {path!r}: {e.strerror}") from e
    module = types.ModuleType(module_name)
    module.__file__ = path
    # Some apps (Django's wsgi.py, Flask factories) look themselves up in
    # sys.modules; register the module before executing it, as import does.
    previous = sys.modules.get(module_name)
    sys.modules[module_name] = module
    try:
        code = compile(source, path, "exec", dont_inherit=True)
        exec(code, module.__dict__)
    except BaseException:
        if previous is not None:
            sys.modules[module_name] = previous
        else:
            sys.modules.pop(module_name, None)
        raise
    return module


class ScriptModule:
    """A script loaded as one module whose functions are looked up by name (mod_wsgi's
    auth and dispatch scripts: ``check_password`` and ``groups_for_user`` of one file
    share its module), loaded again when the file changes if ``reloading``.

    Thread-safe. A failed load raises (and is tried again next time); the
    previous module, if any, is dropped only once a new one has loaded.
    """

    def __init__(self, path: str, reloading: bool = True) -> None:
        self.path = os.path.abspath(path)
        self.reloading = reloading
        self.name = module_name_for(self.path)
        self._lock = threading.Lock()
        self._module: Optional[types.ModuleType] = None
        self._signature: Optional[FileSignature] = None

    def get(self) -> types.ModuleType:
        module = self._module
        if module is not None and not self.reloading:
            return module
        try:
            current: Optional[FileSignature] = FileSignature.of(self.path)
        except OSError:
            current = None
        with self._lock:
            if self._module is None or current != self._signature:
                self._module = load_module(self.path, self.name)
                self._signature = current
            return self._module
