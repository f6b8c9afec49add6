"""mod_rewrite: RewriteEngine, RewriteCond, RewriteRule, RewriteBase, RewriteOptions, RewriteMap.

The package: :mod:`.rules` (the configuration records and their parsing),
:mod:`.engine` (a rule list applied to a request), :mod:`.escape`,
:mod:`.maps`, :mod:`.phases` (what a result means, server and per-directory
context). The pipeline's side is :mod:`.module`, imported only when a
configuration uses rewrites (the configuration reads :mod:`.rules` alone).
The directives are read by :mod:`wsgihost.config.mod_rewrite`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wsgihost.config.model import Server
    from wsgihost.pipeline.hooks import Module


def activate(server: Server) -> Module | None:
    """The module, where some scope (or a .htaccess file) may hold rewrite directives."""
    from wsgihost.mods.rewrite.module import RewriteModule
    from wsgihost.pipeline.registry import configured

    return RewriteModule(server) if configured(server, "rewrite") else None
