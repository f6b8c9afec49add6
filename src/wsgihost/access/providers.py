"""The ``Require`` providers wsgihost has: mod_authz_core's ``all`` and ``method``,
mod_authz_host's ``ip``, ``local`` and ``host``, mod_authz_user's ``valid-user`` and
``user``, mod_authz_groupfile's ``group``, and mod_wsgi's ``wsgi-group``.

Each checks its arguments when the configuration is read (``parse``) and
answers for one request (``check``), with the results and error-log lines
of the Apache module it stands for. ``REGISTRY`` is what the rule tree
evaluates with; a provider added later (``group``, ``file-owner``) is one
more entry.
"""

from __future__ import annotations

import re

from wsgihost import expr
from wsgihost.access.address import BadAddress, in_domain, in_network, is_local, parse_network
from wsgihost.access.exprfacts import FactsRequest
from wsgihost.access.rules import Check, Facts, Outcome, Provider


class AllProvider:
    def parse(self, args: tuple[str, ...]) -> str | None:
        if len(args) != 1 or args[0].lower() not in ("granted", "denied"):
            return "'Require all' takes one argument, granted or denied"
        return None

    def check(self, rule: Check, facts: Facts) -> Outcome:
        return Outcome.GRANTED if rule.args[0].lower() == "granted" else Outcome.DENIED


# A method token (RFC 9110): what Apache would register as a method name.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


class MethodProvider:
    """mod_authz_core's ``Require method GET POST ...``: granted for the methods
    listed (GET takes HEAD with it, as Apache's method mask does), else denied.
    RHEL's conf.d/userdir.conf uses it."""

    def parse(self, args: tuple[str, ...]) -> str | None:
        if not args:
            return "'Require method' needs at least one method name"
        for arg in args:
            if _TOKEN.fullmatch(arg) is None:
                return f"'{arg}' is not an HTTP method name"
        return None

    def check(self, rule: Check, facts: Facts) -> Outcome:
        method = "GET" if facts.method == "HEAD" else facts.method
        # Method names are case-sensitive in HTTP and in Apache's registry.
        return Outcome.GRANTED if method in rule.args else Outcome.DENIED


class IpProvider:
    def parse(self, args: tuple[str, ...]) -> str | None:
        if not args:
            return "'Require ip' needs at least one address"
        for arg in args:
            try:
                parse_network(arg)
            except BadAddress:
                return f"ip address '{arg}' appears to be invalid"
        return None

    def check(self, rule: Check, facts: Facts) -> Outcome:
        for arg in rule.args:
            if in_network(facts.client_addr, parse_network(arg)):
                return Outcome.GRANTED
        return Outcome.DENIED


class LocalProvider:
    def parse(self, args: tuple[str, ...]) -> str | None:
        return "'Require local' takes no arguments" if args else None

    def check(self, rule: Check, facts: Facts) -> Outcome:
        granted = is_local(facts.client_addr, facts.local_addr)
        return Outcome.GRANTED if granted else Outcome.DENIED


class HostProvider:
    def parse(self, args: tuple[str, ...]) -> str | None:
        if not args:
            return "'Require host' needs at least one host or domain name"
        for arg in args:
            if "%{" in arg:
                return f"'{arg}': expressions in 'Require host' are not provided"
            if arg.startswith("#"):
                break  # Apache reads the rest of the line as a comment
        return None

    def check(self, rule: Check, facts: Facts) -> Outcome:
        name = facts.remote_host()
        if name is None:
            facts.log(
                "authz_host",
                f"AH01753: access check of '{' '.join(rule.args)}' to {facts.uri} failed, "
                "reason: unable to get the remote host name",
            )
            return Outcome.DENIED
        for arg in rule.args:
            if arg.startswith("#"):
                break
            if in_domain(arg.split("#", 1)[0], name):
                return Outcome.GRANTED
        return Outcome.DENIED


class ValidUserProvider:
    def parse(self, args: tuple[str, ...]) -> str | None:
        return None  # Apache ignores anything after valid-user

    def check(self, rule: Check, facts: Facts) -> Outcome:
        return Outcome.GRANTED if facts.user is not None else Outcome.DENIED_NO_USER


class UserProvider:
    def parse(self, args: tuple[str, ...]) -> str | None:
        return None if args else "'Require user' needs at least one user name"

    def check(self, rule: Check, facts: Facts) -> Outcome:
        if facts.user is None:
            return Outcome.DENIED_NO_USER
        return Outcome.GRANTED if facts.user in rule.args else Outcome.DENIED


