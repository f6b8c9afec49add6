"""The rewriting engine: a list of rules applied to one request (apply_rewrite_list,
apply_rewrite_rule).

The rules work on a :class:`~wsgihost.mods.rewrite.run.Run`; conditions are
in :mod:`.conditions`, expansion in :mod:`.expand`. Pure but for the file
tests and the map files.
"""

from __future__ import annotations

import re

from wsgihost.mods.rewrite import escape
from wsgihost.mods.rewrite.conditions import atoi, conditions
from wsgihost.mods.rewrite.expand import expand
from wsgihost.mods.rewrite.rules import Rule
from wsgihost.mods.rewrite.run import Run, Site, merge_vary

__all__ = ["Run", "Site", "apply_list", "apply_rule"]

# What apply_rewrite_list returns.
UNCHANGED = 0
CHANGED = 1
CHANGED_NOESCAPE = 2  # the last rule had [NE]
STATUS = 3  # a rule answers with a status (F, G, R=4xx, N's limit)

# apply_rewrite_rule's results.
_NOMATCH, _MATCH, _NOSUB, _STATUS_SET = 0, 1, 2, 3


def _env(run: Run, rule: Rule) -> None:
    for item in rule.env:
        text = expand(run, item)[0]
        if text.startswith("!"):
            run.r.env.pop(text[1:], None)
        else:
            name, _, value = text.partition(":")
            run.r.env[name] = value


def _cookies(run: Run, rule: Rule) -> None:
    for item in rule.cookies:
        run.cookies.append(expand(run, item)[0])


def _type_handler(run: Run, rule: Rule) -> None:
    if rule.mime:
        found = expand(run, rule.mime, rule)[0]
        if found:
            run.mime = found.lower()
    if rule.handler:
        found = expand(run, rule.handler, rule)[0]
        if found:
            run.handler = found.lower()


def split_query(run: Run, flags: frozenset[str]) -> None:
    """splitout_queryargs: a ``?`` in the result becomes r->args (QSA, QSD, QSL)."""
    r = run.r
    if "QSNONE" in flags:
        r.args = ""
        return
    skip, query = escape.absolute_uri(run.filename)
    if skip and not query:
        r.args = ""
        return
    if "QSD" in flags:
        r.args = ""
    pos = run.filename.rfind("?") if "QSL" in flags else run.filename.find("?", skip)
    if pos < skip or pos < 0:
        return
    new = run.filename[pos + 1 :]
    run.filename = run.filename[:pos]
    if "QSA" in flags:
        if new:
            r.args = new + "&" + r.args if r.args else new + "&"
    else:
        r.args = new
    if r.args.endswith("&"):
        r.args = r.args[:-1]


def fully_qualify(run: Run) -> None:
    if escape.absolute_uri(run.filename)[0]:
        return
    port = run.site.port
    default = 443 if run.r.https else 80
    shown = "" if port == default else f":{port}"
    slash = "" if run.filename.startswith("/") else "/"
    run.filename = f"{run.scheme}://{run.site.server_name}{shown}{slash}{run.filename}"


def _reduce(run: Run) -> None:
    """reduce_uri: ``http[s]://ourhost[:port]/path`` -> ``/path``."""
    scheme = run.scheme + "://"
    name = run.filename
    if len(name) <= len(scheme) or name[: len(scheme)].lower() != scheme:
        return
    rest = name[len(scheme) :]
    m = re.match(r"([^/:]*)(?::([^/]*))?(.*)", rest, re.S)
    assert m is not None
    host, port_text, url = m.group(1), m.group(2), m.group(3)
    default = 443 if run.r.https else 80
    port = atoi(port_text) if port_text is not None else default
    if not url:
        url = "/"
    if run.site.matches_vhost(host, port):
        run.filename = url
        run.reduced = True


