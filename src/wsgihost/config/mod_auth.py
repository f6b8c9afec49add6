"""Access control directives: ``Require`` (mod_authz_core, mod_authz_host,
mod_authz_user, mod_wsgi's ``wsgi-group``), ``AuthType``, ``AuthName``,
``AuthBasicProvider`` (mod_authn_core, mod_auth_basic) and mod_wsgi's
``WSGIAuthUserScript``, ``WSGIAuthGroupScript`` and ``WSGIAccessScript``.

Pure. ``Require`` lines become a rule tree (:mod:`wsgihost.access.rules`),
checked by their provider as they are read, so a mistake is reported with
its file and line rather than found by a request. What a rule needs that
wsgihost does not provide is refused, never skipped: skipping a rule would
open what it protects. :mod:`wsgihost.access.gate` enforces the result.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from wsgihost.access.providers import REGISTRY
from wsgihost.access.rules import ALL_METHODS, Check
from wsgihost.config.draft import Context
from wsgihost.config.mod_authz import add_rule, block_name, current_block
from wsgihost.config.mod_refused import require_provider_refusal
from wsgihost.config.model import AuthScript
from wsgihost.config.table import DIRECTORY, Apply, Directive, record
from wsgihost.config.values import parse_pairs, suggest

_DIR = frozenset({DIRECTORY})


_RUN_IN_WORKER = (
    " mod_wsgi runs it inside Apache's own processes; wsgihost runs it in the front-end "
    "worker (as the front-end user, `User`), on a thread of the worker's pool, never on "
    "its event loop, whatever daemon group serves the app. All such scripts share the "
    "worker's one interpreter: `application-group=` (default `%{GLOBAL}`) only names "
    "the group the script sees in `mod_wsgi.application_group`. With "
    "WSGIScriptReloading On the script is loaded again when it changes."
)


def _require(ctx: Context, args: list[str]) -> None:
    negate = args[0].lower() == "not" and len(args) > 1
    words = args[1:] if negate else args
    if negate and current_block(ctx).op == "any":
        # Apache: a negated rule can only deny or say nothing, never grant.
        where = block_name(current_block(ctx))
        ctx.error(
            f"negative Require directive has no effect in {where} directive: 'Require "
            f"{' '.join(args)}' belongs inside <RequireAll>, where it can deny"
        )
        return
    name = words[0].lower()
    provider = REGISTRY.get(name)
    if provider is None:
        ldap = require_provider_refusal(name)
        if ldap is not None:
            ctx.error(ldap)
            return
        ctx.error(
            f"'Require {words[0]}' is not provided by wsgihost{suggest(name, REGISTRY)} "
            f"(it has: {', '.join(REGISTRY)}); a rule wsgihost cannot enforce is refused, "
            "because skipping it would open what it protects"
        )
        return
    rule_args = tuple(words[1:])
    problem = provider.parse(rule_args)
    if problem is not None:
        ctx.error(problem)
        return
    check = Check(name, rule_args, negate, ctx.limit or ALL_METHODS)
    draft = ctx.dir
    inside = ctx.authz_path is not None or ctx.limit is not None
    add_rule(ctx, check)  # several lines in one scope: any of them (<RequireAny>)
    if inside:
        return
    # The summary static files read: "denied" only while every line denies everyone.
    denies = name == "all" and rule_args[0].lower() == "denied"
    draft.require = "denied" if denies and draft.require != "granted" else "granted"


def _auth_type(ctx: Context, args: list[str]) -> None:
    value = args[0]
    if value.lower() == "none":
        ctx.dir.settings = replace(ctx.dir.settings, auth_type="")
    elif value.lower() == "basic":
        ctx.dir.settings = replace(ctx.dir.settings, auth_type=value)
    else:
        ctx.error(
            f"AuthType {value} is not provided: only Basic (mod_auth_basic) and None are; "
            "skipping it would open what it protects"
        )


def _auth_name(ctx: Context, args: list[str]) -> None:
    ctx.dir.settings = replace(ctx.dir.settings, auth_name=args[0])


def _auth_basic_provider(ctx: Context, args: list[str]) -> None:
    names: list[str] = []
    for arg in args:
        name = arg.lower()
        if name not in ("file", "wsgi"):
            ctx.error(
                f"authentication provider '{arg}' is not provided: only 'file' "
                "(AuthUserFile) and 'wsgi' (a WSGIAuthUserScript) are, and skipping it "
                "would open what it protects"
            )
            return
        names.append(name)
    # Tried in the order written, the next only for a user the last did not know;
    # a second line in the same section adds to the list, as mod_auth_basic's does.
    before = ctx.dir.settings.auth_provider
    joined = " ".join(names) if before is None else f"{before} {' '.join(names)}"
    ctx.dir.settings = replace(ctx.dir.settings, auth_provider=joined)


def _script(field_name: str) -> Apply:
    def apply(ctx: Context, args: list[str]) -> None:
        pairs = parse_pairs(ctx, args[1:])
        if pairs is None:
            return
        group = ""
        for name, value in pairs:
            if name != "application-group":
                ctx.error(f"unknown option '{name}'{suggest(name, ['application-group'])}")
                return
            if value.startswith("%{") and value != "%{GLOBAL}":
                ctx.error(
                    f"application-group={value}: only %{{GLOBAL}} or a name is provided "
                    "for auth scripts (they all run in the front-end worker's interpreter)"
                )
                return
            group = "" if value == "%{GLOBAL}" else value
        path = ctx.path(args[0])
        if not os.path.isfile(path):
            ctx.warn(f"{path} is not a file (yet): requests it guards get a 500 until it is")
        script = AuthScript(path, group)
        changes: dict[str, Any] = {field_name: script}
        ctx.dir.settings = replace(ctx.dir.settings, **changes)

    return apply


_SCRIPT_SYNTAX = " /path/to/script.wsgi [application-group=NAME]"

DIRECTIVES: tuple[Directive, ...] = (
    record(
        "Require",
        "Require [not] all granted|denied | local | ip ADDR... | host NAME... | valid-user | "
        "user NAME... | wsgi-group NAME... | env VAR... | expr EXPRESSION",
        _DIR,
        (1, None),
        "(none: granted)",
        "Who may have what the section covers. `all granted|denied`; `local` (127.0.0.0/8, "
        "::1, or a client on the very address it connected to); `ip` (whole or partial "
        "addresses such as `10.1`, `10.0.0.0/8`, `10.0.0.0/255.0.0.0`, IPv6 with a prefix); "
        "`host` (the client's reverse-DNS name, confirmed by a forward lookup, equal to or "
        "within a name given; looked up on a thread, answers kept for a minute); "
        "`valid-user`, `user NAME...` and `wsgi-group NAME...` (groups from "
        "WSGIAuthGroupScript) need an authenticated user (AuthType Basic); `expr` "
        '(Apache\'s expression language, quoted: `Require expr "%{REQUEST_URI} =~ m#^/x#"`, '
        "checked when read); `env VAR...` (any of the request's variables set, by "
        "SetEnvIf, SetEnv, ...). `not` negates a rule: it can then only deny, inside "
        "<RequireAll>. Several lines "
        "in one section grant if any does; a section with Require lines replaces the "
        "rules of the sections around it (AuthMerging Off). Denied: 403, or 401 for an "
        "authenticated user. Other providers and `Require not` outside <RequireAll> are "
        "refused rather than ignored, because ignoring them would open what they protect.",
        _require,
        module="mod_authz_core",
    ),
    record(
        "AuthType",
        "AuthType Basic|None",
        _DIR,
        (1, 1),
        "(none)",
        "Basic: rules that need a user (`Require valid-user`, ...) ask the client for "
        'one with a 401 and `WWW-Authenticate: Basic realm="AuthName"`, and check the '
        "credentials with the AuthBasicProvider; the user reaches the app as REMOTE_USER "
        "and AUTH_TYPE, and the access log's `%u`. None: no authentication here. Digest "
        "and Form are refused (mod_auth_digest and mod_auth_form are not provided).",
        _auth_type,
        module="mod_authn_core",
    ),
    record(
        "AuthName",
        "AuthName realm",
        _DIR,
        (1, 1),
        "(none)",
        "The realm of Basic authentication, shown by browsers; AuthType Basic without it "
        "is a 500, as in Apache.",
        _auth_name,
        module="mod_authn_core",
    ),
    record(
        "AuthBasicProvider",
        "AuthBasicProvider file|wsgi ...",
        _DIR,
        (1, None),
        "file",
        "Where Basic credentials are checked, in the order given (the next provider only "
        "for a user the previous one does not know): `file`, the AuthUserFile (Apache's "
        "default), and `wsgi`, the WSGIAuthUserScript.",
        _auth_basic_provider,
        module="mod_auth_basic",
    ),
    record(
        "WSGIAuthUserScript",
        "WSGIAuthUserScript" + _SCRIPT_SYNTAX,
        _DIR,
        (1, 2),
        "(none)",
        "The script whose `check_password(environ, user, password)` checks Basic "
        "credentials (AuthBasicProvider wsgi): True grants, a string grants as that user, "
        "False (wrong password) and None (no such user) give a 401, with Apache's AH01617 "
        "and AH01618 lines in the error log; an exception is a 500 with its traceback. "
        "`environ` holds what mod_wsgi 4.9 gives it (the request's headers but "
        "Authorization, REQUEST_URI, SCRIPT_NAME, PATH_INFO, REMOTE_ADDR, `wsgi.errors`, "
        "`mod_wsgi.application_group` ...)." + _RUN_IN_WORKER,
        _script("auth_user_script"),
        module="mod_wsgi",
    ),
    record(
        "WSGIAuthGroupScript",
        "WSGIAuthGroupScript" + _SCRIPT_SYNTAX,
        _DIR,
        (1, 2),
        "(none)",
        "The script whose `groups_for_user(environ, user)` gives the authenticated "
        "user's groups (an iterable of strings or bytes), for `Require wsgi-group`."
        + _RUN_IN_WORKER,
        _script("auth_group_script"),
        module="mod_wsgi",
    ),
    record(
        "WSGIAccessScript",
        "WSGIAccessScript" + _SCRIPT_SYNTAX,
        _DIR,
        (1, 2),
        "(none)",
        "The script whose `allow_access(environ, host)` is asked first, before any "
        "authentication: False is a 403, True and None let the request go on to the "
        "Require rules. `host` is the client's address (HostnameLookups is not "
        "provided)." + _RUN_IN_WORKER,
        _script("access_script"),
        module="mod_wsgi",
    ),
)
