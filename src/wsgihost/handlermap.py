"""Which handler serves a mapped file, as Apache's path walk and mod_mime find it (pure).

For a URL that ``DocumentRoot`` or ``Alias`` maps to the file system,
Apache walks the path down from the root: the first segment that is a file
(or that does not exist) is the request's file, the rest of the URL its
``PATH_INFO``. The file's handler is ``SetHandler``'s, else the last of its
name's extensions that ``AddHandler`` maps (``RemoveHandler`` unmaps one).
mod_wsgi takes ``wsgi-script`` and the names of ``WSGIHandlerScript``s; any
other handler leaves the file to the static file server, as before.

This module decides; :mod:`wsgihost.routing` builds the targets. It reads
the file system only to find where the file ends in the URL (``stat``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass

from wsgihost.config.mod_handlers import HANDLER_CALLABLE, WSGI_HANDLERS
from wsgihost.config.model import DirSettings


@dataclass(frozen=True)
class Handled:
    """A mapped file that mod_wsgi serves."""

    filename: str  # the request's file (SCRIPT_FILENAME)
    script: str  # the script to run: the file itself, or the handler script
    script_name: str
    path_info: str
    settings: DirSettings  # with a handler script's options applied
    label: str  # the section whose mapping chose the handler (a process set's name)
    # "script" (wsgi-script) | "handler" (a WSGIHandlerScript) | "index" (a
    # directory's index file, which ``script_name`` names as a URL to route again)
    kind: str
    # Why the request is refused instead (status, error-log line), or None.
    refusal: tuple[int, str] | None = None
    handler: str = ""  # the handler's name, as mod_wsgi.request_handler shows it


def walk(root: str, fs_path: str) -> tuple[str, str, bool]:
    """(the request's file, the rest as PATH_INFO in file-system terms, whether it is
    a directory), as Apache's directory walk splits ``fs_path`` below ``root``."""
    root = root.rstrip("/") or "/"
    if not fs_path.startswith(root):
        return fs_path, "", os.path.isdir(fs_path)
    current = root
    rest = fs_path[len(root) :]
    while True:
        try:
            mode = os.stat(current).st_mode
        except OSError:
            return current, rest, False
        if not stat.S_ISDIR(mode):
            return current, rest, False
        segment, slash, after = rest.lstrip("/").partition("/")
        if not segment:
            return current, rest, True
        current = current.rstrip("/") + "/" + segment
        rest = slash + after


def handler_of(filename: str, settings: DirSettings) -> tuple[str, str] | None:
    """(handler, the label of the section that chose it), or None."""
    if settings.handler is not None and settings.handler[0]:
        return settings.handler
    name = os.path.basename(filename)
    found: tuple[str, str] | None = None
    if not settings.add_handlers:
        return None
    # mod_mime: every extension of the name counts, the last mapped one wins.
    for ext in name.split(".")[1:]:
        key = "." + ext.lower()
        for mapped, handler, label in reversed(settings.add_handlers):
            if mapped == key:
                if handler:
                    found = (handler, label)
                break
    return found


def _split_url(url: str, rest: str) -> tuple[str, str]:
    """SCRIPT_NAME and PATH_INFO: the URL's last segments are ``rest``'s, one for one."""
    if not rest:
        return url, ""
    cut = len(url)
    for _ in range(rest.count("/")):
        cut = url.rfind("/", 0, cut)
    return url[:cut], url[cut:]


def resolve(
    root: str,
    fs_path: str,
    url: str,
    settings_at: Callable[[str], DirSettings],
) -> Handled | None:
    """What mod_wsgi does with the file ``url`` maps to, or None for the static server."""
    filename, rest, is_dir = walk(root, fs_path)
    if is_dir:
        if not url.endswith("/"):
            return None  # mod_dir's redirect to the slash comes first
        filename += "/"
        rest = ""
    settings = settings_at(filename)
    chosen = handler_of(filename.rstrip("/"), settings)
    if chosen is None:
        if is_dir:
            # mod_dir's index file is an internal redirect, which the handlers map
            # again: an index.wsgi that AddHandler maps runs, it is not sent as a file.
            for index in settings.directory_index or ():
                if os.path.isfile(filename + index):
                    if handler_of(filename + index, settings_at(filename + index)):
                        return Handled(filename + index, "", url + index, "", settings, "", "index")
                    break
        return None
    handler, label = chosen
    script_name, path_info = _split_url(url, rest)
    if handler in WSGI_HANDLERS:
        refusal: tuple[int, str] | None = None
        # mod_dir's index file (an internal redirect, which the handler maps
        # again) comes first; then mod_wsgi's checks, in its order.
        for index in (settings.directory_index or ()) if is_dir else ():
            if os.path.isfile(filename + index):
                return Handled(filename + index, "", url + index, "", settings, label, "index")
        if not settings.exec_cgi:
            refusal = (403, f"Options ExecCGI is off in this directory: {filename}")
        elif is_dir:
            refusal = (403, f"Attempt to invoke directory as WSGI application: {filename}")
        elif not os.path.isfile(filename):
            refusal = (404, f"Target WSGI script not found or unable to stat: {filename}")
        return Handled(
            filename, filename, script_name, path_info, settings, label, "script", refusal, handler
        )
    for name, script, group, app, auth in reversed(settings.handler_scripts):
        if name == handler:
            own = DirSettings(
                process_group=group,
                application_group=app,
                callable_object=HANDLER_CALLABLE,
                pass_authorization=auth,
            )
            merged = settings.merge(own)
            return Handled(
                filename, script, script_name, path_info, merged, label, "handler", None, handler
            )
    return None
