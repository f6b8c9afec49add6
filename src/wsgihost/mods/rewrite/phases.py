"""mod_rewrite's two hooks: translate_name (server and vhost rules) and fixups
(per-directory rules), as hook_uri2file and hook_fixup decide what a rewrite
result means.

Server context: a result that is an absolute URL is an external redirect; a
[PT] result is a new URL path that the rest of the mapping (Alias,
WSGIScriptAlias, DocumentRoot) takes; any other path is a file, taken as it
is when its first segment exists on disk and the rule wrote it (Apache's
prefix_stat), else under DocumentRoot. Per-directory: the per-directory
prefix is put back, replaced by RewriteBase (or the DocumentRoot taken off),
and the request is redirected internally to the result, which is read as a
URL again: percent-decoded, its dot segments resolved, an encoded slash or a
climb above the root refused, as Apache does when it parses the redirect.
"""

from __future__ import annotations

import os
import posixpath
import time
from typing import TYPE_CHECKING

from wsgihost.mods.rewrite import escape
from wsgihost.mods.rewrite.engine import (
    CHANGED_NOESCAPE,
    STATUS,
    UNCHANGED,
    Run,
    Site,
    apply_list,
)
from wsgihost.pipeline.hooks import Answer, Outcome, Redirect, Reroute
from wsgihost.routing import normalize_path, path_refusal

if TYPE_CHECKING:
    from wsgihost.mods.rewrite.rules import RewriteDir, Rule
    from wsgihost.pipeline.state import RequestState

END_NOTE = "rewrite-end"  # [END]: kept on the request, seen through its redirects
TYPE_NOTE = "rewrite-forced-mimetype"  # [T=]
HANDLER_NOTE = "rewrite-forced-handler"  # [H=]


def _ended(r: RequestState) -> bool:
    state: RequestState | None = r
    while state is not None:
        if END_NOTE in state.notes:
            return True
        state = state.prev
    return False


def _finish(run: Run, r: RequestState) -> None:
    """What a run leaves on the request whatever its result: cookies, [END], T=, H=."""
    for cookie in run.cookies:
        _add_cookie(r, cookie)
    if run.end:
        r.notes[END_NOTE] = "1"
    if run.mime:
        r.notes[TYPE_NOTE] = run.mime
    if run.handler:
        r.notes[HANDLER_NOTE] = run.handler
        r.handler = run.handler


def _add_cookie(r: RequestState, spec: str) -> None:
    """[CO=NAME:VAL:domain[:lifetime[:path[:secure[:httponly[:samesite]]]]]] (add_cookie)."""
    sep = ":"
    if spec.startswith(";"):
        sep, spec = ";", spec[1:]
    parts = [p for p in spec.split(sep) if p]  # apr_strtok skips empty fields
    if len(parts) < 3:
        return
    name, value, domain = parts[:3]
    if any(h == "Set-Cookie" and v.startswith(f"{name}=") for h, v in r.err_headers_out):
        return  # once per name and request (Apache's pool note)
    expires = parts[3] if len(parts) > 3 else None
    path = parts[4] if len(parts) > 4 else None
    secure = parts[5] if len(parts) > 5 else None
    httponly = parts[6] if len(parts) > 6 else None
    samesite = parts[7] if len(parts) > 7 else None
    cookie = f"{name}={value}; path={path or '/'}; domain={domain}"
    if expires is not None:
        digits = expires.strip()
        minutes = int(digits) if digits.lstrip("-").isdigit() else 0
        if minutes:
            when = time.gmtime(time.time() + 60 * minutes)
            cookie += "; expires=" + time.strftime("%a, %d-%b-%Y %H:%M:%S GMT", when)
    if secure is not None and secure.lower() in ("true", "1", "secure"):
        cookie += "; secure"
    if httponly is not None and httponly.lower() in ("true", "1", "httponly"):
        cookie += "; HttpOnly"
    if samesite is not None and samesite != "0" and samesite.lower() != "false":
        cookie += f"; SameSite={samesite}"
    r.err_headers_out.append(("Set-Cookie", cookie))


