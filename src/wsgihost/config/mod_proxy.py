"""mod_proxy, mod_proxy_http and mod_proxy_wstunnel: the reverse proxy's directives.

Pure. What the lines mean at run time is :mod:`wsgihost.revproxy`'s:

- ``ProxyPass``/``ProxyPassMatch`` in the main server or a ``<VirtualHost>``
  make the host's list of mappings (the main server's first, then the
  virtual host's, as ``merge_proxy_config`` appends them); in a
  ``<Location>`` the path is the section's and the mapping is the section's
  own, tried before the host's list. Each mapping's URL also defines a
  backend ("worker": its parameters and its pool of connections).
- ``ProxyPassReverse``, ``ProxyPassReverseCookieDomain``/``Path``,
  ``ProxyPreserveHost``, ``ProxyAddHeaders``, ``ProxyTimeout`` are read per
  scope and merged as mod_proxy merges them (:class:`ProxyDir`).
- ``<Proxy>``/``<ProxyMatch>`` are sections (kind ``proxy``) matched against
  the backend URL a request was given; they hold ``Require`` and the like.
- ``ProxyRequests On`` (a forward proxy) is refused: the proxy never goes
  where a client names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from wsgihost.config.draft import Context, SectionDraft
from wsgihost.config.model import Where
from wsgihost.config.table import ANY, TOP, Apply, Directive, not_ours, record, refused

# The schemes a mapping may name: HTTP/1.1 backends, and WebSocket ones (mod_proxy_wstunnel).
SCHEMES = ("http", "ws")
# Worker parameters honoured (timeout, connectiontimeout, retry, upgrade, disablereuse,
# enablereuse, keepalive), and those accepted with a warning as tuning wsgihost does itself.
HONOURED = frozenset(
    {"timeout", "connectiontimeout", "retry", "upgrade", "disablereuse", "enablereuse", "keepalive"}
)
TUNING = frozenset(
    {
        "min",
        "max",
        "smax",
        "ttl",
        "acquire",
        "flushpackets",
        "flushwait",
        "iobuffersize",
        "receivebuffersize",
        "ping",
        "lbset",
        "loadfactor",
        "route",
        "redirect",
        "status",
        "responsefieldsize",
        "addressttl",
    }
)
_FLAGS = frozenset({"nocanon", "noquery", "interpolate", "mapping=encoded", "mapping=servlet"})
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://([^/?#]*)(.*)\Z", re.S)


@dataclass(frozen=True)
class ProxyRule:
    """One ProxyPass or ProxyPassMatch: ``path`` (a prefix, or a regular expression)
    to ``url`` (``!``: not proxied), with the worker's ``params``."""

    path: str
    url: str
    regex: bool = False
    params: tuple[tuple[str, str], ...] = ()
    nocanon: bool = False
    noquery: bool = False
    where: Where = field(default_factory=Where, compare=False)
    # ``unix:/path|http://host/``: the Unix socket the backend listens on (the
    # URL, whose host is only the Host header's, is ``url``).
    socket: str | None = None

    def param(self, name: str) -> str | None:
        return dict(self.params).get(name)


@dataclass(frozen=True)
class ProxyDir:
    """mod_proxy's per-scope settings (proxy_dir_conf, and the host's aliases list).

    ``passes`` are the host's ProxyPass lines, main server's first; ``here`` a
    section's own ProxyPass; ``reverse`` the ProxyPassReverse pairs (path, URL);
    the cookie lists (from, to). The flags are None where unset.
    """

    passes: tuple[ProxyRule, ...] = ()
    here: ProxyRule | None = None
    reverse: tuple[tuple[str, str], ...] = ()
    cookie_domains: tuple[tuple[str, str], ...] = ()
    cookie_paths: tuple[tuple[str, str], ...] = ()
    preserve_host: bool | None = None
    add_headers: bool | None = None
    timeout: float | None = None

    def merge(self, over: ProxyDir) -> ProxyDir:
        return ProxyDir(
            passes=self.passes + over.passes,
            here=over.here if over.here is not None else self.here,
            reverse=self.reverse + over.reverse,
            cookie_domains=self.cookie_domains + over.cookie_domains,
            cookie_paths=self.cookie_paths + over.cookie_paths,
            preserve_host=over.preserve_host
            if over.preserve_host is not None
            else self.preserve_host,
            add_headers=over.add_headers if over.add_headers is not None else self.add_headers,
            timeout=over.timeout if over.timeout is not None else self.timeout,
        )


