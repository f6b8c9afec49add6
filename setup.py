"""Build wsgihost: its hot modules compiled with mypyc, or the plain pure-Python package.

Everything else (name, version, dependencies) is in pyproject.toml; this file
only decides about extension modules. The modules compiled are the list in
src/wsgihost/compiled.py (``HOT``); their ``.py`` files are installed as well,
so the package works on any interpreter, the compiled modules being picked by
the import system only where their ABI tag matches.

The compiled build is taken when a C compiler and Python's headers are here
(a trial compile of a file that includes Python.h) and mypyc imports; else,
or with ``WSGIHOST_PURE_BUILD=1``, the pure-Python package installs, which
behaves the same. A compile that fails half-way falls back to pure Python too,
saying so: ``wsgihost --version`` tells which build is installed.

With ``pip install -e .`` the compiled modules are built in place, beside the
sources. So every build first removes the extension modules an earlier build
left there: a pure build must not keep compiled modules that shadow the
sources, and a module taken off the list must not either.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.util
import json
import os
import sys
import sysconfig
import tempfile
import time
import types

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = "src"
PACKAGE_DIR = os.path.join(SRC, "wsgihost")


def _compiled_module() -> types.ModuleType:
    """src/wsgihost/compiled.py, loaded by path: the list of modules lives there."""
    path = os.path.join(HERE, PACKAGE_DIR, "compiled.py")
    spec = importlib.util.spec_from_file_location("_wsgihost_compiled_for_build", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


COMPILED = _compiled_module()


def _say(text: str) -> None:
    print(f"wsgihost build: {text}", file=sys.stderr, flush=True)


def _remove_inplace_extensions() -> None:
    """Extension modules an earlier in-place (editable) build left beside the sources."""
    found = glob.glob(os.path.join(HERE, PACKAGE_DIR, "**", "*.so"), recursive=True)
    found += glob.glob(os.path.join(HERE, PACKAGE_DIR, "**", "*.pyd"), recursive=True)
    found += glob.glob(os.path.join(HERE, SRC, COMPILED.RUNTIME + ".*"))
    found.append(os.path.join(HERE, PACKAGE_DIR, COMPILED.MANIFEST))
    for path in found:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _why_pure() -> str | None:
    """Why this build cannot or must not compile, or None when it can."""
    if os.environ.get("WSGIHOST_PURE_BUILD", "") not in ("", "0"):
        return "WSGIHOST_PURE_BUILD is set"
    if sys.implementation.name != "cpython":
        return f"mypyc compiles for CPython only, not {sys.implementation.name}"
    include = sysconfig.get_paths()["include"]
    if not os.path.exists(os.path.join(include, "Python.h")):
        return f"Python's headers are missing ({include}/Python.h)"
    try:
        import mypyc.build  # noqa: F401
    except ImportError:
        return "mypyc is not installed"
    from distutils.ccompiler import new_compiler
    from distutils.sysconfig import customize_compiler

    with tempfile.TemporaryDirectory() as folder:
        source = os.path.join(folder, "probe.c")
        with open(source, "w") as f:
            f.write("#include <Python.h>\nint probe(void) { return Py_IsInitialized(); }\n")
        compiler = new_compiler()
        customize_compiler(compiler)
        try:
            compiler.compile([source], output_dir=folder, include_dirs=[include])
        except Exception as e:  # CompileError, or no compiler to execute at all
            return f"no working C compiler ({e})"
    return None


def _sources() -> list[str]:
    return [os.path.join(PACKAGE_DIR, *m.split(".")) + ".py" for m in COMPILED.HOT]


_generated: list[Extension] | None = None
# The digest of each source as mypyc read it: an edit made while the C
# compiles must still count as newer than the build.
_digests: dict[str, str] = {}


def _mypyc_extensions() -> list[Extension]:
    """mypyc's C for the hot modules, generated once a process ([] if it fails)."""
    global _generated
    if _generated is None:
        try:
            from mypyc.build import mypycify

            for module, path in zip(COMPILED.HOT, _sources(), strict=True):
                with open(os.path.join(HERE, path), "rb") as f:
                    _digests[module] = hashlib.sha256(f.read()).hexdigest()
            started = time.monotonic()
            _generated = mypycify(_sources(), group_name=COMPILED.PACKAGE, opt_level="3")
            _say(f"mypyc generated C in {time.monotonic() - started:.1f}s")
        except (Exception, SystemExit) as e:  # mypyc exits on a type error
            _say(f"mypyc failed, installing pure Python: {e!r}")
            _generated = []
    return _generated


class BuildCompiled(build_ext):
    """build_ext whose extensions mypyc generates when the build runs, not when
    setup.py is read (pip reads it several times), and that falls back to the
    pure-Python package when the compile fails."""

    def finalize_options(self) -> None:
        if self.distribution.ext_modules:
            self.distribution.ext_modules = _mypyc_extensions()
        super().finalize_options()

    def run(self) -> None:
        if not self.extensions:
            return
        inplace = bool(self.inplace)
        started = time.monotonic()
        try:
            super().run()
        except Exception as e:
            _say(f"compiling failed, installing pure Python: {e!r}")
            _remove_inplace_extensions()
            for output in self.get_outputs():
                if os.path.exists(output):
                    os.unlink(output)
            return
        _say(f"compiled {len(COMPILED.HOT)} modules in {time.monotonic() - started:.1f}s")
        folders = [os.path.join(self.build_lib, "wsgihost")]
        if inplace:
            folders.append(os.path.join(HERE, PACKAGE_DIR))
        for folder in folders:
            self._write_manifest(folder)

    @staticmethod
    def _write_manifest(folder: str) -> None:
        """What ``wsgihost --version`` and the stale guard read: the compiler and
        the digest of each source compiled."""
        import mypy.version

        data = {"compiler": f"mypyc {mypy.version.__version__}", "sources": _digests}
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, COMPILED.MANIFEST), "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)


_remove_inplace_extensions()
_reason = _why_pure()
if _reason is None:
    # A stand-in until BuildCompiled asks mypyc for the real extension list; it
    # also marks the wheel as one for this platform.
    _extensions = [Extension(COMPILED.RUNTIME, sources=[])]
else:
    _say(f"pure Python: {_reason}")
    _extensions = []

setup(ext_modules=_extensions, cmdclass={"build_ext": BuildCompiled})