def _apply(run: Run, rules: tuple[Rule, ...]) -> tuple[int, int, Outcome | None]:
    """The rules applied: their status, the scheme length of an absolute result, and
    an answer that ends the request at once (a status rule, a query Apache refuses)."""
    r = run.r
    status = apply_list(run, rules)
    _finish(run, r)
    if status == UNCHANGED:
        return status, 0, None
    skip = escape.absolute_uri(run.filename)[0]
    will_escape = bool(skip) and status != CHANGED_NOESCAPE
    if r.args and not will_escape and escape.has_ctl_or_space(r.args):
        run.site.log(
            "error", "AH10410: Rewritten query string contains control characters or spaces"
        )
        return status, skip, Answer(403)
    if status == STATUS:
        return status, skip, Answer(run.status)
    return status, skip, None


def _redirect(run: Run, r: RequestState, noescape: bool, oargs: str, skip: int) -> Outcome:
    location = run.filename
    if not noescape:
        location = escape.escape_absolute_uri(location, skip)
    if r.args:
        keep = noescape or (oargs != "" and r.args == oargs)
        location += "?" + (r.args if keep else escape.escape_uri(r.args))
    status = run.status if 300 <= run.status <= 399 else 302
    return Redirect(status, location)


def translate(r: RequestState, site: Site, engine_on: bool, any_uri: bool) -> Outcome | None:
    """hook_uri2file: the server's (vhost's) rules; None to go on as mapped."""
    if not engine_on or _ended(r):
        return None
    if not any_uri and (r.unparsed_uri == "*" or not r.uri.startswith("/")):
        return None
    oargs = r.args
    # After an internal redirect, the URL the client asked for (renamed REDIRECT_*).
    r.env["SCRIPT_URL"] = r.env.get("REDIRECT_SCRIPT_URL") or r.uri
    default = 443 if r.https else 80
    port = "" if site.port == default else f":{site.port}"
    scheme = "https" if r.https else "http"
    r.env["SCRIPT_URI"] = f"{scheme}://{site.server_name}{port}{r.env['SCRIPT_URL']}"
    run = Run(r, site, r.filename or r.uri)
    status, skip, early = _apply(run, site.server.rules)
    if status == UNCHANGED or early is not None:
        return early
    if skip:
        return _redirect(run, r, status == CHANGED_NOESCAPE, oargs, skip)
    if run.filename.startswith("passthrough:"):
        uri = _resolve(run.filename[len("passthrough:") :])
        if uri is None:
            return _above_root(run, r)
        r.uri = uri
        return None
    path = run.filename
    if not path.startswith("/"):
        return Answer(400)
    options = site.server.options or frozenset()
    reduced = run.reduced and "LegacyPrefixDocRoot" not in options
    if reduced or not _prefix_stat(run, path, "UnsafePrefixStat" in options):
        root = site.document_root.rstrip("/")
        path = root + path
    # A file path as Apache's directory walk would merge it: dot segments resolved.
    filename = _resolve(path)
    if filename is None:
        return _above_root(run, r)
    r.filename = filename
    return None


def _resolve(path: str) -> str | None:
    """``path`` with its dot segments resolved, as apr_filepath_merge resolves a file
    name (and Apache's core the URL a [PT] rule leaves); None when it climbs above
    the root, which Apache refuses (APR_EABOVEROOT)."""
    if "/." not in path:
        return path
    out: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if not out:
                return None
            out.pop()
        elif segment not in ("", "."):
            out.append(segment)
    trailing = path.endswith(("/", "/.", "/.."))
    return "/" + "/".join(out) + ("/" if trailing and out else "")


