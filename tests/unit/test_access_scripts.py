"""mod_wsgi's auth scripts as the front-end worker runs them (access/scripts.py):
one module per file, the function looked up by name, reloaded on change, and
mod_wsgi's log lines when a script fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wsgihost.access.scripts import (
    CHECK_PASSWORD,
    GROUPS_FOR_USER,
    AuthScripts,
    ScriptFailed,
)
from wsgihost.config.model import AuthScript

SCRIPT = """\
calls = []

def check_password(environ, user, password):
    calls.append(user)
    return password == "ok"

def groups_for_user(environ, user):
    return list(calls)
"""


def call(
    scripts: AuthScripts, path: Path, function: tuple[str, str], *args: object
) -> tuple[object, list[str]]:
    logged: list[str] = []
    result = scripts.call(AuthScript(str(path)), function, True, {}, args, logged.append)
    return result, logged


def test_one_module_per_file(tmp_path: Path) -> None:
    path = tmp_path / "auth.wsgi"
    path.write_text(SCRIPT)
    scripts = AuthScripts()
    assert call(scripts, path, CHECK_PASSWORD, "alice", "ok") == (True, [])
    assert call(scripts, path, CHECK_PASSWORD, "bob", "no") == (False, [])
    # groups_for_user sees what check_password did: the same module, as in mod_wsgi.
    assert call(scripts, path, GROUPS_FOR_USER, "alice") == (["alice", "bob"], [])


def test_a_changed_file_is_loaded_again(tmp_path: Path) -> None:
    path = tmp_path / "auth.wsgi"
    path.write_text(SCRIPT)
    scripts = AuthScripts()
    assert call(scripts, path, CHECK_PASSWORD, "a", "new")[0] is False
    path.write_text(SCRIPT.replace('password == "ok"', 'password == "new"'))
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert call(scripts, path, CHECK_PASSWORD, "a", "new")[0] is True


def test_a_missing_function_is_mod_wsgis_error(tmp_path: Path) -> None:
    path = tmp_path / "auth.wsgi"
    path.write_text("x = 1\n")
    logged: list[str] = []
    with pytest.raises(ScriptFailed):
        AuthScripts().call(
            AuthScript(str(path)), CHECK_PASSWORD, True, {}, ("u", "p"), logged.append
        )
    assert logged == [
        f"mod_wsgi (pid={os.getpid()}): Target WSGI user authentication script '{path}' does "
        "not provide 'Basic' auth provider."
    ]


def test_a_failure_logs_the_scripts_own_traceback(tmp_path: Path) -> None:
    path = tmp_path / "auth.wsgi"
    path.write_text("def check_password(environ, user, password):\n    raise KeyError(user)\n")
    logged: list[str] = []
    with pytest.raises(ScriptFailed):
        AuthScripts().call(
            AuthScript(str(path)), CHECK_PASSWORD, True, {}, ("u", "p"), logged.append
        )
    assert logged[0].endswith(f"Exception occurred processing WSGI script '{path}'.")
    assert logged[1] == "Traceback (most recent call last):"
    assert logged[2] == f'  File "{path}", line 2, in check_password'  # no frame of ours
    assert logged[-1] == "KeyError: 'u'"


def test_a_script_that_does_not_load(tmp_path: Path) -> None:
    path = tmp_path / "auth.wsgi"
    path.write_text("import no_such_module_here\n")
    logged: list[str] = []
    with pytest.raises(ScriptFailed):
        AuthScripts().call(
            AuthScript(str(path)), CHECK_PASSWORD, True, {}, ("u", "p"), logged.append
        )
    assert logged[0].endswith(f"Failed to exec Python script file '{path}'.")
    assert "ModuleNotFoundError" in logged[-1]


def test_a_script_that_does_not_compile_or_is_not_there(tmp_path: Path) -> None:
    path = tmp_path / "auth.wsgi"
    path.write_text("def check_password(:\n")
    for _ in range(2):
        logged: list[str] = []
        with pytest.raises(ScriptFailed):
            AuthScripts().call(
                AuthScript(str(path), "grp"), CHECK_PASSWORD, True, {}, ("u", "p"), logged.append
            )
        assert logged[0] == (
            f"mod_wsgi (pid={os.getpid()}, process='', application='grp'): "
            f"Could not read/compile source file '{path}'."
        )
        assert ("SyntaxError" in logged[-1]) is path.exists()
        path.unlink(missing_ok=True)
