"""wsgihost.wsgi.loader: WSGI scripts as fresh modules, reloaded when the file changes."""

from __future__ import annotations

import hashlib
import os
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wsgihost.wsgi import loader
from wsgihost.wsgi.loader import FileSignature, ScriptError, ScriptLoader, module_name_for

# Explicit modification times, long settled (2020), one second apart.
T0 = 1_600_000_000_000_000_000
T1 = T0 + 1_000_000_000
T2 = T0 + 2_000_000_000

APP = """\
import sys
MODULE = sys.modules[__name__]
{extra}
def application(environ, start_response):
    return {value!r}
"""


def write(path: Path, text: str, mtime_ns: int | None = T0) -> None:
    path.write_text(text)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


def app_source(value: str, extra: str = "") -> str:
    return APP.format(value=value, extra=extra)


def counting_source(counter: Path, body: str) -> str:
    """A script that appends to ``counter`` each time it is executed, then runs ``body``."""
    return f"with open({str(counter)!r}, 'a') as f:\n    f.write('x')\n{body}\n"


@pytest.fixture(autouse=True)
def clean_sys_modules() -> Iterator[None]:
    before = {k for k in sys.modules if k.startswith("_mod_wsgi_")}
    yield
    for key in [k for k in sys.modules if k.startswith("_mod_wsgi_")]:
        if key not in before:
            del sys.modules[key]


def call(app: Any) -> Any:
    return app({}, None)


# -- module naming and registration --------------------------------------------------


def test_module_name_is_mod_wsgi_and_the_md5_of_the_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "site.wsgi", app_source("v"))
    monkeypatch.chdir(tmp_path)
    ld = ScriptLoader("site.wsgi")
    absolute = str(tmp_path / "site.wsgi")
    assert ld.path == absolute
    expected = "_mod_wsgi_" + hashlib.md5(absolute.encode()).hexdigest()
    assert ld.module_name == expected
    assert module_name_for(absolute) == expected
    assert call(ld.get()) == "v"
    assert ld.get().__module__ == expected


def test_each_script_gets_its_own_module(tmp_path: Path) -> None:
    write(tmp_path / "a.wsgi", app_source("a"))
    write(tmp_path / "b.wsgi", app_source("b"))
    a, b = ScriptLoader(str(tmp_path / "a.wsgi")), ScriptLoader(str(tmp_path / "b.wsgi"))
    assert a.module_name != b.module_name
    assert (call(a.get()), call(b.get())) == ("a", "b")
    assert sys.modules[a.module_name] is not sys.modules[b.module_name]


def test_the_script_runs_as_a_module_registered_in_sys_modules(tmp_path: Path) -> None:
    path = tmp_path / "app.wsgi"
    write(path, app_source("v"))
    ld = ScriptLoader(str(path))
    app = ld.get()
    module = sys.modules[ld.module_name]
    assert module.application is app
    # While executing, the script could find itself in sys.modules (Django, Flask do).
    assert module.MODULE is module
    assert module.__name__ == ld.module_name
    assert module.__file__ == str(path)


def test_a_custom_callable_name(tmp_path: Path) -> None:
    path = tmp_path / "app.wsgi"
    write(path, "def make_app(environ, start_response):\n    return 'custom'\n")
    assert call(ScriptLoader(str(path), "make_app").get()) == "custom"


# -- when to reload -------------------------------------------------------------------


def test_an_unchanged_script_is_loaded_once(tmp_path: Path) -> None:
    path = tmp_path / "app.wsgi"
    counter = tmp_path / "count"
    write(path, counting_source(counter, app_source("v")))
    ld = ScriptLoader(str(path))
    apps = {id(ld.get()) for _ in range(5)}
    assert len(apps) == 1
    assert ld.loads == 1
    assert counter.read_text() == "x"


