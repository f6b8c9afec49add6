"""Directives of the distributions' default trees that wsgihost does not act on yet.

Pure. Debian's ``/etc/apache2`` and RHEL's ``/etc/httpd`` enable modules
whose directives no mod_wsgi site depends on (``~user`` folders,
magic-number MIME types). Each is accepted with a warning that says what
will not happen, so a distribution's tree passes
``configtest`` as written, until an issue implements the module; that
module's table then takes the name over (a module's record replaces a
placeholder, see :mod:`wsgihost.config.table`).

``ScriptAlias`` is here because RHEL's ``httpd.conf`` maps ``/cgi-bin/`` to
an empty ``/var/www/cgi-bin/``: with no script there, skipping it changes no
answer a user could get, so it is a warning; with files in it, they would
not run, and it stays an error as the core table had it.
"""

from __future__ import annotations

import os

from wsgihost.config.draft import Context
from wsgihost.config.table import TOP, Directive, not_ours, record

CGI_WHY = "CGI is not provided by wsgihost: mount WSGI apps with WSGIScriptAlias"


def _user_dir(ctx: Context, args: list[str]) -> None:
    # 'UserDir disabled' (RHEL's default) asks for what wsgihost does anyway.
    if args[0].lower() != "disabled":
        ctx.warn("~user folders are not served (mod_userdir is not provided); ignored")


def _holds_files(folder: str) -> bool:
    try:
        for _root, _dirs, files in os.walk(folder):
            if files:
                return True
    except OSError:
        return True  # cannot tell: treat it as holding scripts
    return False


def _script_alias(ctx: Context, args: list[str]) -> None:
    folder = ctx.path(args[1])
    if os.path.isdir(folder) and _holds_files(folder):
        ctx.error(f"{CGI_WHY} (the scripts in {folder} would not run)")
    elif os.path.isfile(folder):
        ctx.error(f"{CGI_WHY} ({folder} would not run)")
    else:
        ctx.warn(
            f"CGI is not provided by wsgihost; {folder} holds no script, so none is "
            f"lost, but scripts put there later will not run under {args[0]}"
        )


DIRECTIVES: tuple[Directive, ...] = (
    *not_ours(
        "MIMEMagicFile",
        "types are not guessed from file contents (mod_mime_magic is not provided)",
        TOP,
        module="mod_mime_magic",
    ),
    record(
        "UserDir",
        "UserDir directory-filename [directory-filename] ... | disabled [user] ...",
        TOP,
        (1, None),
        "",
        "`~user` folders are not served (mod_userdir is not provided). "
        "`UserDir disabled` is accepted silently, since it asks for just that; any "
        "other form is a warning.",
        _user_dir,
        module="mod_userdir",
        kind="ignored",
        why="~user folders are not served (mod_userdir is not provided)",
    ),
    *(
        record(
            name,
            f"{name} URL-path file-path|directory-path",
            TOP,
            (2, 2),
            "",
            "CGI is not provided. Accepted with a warning when the folder it maps "
            "holds no file (RHEL's default `/var/www/cgi-bin/`), since nothing is "
            "lost; an error when it holds scripts, which would not run.",
            _script_alias,
            module="mod_alias",
            kind="ignored",
            why=CGI_WHY,
        )
        for name in ("ScriptAlias", "ScriptAliasMatch")
    ),
)
