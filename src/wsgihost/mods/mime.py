"""An app's Content-Type as Apache sends it: ForceType, then AddDefaultCharset.

Static files get their type and charset where they are served
(:mod:`wsgihost.static`, :mod:`wsgihost.mime`). An app's answer gets the two
steps Apache takes after mod_wsgi has set ``r->content_type`` from the app's
``Content-Type``:

* ``ForceType`` set ``r->content_type`` in the fixups (core_override_type),
  and an app that sends no Content-Type leaves it there: the answer goes out
  with the forced type (not a 204 or 304, which carry none). An app's own
  Content-Type replaces it, as under mod_wsgi.
  (Apache's request also had the type mod_mime gives the script's name, which
  an app with no Content-Type leaves in place: ``text/x-python`` for
  ``app.py``. wsgihost sends none then: see docs/differences.md.)
* ``ap_make_content_type`` adds ``; charset=<AddDefaultCharset>`` to a type
  that contains ``text/plain`` or ``text/html`` and no ``charset=`` (both
  looked for anywhere in the value, in any case), so ``text/html; level=1``
  gains it and ``text/html;charset=utf-8`` is left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wsgihost.pipeline.hooks import Module, OutHeaders
from wsgihost.pipeline.registry import all_settings
from wsgihost.routing import WSGITarget

if TYPE_CHECKING:
    from wsgihost.config.model import Server
    from wsgihost.pipeline.state import RequestState


def with_default_charset(media: str, charset: str) -> str:
    """``media`` as ap_make_content_type sends it with AddDefaultCharset ``charset``."""
    lowered = media.lower()
    if "charset=" in lowered or not ("text/plain" in lowered or "text/html" in lowered):
        return media
    return f"{media}; charset={charset}"


class MimeModule(Module):
    name = "mime"

    def output_headers(self, r: RequestState, out: OutHeaders) -> None:
        settings = r.settings
        if out.error or settings is None or not isinstance(r.target, WSGITarget):
            return
        charset = settings.default_charset
        forced = settings.force_type
        if not charset and not forced:
            return  # a scope with neither (AllowOverride made the module active)
        headers = out.headers
        for i, (name, value) in enumerate(headers):
            if name.lower() == "content-type":
                if charset:
                    headers[i] = (name, with_default_charset(value, charset))
                return
        if forced and out.status not in (204, 304):
            media = with_default_charset(forced, charset) if charset else forced
            headers.append(("Content-Type", media))


def activate(server: Server) -> Module | None:
    """The module, where some scope names a default charset or a forced type (or a
    .htaccess file may)."""
    for settings in all_settings(server):
        if settings.default_charset or settings.force_type:
            return MimeModule()
        if settings.allow_override or settings.allow_override_list:
            return MimeModule()
    return None
