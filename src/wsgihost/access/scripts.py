"""mod_wsgi's auth scripts, run in the front-end worker: WSGIAuthUserScript's
``check_password``, WSGIAuthGroupScript's ``groups_for_user`` and
WSGIAccessScript's ``allow_access``.

mod_wsgi runs them in Apache's own processes (its "embedded" interpreters);
their equivalent here is the front-end worker, so they run there, on a
thread of the worker's pool (the gate never calls them on the event loop).
Each file is loaded as one module (:class:`~wsgihost.wsgi.loader.ScriptModule`,
under the name mod_wsgi gives it), and loaded again when it changes
(WSGIScriptReloading). The
environ they get is the one mod_wsgi 4.9 builds for them (its
``Auth_environ``): the request's headers but ``Authorization``, the CGI
variables of the request, ``wsgi.errors`` and a few ``mod_wsgi.*`` keys.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

from wsgihost.config.model import AuthScript
from wsgihost.wsgi.environ import (
    APACHE_DOCUMENT_ROOT,
    MOD_WSGI_VERSION,
    NO_SERVER_ADMIN,
    RequestHead,
    header_key,
    split_host,
    unmap_ipv4,
)
from wsgihost.wsgi.loader import ScriptError, ScriptModule
from wsgihost.wsgi.streams import ErrorStream

Log = Callable[[str], None]  # one error-log line (module wsgi) for the request

# What mod_wsgi calls in each script, and what it says when a script lacks it.
CHECK_PASSWORD = (
    "check_password",
    "user authentication script '{}' does not provide 'Basic' auth provider.",
)
GROUPS_FOR_USER = (
    "groups_for_user",
    "group authentication script '{}' does not provide group provider.",
)
ALLOW_ACCESS = ("allow_access", "host access script '{}' does not provide host validator.")


def prefix() -> str:
    """How mod_wsgi starts the lines it logs itself."""
    return f"mod_wsgi (pid={os.getpid()}): "


class ScriptFailed(Exception):
    """The script did not load, lacked its function, raised or answered nonsense
    (all logged already): mod_wsgi's AUTH_GENERAL_ERROR, a 500."""


class AuthScripts:
    """The auth scripts of one front-end worker: one module per file, as mod_wsgi
    loads it, so a file's ``check_password`` and ``groups_for_user`` share it."""

    def __init__(self) -> None:
        self._modules: dict[str, ScriptModule] = {}
        self._lock = threading.Lock()

    def call(
        self,
        script: AuthScript,
        function: tuple[str, str],
        reloading: bool,
        environ: dict[str, Any],
        args: tuple[Any, ...],
        log: Log,
    ) -> Any:
        """Call ``function`` of ``script``; ScriptFailed (logged) if that fails."""
        name, missing = function
        with self._lock:
            loaded = self._modules.get(script.path)
            if loaded is None:
                loaded = self._modules[script.path] = ScriptModule(script.path, reloading)
        try:
            module = loaded.get()
        except (ScriptError, SyntaxError) as e:
            # What mod_wsgi's wsgi_load_source says of a file it cannot read or compile.
            where = f"mod_wsgi (pid={os.getpid()}, process='', "
            where += f"application='{script.application_group}'): "
            log(where + f"Could not read/compile source file '{script.path}'.")
            if isinstance(e, SyntaxError):
                _log_exception(log, script.path)
            else:
                log(str(e))
            raise ScriptFailed from None
        except BaseException:
            log(prefix() + f"Failed to exec Python script file '{script.path}'.")
            _log_exception(log, script.path)
            raise ScriptFailed from None
        fn = getattr(module, name, None)
        if fn is None:
            log(prefix() + "Target WSGI " + missing.format(script.path))
            raise ScriptFailed
        try:
            return fn(environ, *args)
        except BaseException:
            _log_exception(log, script.path)
            raise ScriptFailed from None


_OWN = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # wsgihost's folder


def _log_exception(log: Log, path: str) -> None:
    # As mod_wsgi's wsgi_log_python_error: a heading, then the traceback from
    # the script's own frames (wsgihost's frames that called it are left out,
    # as mod_wsgi's C frames do not show).
    error = sys.exc_info()[1]
    if error is None:
        return
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_OWN + os.sep):
        tb = tb.tb_next
    log(prefix() + f"Exception occurred processing WSGI script '{path}'.")
    for line in traceback.format_exception(type(error), error, tb):
        for part in line.rstrip("\n").split("\n"):
            log(part)


def auth_environ(
    head: RequestHead,
    uri: str,
    path_info: str,
    document_root: str | None,
    server_admin: str | None,
    server_name: str | None,
    application_group: str,
    reloading: bool,
    log: Log,
) -> dict[str, Any]:
    """The environ mod_wsgi 4.9 passes to an auth script (its Auth_environ)."""
    environ: dict[str, Any] = {}
    for name, value in head.headers:
        if name.lower() in (b"authorization", b"proxy-authorization"):
            continue  # the credentials come as arguments, never in the environ
        key = header_key(name)
        if key is None:
            continue
        text = value.decode("latin-1")
        # Apache merges a repeated request header into one, comma-separated.
        environ[key] = environ[key] + ", " + text if key in environ else text
    host = environ.get("HTTP_HOST")
    if host:
        name_part = split_host(host)[0]
    elif server_name:
        name_part = split_host(server_name.split("://")[-1])[0]
    else:
        name_part = unmap_ipv4(head.server_addr)
    port = split_host(host)[1] if host else None
    if not port:
        port = ("443" if head.scheme == "https" else "80") if host else str(head.server_port)
    script_name = uri[: len(uri) - len(path_info)] if path_info else uri
    environ.update(
        {
            "SERVER_SIGNATURE": "",
            "SERVER_SOFTWARE": "wsgihost",
            "SERVER_NAME": name_part,
            "SERVER_ADDR": unmap_ipv4(head.server_addr),
            "SERVER_PORT": port,
            "REMOTE_ADDR": unmap_ipv4(head.client_addr),
            "DOCUMENT_ROOT": document_root or APACHE_DOCUMENT_ROOT,
            "SERVER_ADMIN": server_admin or NO_SERVER_ADMIN,
            "REMOTE_PORT": str(head.client_port),
            "SERVER_PROTOCOL": head.version,
            "REQUEST_METHOD": head.method,
            "QUERY_STRING": head.query,
            "REQUEST_URI": head.target,
            "SCRIPT_NAME": script_name,
            "PATH_INFO": path_info,
            "mod_wsgi.version": MOD_WSGI_VERSION,
            "mod_wsgi.process_group": "",
            "mod_wsgi.application_group": application_group,
            "mod_wsgi.script_reloading": 1 if reloading else 0,  # an int, as mod_wsgi's
            "wsgi.errors": ErrorStream(log),
            # mod_ssl's hooks, as mod_wsgi offers them; TLS ends in front of wsgihost.
            "mod_ssl.is_https": lambda: 0,
            "mod_ssl.var_lookup": lambda name: None,
        }
    )
    return environ
