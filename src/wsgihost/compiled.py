"""The compiled build: which modules are compiled, the stale-module guard, the pure switch.

The hot modules below are compiled with mypyc when the package is built where
a C compiler and Python's headers are (setup.py); the ``.py`` files stay
beside the extension modules as the fallback, so one folder serves every
interpreter: the import system takes an extension module only when its file
name carries its own ABI tag, and the ``.py`` otherwise.

Two traps of such a build are guarded here. With ``pip install -e .`` the
extension modules are built in place, beside the sources, and shadow them: an
edited ``.py`` would not run until rebuilt. :func:`stale` finds such a module
(its ``.py`` no longer the source it was built from, by the digests the build
records), and ``wsgihost serve``/``configtest`` refuse to start on it.
And ``WSGIHOST_PURE=1`` makes the package import the ``.py`` modules even where
compiled ones exist (:class:`PureFinder`, installed by ``wsgihost/__init__.py``
before any hot module is imported; child processes inherit the variable).

Daemon processes import this module from their library copy under any Python
3.9+: standard library only, 3.9 syntax.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os
import sys
from types import ModuleType
from typing import Dict, List, Optional, Sequence, Tuple

PACKAGE = "wsgihost"

# The modules mypyc compiles, relative to the package: the request's path
# through a front-end worker (framing, parsing, routing, static files, the
# environ), the
# daemon protocol and a daemon process's request loop (process, watchdog,
# error logs), and the WSGI runner: it takes what an app hands it as Any, so
# that a misbehaving app gets our errors rather than compiled argument checks,
# and it leaves its own frames out of a traceback by module name, which a
# compiled frame keeps. Left out: everything that runs once at start, the
# script loader (its tests replace the os module it sees), and the streams an
# app holds (wsgi.input, wsgi.errors, wsgi.file_wrapper): as native classes
# they could not be copied, pickled or given attributes, and their typed
# arguments would answer a wrong type with compiled code's message.
HOT: Tuple[str, ...] = (
    "chunked",
    "httpcore",
    "requesthead",
    "requestline",
    "routing",
    "static",
    "daemon.protocol",
    "daemon.process",
    "daemon.watchdog",
    "daemon.errorlogs",
    "wsgi.environ",
    "wsgi.runner",
    "wsgi.counters",
    "frontend.connection",
    "frontend.daemonlink",
    "frontend.dispatch",
    "frontend.dispatcher",
    "frontend.embedded",
    "frontend.errordocs",
    "frontend.exchange",
    "frontend.fastpath",
    "frontend.files",
    "frontend.hostlogs",
    "frontend.phases",
    "frontend.proxy",
    "frontend.tlslayer",
    "frontend.trace",
    "frontend.worker",
)

# The name of mypyc's shared runtime module, top level beside the package.
RUNTIME = PACKAGE + "__mypyc"
# Written by setup.py beside the compiled modules: the compiler and, for each
# module, the digest of the source it was built from.
MANIFEST = "_compiled.json"
PURE_ENV = "WSGIHOST_PURE"


def package_dir() -> str:
    return os.path.dirname(os.path.abspath(__file__))


def source_path(module: str) -> str:
    return os.path.join(package_dir(), *module.split(".")) + ".py"


def extension_path(module: str) -> Optional[str]:
    """The extension file this interpreter would import for ``module``, if there is one."""
    base = os.path.join(package_dir(), *module.split("."))
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if os.path.exists(base + suffix):
            return base + suffix
    return None


def runtime_path() -> Optional[str]:
    """mypyc's shared runtime module for this interpreter, beside the package."""
    base = os.path.join(os.path.dirname(package_dir()), RUNTIME)
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        if os.path.exists(base + suffix):
            return base + suffix
    return None


def pure_forced() -> bool:
    return os.environ.get(PURE_ENV, "") not in ("", "0")