class WsgiGroupProvider:
    """mod_wsgi's ``Require wsgi-group``: the groups WSGIAuthGroupScript gives."""

    def parse(self, args: tuple[str, ...]) -> str | None:
        return None if args else "'Require wsgi-group' needs at least one group name"

    def check(self, rule: Check, facts: Facts) -> Outcome:
        if facts.user is None:
            return Outcome.DENIED_NO_USER
        groups = facts.groups()
        if groups is None:
            return Outcome.DENIED  # the script failed; it said why
        why = "designated groups"
        if not groups:
            why = "any groups"
        elif any(name in groups for name in rule.args):
            return Outcome.GRANTED
        facts.log(
            "wsgi",
            f"{facts.wsgi_prefix}Authorization of user '{facts.user}' to access "
            f"'{facts.uri}' failed. User is not a member of {why}.",
        )
        return Outcome.DENIED


class GroupProvider:
    """mod_authz_groupfile's ``Require group``: the groups of AuthGroupFile."""

    def parse(self, args: tuple[str, ...]) -> str | None:
        return None if args else "'Require group' needs at least one group name"

    def check(self, rule: Check, facts: Facts) -> Outcome:
        if facts.user is None:
            return Outcome.DENIED_NO_USER
        # The gate's facts know the group file; the Facts protocol is authorization's.
        lookup = getattr(facts, "file_groups", None)
        if lookup is None:
            return Outcome.ERROR
        path, groups = lookup()
        if path is None:
            facts.log(
                "authz_groupfile", "AH01664: No group file was specified in the configuration"
            )
            return Outcome.DENIED
        if groups is None:
            return Outcome.DENIED  # the file could not be read (logged)
        log_at = getattr(facts, "log_to", None)
        if not groups:
            if log_at is not None:
                log_at(
                    "authz_groupfile",
                    "info",
                    f"AH01666: Authorization of user {facts.user} to access {facts.uri} "
                    f"failed, reason: user doesn't appear in group file ({path}).",
                )
            return Outcome.DENIED
        if any(name in groups for name in rule.args):
            return Outcome.GRANTED
        if log_at is not None:
            log_at(
                "authz_groupfile",
                "debug",
                f"AH01667: Authorization of user {facts.user} to access {facts.uri} failed, "
                "reason: user is not part of the 'require'ed group(s).",
            )
        return Outcome.DENIED


class EnvProvider:
    """mod_authz_core's ``Require env VAR...``: granted when the request has any of the
    variables (SetEnv, SetEnvIf, ...; names in any case, any value, empty too), else
    denied. The variables are the pipeline's request state's; a request without one
    has none."""

    def parse(self, args: tuple[str, ...]) -> str | None:
        return None  # Apache takes none too: such a rule denies everyone

    def check(self, rule: Check, facts: Facts) -> Outcome:
        request = FactsRequest(facts)
        found = any(request.env(name) is not None for name in rule.args)
        return Outcome.GRANTED if found else Outcome.DENIED


class ExprProvider:
    """mod_authz_core's ``Require expr "..."``: granted when the expression is true.

    Compiled once when the configuration is read (a bad one is refused there,
    with Apache's message); an expression naming ``%{REMOTE_USER}`` that is
    false asks for a user first, as Apache's does.
    """

    def __init__(self) -> None:
        self.compiled: dict[str, tuple[expr.Expr, bool]] = {}

    @staticmethod
    def text(args: tuple[str, ...]) -> str:
        # Apache takes the rest of the line (its quotes already removed here).
        return " ".join(args)

    def parse(self, args: tuple[str, ...]) -> str | None:
        text = self.text(args)
        try:
            compiled = expr.compile(text)
        except expr.ExprError as e:
            return f"Cannot parse expression in require line: {e}"
        wants_user = re.search(r"%\{\s*remote_user\s*\}", text, re.IGNORECASE) is not None
        self.compiled[text] = (compiled, wants_user)
        return None

    def check(self, rule: Check, facts: Facts) -> Outcome:
        text = self.text(rule.args)
        if text not in self.compiled and self.parse(rule.args) is not None:
            return Outcome.ERROR
        compiled, wants_user = self.compiled[text]
        request = FactsRequest(facts)
        try:
            outcome = compiled.run(request)
        except expr.EvaluationError as e:
            facts.log("authz_core", f"AH02320: Error evaluating expression in 'Require expr': {e}")
            return Outcome.ERROR
        request.vary(outcome.varies)
        if outcome.value:
            return Outcome.GRANTED
        return Outcome.DENIED_NO_USER if wants_user and facts.user is None else Outcome.DENIED


REGISTRY: dict[str, Provider] = {
    "all": AllProvider(),
    "method": MethodProvider(),
    "ip": IpProvider(),
    "local": LocalProvider(),
    "host": HostProvider(),
    "valid-user": ValidUserProvider(),
    "user": UserProvider(),
    "wsgi-group": WsgiGroupProvider(),
    "expr": ExprProvider(),
    "env": EnvProvider(),
    "group": GroupProvider(),
}
# Providers whose check may block (DNS, a script): never evaluated on the event loop.
SLOW = frozenset({"host", "wsgi-group", "group"})