def _above_root(run: Run, r: RequestState) -> Outcome:
    """A rewritten path above the root: 403, with the line ap_directory_walk writes."""
    run.site.log(
        "error",
        f"(20023)The given path was above the root path: AH00127: Cannot map "
        f"{r.method} {r.unparsed_uri} {r.protocol} to file",
    )
    return Answer(403)


def _prefix_stat(run: Run, path: str, unsafe: bool) -> bool:
    """prefix_stat: the path's first segment exists, and the rule wrote it (or the
    path is under DocumentRoot); then the path is a file system path as it is."""
    first = path[1:].split("/", 1)[0]
    statpath = posixpath.normpath("/" + first)
    if not os.path.exists(statpath):
        return False
    rule = None if unsafe else run.last_sub  # RewriteOptions UnsafePrefixStat: any rule
    if rule is None or "UNSAFE_PREFIX_STAT" in rule.flags:
        return True
    root = run.site.document_root
    return rule.output.startswith(statpath) or path.startswith(root)


def _subst_prefix(text: str, match: str, subst: str) -> str:
    """subst_prefix_path: ``match``/rest -> ``subst``/rest, else ``text`` unchanged."""
    m = match[:-1] if match.endswith("/") else match
    if text.startswith(m) and text[len(m) : len(m) + 1] == "/":
        head = subst if subst.endswith("/") or not subst else subst + "/"
        return head + text[len(m) + 1 :]
    return text


def fixup(
    r: RequestState,
    site: Site,
    conf: RewriteDir,
    filename: str,
    path_info: str,
    follow_symlinks: bool,
    context: tuple[str, str] | None,
) -> Outcome | None:
    """hook_fixup: the merged per-directory rules for the mapped ``filename``.

    ``context`` is (context document root, context prefix) where an Alias
    mapped the request (ap_context_document_root and ap_context_prefix).
    """
    directory = conf.directory
    if not conf.engine or directory is None:
        return None
    options = conf.options or frozenset()
    if "AllowNoSlash" not in options and directory.endswith("/") and filename == directory[:-1]:
        return None  # mod_dir's redirect to the slash comes first
    if _ended(r):
        return None
    if not follow_symlinks:
        site.log(
            "error",
            "AH00670: Options FollowSymLinks and SymLinksIfOwnerMatch are both off, so the "
            "RewriteRule directive is also forbidden due to its similar ability to circumvent "
            f"directory restrictions : {filename}",
        )
        return Answer(403)
    oargs = r.args
    run = Run(r, site, filename, perdir=directory, path_info=path_info)
    status, skip, early = _apply(run, conf.rules)
    if status == UNCHANGED or early is not None:
        return early
    if skip:
        if conf.base is not None:
            rest_at = run.filename.find("/", skip)
            if rest_at >= 0 and rest_at + 1 < len(run.filename):
                rest = run.filename[rest_at + 1 :]
                new = _subst_prefix(rest, directory.lstrip("/"), conf.base[1:])
                if new != rest:
                    run.filename = run.filename[: rest_at + 1] + new
        return _redirect(run, r, status == CHANGED_NOESCAPE, oargs, skip)
    path = run.filename
    if path.startswith("passthrough:"):
        path = path[len("passthrough:") :]
    if not path.startswith("/"):
        return Answer(400)
    if path == filename:
        return None  # the same file: no internal redirect, or it would loop
    before = path
    if conf.base is not None:
        path = _subst_prefix(path, directory, conf.base)
    else:
        root = site.document_root.rstrip("/")
        if path.startswith(root + "/"):
            path = path[len(root) :]
    if path == before and context is not None and "IgnoreContextInfo" not in options:
        path = _subst_prefix(path, context[0], context[1])
    # The redirect is a URL again: parsed, decoded, normalised (ap_internal_redirect).
    raw = path.encode("latin-1", "replace")
    uri = normalize_path(raw)
    if uri is None:
        return Answer(path_refusal(raw))
    return Reroute(uri, r.args)