def split_url(url: str) -> tuple[str, str, int, str] | None:
    """(scheme, host, port, path) of a backend URL; None if it is not one."""
    m = _URL.match(url)
    if m is None:
        return None
    scheme, netloc, path = m.group(1).lower(), m.group(2), m.group(3)
    if "@" in netloc:
        return None
    default = 80
    if netloc.startswith("["):
        end = netloc.find("]")
        if end == -1:
            return None
        host, rest = netloc[1:end], netloc[end + 1 :]
    else:
        host, _, port_text = netloc.partition(":")
        rest = ":" + port_text if port_text else ""
    if not host:
        return None
    if rest:
        if not rest.startswith(":") or not rest[1:].isdigit() or not 0 < int(rest[1:]) < 65536:
            return None
        port = int(rest[1:])
    else:
        port = default
    return scheme, host.lower(), port, path


def _draft(ctx: Context) -> ProxyDir:
    return ctx.dir.settings.proxy or ProxyDir()


def _store(ctx: Context, value: ProxyDir) -> None:
    ctx.dir.settings = replace(ctx.dir.settings, proxy=value)


def _in_location(ctx: Context) -> SectionDraft | None:
    section = ctx.section
    return section if section is not None and section.kind == "location" else None


def _pass(regex: bool) -> Apply:
    name = "ProxyPassMatch" if regex else "ProxyPass"

    def apply(ctx: Context, args: list[str]) -> None:
        if ctx.section is not None and ctx.section.kind != "location":
            ctx.error(f"{name} is allowed in the server, a <VirtualHost> or a <Location> only")
            return
        location = _in_location(ctx)
        words = list(args)
        if location is not None:
            if len(words) > 1 and "=" not in words[1] and words[1] not in _FLAGS:
                if words[0].startswith("/"):
                    ctx.error(f"{name} can not have a path when defined in a location")
                else:
                    ctx.error(
                        f"Invalid {name} parameter. Parameter must be in the form 'key=value'."
                    )
                return
            # The section's pattern as written: a regex for ProxyPassMatch or where it
            # has wildcards (apr_fnmatch_test), else a prefix, even in <LocationMatch>
            # (where Apache's ProxyPass then never matches).
            path = location.pattern
            use_regex = regex or any(c in path for c in "*?[")
        else:
            if len(words) < 2:
                ctx.error(f"{name} needs a path when not defined in a location")
                return
            path, use_regex = words.pop(0), regex
        url, extra = words[0], words[1:]
        if use_regex:
            try:
                re.compile(path)
            except re.error as e:
                ctx.error(f"Regular expression could not be compiled: {path} ({e})")
                return
        params: list[tuple[str, str]] = []
        flags: set[str] = set()
        for word in extra:
            if word in _FLAGS:
                flags.add(word)
                continue
            key, eq, value = word.partition("=")
            if not eq:
                ctx.error(f"Invalid {name} parameter. Parameter must be in the form 'key=value'.")
                return
            key = key.lower()
            if key not in HONOURED and key not in TUNING:
                ctx.error(f"ProxyPass unknown Worker parameter: {key}")
                return
            if key in TUNING:
                ctx.warn(f"worker parameter {key}= is not used: wsgihost tunes this itself")
            if key in ("timeout", "connectiontimeout", "retry") and not _number(value):
                ctx.error(f"{key} must be a number of seconds, not {value!r}")
                return
            params.append((key, value))
        if "interpolate" in flags or "mapping=encoded" in flags or "mapping=servlet" in flags:
            ctx.warn("interpolate and mapping= are not provided: the path is mapped as written")
        socket_path: str | None = None
        if url[:5].lower() == "unix:":
            # mod_proxy's Unix socket form: unix:/path|http://host/...
            socket_path, bar, url = url[5:].partition("|")
            if not bar or not socket_path.startswith("/"):
                ctx.error(f'{name} uses an invalid "unix:" URL')
                return
        address = m.group(2) if (m := _URL.match(url)) else url
        if url != "!" and use_regex and "$" in address:
            # The backend would be whatever the client's path says.
            ctx.error(
                f"{url}: a $N in the backend's address would let a client choose where the "
                "proxy goes; refused (put the substitutions in the path only)"
            )
            return
        if url != "!":
            parts = split_url(url)
            if parts is None:
                ctx.error(f"Unable to parse URL: {url}")
                return
            if parts[0] not in SCHEMES:
                ctx.error(
                    f"the scheme of {url} is not provided by wsgihost: proxy to http:// "
                    "(and ws:// for WebSocket) backends only"
                )
                return
        rule = ProxyRule(
            path,
            url,
            use_regex,
            tuple(params),
            "nocanon" in flags,
            "noquery" in flags,
            ctx.where,
            socket_path,
        )
        current = _draft(ctx)
        if location is not None:
            _store(ctx, replace(current, here=rule))
        else:
            _store(ctx, replace(current, passes=(*current.passes, rule)))

    return apply


