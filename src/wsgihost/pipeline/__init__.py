"""The request pipeline: Apache 2.4's request hooks, for the modules wsgihost provides.

A request that a front-end worker has read goes through these phases, in
Apache's order (``ap_process_request_internal``, then the handler and the
output filters). :class:`~wsgihost.pipeline.state.RequestState` is the
request as the modules see it (a subset of Apache's ``request_rec``).

=================  ==========================================================
post_read_request  right after the head is read; the virtual host is known.
                   mod_remoteip, server-context SetEnvIf, ``RequestHeader
                   early``.
translate_name     URL -> resource: ``Redirect``, server/vhost ``RewriteRule``.
                   May change ``r.uri`` (routing then maps the new one) or
                   set ``r.filename`` (routing then takes that file as is).
map_to_storage     wsgihost's own: :mod:`wsgihost.routing` (Alias,
                   WSGIScriptAlias, <Directory>, <Files>, <Location>,
                   .htaccess), then ``<If>`` sections merged (ap_if_walk).
                   Afterwards ``r.settings`` is the request's merged
                   per-directory configuration and ``r.target`` its target.
header_parser      per-directory SetEnvIf.
(access)           wsgihost's own access gate (Require, authentication).
type_checker       mod_mime, ForceType (the static-file path does its own).
fixups             per-directory RewriteRule, mod_env, RequestHeader.
(handler)          static file, embedded app or daemon app.
output_filter      a response's head is known: a module may choose a body
                   filter (``BodyFilter``: ``feed``/``finish``) and change the
                   headers it affects (DEFLATE). Not for the server's own
                   pages, nor TRACE. The front end (frontend/filtered.py) runs
                   the body through it piece by piece, at the client's pace.
output_headers     every response's headers on their way out: static files,
                   apps in both modes, the server's own error pages.
=================  ==========================================================

Each hook (a method of :class:`~wsgihost.pipeline.hooks.Module`) returns
None to go on, or an :data:`~wsgihost.pipeline.hooks.Outcome` that ends the
phases at once:

* :class:`~wsgihost.pipeline.hooks.Answer`: a status (the server's own page
  for it, ErrorDocument included, unless a body is given), with headers;
* :class:`~wsgihost.pipeline.hooks.Redirect`: an external redirect (3xx
  with ``Location``, Apache's "moved" page);
* :class:`~wsgihost.pipeline.hooks.Reroute`: an internal redirect to a new
  URI; the request starts over at translate_name with its environment
  renamed ``REDIRECT_*`` (Apache's ``ap_internal_redirect``; at most 10, then
  a 500 with AH00124). A Reroute from a fixup waits for the other fixups, as
  mod_rewrite's redirect waits for the handler in Apache.

A module writes error-log lines with ``r.log(level, message, module)`` (the
host's log, the client named, ``[module:level]``); it changes the response's
headers in ``output_headers`` (``out.headers`` is headers_out,
``out.err_headers`` err_headers_out; ``out.error`` marks the server's own page,
which Apache sends with err_headers_out only). Sections are merged as Apache's
walks merge them: each walk's sections among themselves, then onto the host's
settings, so a module's ``merge`` need not be associative.

Adding a module
---------------

1. Its directives in ``config/mod_<name>.py`` (a ``DIRECTIVES`` tuple joined
   through ``MODULE_TABLES`` in ``config/directives.py``).
2. Its per-directory configuration: a frozen dataclass of its own with a
   ``merge(self, over) -> Self`` method (Apache's merge_dir_config: ``over``
   is the deeper section). Add ONE field for it to
   :class:`~wsgihost.config.model.DirSettings` (default None, annotated
   through ``TYPE_CHECKING`` to avoid an import cycle) and its name to
   ``MODULE_DIR_FIELDS`` in ``config/model.py``: ``DirSettings.merge`` (and
   so routing, .htaccess and ``<If>``) then merges it with that method.
   Server/vhost configuration (what Apache keeps per server, such as the
   vhost's RewriteRules) is likewise one field of
   :class:`~wsgihost.config.model.Host`.
3. Its runtime in ``src/wsgihost/mods/<name>.py``: a subclass of
   :class:`~wsgihost.pipeline.hooks.Module` overriding the hooks it needs,
   and a function ``activate(server) -> Module | None`` that returns None
   where the configuration does not use the module.
4. Its module path in :data:`wsgihost.pipeline.registry.MODULES`.

A worker builds one :class:`~wsgihost.pipeline.runner.Pipeline` from the
active modules; a site that configures none has an empty pipeline, and its
requests pay one attribute test (``pipeline.active``) and nothing else.
Likewise a site whose modules filter no body has an empty ``pipeline.filters``,
and its responses take the path they took before there were filters.
"""

from __future__ import annotations

from wsgihost.pipeline.hooks import (
    Answer,
    BodyFilter,
    Module,
    Outcome,
    OutHeaders,
    Redirect,
    Reroute,
)
from wsgihost.pipeline.runner import Pipeline
from wsgihost.pipeline.state import RequestState

__all__ = [
    "Answer",
    "BodyFilter",
    "Module",
    "OutHeaders",
    "Outcome",
    "Pipeline",
    "Redirect",
    "RequestState",
    "Reroute",
]
