"""The pure core stays pure: checked from the source (with ast), without importing it.

* No pure-core module opens sockets, starts threads or processes, handles
  signals or runs an event loop, and none reaches into the front end or the
  supervisor.
* wsgi/, daemon/ and the few modules beside them that daemon processes
  import run under the group's interpreter, which may be another virtual
  environment and Python 3.9: standard library only, 3.9 grammar.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import wsgihost
from wsgihost.supervisor.groups import library_files

SRC = Path(wsgihost.__file__).resolve().parent

PURE = sorted(
    [
        *SRC.glob("wsgi/*.py"),
        SRC / "httpcore.py",
        SRC / "routing.py",
        SRC / "handlermap.py",
        SRC / "reach.py",
        SRC / "supervisor" / "plan.py",
        *SRC.glob("config/*.py"),
        SRC / "logs.py",
    ]
)
# What daemon processes import, from the copy the master makes for them
# (under any Python 3.9+): the list the master copies, so the two cannot drift.
PORTABLE = sorted(SRC / name for name in library_files())

FORBIDDEN = {
    "socket",
    "threading",
    "_thread",
    "signal",
    "subprocess",
    "multiprocessing",
    "selectors",
    "asyncio",
    "uvloop",
    "httptools",
    "wsgihost.frontend",
    "wsgihost.supervisor",
}
# A lock and the thread id are all these need threading for.
THREADING_ALLOWED = {"wsgi/loader.py", "wsgi/counters.py", "logs.py"}
PORTABLE_OWN = (
    "wsgihost.wsgi",
    "wsgihost.daemon",
    *("wsgihost." + name.removesuffix(".py") for name in library_files() if "/" not in name),
)


def rel(path: Path) -> str:
    return path.relative_to(SRC).as_posix()


def module_name(path: Path) -> str:
    parts = ["wsgihost", *path.relative_to(SRC).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    return imports_of(path.read_text(encoding="utf-8"), module_name(path), path.name)


def imports_of(source: str, module: str, filename: str = "x.py") -> set[str]:
    """Every module ``source`` imports, relative imports resolved, literal dynamic ones too.

    ``from pkg import name`` yields both ``pkg`` and ``pkg.name`` (name may be a module).
    """
    tree = ast.parse(source, filename)
    package = module if filename == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call):
            # importlib.import_module("x") and __import__("x") with a literal name
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if (
                name in ("import_module", "__import__")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


def covered_by(name: str, roots: set[str] | tuple[str, ...]) -> str | None:
    for root in roots:
        if name == root or name.startswith(root + "."):
            return root
    return None


def test_the_module_lists_are_not_empty() -> None:
    assert {rel(p) for p in PURE} >= {
        "wsgi/runner.py",
        "wsgi/streams.py",
        "wsgi/environ.py",
        "wsgi/loader.py",
        "httpcore.py",
        "routing.py",
        "logs.py",
        "config/model.py",
    }
    assert {rel(p) for p in PORTABLE} >= {
        "wsgi/runner.py",
        "daemon/process.py",
        "daemon/protocol.py",
        "logs.py",
        "privileges.py",
    }


def test_the_import_reader_sees_what_it_must() -> None:
    """The checks below are only as good as this reader: make sure it can fail."""
    source = (
        "import socket as s, os.path\n"
        "from .. import frontend\n"
        "from ..supervisor.master import Master\n"
        "from . import runner\n"
        "from .streams import InputStream\n"
        "def f():\n"
        "    import threading\n"
        "    importlib.import_module('asyncio')\n"
        "    __import__('signal')\n"
    )
    found = imports_of(source, "wsgihost.wsgi.probe")
    assert found >= {
        "socket",
        "os.path",
        "wsgihost",
        "wsgihost.frontend",
        "wsgihost.supervisor.master",
        "wsgihost.wsgi.runner",
        "wsgihost.wsgi.streams",
        "threading",
        "asyncio",
        "signal",
    }
    assert imports_of("from . import x", "wsgihost.wsgi", "__init__.py") >= {"wsgihost.wsgi.x"}
    assert module_name(SRC / "wsgi" / "loader.py") == "wsgihost.wsgi.loader"
    assert module_name(SRC / "wsgi" / "__init__.py") == "wsgihost.wsgi"
    assert covered_by("wsgihost.frontend.connection", FORBIDDEN) == "wsgihost.frontend"
    assert covered_by("wsgihost.frontendish", FORBIDDEN) is None
    assert "importlib" in sys.stdlib_module_names
    assert "uvloop" not in sys.stdlib_module_names


@pytest.mark.parametrize("path", PURE, ids=rel)
def test_pure_core_imports_no_io_concurrency_or_server_layers(path: Path) -> None:
    bad = []
    for name in sorted(imports(path)):
        root = covered_by(name, FORBIDDEN)
        if root is None:
            continue
        if root == "threading" and rel(path) in THREADING_ALLOWED:
            continue
        bad.append(name)
    assert bad == [], f"{rel(path)} imports {bad}"


@pytest.mark.parametrize("path", PORTABLE, ids=rel)
def test_portable_modules_import_only_the_standard_library(path: Path) -> None:
    bad = []
    for name in sorted(imports(path)):
        top = name.partition(".")[0]
        if top == "wsgihost":
            if covered_by(name, PORTABLE_OWN) is None and name != "wsgihost":
                bad.append(name)
        elif top not in sys.stdlib_module_names:
            bad.append(name)
    assert bad == [], f"{rel(path)} imports non-stdlib {bad}"


@pytest.mark.parametrize("path", PORTABLE, ids=rel)
def test_portable_modules_parse_with_python_39_grammar(path: Path) -> None:
    ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=(3, 9))


def test_the_39_grammar_check_can_fail() -> None:
    with pytest.raises(SyntaxError):
        ast.parse("match x:\n    case 1:\n        pass\n", feature_version=(3, 9))