def _number(text: str) -> bool:
    try:
        return float(text) >= 0
    except ValueError:
        return False


def _reverse(ctx: Context, args: list[str]) -> None:
    if ctx.section is not None and ctx.section.kind != "location":
        ctx.error("ProxyPassReverse is allowed in the server, a <VirtualHost> or a <Location>")
        return
    location = _in_location(ctx)
    if location is not None:
        if len(args) > 1 and args[1] != "interpolate":
            ctx.error("ProxyPassReverse can not have a path when defined in a location")
            return
        path, url = location.pattern, args[0]
    elif len(args) < 2 or args[1] == "interpolate":
        ctx.error("ProxyPassReverse needs a path when not defined in a location")
        return
    else:
        path, url = args[0], args[1]
    current = _draft(ctx)
    _store(ctx, replace(current, reverse=(*current.reverse, (path, url))))


def _cookie(which: str) -> Apply:
    def apply(ctx: Context, args: list[str]) -> None:
        current = _draft(ctx)
        pair = ((args[0], args[1]),)
        if which == "domain":
            _store(ctx, replace(current, cookie_domains=current.cookie_domains + pair))
        else:
            _store(ctx, replace(current, cookie_paths=current.cookie_paths + pair))

    return apply


def _flag(name: str) -> Apply:
    def apply(ctx: Context, args: list[str]) -> None:
        word = args[0].lower()
        if word not in ("on", "off"):
            ctx.error("must be On or Off")
            return
        current = _draft(ctx)
        if name == "preserve_host":
            _store(ctx, replace(current, preserve_host=word == "on"))
        else:
            _store(ctx, replace(current, add_headers=word == "on"))

    return apply


def _timeout(ctx: Context, args: list[str]) -> None:
    if not args[0].isdigit():
        ctx.error("ProxyTimeout must be a number of seconds")
        return
    _store(ctx, replace(_draft(ctx), timeout=float(args[0])))


def _requests(ctx: Context, args: list[str]) -> None:
    word = args[0].lower()
    if word == "on":
        ctx.error(
            "forward proxying is refused: wsgihost proxies only to the backends "
            "ProxyPass names, never to one a client names (use ProxyRequests Off)"
        )
    elif word != "off":
        ctx.error("must be On or Off")


def _section(regex_form: bool) -> Apply:
    tag = "ProxyMatch" if regex_form else "Proxy"

    def apply(ctx: Context, args: list[str]) -> Context | None:
        if ctx.section is not None:
            ctx.error(f"<{tag}> may not be nested inside another section")
            return None
        # <Proxy ~ regex> is <ProxyMatch regex>.
        regex = regex_form or (len(args) == 2 and args[0] == "~")
        if len(args) != (1 if regex_form or not regex else 2):
            ctx.error(f"<{tag}> takes one argument, or ~ and a regular expression")
            return None
        pattern = args[-1]
        if regex:
            try:
                re.compile(pattern)
            except re.error as e:
                ctx.error(f"Regex could not be compiled: {pattern} ({e})")
                return None
        section = SectionDraft("proxy", pattern, regex, ctx.where)
        ctx.host.sections.append(section)
        return ctx.child("directory", ctx.host, section)

    return apply


def _default_only(default: str, what: str) -> Apply:
    """A directive whose default is what wsgihost does: that value is accepted
    silently, another one is a warning naming what will not happen."""

    def apply(ctx: Context, args: list[str]) -> None:
        if " ".join(args).lower() != default.lower():
            ctx.warn(f"only {default} is provided: {what}")

    return apply


