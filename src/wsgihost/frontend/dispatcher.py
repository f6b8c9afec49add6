"""WSGIDispatchScript: per request, a script chooses where a WSGI app runs.

mod_wsgi runs a dispatch script inside the web server's own processes,
whatever the app's mode; here that is the front-end worker, as its user, on
the worker's embedded-app threads (a script may be slow, and must not stop
the event loop). The script's optional ``process_group(environ)``,
``application_group(environ)`` and ``callable_object(environ)`` each return
a name, or None to keep the configured one. The script is loaded with
:mod:`wsgihost.wsgi.loader` and loaded again when its file changes, as
mod_wsgi reloads dispatch scripts in place.

All the worker's dispatch scripts share its one interpreter: an
``application-group=`` on the directive names no separate one (there is
only one interpreter per front-end worker).
"""

from __future__ import annotations

import threading
import traceback
from typing import TYPE_CHECKING, Any

from wsgihost.logs import ErrorLog
from wsgihost.routing import Router, WSGITarget
from wsgihost.wsgi.environ import Mount, build_environ
from wsgihost.wsgi.loader import ScriptModule

if TYPE_CHECKING:
    from wsgihost.frontend.exchange import Request

# The functions a dispatch script may define, in the order mod_wsgi calls them.
CHOICES = ("process_group", "application_group", "callable_object")


class DispatchError(Exception):
    """The script failed or returned what mod_wsgi refuses: a 500, logged."""


class DispatchScripts:
    """The dispatch scripts one worker has loaded, by path."""

    def __init__(self) -> None:
        self._scripts: dict[str, ScriptModule] = {}
        self._lock = threading.Lock()

    def _script(self, path: str) -> ScriptModule:
        with self._lock:
            found = self._scripts.get(path)
            if found is None:
                found = self._scripts[path] = ScriptModule(path)
            return found

    def choose(self, path: str, environ: dict[str, Any]) -> list[str | None]:
        """What the script at ``path`` returns from each of :data:`CHOICES` (None where it
        defines no such function or returns None)."""
        try:
            module = self._script(path).get()
        except BaseException as e:
            raise DispatchError(_python_error(path)) from e
        found: list[str | None] = []
        for name in CHOICES:
            function = getattr(module, name, None)
            if function is None:
                found.append(None)
                continue
            try:
                value = function(environ)
            except BaseException as e:
                raise DispatchError(_python_error(path)) from e
            if value is not None and not isinstance(value, str):
                kind = name.replace("_", " ").capitalize()
                raise DispatchError(
                    f"Exception occurred processing WSGI script '{path}'.\n"
                    f"TypeError: {kind} must be a string object"
                )
            found.append(value)
        return found


def _python_error(path: str) -> str:
    return f"Exception occurred processing WSGI script '{path}'.\n" + traceback.format_exc()


def _group_name(value: str | None) -> str | None:
    """A returned group name as mod_wsgi reads it: ``%{GLOBAL}`` is embedded mode / the
    main interpreter, which wsgihost spells as the empty name."""
    return "" if value == "%{GLOBAL}" else value


SCRIPTS = DispatchScripts()  # one worker, one interpreter: one set of dispatch scripts


def dispatch(
    router: Router,
    req: Request,
    target: WSGITarget,
    log: ErrorLog,
    client: str,
    groups: set[str],
) -> WSGITarget | None:
    """Run on a pool thread: ``target`` as the host's dispatch script redirects it, or
    None (after logging why) when the request must get a 500."""
    script = target.settings.dispatch_script
    if script is None:
        return target
    settings = target.settings
    mount = Mount(
        target.script_name,
        target.script,
        callable_object=settings.callable_object or "application",
        application_group=target.application_group,
        process_group=settings.process_group or "",
        pass_authorization=bool(settings.pass_authorization),
        script_reloading=settings.script_reloading is not False,
        document_root=target.document_root,
        server_admin=target.host.server_admin,
        server_name=target.host.server_name,
    )
    environ = build_environ(req.head, mount, None, None, None, target.script_name, target.path_info)
    environ.update(target.environ_overrides())
    try:
        group, app, callable_object = SCRIPTS.choose(script[0], environ)
    except DispatchError as e:
        for line in str(e).rstrip("\n").split("\n"):
            log.error(line, client)
        return None
    group, app = _group_name(group), _group_name(app)
    if group and group not in groups:
        # As mod_wsgi answers a process group no WSGIDaemonProcess defines.
        filename = target.filename or target.script
        log.error(
            f"No WSGI daemon process called '{group}' has been configured: {filename}", client
        )
        return None
    return router.regroup(target, group, app, callable_object)