def test_a_rewritten_script_is_reloaded_into_a_fresh_module(tmp_path: Path) -> None:
    path = tmp_path / "app.wsgi"
    write(path, app_source("v1", extra="LEFTOVER = 1"), T0)
    ld = ScriptLoader(str(path))
    first = ld.get()
    first_module = sys.modules[ld.module_name]
    assert call(first) == "v1"

    write(path, app_source("v2", extra="FRESH = 'LEFTOVER' not in globals()"), T1)
    second = ld.get()
    assert call(second) == "v2"
    assert second is not first
    assert ld.loads == 2
    module = sys.modules[ld.module_name]
    assert module is not first_module
    assert module.FRESH is True  # not importlib.reload: no globals survive from v1


def test_a_same_size_rewrite_with_a_new_mtime_is_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "app.wsgi"
    write(path, app_source("v1"), T0)
    ld = ScriptLoader(str(path))
    assert call(ld.get()) == "v1"
    write(path, app_source("v2"), T1)
    assert os.stat(path).st_size == len(app_source("v1"))
    assert call(ld.get()) == "v2"


def test_a_replaced_file_with_the_same_size_and_mtime_is_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "app.wsgi"
    write(path, app_source("v1"), T0)
    ld = ScriptLoader(str(path))
    assert call(ld.get()) == "v1"
    new = tmp_path / "app.wsgi.new"
    write(new, app_source("v2"), T0)
    old_inode = os.stat(path).st_ino
    os.replace(new, path)
    st = os.stat(path)
    assert (st.st_size, st.st_mtime_ns) == (len(app_source("v1")), T0)
    assert st.st_ino != old_inode
    assert call(ld.get()) == "v2"


def test_the_signature_is_inode_size_mtime_and_ctime(tmp_path: Path) -> None:
    path = tmp_path / "app.wsgi"
    write(path, "x = 1\n", T0)
    st = os.stat(path)
    assert FileSignature.of(str(path)) == (st.st_ino, 6, T0, st.st_ctime_ns)


class StatBumper:
    """Stands in for the os module inside the loader; adds ``bump`` to one stat field.

    The file's content never changes, so only the loader's view of the field can
    cause a reload. (ctime cannot be set from user space; this isolates each field.)
    """

    def __init__(self, field: str) -> None:
        self.field = field
        self.bump = 0

    def stat(self, path: str) -> Any:
        st = os.stat(path)
        fields = {f: getattr(st, f) for f in ("st_ino", "st_size", "st_mtime_ns", "st_ctime_ns")}
        fields[self.field] += self.bump
        return types.SimpleNamespace(**fields)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


@pytest.mark.parametrize("field", ["st_ino", "st_size", "st_mtime_ns", "st_ctime_ns"])
def test_a_change_in_any_signature_field_reloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, field: str
) -> None:
    path = tmp_path / "app.wsgi"
    counter = tmp_path / "count"
    write(path, counting_source(counter, app_source("v")), T0)
    fake_os = StatBumper(field)
    monkeypatch.setattr(loader, "os", fake_os)
    ld = ScriptLoader(str(path))
    first = ld.get()
    assert ld.get() is first
    fake_os.bump = 1
    second = ld.get()
    assert second is not first
    assert ld.loads == 2
    assert counter.read_text() == "xx"
    assert ld.get() is second


def test_with_reloading_off_a_changed_script_is_not_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "app.wsgi"
    write(path, app_source("v1"), T0)
    ld = ScriptLoader(str(path), reloading=False)
    first = ld.get()
    write(path, app_source("v2, longer"), T1)
    assert ld.get() is first
    assert call(ld.get()) == "v1"
    assert ld.loads == 1
    path.unlink()
    assert ld.get() is first


# -- failures --------------------------------------------------------------------------


