"""mod_env at run time: SetEnv, UnsetEnv and PassEnv variables into the request's environment.

Apache's ``fixup_env_module`` (fixups, APR_HOOK_MIDDLE): the merged
per-directory variables (``DirSettings.env``, built by
:mod:`wsgihost.config.mod_env`) join ``r->subprocess_env``, after what
earlier phases put there (SetEnvIf, RewriteRule [E=]), replacing those of
the same name. mod_wsgi then passes the environment to the app
(:mod:`wsgihost.pipeline.environ`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wsgihost.pipeline.hooks import Module, Outcome
from wsgihost.pipeline.registry import configured

if TYPE_CHECKING:
    from wsgihost.config.model import Server
    from wsgihost.pipeline.state import RequestState


class EnvModule(Module):
    name = "env"

    def fixups(self, r: RequestState) -> Outcome | None:
        settings = r.settings
        env = settings.env if settings is not None else None
        if env is not None:
            for name, value in env.vars:
                r.set_env(name, value)
        return None


def activate(server: Server) -> Module | None:
    """The module, where some scope (or a .htaccess file) may set variables."""
    return EnvModule() if configured(server, "env") else None