def _inherit(ctx: Context, args: list[str]) -> None:
    word = args[0].lower()
    if word not in ("on", "off"):
        ctx.error("must be On or Off")
        return
    # Apache 2.4 keeps the main server's mappings either way (only their workers'
    # parameters are not inherited with Off): so do we, parameters included.


_SCOPE = ANY
M = "mod_proxy"

# Read, not provided: harmless to go without (a warning says what will not happen),
# or refused where going without would change where requests go.
_UNPROVIDED: tuple[Directive, ...] = tuple(
    not_ours(
        "ProxyIOBufferSize ProxyReceiveBufferSize ProxyStatus ProxySourceAddress "
        "ProxyWebsocketIdleTimeout ProxyWebsocketAsync ProxyWebsocketAsyncDelay",
        "wsgihost tunes backend connections itself (a tunnel idles for ProxyTimeout)",
        module=M,
    )
    + not_ours(
        "ProxyErrorOverride",
        "a backend's error pages reach the client as they are, not the ErrorDocument",
        module=M,
    )
    + not_ours("ProxyMaxForwards", "Max-Forwards is passed on unchanged", module=M)
    + refused(
        "ProxyRemote ProxyRemoteMatch NoProxy ProxyBlock ProxyDomain",
        "forward proxying and chaining through another proxy are not provided",
        module=M,
    )
    + refused(
        "ProxySet BalancerMember",
        "balancers are not provided: ProxyPass to one http:// or ws:// backend",
        module=M,
    )
)