def manifest() -> Dict[str, object]:
    try:
        with open(os.path.join(package_dir(), MANIFEST), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def built() -> List[str]:
    """The hot modules with an extension module this interpreter can import."""
    if runtime_path() is None:
        return []
    return [m for m in HOT if extension_path(m) is not None]


def loaded(modules: Optional[Sequence[str]] = None) -> List[str]:
    """Of the hot modules imported so far, those running as compiled code."""
    found = []
    for module in HOT if modules is None else modules:
        mod = sys.modules.get(PACKAGE + "." + module)
        if mod is not None and is_compiled(mod):
            found.append(module)
    return found


def is_compiled(mod: ModuleType) -> bool:
    name = getattr(mod, "__file__", None) or ""
    return name.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def describe() -> str:
    """What ``wsgihost --version`` says after the version: which build runs."""
    modules = built()
    compiler = str(manifest().get("compiler", "mypyc")).split()[0]
    if pure_forced():
        unused = f", {len(modules)} compiled modules not used" if modules else ""
        return f"pure Python: {PURE_ENV} set{unused}"
    if modules:
        return f"compiled: {len(modules)} module{'s' * (len(modules) != 1)}, {compiler}"
    return "pure Python"


def _digest(path: str) -> str:
    # Imported here: hashlib loads OpenSSL, and a daemon process imports this
    # module under WSGIHOST_PURE without ever checking a digest.
    import hashlib

    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def stale() -> List[Tuple[str, str]]:
    """(source, extension) of each compiled module whose ``.py`` changed after the build.

    Changed: different from the source the manifest says was compiled (an
    edit made while the build ran counts too). Newer alone is not enough: a
    wheel install writes a ``.py`` after its extension at times. Without a
    manifest to ask, a newer ``.py`` counts.
    """
    if pure_forced():
        return []
    sources = manifest().get("sources")
    digests = sources if isinstance(sources, dict) else None
    found = []
    for module in built():
        source, extension = source_path(module), extension_path(module)
        assert extension is not None
        try:
            if digests is not None:
                changed = digests.get(module) != _digest(source)
            else:
                changed = os.stat(source).st_mtime_ns > os.stat(extension).st_mtime_ns
        except OSError:
            continue  # no source beside it: nothing to be stale against
        if changed:
            found.append((source, extension))
    return found


def stale_message() -> Optional[str]:
    """Why the server must not start with these compiled modules, or None."""
    found = stale()
    if not found:
        return None
    lines = [
        "wsgihost: error: compiled module built from an older source "
        "(it would run the code as it was, not as it is now):"
    ]
    for source, extension in found:
        lines.append(f"  {source} changed after {os.path.basename(extension)} was built")
    lines.append(
        "rebuild with `pip install -e .` (in the project's folder), "
        f"or run the pure-Python modules with {PURE_ENV}=1"
    )
    return "\n".join(lines)


class PureFinder:
    """Finds the hot modules' ``.py`` files, ahead of the extension modules beside them.

    A meta path finder by its ``find_spec`` alone: subclassing
    ``importlib.abc.MetaPathFinder`` would import ``importlib.resources`` and with it
    ``pathlib``, ``tempfile`` and ``shutil``, 3.4 MB in every process of the server.
    """

    def __init__(self) -> None:
        self.names = {PACKAGE + "." + m: m.rsplit(".", 1)[-1] for m in HOT}

    def find_spec(
        self,
        fullname: str,
        path: Optional[Sequence[str]],
        target: Optional[ModuleType] = None,
    ) -> Optional[importlib.machinery.ModuleSpec]:
        leaf = self.names.get(fullname)
        if leaf is None or not path:
            return None
        for folder in path:
            candidate = os.path.join(folder, leaf + ".py")
            if os.path.isfile(candidate):
                return importlib.util.spec_from_file_location(fullname, candidate)
        return None


def install_pure_finder() -> None:
    """Put :class:`PureFinder` first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, PureFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, PureFinder())