def test_a_failed_first_load_is_not_cached(tmp_path: Path) -> None:
    path = tmp_path / "app.wsgi"
    counter = tmp_path / "count"
    write(path, counting_source(counter, "raise RuntimeError('database is down')"), T0)
    ld = ScriptLoader(str(path))
    for attempt in (1, 2):
        with pytest.raises(RuntimeError, match="database is down"):
            ld.get()
        assert counter.read_text() == "x" * attempt
        assert ld.module_name not in sys.modules
    # Once the script is fixed, the next request loads it.
    write(path, app_source("up"), T1)
    assert call(ld.get()) == "up"
    assert ld.loads == 1


def test_a_syntax_error_reaches_the_caller(tmp_path: Path) -> None:
    path = tmp_path / "app.wsgi"
    write(path, "def application(:\n", T0)
    with pytest.raises(SyntaxError) as info:
        ScriptLoader(str(path)).get()
    assert info.value.filename == str(path)


def test_a_broken_rewrite_that_has_settled_raises_every_time(tmp_path: Path) -> None:
    path = tmp_path / "app.wsgi"
    counter = tmp_path / "count"
    warnings: list[str] = []
    write(path, app_source("v1"), T0)
    ld = ScriptLoader(str(path), warn=warnings.append)
    assert call(ld.get()) == "v1"
    good_module = sys.modules[ld.module_name]

    write(path, counting_source(counter, "raise ValueError('broken v2')"), T1)
    for attempt in (1, 2):
        with pytest.raises(ValueError, match="broken v2"):
            ld.get()
        assert counter.read_text() == "x" * attempt
        # The half-made module does not replace the good one in sys.modules.
        assert sys.modules[ld.module_name] is good_module
    assert warnings == []

    write(path, app_source("v3"), T2)
    assert call(ld.get()) == "v3"


def test_a_broken_rewrite_within_the_settle_time_serves_the_previous_version(
    tmp_path: Path,
) -> None:
    path = tmp_path / "app.wsgi"
    counter = tmp_path / "count"
    warnings: list[str] = []
    write(path, app_source("v1"), T0)
    ld = ScriptLoader(str(path), warn=warnings.append)
    first = ld.get()

    # Half-written just now (mtime = now, well inside loader.SETTLE).
    write(path, counting_source(counter, "def application(:"), time.time_ns())
    with pytest.raises(SyntaxError):
        compile(path.read_text(), str(path), "exec")
    assert ld.get() is first
    assert len(warnings) == 1
    assert str(path) in warnings[0]
    assert "previous version" in warnings[0]

    # Not cached: once the rewrite completes, the new version loads.
    write(path, app_source("v2"), time.time_ns())
    assert call(ld.get()) == "v2"
    assert ld.loads == 2
    assert loader.SETTLE > 0


def test_a_missing_callable_names_the_script_and_the_callable(tmp_path: Path) -> None:
    path = tmp_path / "app.wsgi"
    write(path, "app = None\nother = 1\n", T0)
    with pytest.raises(ScriptError) as info:
        ScriptLoader(str(path)).get()
    message = str(info.value)
    assert "does not contain WSGI application 'application'" in message
    assert repr(str(path)) in message
    with pytest.raises(ScriptError, match="does not contain WSGI application 'make_app'"):
        ScriptLoader(str(path), "make_app").get()


def test_a_callable_that_is_not_callable_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "app.wsgi"
    write(path, "application = 'a string'\n", T0)
    with pytest.raises(ScriptError, match=r"'application' in WSGI script .* is not callable"):
        ScriptLoader(str(path)).get()


def test_a_missing_script_is_a_script_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.wsgi"
    with pytest.raises(ScriptError, match="cannot read WSGI script"):
        ScriptLoader(str(path)).get()


def test_a_deleted_script_stops_being_served(tmp_path: Path) -> None:
    path = tmp_path / "app.wsgi"
    write(path, app_source("v1"), T0)
    ld = ScriptLoader(str(path))
    ld.get()
    path.unlink()
    with pytest.raises(ScriptError, match="cannot read WSGI script"):
        ld.get()