DIRECTIVES: tuple[Directive, ...] = (
    record(
        "ProxyPass",
        "ProxyPass [path] !|url [key=value ...] [nocanon] [noquery]",
        _SCOPE,
        (1, None),
        "",
        "Passes requests under `path` to the backend at `url` (`http://` or, for "
        "WebSocket, `ws://`; or `upgrade=websocket` on an `http://` one), or with `!` "
        "keeps them here. The first matching line wins, a `<Location>`'s own (written "
        "without a path) first, then the main server's lines, then the virtual host's, "
        "as in Apache. The rest of the path is passed re-encoded, with the query string "
        "(unless `noquery`). Parameters honoured: `timeout=`, `connectiontimeout=`, "
        "`retry=` (seconds a backend that refused a connection is left alone: 503 "
        "meanwhile; default 60), `upgrade=`, `disablereuse=On`, `keepalive=`; tuning "
        "ones (`max=`, `ttl=`, ...) are accepted with a warning. HTTP/1.1 to the backend, "
        "connections kept in a pool, both bodies streamed; a backend that refuses is "
        "503, one that breaks its answer or does not answer in time 502 (as Apache 2.4's). "
        "A backend on a Unix socket is `unix:/path/to.sock|http://name/` (the name goes "
        "in the Host header). "
        "Only `http://` and `ws://` backends (no TLS to backends, no balancers). In a "
        "`<LocationMatch>` the section's pattern is a prefix for ProxyPass, as in Apache "
        "(so it matches nothing there): use ProxyPassMatch.",
        _pass(False),
        module=M,
    ),
    record(
        "ProxyPassMatch",
        "ProxyPassMatch [regex] !|url [key=value ...]",
        _SCOPE,
        (1, None),
        "",
        "ProxyPass with a regular expression on the decoded path; `$1`..`$9` in the URL "
        "take its groups (a URL with none gets the whole path appended, as in Apache).",
        _pass(True),
        module=M,
    ),
    record(
        "ProxyPassReverse",
        "ProxyPassReverse [path] url",
        _SCOPE,
        (1, 3),
        "",
        "Rewrites a backend's `Location`, `Content-Location` and `URI` response headers "
        "that start with `url` to start with `path` on this server (the host and port "
        "the client asked for), as mod_proxy does for redirects from behind it.",
        _reverse,
        module=M,
    ),
    record(
        "ProxyPassReverseCookieDomain",
        "ProxyPassReverseCookieDomain internal-domain public-domain",
        _SCOPE,
        (2, 3),
        "",
        "Rewrites the `domain=` of the backend's `Set-Cookie` headers from the first "
        "domain to the second.",
        _cookie("domain"),
        module=M,
    ),
    record(
        "ProxyPassReverseCookiePath",
        "ProxyPassReverseCookiePath internal-path public-path",
        _SCOPE,
        (2, 3),
        "",
        "Rewrites the `path=` of the backend's `Set-Cookie` headers that start with the "
        "first path to start with the second.",
        _cookie("path"),
        module=M,
    ),
    record(
        "ProxyPreserveHost",
        "ProxyPreserveHost On|Off",
        _SCOPE,
        (1, 1),
        "Off",
        "On: the backend gets the client's `Host` header; Off: the backend's own host "
        "and port from the ProxyPass URL. Never chooses the backend either way.",
        _flag("preserve_host"),
        module=M,
    ),
    record(
        "ProxyAddHeaders",
        "ProxyAddHeaders On|Off",
        _SCOPE,
        (1, 1),
        "On",
        "Adds `X-Forwarded-For` (the client's address, after any the client sent), "
        "`X-Forwarded-Host` (its Host header) and `X-Forwarded-Server` (this host's "
        "ServerName) to proxied requests, as Apache does.",
        _flag("add_headers"),
        module=M,
    ),
    record(
        "ProxyTimeout",
        "ProxyTimeout seconds",
        TOP,
        (1, 1),
        "the Timeout",
        "How long a backend may keep a proxied request waiting (connecting, and each "
        "read and write); past it the answer is a 502 Proxy Error, as Apache 2.4 gives "
        "(and a 503 for a backend that never says 100 Continue). A ProxyPass `timeout=` "
        "wins.",
        _timeout,
        module=M,
    ),
    record(
        "ProxyRequests",
        "ProxyRequests Off",
        TOP,
        (1, 1),
        "Off",
        "Only `Off`: wsgihost is never a forward proxy (`On` is refused). A request "
        "whose target names another server (`GET http://other/ HTTP/1.1`) is served "
        "here as the path it names, never fetched from there.",
        _requests,
        module=M,
    ),
    record(
        "ProxyVia",
        "ProxyVia Off",
        TOP,
        (1, 1),
        "Off",
        "Only `Off` (no `Via` header is added); another value is a warning.",
        _default_only("Off", "no Via header is added or removed"),
        module=M,
    ),
    record(
        "ProxyBadHeader",
        "ProxyBadHeader IsError",
        TOP,
        (1, 1),
        "IsError",
        "Only `IsError`: a backend's malformed header line is a 502.",
        _default_only("IsError", "a malformed header line from a backend is a 502"),
        module=M,
    ),
    record(
        "Proxy100Continue",
        "Proxy100Continue On",
        _SCOPE,
        (1, 1),
        "On",
        "Only `On`: a client's `Expect: 100-continue` goes to the backend, whose "
        "`100 Continue` is relayed before the body is read.",
        _default_only("On", "Expect: 100-continue still goes to the backend"),
        module=M,
    ),
    record(
        "ProxyWebsocketFallbackToProxyHttp",
        "ProxyWebsocketFallbackToProxyHttp On",
        _SCOPE,
        (1, 1),
        "On",
        "Only `On`: a request without an Upgrade to a `ws://` mapping is passed as HTTP.",
        _default_only("On", "a ws:// mapping still passes plain HTTP requests"),
        module=M,
    ),
    record(
        "ProxyPassInterpolateEnv",
        "ProxyPassInterpolateEnv Off",
        _SCOPE,
        (1, 1),
        "Off",
        "Only `Off`: `${VAR}` in ProxyPass lines is not replaced per request.",
        _default_only("Off", "${VAR} in ProxyPass lines is not replaced per request"),
        module=M,
    ),
    record(
        "ProxyPassInherit",
        "ProxyPassInherit On|Off",
        TOP,
        (1, 1),
        "On",
        "Read; as in Apache 2.4, a virtual host tries the main server's ProxyPass lines "
        "before its own either way (with `Off` Apache only stops their worker parameters "
        "from being inherited; wsgihost keeps them).",
        _inherit,
        module=M,
    ),
    record(
        "Proxy",
        "<Proxy url-prefix|wildcard>",
        TOP,
        (1, 2),
        "",
        "Settings (`Require` and the like) for requests passed to backend URLs starting "
        "with the prefix (or matching the wildcard), applied before `<Location>`.",
        _section(False),
        section=True,
        module=M,
    ),
    record(
        "ProxyMatch",
        "<ProxyMatch regex>",
        TOP,
        (1, 1),
        "",
        "<Proxy> with a regular expression on the backend URL.",
        _section(True),
        section=True,
        module=M,
    ),
    *_UNPROVIDED,
)