def apply_rule(run: Run, rule: Rule) -> int:
    """One rule (apply_rewrite_rule)."""
    run.uri = run.filename
    if run.perdir is not None:
        if run.path_info:
            run.uri += run.path_info
        if run.uri.startswith(run.perdir):
            run.uri = run.uri[len(run.perdir) :]
    m = rule.regex.search(run.uri)
    if (m is not None) == rule.negate:
        return _NOMATCH
    run.vary_this.clear()
    run.cond_src = run.cond_match = run.cond_groups = None
    if rule.negate:
        run.rule_src, run.rule_match = None, None
    else:
        run.rule_src, run.rule_match = run.uri, m
    if not conditions(run, rule.conds):
        return _NOMATCH
    new = ""
    if "NOSUB" not in rule.flags:
        new, unsafe = expand(run, rule.output, rule)
        if unsafe and "UNSAFE_ALLOW3F" not in rule.flags:
            run.site.log(
                "error", "AH10508: Unsafe URL with %3f URL rewritten without UnsafeAllow3F"
            )
            run.status = 403
            return _STATUS_SET
    _env(run, rule)
    _cookies(run, rule)
    if "NOSUB" in rule.flags:
        _type_handler(run, rule)
        if "STATUS" in rule.flags:
            run.status = rule.status
        return _NOSUB
    prefix_added = False
    if not new.startswith("/") and not escape.absolute_uri(new)[0]:
        if run.perdir is not None:
            new = run.perdir + new
            prefix_added = True
        elif "R" not in rule.flags:
            new = "/" + new
            prefix_added = True
    run.filename = new
    if run.perdir is not None and "DPI" in rule.flags:
        run.path_info = ""
    split_query(run, rule.flags)
    if "R" in rule.flags:
        fully_qualify(run)
        run.status = rule.status
        return _MATCH
    _reduce(run)
    if escape.absolute_uri(run.filename)[0]:
        run.status = rule.status
        return _MATCH
    if not ("UNC" in rule.flags or prefix_added) and not rule.output.startswith("//"):
        # Leading slashes are merged, unless the substitution wrote them itself.
        stripped = run.filename.lstrip("/")
        if len(stripped) < len(run.filename) - 1:
            run.filename = "/" + stripped
    _type_handler(run, rule)
    return _MATCH


def apply_list(run: Run, rules: tuple[Rule, ...]) -> int:
    """A rule list (apply_rewrite_list): UNCHANGED, CHANGED, CHANGED_NOESCAPE or STATUS."""
    changed = UNCHANGED
    rounds = 1
    limit = 2 * run.site.limit_request_line
    while True:
        restart = False
        i = 0
        while i < len(rules):
            rule = rules[i]
            rc = apply_rule(run, rule)
            if rc == _NOMATCH:
                while i < len(rules) and "C" in rules[i].flags:
                    i += 1  # a failed rule skips the rules chained to it
                i += 1
                continue
            if "NOSUB" not in rule.flags:
                run.last_sub = rule
            if len(run.filename) > limit:
                run.site.log(
                    "error",
                    f"RewriteRule '{rule.pattern}' and URI '{run.r.uri}' exceeded maximum "
                    f"length ({limit})",
                )
                run.status = 500
                return STATUS
            if run.vary:
                merge_vary(run.r, ", ".join(run.vary))
                run.vary.clear()
            if rc == _STATUS_SET or "STATUS" in rule.flags:
                return STATUS
            if rc != _NOSUB:
                changed = CHANGED_NOESCAPE if "NE" in rule.flags else CHANGED
            if "PT" in rule.flags:
                run.filename = "passthrough:" + run.filename
                return CHANGED
            if "END" in rule.flags:
                run.end = True
                return changed
            if "L" in rule.flags:
                return changed
            if "N" in rule.flags:
                rounds += 1
                if rounds >= rule.max_rounds:
                    run.site.log(
                        "error",
                        f"AH02596: RewriteRule '{rule.pattern}' and URI '{run.r.uri}' exceeded "
                        f"maximum number of rounds ({rule.max_rounds}) via the [N] flag",
                    )
                    run.status = 500
                    return STATUS
                restart = True
                break
            i += 1 + max(rule.skip, 0)
        if not restart:
            return changed
