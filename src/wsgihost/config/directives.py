"""The directive table: every directive wsgihost reads, declared once.

Pure. Each :class:`Directive` record (:mod:`wsgihost.config.table`) says
where a directive may appear, how many arguments it takes, its default, a
paragraph of documentation, whether wsgihost supports it, accepts and
ignores it with a warning, or refuses it, and the function that checks its
arguments and writes them into the drafts (:mod:`wsgihost.config.draft`).
The builder applies the table, ``configtest`` reports what it finds, the
"did you mean" suggestions come from its names, and ``docs/directives.md``
is generated from it (:mod:`wsgihost.config.docs`).

This module holds the core's records (addresses, sections, aliases, mod_wsgi,
limits, types); each Apache module wsgihost provides declares its own in a
module of its own (``config/mod_*.py``, :mod:`.log_directives`), joined
below through ``MODULE_TABLES``; what wsgihost reads but does not provide is
in :mod:`.unprovided`, and which modules it provides in :mod:`.modules`.

Three kinds:

- **supported**: read and acted on.
- **ignored**: an Apache feature wsgihost does not provide but that is harmless
  to go without (``HostnameLookups``, ``AddLanguage``, ...). Accepted with a
  warning that names the file and line, so an existing site file keeps working.
- **refused**: a feature whose absence would change what clients get in a way
  that matters (proxying, combined access rules, CGI): an error, with what to
  do instead.

A directive that is not in the table at all is an error with a suggestion.
Behaviour follows the Apache 2.4 and mod_wsgi documentation; where wsgihost
differs, the record's documentation says so.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from wsgihost import privileges
from wsgihost.byteranges import (
    DEFAULT_MAX_OVERLAPS,
    DEFAULT_MAX_RANGES,
    DEFAULT_MAX_REVERSALS,
    UNLIMITED,
)
from wsgihost.config import (
    htaccess,
    log_directives,
    macro,
    mod_alias,
    mod_auth,
    mod_authn_file,
    mod_authz,
    mod_autoindex,
    mod_deflate,
    mod_env,
    mod_expires,
    mod_handlers,
    mod_headers,
    mod_if,
    mod_log,
    mod_mime,
    mod_proxy,
    mod_refused,
    mod_remoteip,
    mod_rewrite,
    mod_setenvif,
    mod_ssl,
    mod_wsgi,
    placeholders,
)
from wsgihost.config.daemon_options import daemon_process
from wsgihost.config.draft import (
    Context,
    GroupRef,
    HostDraft,
    SectionDraft,
)
from wsgihost.config.model import (
    Address,
    Alias,
    DirSettings,
    Limits,
    Listener,
    Server,
)
from wsgihost.config.table import (
    ANY,
    GLOBAL,
    TOP,
    VHOST,
    Apply,
    Directive,
    model_default,
    record,
)
from wsgihost.config.unprovided import IGNORED, REFUSED
from wsgihost.config.values import (
    check_regex,
    parse_duration,
    parse_flag,
    parse_int,
    parse_pairs,
    server_wide,
    suggest,
)

# The Apache version <IfVersion> compares against: the 2.4 series, whose
# configuration language wsgihost reads.
APACHE_VERSION = (2, 4, 62)

TLS_WHY = "this mod_ssl directive is not provided by wsgihost: see 'TLS' in docs/directives.md"


# -- mod_wsgi values -----------------------------------------------------------


def _process_group(ctx: Context, value: str) -> str | None:
    """A group name; ``%{GLOBAL}`` is embedded mode (the empty name)."""
    if mod_wsgi.env_variable(value) is not None:
        found = mod_wsgi.from_environment(value)
        if found is None:
            ctx.error(
                f"'{value}': {mod_wsgi.env_variable(value)} is not set in the server's "
                "environment (mod_wsgi would answer 500: no daemon group has that name)"
            )
            return None
        value = found
    if value == "%{GLOBAL}":
        return ""
    if value.startswith("%{"):
        ctx.error(f"'{value}' is not supported: give a group name, or %{{GLOBAL}} for embedded")
        return None
    if not value:
        ctx.error("the process group name is empty")
        return None
    return value


def _application_group(ctx: Context, value: str) -> str | None:
    """An application group; ``%{GLOBAL}`` is the main interpreter (the empty name)."""
    if mod_wsgi.env_variable(value) is not None:
        found = mod_wsgi.from_environment(value)
        if found is None:
            ctx.warn(
                f"'{value}': {mod_wsgi.env_variable(value)} is not set in the server's "
                f"environment, so the application group is named '{value}', as in mod_wsgi"
            )
            return value
        if mod_wsgi.env_variable(found) is not None:
            return found  # not looked up again: a plain name, as in mod_wsgi
        value = found
    if value == "%{GLOBAL}":
        return ""
    if value in ("%{SERVER}", "%{RESOURCE}"):
        return value
    if value.startswith("%{"):
        ctx.error(
            f"'{value}' is not supported: give a name, %{{GLOBAL}}, %{{SERVER}} or %{{RESOURCE}}"
        )
        return None
    if not value:
        ctx.error("the application group name is empty")
        return None
    return value


def _callable(ctx: Context, value: str) -> str | None:
    if not value.isidentifier():
        ctx.error(f"'{value}' is not a Python name")
        return None
    return value


def _refer(ctx: Context, group: str, what: str) -> None:
    if group:
        ctx.server.group_refs.append(GroupRef(group, ctx.where, ctx.host, what))


_SCRIPT_OPTIONS = ("process-group", "application-group", "callable-object", "pass-authorization")


def _script_settings(ctx: Context, words: list[str]) -> DirSettings | None:
    """The options of a ``WSGIScriptAlias`` line, as per-directory settings."""
    pairs = parse_pairs(ctx, words)
    if pairs is None:
        return None
    settings = DirSettings()
    ok = True
    for name, value in pairs:
        if name == "process-group":
            group = _process_group(ctx, value)
            ok = ok and group is not None
            if group is not None:
                settings = replace(settings, process_group=group)
                _refer(ctx, group, "process-group=")
        elif name == "application-group":
            app = _application_group(ctx, value)
            ok = ok and app is not None
            settings = replace(settings, application_group=app)
        elif name == "callable-object":
            obj = _callable(ctx, value)
            ok = ok and obj is not None
            settings = replace(settings, callable_object=obj)
        elif name == "pass-authorization":
            flag = parse_flag(ctx, value)
            ok = ok and flag is not None
            settings = replace(settings, pass_authorization=flag)
        else:
            ctx.error(f"unknown option '{name}'{suggest(name, _SCRIPT_OPTIONS)}")
            ok = False
    return settings if ok else None


def _check_script(ctx: Context, path: str) -> None:
    """A missing script is only a warning: it may be deployed after the config."""
    exists = os.path.isdir(path) if path.endswith("/") else os.path.isfile(path)
    if not exists:
        ctx.warn(f"WSGI script '{path}' does not exist (requests for it get 404 until it does)")


# -- core: addresses and names ---------------------------------------------------


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _port(text: str) -> int | None:
    if text.isdigit() and 1 <= int(text) <= 65535:
        return int(text)
    return None


_BRACKETED = re.compile(r"\[([^\]]*)\](?::(.*))?")


def _listen(ctx: Context, args: list[str]) -> None:
    if len(args) == 2:
        protocol = args[1].lower()
        # https only names the protocol (Apache's accept filter): whether a
        # connection speaks TLS is its virtual host's SSLEngine (mod_ssl).
        if protocol not in ("http", "https"):
            ctx.error(f"protocol '{args[1]}' is not supported (only http and https)")
            return
    text = args[0]
    bracketed = _BRACKETED.fullmatch(text)
    if bracketed is not None:
        host_text, port_text = bracketed.group(1), bracketed.group(2) or ""
    elif text.count(":") > 1:
        ctx.error(f"write an IPv6 address in brackets, such as [::1]:8000, not '{text}'")
        return
    else:
        host_text, _, port_text = text.rpartition(":")
    port = _port(port_text)
    if port is None:
        ctx.error(f"'{text}' needs a port from 1 to 65535 (Listen 8000, Listen 127.0.0.1:8000)")
        return
    host = ""
    if host_text:
        ip = _ip(host_text)
        if ip is not None and bracketed is not None and ":" not in ip:
            ctx.error(f"only IPv6 addresses go in brackets, not '{host_text}'")
            return
        if ip is None:
            ctx.error(
                f"'{host_text}' is not an IP address (wsgihost does not look up host names; "
                "write 127.0.0.1 or [::1])"
            )
            return
        host = ip
    for other in ctx.server.listeners:
        if (other.host, other.port) == (host, port):
            ctx.error(
                f"{text} is already listened on (line {other.where.line} of {other.where.file})"
            )
            return
    ctx.server.listeners.append(Listener(host, port, ctx.where))


def _listen_backlog(ctx: Context, args: list[str]) -> None:
    n = parse_int(ctx, args[0], 1)
    if n is not None:
        ctx.server.set(listen_backlog=n)


_SERVER_NAME = re.compile(r"(?:(?:https?)://)?(\[[0-9A-Fa-f:.]+\]|[^:/\s\[\]]+)(?::(\d+))?")


def _server_name(ctx: Context, args: list[str]) -> None:
    m = _SERVER_NAME.fullmatch(args[0])
    if m is None or (m.group(2) is not None and _port(m.group(2)) is None):
        ctx.error(f"'{args[0]}' is not a host name, with an optional scheme and port")
        return
    ctx.host.server_name = args[0]


def _server_alias(ctx: Context, args: list[str]) -> None:
    for name in args:
        if "/" in name:
            ctx.error(f"'{name}' is not a host name (wildcards * and ? are allowed)")
            continue
        ctx.host.server_aliases.append(name)


def _document_root(ctx: Context, args: list[str]) -> None:
    path = ctx.path(args[0]).rstrip("/") or "/"
    if not os.path.exists(path):
        # Apache's AH00112 is a warning too: the site may be deployed after
        # its configuration, and until then its files get 404.
        ctx.warn(f"directory '{path}' does not exist (its files get 404 until it does)")
        ctx.host.document_root = path
    elif not os.path.isdir(path):
        ctx.error(f"'{path}' is not a directory")
    else:
        ctx.host.document_root = path


def _no_op(ctx: Context, args: list[str]) -> None:
    """Acted on by the parser while reading; the builder only checks where it is."""


# -- sections --------------------------------------------------------------------


def _vhost_address(ctx: Context, text: str) -> Address | None:
    bracketed = _BRACKETED.fullmatch(text)
    if bracketed is not None:
        host, port_text = bracketed.group(1), bracketed.group(2)
    elif text.count(":") > 1:
        ctx.error(f"write an IPv6 address in brackets, such as [::1]:80, not '{text}'")
        return None
    else:
        host, colon, port_text = text.partition(":")
        port_text = port_text if colon else None
    port: int | None = None
    if port_text is not None and port_text != "*":
        port = _port(port_text)
        if port is None:
            ctx.error(f"'{text}': the port must be 1 to 65535 or *")
            return None
    if bracketed is None and host in ("*", "_default_"):
        return Address(host, port)
    ip = _ip(host)
    if ip is None or (bracketed is not None) != (":" in ip):
        ctx.error(
            f"'{text}': use an IP address, * or _default_ (wsgihost does not look up host names; "
            "IPv6 goes in brackets)"
        )
        return None
    return Address(ip, port)


def _virtual_host(ctx: Context, args: list[str]) -> Context:
    addresses = [a for a in (_vhost_address(ctx, text) for text in args) if a is not None]
    host = HostDraft(where=ctx.where, main=False, addresses=addresses)
    if addresses:
        ctx.server.vhosts.append(host)
    return ctx.child("vhost", host, None)


def _section(kind: str, regex_form: bool) -> Apply:
    tag = {"directory": "Directory", "location": "Location", "files": "Files"}[kind]
    tag += "Match" if regex_form else ""

    def apply(ctx: Context, args: list[str]) -> Context | None:
        regex = regex_form
        if not regex_form and len(args) == 2:
            if args[0] != "~":
                ctx.error(f"<{tag}> takes one argument, or ~ and a regular expression")
                return None
            regex = True
        pattern = args[-1]
        if regex and not check_regex(ctx, pattern):
            return None
        if kind == "directory" and not regex:
            pattern = ctx.path(pattern)
        within: SectionDraft | None = None
        if ctx.section is not None:
            # Only <Files> may nest, and only inside <Directory> (Apache's rule).
            if kind != "files" or ctx.section.kind != "directory":
                inside = {
                    "directory": "Directory",
                    "location": "Location",
                    "files": "Files",
                    "if": "If",
                }
                ctx.error(f"may not be nested inside <{inside[ctx.section.kind]}>")
                return None
            within = ctx.section
        section = SectionDraft(kind, pattern, regex, ctx.where, within=within)
        ctx.host.sections.append(section)
        return ctx.child("directory", ctx.host, section)

    return apply


# -- aliases and WSGI scripts ----------------------------------------------------


def _alias(regex: bool) -> Apply:
    def apply(ctx: Context, args: list[str]) -> None:
        url, target = args
        if regex and not check_regex(ctx, url):
            return
        ctx.host.aliases.append(Alias(url, ctx.path(target), regex=regex, where=ctx.where))

    return apply


def _script_alias(regex: bool) -> Apply:
    def apply(ctx: Context, args: list[str]) -> None:
        url, target, words = args[0], args[1], args[2:]
        if regex and not check_regex(ctx, url):
            return
        settings = _script_settings(ctx, words)
        if settings is None:
            return
        path = ctx.path(target)
        ctx.host.aliases.append(
            Alias(url, path, regex=regex, wsgi=True, settings=settings, where=ctx.where)
        )
        if not (regex and "$" in target):
            _check_script(ctx, path)

    return apply


def _dir_setting(field_name: str, parse: Callable[[Context, str], Any]) -> Apply:
    def apply(ctx: Context, args: list[str]) -> None:
        value = parse(ctx, args[0])
        if value is not None:
            ctx.dir.settings = replace(ctx.dir.settings, **{field_name: value})

    return apply


def _wsgi_process_group(ctx: Context, args: list[str]) -> None:
    group = _process_group(ctx, args[0])
    if group is not None:
        ctx.dir.settings = replace(ctx.dir.settings, process_group=group)
        _refer(ctx, group, "WSGIProcessGroup")


def _wsgi_python_path(ctx: Context, args: list[str]) -> None:
    ctx.server.set(python_path=tuple(ctx.path(p).rstrip("/") for p in args[0].split(":") if p))


def _wsgi_python_home(ctx: Context, args: list[str]) -> None:
    path = ctx.path(args[0]).rstrip("/") or "/"
    if not os.path.isdir(path):
        ctx.warn(f"directory '{path}' does not exist")
    ctx.server.set(python_home=path)


def _wsgi_python_optimize(ctx: Context, args: list[str]) -> None:
    level = parse_int(ctx, args[0], 0, 2)
    if level is not None:
        ctx.server.set(python_optimize=level)


def _wsgi_python_warnings(ctx: Context, args: list[str]) -> None:
    ctx.server.set(python_warnings=(*ctx.server.model.python_warnings, args[0]))


def _wsgi_python_hash_seed(ctx: Context, args: list[str]) -> None:
    seed = args[0].lower()
    if seed != "random" and (not seed.isdigit() or int(seed) > 4294967295):
        ctx.error(f"expected 'random' or a number from 0 to 4294967295, not '{args[0]}'")
        return
    ctx.server.set(python_hash_seed=seed if seed == "random" else str(int(seed)))


def _wsgi_dont_write_bytecode(ctx: Context, args: list[str]) -> None:
    flag = parse_flag(ctx, args[0])
    if flag is not None:
        ctx.server.set(dont_write_bytecode=flag)


def _wsgi_import_script(ctx: Context, args: list[str]) -> None:
    pairs = parse_pairs(ctx, args[1:])
    if pairs is None:
        return
    options = dict(pairs)
    for name in options:
        if name not in ("process-group", "application-group"):
            ctx.error(
                f"unknown option '{name}'{suggest(name, ('process-group', 'application-group'))}"
            )
            return
    if "process-group" not in options or "application-group" not in options:
        ctx.error("needs both process-group= and application-group= (as mod_wsgi does)")
        return
    group = _process_group(ctx, options["process-group"])
    app = _application_group(ctx, options["application-group"])
    if group is None or app is None:
        return
    path = ctx.path(args[0])
    _refer(ctx, group, "WSGIImportScript")
    ctx.server.import_scripts.append((path, group, app))
    _check_script(ctx, path)


def _server_setting(field_name: str, parse: Callable[[Context, str], object]) -> Apply:
    def apply(ctx: Context, args: list[str]) -> None:
        value = parse(ctx, args[0])
        if value is not None:
            ctx.server.set(**{field_name: value})

    return apply


def _run_as(field_name: str) -> Apply:
    """User or Group: a name (or #id) that must exist on this machine."""

    def apply(ctx: Context, args: list[str]) -> None:
        if not privileges.exists(field_name, args[0]):
            ctx.error(f"{field_name} {args[0]!r} does not exist on this machine")
            return
        if field_name == "user" and privileges.is_root(args[0]):
            # As Apache (mod_unixd), which is built to refuse it: requests are
            # never served as root. The master keeps root for what needs it.
            ctx.error(
                f"{args[0]!r} is root: the front-end workers and apps never run as root "
                "(Apache refuses User root too); name an unprivileged user such as www-data"
            )
            return
        ctx.server.set(**{field_name: args[0]})

    return apply


def _path_value(ctx: Context, value: str) -> str:
    return ctx.path(value).rstrip("/") or "/"


# -- access, options, indexes, types ---------------------------------------------------


_OPTION_NAMES = (
    "All",
    "ExecCGI",
    "FollowSymLinks",
    "Includes",
    "IncludesNOEXEC",
    "Indexes",
    "MultiViews",
    "SymLinksIfOwnerMatch",
    "None",
)
_OPTION_INDEX = {name.lower(): name for name in _OPTION_NAMES}
_NOT_OURS_OPTIONS = {"includes", "includesnoexec", "multiviews"}


def _options(ctx: Context, args: list[str]) -> None:
    signed = [a[:1] in ("+", "-") for a in args]
    if any(signed) and not all(signed):
        ctx.error("either every option starts with + or -, or none does (as Apache requires)")
        return
    relative = all(signed)
    indexes: bool | None = None if relative else False
    follow: bool | None = None if relative else False
    # ExecCGI: the handler scripts (wsgi-script) it lets run (config/mod_handlers.py).
    exec_cgi: bool | None = None if relative else False
    for word in args:
        on = not word.startswith("-")
        name = word[1:] if relative else word
        key = name.lower()
        if relative and key == "none":
            ctx.error("None cannot be given with + or -")
            return
        if key not in _OPTION_INDEX:
            ctx.error(f"unknown option '{name}'{suggest(name, _OPTION_NAMES)}")
            return
        if key == "all":
            indexes = follow = exec_cgi = on
        elif key == "execcgi":
            exec_cgi = on
        elif key == "indexes":
            indexes = on
        elif key == "followsymlinks":
            follow = on
        elif key == "none":
            indexes = follow = exec_cgi = False
        elif key in _NOT_OURS_OPTIONS and on:
            ctx.warn(f"{_OPTION_INDEX[key]} is not provided by wsgihost; ignored")
        elif key == "symlinksifownermatch" and on:
            ctx.warn(
                "SymLinksIfOwnerMatch is not provided; symbolic links are followed only "
                "where FollowSymLinks is on"
            )
    settings = ctx.dir.settings
    if indexes is not None:
        settings = replace(settings, indexes=indexes)
    if follow is not None:
        settings = replace(settings, follow_symlinks=follow)
    if exec_cgi is not None:
        settings = replace(settings, exec_cgi=exec_cgi)
    ctx.dir.settings = settings


def _directory_index(ctx: Context, args: list[str]) -> None:
    if any(a.lower() == "disabled" for a in args):
        if len(args) > 1:
            ctx.error("'disabled' must be the only argument")
            return
        ctx.dir.settings = replace(ctx.dir.settings, directory_index=())
        return
    ctx.dir.settings = replace(ctx.dir.settings, directory_index=tuple(args))


def _add_type(ctx: Context, args: list[str]) -> None:
    media, extensions = args[0], args[1:]
    if "/" not in media.split(";", 1)[0]:
        ctx.error(f"'{media}' is not a media type such as text/html")
        return
    # mod_mime lower-cases the type as it stores it (add_extension_info).
    added = tuple(("." + ext.lstrip(".").lower(), media.lower()) for ext in extensions)
    ctx.dir.settings = replace(ctx.dir.settings, add_types=ctx.dir.settings.add_types + added)


def _add_charset(ctx: Context, args: list[str]) -> None:
    charset, extensions = args[0], args[1:]
    added = tuple(("." + ext.lstrip(".").lower(), charset.lower()) for ext in extensions)
    settings = ctx.dir.settings
    ctx.dir.settings = replace(settings, add_charsets=settings.add_charsets + added)


def _range_limit(default: int) -> Callable[[Context, str], int | None]:
    """MaxRanges, MaxRangeOverlaps, MaxRangeReversals: none, default, unlimited or a count."""

    def parse(ctx: Context, value: str) -> int | None:
        words = {"none": 0, "default": default, "unlimited": UNLIMITED}
        if value.lower() in words:
            return words[value.lower()]
        if value.isdigit() and int(value) > 0:
            return int(value)
        ctx.error(f"'{value}' is not none, default, unlimited or a positive number")
        return None

    return parse


def _types_config(ctx: Context, args: list[str]) -> None:
    path = ctx.path(args[0])
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as e:
        ctx.error(f"cannot read '{path}': {e.strerror}")
        return
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if words and "/" not in words[0]:
            ctx.error(f"line {number} of '{path}' is not 'type/subtype extension ...'")
            return
    ctx.server.set(types_config=path)
    ctx.server.extra_files.append(path)


# -- connections, limits, processes ------------------------------------------------------


def _keepalive(ctx: Context, args: list[str]) -> None:
    value = parse_flag(ctx, args[0])
    if value is not None and server_wide(ctx):
        ctx.server.set(keepalive=value)


def _trace_enable(ctx: Context, args: list[str]) -> None:
    value = args[0].lower()
    if value not in ("on", "off", "extended"):
        ctx.error(f"expected On, Off or extended, not '{args[0]}'")
        return
    ctx.host.trace_enable = value


def _server_duration(field_name: str) -> Apply:
    def apply(ctx: Context, args: list[str]) -> None:
        value = parse_duration(ctx, args[0])
        if value is not None and server_wide(ctx):
            ctx.server.set(**{field_name: value})

    return apply


def _server_count(field_name: str, minimum: int) -> Apply:
    def apply(ctx: Context, args: list[str]) -> None:
        value = parse_int(ctx, args[0], minimum)
        if value is not None and server_wide(ctx):
            ctx.server.set(**{field_name: value})

    return apply


def _limit(field_name: str, minimum: int) -> Apply:
    def apply(ctx: Context, args: list[str]) -> None:
        value = parse_int(ctx, args[0], minimum)
        if value is not None and server_wide(ctx):
            ctx.server.set_limit(**{field_name: value})

    return apply


def _read_stage(ctx: Context, stage: str, value: str) -> tuple[float, float, int] | None:
    """``timeout[-maxtimeout][,MinRate=rate]`` as mod_reqtimeout reads it."""
    spec, comma, rate_part = value.partition(",")
    first, dash, last = spec.partition("-")
    timeout = parse_duration(ctx, first)
    if timeout is None:
        return None
    max_timeout = parse_duration(ctx, last) if dash else 0.0
    if max_timeout is None:
        return None
    rate = 0
    if comma:
        key, eq, number = rate_part.partition("=")
        if key.lower() != "minrate" or not eq:
            ctx.error(f"{stage}=: expected MinRate=bytes-per-second after ',', not '{rate_part}'")
            return None
        parsed = parse_int(ctx, number, 1)
        if parsed is None:
            return None
        rate = parsed
    if dash and not rate:
        ctx.error(f"{stage}=: a timeout range needs MinRate= (as in mod_reqtimeout)")
        return None
    if dash and max_timeout <= timeout:
        ctx.error(f"{stage}=: the maximum timeout must be larger than the initial one")
        return None
    return timeout, max_timeout, rate


def _request_read_timeout(ctx: Context, args: list[str]) -> None:
    changes: dict[str, float] = {}
    for word in args:
        stage, eq, value = word.partition("=")
        stage = stage.lower()
        if not eq or stage not in ("handshake", "header", "body"):
            ctx.error(f"expected handshake=, header= or body=, not '{word}'")
            return
        parsed = _read_stage(ctx, stage, value)
        if parsed is None:
            return
        if stage == "handshake":
            ctx.warn("handshake= is for TLS, which wsgihost does not speak; ignored")
            continue
        changes[f"{stage}_timeout"], changes[f"{stage}_max_timeout"] = parsed[:2]
        changes[f"{stage}_min_rate"] = parsed[2]
    if changes and server_wide(ctx):
        ctx.server.set(**changes)


# -- the Apache features wsgihost does not provide -----------------------------------


# -- the table -----------------------------------------------------------------------


_ONE = (1, 1)
_SECTIONS_NOTE = "A relative path is taken from ServerRoot."

SUPPORTED: tuple[Directive, ...] = (
    # Reading: acted on by the parser as the files are read.
    record(
        "Define",
        "Define name [value]",
        ANY,
        (1, 2),
        "",
        "Defines a name for <IfDefine>, and with a value a variable for ${name}. Defines "
        "apply from where they are written on, to lines read after them. A ${name} is looked "
        "up among Defines first (including `-D` on the command line), then in the "
        "environment; an undefined one is an error.",
        _no_op,
        read_time=True,
    ),
    record(
        "UnDefine",
        "UnDefine name",
        ANY,
        _ONE,
        "",
        "Removes a name defined with Define or -D, from here on.",
        _no_op,
        read_time=True,
    ),
    record(
        "Include",
        "Include file-path|directory-path|wildcard",
        ANY,
        _ONE,
        "",
        "Reads other configuration files here, as if written in this place. Wildcards "
        "(`*`, `?`, `[...]`) match in every part of the path, and the files are read in "
        "sorted order; a directory means every file in it and below. A relative path is "
        "taken from ServerRoot. A wildcard that matches nothing, or a missing file, is an "
        "error. A file may not include itself.",
        _no_op,
        read_time=True,
    ),
    record(
        "IncludeOptional",
        "IncludeOptional file-path|directory-path|wildcard",
        ANY,
        _ONE,
        "",
        "Like Include, but a wildcard that matches nothing or a missing file is not an error.",
        _no_op,
        read_time=True,
    ),
    record(
        "ServerRoot",
        "ServerRoot directory-path",
        GLOBAL,
        _ONE,
        "the folder of the main configuration file",
        "The directory relative paths are taken from: Include, DocumentRoot, log files, "
        "WSGI scripts and the rest. It applies to Include from where it is written on, and "
        "to every other relative path in the configuration.",
        _no_op,
        read_time=True,
    ),
    # Listening and naming.
    record(
        "Listen",
        "Listen [IP-address:]port [http]",
        GLOBAL,
        (1, 2),
        "none: at least one is needed",
        "A TCP address to accept connections on: `Listen 8000` (every address), "
        "`Listen 127.0.0.1:8000`, `Listen [::1]:8000`. The optional protocol is "
        "`http` or `https` (which only names it: TLS is SSLEngine's, see TLS). The same "
        "address twice is an error. Every <VirtualHost> address must be covered by a Listen.",
        _listen,
    ),
    record(
        "ListenBacklog",
        "ListenBacklog backlog",
        GLOBAL,
        _ONE,
        model_default(Server, "listen_backlog"),
        "The queue length of the listening sockets.",
        _listen_backlog,
    ),
    record(
        "ServerName",
        "ServerName [scheme://]domain-name|ip-address[:port]",
        TOP,
        _ONE,
        "none",
        "The name of the server or virtual host. Requests are matched to name-based virtual "
        "hosts by comparing their Host header with ServerName and ServerAlias. A "
        "WSGIDaemonProcess defined in a virtual host may be used by every virtual host with "
        "the same ServerName.",
        _server_name,
    ),
    record(
        "ServerAlias",
        "ServerAlias hostname [hostname] ...",
        frozenset({VHOST}),
        (1, None),
        "none",
        "More names for a virtual host; `*` and `?` are wildcards (`*.example.com`).",
        _server_alias,
    ),
    record(
        "DocumentRoot",
        "DocumentRoot directory-path",
        TOP,
        _ONE,
        "none: only aliases are served",
        "The directory static files are served from where no Alias or WSGIScriptAlias "
        "matches. A missing one is a warning, as Apache's AH00112 (its files get 404 "
        "until it exists); a path that is not a directory is an error.",
        _document_root,
    ),
    # Sections.
    record(
        "VirtualHost",
        "<VirtualHost addr[:port] [addr[:port]] ...>",
        GLOBAL,
        (1, None),
        "",
        "Settings for requests arriving on the given addresses: `*:80`, `192.0.2.1:80`, "
        "`[2001:db8::1]:80`, `_default_:80`; no port or `*` means any port. Among the "
        "virtual hosts of an address the one whose ServerName or ServerAlias matches the "
        "Host header is chosen, else the first. Host names are not looked up: give "
        "addresses. Every address must be covered by a Listen.",
        _virtual_host,
        section=True,
    ),
    record(
        "Directory",
        "<Directory directory-path> or <Directory ~ regex>",
        TOP,
        (1, 2),
        "",
        "Settings for a directory and everything below it (wildcards allowed). " + _SECTIONS_NOTE,
        _section("directory", False),
        section=True,
    ),
    record(
        "DirectoryMatch",
        "<DirectoryMatch regex>",
        TOP,
        _ONE,
        "",
        "Settings for directories matching a regular expression.",
        _section("directory", True),
        section=True,
    ),
    record(
        "Location",
        "<Location URL-path> or <Location ~ regex>",
        TOP,
        (1, 2),
        "",
        "Settings for a URL path and everything below it; applied after <Directory> and "
        "<Files>, so they win.",
        _section("location", False),
        section=True,
    ),
    record(
        "LocationMatch",
        "<LocationMatch regex>",
        TOP,
        _ONE,
        "",
        "Settings for URL paths matching a regular expression.",
        _section("location", True),
        section=True,
    ),
    record(
        "Files",
        "<Files filename> or <Files ~ regex>",
        ANY,
        (1, 2),
        "",
        "Settings for files of a given name (wildcards allowed), anywhere, or inside the "
        "<Directory> it is written in.",
        _section("files", False),
        section=True,
    ),
    record(
        "FilesMatch",
        "<FilesMatch regex>",
        ANY,
        _ONE,
        "",
        "Settings for files whose names match a regular expression.",
        _section("files", True),
        section=True,
    ),
    record(
        "IfModule",
        "<IfModule [!]module-file|module-identifier>",
        ANY,
        _ONE,
        "",
        "Reads what it encloses only if the module is loaded; with `!`, only if it is not. "
        "As in Apache, loaded means built into httpd (core, so, watchdog, http, "
        "log_config, logio, version, unixd) or named by a LoadModule read before this "
        "line, in reading order (Debian's mods-enabled/*.load, RHEL's conf.modules.d/). "
        "A configuration with no LoadModule at all (a site file on its own) counts every "
        "module wsgihost provides as loaded (see 'Modules `<IfModule>` finds'). "
        "`mod_alias.c`, `mod_alias` and `alias_module` all name the same module.",
        None,
        section=True,
        read_time=True,
    ),
    record(
        "IfDefine",
        "<IfDefine [!]name>",
        ANY,
        _ONE,
        "",
        "Reads what it encloses only if the name was defined (Define, or `-D` on the "
        "command line); with `!`, only if it was not.",
        None,
        section=True,
        read_time=True,
    ),
    record(
        "IfFile",
        "<IfFile [!]path>",
        ANY,
        _ONE,
        "",
        "Reads what it encloses only if the file exists (relative paths from ServerRoot).",
        None,
        section=True,
        read_time=True,
    ),
    record(
        "IfDirective",
        "<IfDirective [!]name>",
        ANY,
        _ONE,
        "",
        "Reads what it encloses only if wsgihost accepts the directive (supported or "
        "ignored, not refused).",
        None,
        section=True,
        read_time=True,
    ),
    record(
        "IfSection",
        "<IfSection [!]name>",
        ANY,
        _ONE,
        "",
        "Reads what it encloses only if wsgihost supports the section.",
        None,
        section=True,
        read_time=True,
    ),
    record(
        "IfVersion",
        "<IfVersion [[!]operator] version>",
        ANY,
        (1, 2),
        "",
        "Reads what it encloses only if the Apache version wsgihost stands in for ("
        + ".".join(map(str, APACHE_VERSION))
        + ") compares as asked: `=`, `==`, `>`, `>=`, `<`, `<=`, or `~` and `/regex/` for a "
        "regular expression. Only the parts of the version given are compared, so "
        "`>= 2.4` is true.",
        None,
        section=True,
        read_time=True,
        module="mod_version",
    ),
    # Access and options.
    record(
        "Options",
        "Options [+|-]option [[+|-]option] ...",
        ANY,
        (1, None),
        "FollowSymLinks",
        "`Indexes` (directory listings) is off unless named; `FollowSymLinks` lets static "
        "files be reached through symbolic links. `All` is both, `None` neither. Without "
        "+ or - the list replaces what is inherited; with them it changes it, and mixing "
        "the two is an error. `ExecCGI` lets `wsgi-script` handler mappings (SetHandler, "
        "AddHandler) run their scripts, as mod_wsgi requires. Includes, IncludesNOEXEC, "
        "MultiViews and SymLinksIfOwnerMatch are not provided: turning them on is a warning.",
        _options,
    ),
    record(
        "DirectoryIndex",
        "DirectoryIndex disabled | local-url [local-url] ...",
        ANY,
        (1, None),
        "index.html",
        "The files tried, in order, when a directory is asked for; `disabled` turns this off.",
        _directory_index,
        module="mod_dir",
    ),
    record(
        "TypesConfig",
        "TypesConfig file-path",
        GLOBAL,
        _ONE,
        "the table shipped with wsgihost",
        "A mime.types file (`type/subtype extension ...` lines) mapping file extensions "
        "to media types. Without it wsgihost uses its own table, so answers do not depend "
        "on the machine. The file must be readable.",
        _types_config,
        module="mod_mime",
    ),
    record(
        "AddType",
        "AddType media-type extension [extension] ...",
        ANY,
        (2, None),
        "",
        "Maps file extensions to a media type, over TypesConfig.",
        _add_type,
        module="mod_mime",
    ),
    record(
        "AddCharset",
        "AddCharset charset extension [extension] ...",
        ANY,
        (2, None),
        "",
        "Names the charset of static files with these extensions: it is added to their "
        "Content-Type (whatever the type), as mod_mime adds it.",
        _add_charset,
        module="mod_mime",
    ),
    *(
        record(
            name,
            f"{name} default|unlimited|none|number",
            ANY,
            _ONE,
            str(default),
            f"{what}: past it, a static file's Range header is ignored and the whole file "
            "is sent. `none` turns ranges off"
            + (" (Accept-Ranges: none)." if name == "MaxRanges" else "."),
            _dir_setting(field_name, _range_limit(default)),
        )
        for name, field_name, default, what in (
            (
                "MaxRanges",
                "max_ranges",
                DEFAULT_MAX_RANGES,
                "The most ranges (once merged) one request may ask for",
            ),
            (
                "MaxRangeOverlaps",
                "max_range_overlaps",
                DEFAULT_MAX_OVERLAPS,
                "The most overlapping ranges one request may ask for",
            ),
            (
                "MaxRangeReversals",
                "max_range_reversals",
                DEFAULT_MAX_REVERSALS,
                "The most ranges one request may ask for out of order",
            ),
        )
    ),
    record(
        "Alias",
        "Alias URL-path file-path|directory-path",
        TOP,
        (2, 2),
        "",
        "Serves static files for a URL path from a directory (or one file) outside the "
        "DocumentRoot. As in mod_alias, a trailing slash on one side needs one on the "
        "other to match.",
        _alias(False),
        module="mod_alias",
    ),
    record(
        "AliasMatch",
        "AliasMatch regex file-path|directory-path",
        TOP,
        (2, 2),
        "",
        "Alias with a regular expression; `$1` to `$9` in the path are its groups.",
        _alias(True),
        module="mod_alias",
    ),
    record(
        "TraceEnable",
        "TraceEnable On|Off|extended",
        TOP,
        _ONE,
        "On",
        "How TRACE requests are answered, by the server itself before any app or file: "
        "On echoes the request line and headers back as `message/http` (a request body "
        "is refused with 413), `extended` echoes a body of up to 64 KiB too, Off answers "
        "405. A virtual host without it has the main server's.",
        _trace_enable,
    ),
    # Connections, limits, processes.
    record(
        "KeepAlive",
        "KeepAlive On|Off",
        TOP,
        _ONE,
        model_default(Server, "keepalive"),
        "Whether connections stay open for more requests. Server-wide in wsgihost: in a "
        "<VirtualHost> it is a warning and ignored.",
        _keepalive,
    ),
    record(
        "KeepAliveTimeout",
        "KeepAliveTimeout num[ms]",
        TOP,
        _ONE,
        model_default(Server, "keepalive_timeout"),
        "How long an idle keep-alive connection stays open, in seconds (or with ms). Server-wide.",
        _server_duration("keepalive_timeout"),
    ),
    record(
        "MaxKeepAliveRequests",
        "MaxKeepAliveRequests number",
        TOP,
        _ONE,
        model_default(Server, "max_keepalive_requests"),
        "Requests per connection before it is closed; 0 means no limit. Server-wide.",
        _server_count("max_keepalive_requests", 0),
    ),
    record(
        "Timeout",
        "Timeout seconds",
        TOP,
        _ONE,
        model_default(Server, "timeout"),
        "The most a read from or write to a client may wait; also the default socket-timeout "
        "of daemon process groups. Server-wide.",
        _server_duration("timeout"),
    ),
    record(
        "RequestReadTimeout",
        "RequestReadTimeout [header=timeout[-maxtimeout][,MinRate=rate]] "
        "[body=timeout[-maxtimeout][,MinRate=rate]]",
        TOP,
        (1, None),
        f"header={model_default(Server, 'header_timeout')} "
        f"body={model_default(Server, 'body_timeout')},"
        f"MinRate={model_default(Server, 'body_min_rate')}",
        "Deadlines for receiving a request, as mod_reqtimeout's: `header=` for its head, "
        "`body=` for its body, each answered with 408 and a close when missed. "
        "`timeout-maxtimeout,MinRate=rate` starts with `timeout` seconds and adds one for "
        "every `rate` bytes received, up to `maxtimeout` seconds in all (with no maximum, "
        "for as long as the client keeps up): a client must keep sending at that rate. The "
        "body's clock stops while wsgihost holds the client back (the app reads slowly, or "
        "has not asked for an "
        "`Expect: 100-continue` body yet), and `Timeout` still bounds each wait. `0` turns "
        "a stage's deadline off (a head then still has `Timeout`). `handshake=` is for TLS "
        "(a warning). Server-wide.",
        _request_read_timeout,
        module="mod_reqtimeout",
    ),
    record(
        "LimitRequestBody",
        "LimitRequestBody bytes",
        ANY,
        _ONE,
        model_default(Limits, "body"),
        "The largest request body, in bytes (413 beyond it); 0 means no limit. Server-wide "
        "in wsgihost: elsewhere it is a warning and ignored.",
        _limit("body", 0),
    ),
    record(
        "LimitRequestLine",
        "LimitRequestLine bytes",
        TOP,
        _ONE,
        model_default(Limits, "request_line"),
        "The longest request line (414 beyond it). Server-wide.",
        _limit("request_line", 1),
    ),
    record(
        "LimitRequestFieldSize",
        "LimitRequestFieldSize bytes",
        TOP,
        _ONE,
        model_default(Limits, "field_size"),
        "The longest request header field line (400 beyond it, as Apache answers). Server-wide.",
        _limit("field_size", 1),
    ),
    record(
        "LimitRequestFields",
        "LimitRequestFields number",
        TOP,
        _ONE,
        model_default(Limits, "fields"),
        "The most request header fields (400 beyond it); 0 means no limit. Server-wide.",
        _limit("fields", 0),
    ),
    record(
        "StartServers",
        "StartServers number",
        GLOBAL,
        _ONE,
        model_default(Server, "processes"),
        "How many front-end worker processes wsgihost runs (a fixed number). On Linux "
        "each listener gets a socket per front-end worker (`SO_REUSEPORT`), held by the "
        "master: the kernel shares new connections out between the workers by a hash of "
        "their addresses, so a burst of connections cannot all go to the worker that woke "
        "first. A worker being replaced (a graceful restart, or its app asked for a restart "
        "with SIGINT) goes on accepting until its successor is ready; one that dies leaves "
        "its socket to its successor, and what the kernel queues on it meanwhile waits for "
        "that successor. Sockets are never closed while the "
        "server runs, so no queued connection is reset: a restart with fewer workers adds "
        "sockets until each worker has as many as the others (3 for 2 workers become 4). A second "
        "server on the same port is still refused (`Address already in use`).",
        _server_setting("processes", lambda ctx, v: parse_int(ctx, v, 1)),
        module="mpm_event",
    ),
    record(
        "ThreadsPerChild",
        "ThreadsPerChild number",
        GLOBAL,
        _ONE,
        model_default(Server, "threads"),
        "How many threads each front-end worker runs embedded-mode apps in.",
        _server_setting("threads", lambda ctx, v: parse_int(ctx, v, 1)),
        module="mpm_event",
    ),
    record(
        "MaxRequestWorkers",
        "MaxRequestWorkers number",
        GLOBAL,
        _ONE,
        model_default(Server, "max_connections"),
        "The most client connections open at once, server-wide; each of the StartServers "
        "front-end workers takes an equal share. Past its share a worker first closes its "
        "longest-idle keep-alive connections, then answers new connections with `503` "
        "(`Retry-After`, `Connection: close`) and a warning in the error log. (Apache counts "
        "busy threads; connections are what an event loop runs short of.) 0: as many as each "
        "worker's open-file limit allows, which still turns running out of descriptors into "
        "503s.",
        _server_setting("max_connections", lambda ctx, v: parse_int(ctx, v, 0)),
        module="mpm_event",
    ),
    record(
        "MaxClients",
        "MaxClients number",
        GLOBAL,
        _ONE,
        model_default(Server, "max_connections"),
        "The Apache 2.2 name of `MaxRequestWorkers`, which it sets.",
        _server_setting("max_connections", lambda ctx, v: parse_int(ctx, v, 0)),
        module="mpm_event",
    ),
    record(
        "GracefulShutdownTimeout",
        "GracefulShutdownTimeout seconds",
        GLOBAL,
        _ONE,
        model_default(Server, "graceful_timeout"),
        "How long a graceful stop waits for requests in flight.",
        _server_setting("graceful_timeout", parse_duration),
    ),
    record(
        "PidFile",
        "PidFile filename",
        GLOBAL,
        _ONE,
        "none",
        "A file the master writes its process id to.",
        _server_setting("pid_file", _path_value),
    ),
    # mod_wsgi.
    record(
        "WSGIScriptAlias",
        "WSGIScriptAlias URL-path file-path [option=value ...]",
        TOP,
        (2, None),
        "",
        "Mounts a WSGI script at a URL path: `SCRIPT_NAME` is the path, `PATH_INFO` the "
        "rest. Options: `process-group=` (a WSGIDaemonProcess group, or `%{GLOBAL}` for "
        "embedded mode), `application-group=`, `callable-object=`, `pass-authorization=On|Off`; "
        "they win over the directives of the same names. A script that does not exist is "
        "a warning (requests for it get 404 until it does).",
        _script_alias(False),
        module="mod_wsgi",
    ),
    record(
        "WSGIScriptAliasMatch",
        "WSGIScriptAliasMatch regex file-path [option=value ...]",
        TOP,
        (2, None),
        "",
        "WSGIScriptAlias with a regular expression; `$1` to `$9` in the path are its groups.",
        _script_alias(True),
        module="mod_wsgi",
    ),
    record(
        "WSGIDaemonProcess",
        "WSGIDaemonProcess name [option=value ...]",
        TOP,
        (1, None),
        "",
        "Defines a daemon process group: processes of their own that the apps delegated to "
        "it (WSGIProcessGroup, `process-group=`) run in. Group names are unique in the "
        "whole server. A group defined in a virtual host can be used by the virtual hosts "
        "with the same ServerName; one defined outside them by all. Every option mod_wsgi "
        "documents is checked (see below); an unknown one is an error with a suggestion.",
        daemon_process,
        module="mod_wsgi",
    ),
    record(
        "WSGIProcessGroup",
        "WSGIProcessGroup name|%{GLOBAL}",
        ANY,
        _ONE,
        "%{GLOBAL} (embedded mode)",
        "The daemon process group the apps here run in; `%{GLOBAL}` means embedded mode "
        "(in the front-end workers). A name no WSGIDaemonProcess defines, or one defined "
        "in a virtual host with another ServerName, is an error.",
        _wsgi_process_group,
        module="mod_wsgi",
    ),
    record(
        "WSGIApplicationGroup",
        "WSGIApplicationGroup name|%{GLOBAL}|%{SERVER}|%{RESOURCE}",
        ANY,
        _ONE,
        "%{RESOURCE}",
        "The application group (Python interpreter) the apps here run in, as "
        "`mod_wsgi.application_group`. `%{GLOBAL}` is the main interpreter.",
        _dir_setting("application_group", _application_group),
        module="mod_wsgi",
    ),
    record(
        "WSGICallableObject",
        "WSGICallableObject name",
        ANY,
        _ONE,
        "application",
        "The name of the WSGI callable in the script.",
        _dir_setting("callable_object", _callable),
        module="mod_wsgi",
    ),
    record(
        "WSGIPassAuthorization",
        "WSGIPassAuthorization On|Off",
        ANY,
        _ONE,
        "Off",
        "Whether the Authorization header reaches the app as `HTTP_AUTHORIZATION`.",
        _dir_setting("pass_authorization", parse_flag),
        module="mod_wsgi",
    ),
    record(
        "WSGIScriptReloading",
        "WSGIScriptReloading On|Off",
        ANY,
        _ONE,
        "On",
        "Whether changing (or touching) a WSGI script reloads the app.",
        _dir_setting("script_reloading", parse_flag),
        module="mod_wsgi",
    ),
    record(
        "WSGIChunkedRequest",
        "WSGIChunkedRequest On|Off",
        ANY,
        _ONE,
        "Off",
        "Whether a request body sent with `Transfer-Encoding: chunked` reaches the app. "
        "Off: such a request is answered 411 Length Required before the app runs, as "
        "mod_wsgi does. On: the app reads the body to its end (`wsgi.input.read()`, or "
        '`read(n)` until it returns `b""`); it has no `CONTENT_LENGTH` (its '
        "`HTTP_TRANSFER_ENCODING` says `chunked`). Set it in a `<Location>` or `<Directory>` "
        "to accept chunked bodies for part of a site only. A `Transfer-Encoding` other than "
        "`chunked` itself (`gzip, chunked`) is answered 501 either way, as mod_wsgi does.",
        _dir_setting("chunked_request", parse_flag),
        module="mod_wsgi",
    ),
    record(
        "WSGIPythonPath",
        "WSGIPythonPath directory[:directory ...]",
        GLOBAL,
        _ONE,
        "none",
        "Directories added to `sys.path` for embedded-mode apps (daemon groups take "
        "`python-path=`).",
        _wsgi_python_path,
        module="mod_wsgi",
    ),
    record(
        "WSGIPythonHome",
        "WSGIPythonHome directory",
        GLOBAL,
        _ONE,
        "none",
        "The Python virtual environment for embedded-mode apps (daemon groups take "
        "`python-home=`). A missing directory is a warning.",
        _wsgi_python_home,
        module="mod_wsgi",
    ),
    record(
        "WSGIPythonOptimize",
        "WSGIPythonOptimize 0|1|2",
        GLOBAL,
        _ONE,
        "0",
        "Python's optimisation level (`-O`, `-OO`) for the daemon processes' interpreters "
        "and the front-end workers' (embedded mode), as mod_wsgi sets it for its own.",
        _wsgi_python_optimize,
        module="mod_wsgi",
    ),
    record(
        "WSGIPythonWarnings",
        "WSGIPythonWarnings action:message:category:module:line",
        GLOBAL,
        _ONE,
        "none",
        "A warnings filter (Python's `-W`) for the daemon processes' and front-end workers' "
        "interpreters; repeat the directive for more.",
        _wsgi_python_warnings,
        module="mod_wsgi",
    ),
    record(
        "WSGIPythonHashSeed",
        "WSGIPythonHashSeed random|number",
        GLOBAL,
        _ONE,
        "random",
        "The hash seed (`PYTHONHASHSEED`) of the daemon processes' and front-end workers' "
        "interpreters. As in mod_wsgi, it is taken out of `os.environ` once the interpreter "
        "has started, so the app's own child processes do not inherit it.",
        _wsgi_python_hash_seed,
        module="mod_wsgi",
    ),
    record(
        "WSGIDontWriteBytecode",
        "WSGIDontWriteBytecode On|Off",
        GLOBAL,
        _ONE,
        "Off",
        "On: imported modules leave no `.pyc` files (Python's `-B`), in the daemon "
        "processes and the front-end workers.",
        _wsgi_dont_write_bytecode,
        module="mod_wsgi",
    ),
    record(
        "WSGIRestrictEmbedded",
        "WSGIRestrictEmbedded On|Off",
        GLOBAL,
        _ONE,
        "Off",
        "With On, no app may run in embedded mode: only in daemon process groups.",
        _server_setting("restrict_embedded", parse_flag),
        module="mod_wsgi",
    ),
    record(
        "WSGIApplicationGroupLimit",
        "WSGIApplicationGroupLimit number",
        GLOBAL,
        _ONE,
        model_default(Server, "application_group_limit"),
        "wsgihost's own (mod_wsgi has none). Each application group of a daemon group runs "
        "in daemon processes of its own (mod_wsgi's sub-interpreters), `processes=` x "
        "`threads=` each; this is the most application groups one daemon group may have, "
        "so a site file cannot start processes without end. The groups are known from the "
        "configuration (never from a request); a daemon group with more is an error at "
        "start. 0: no limit.",
        _server_setting("application_group_limit", lambda ctx, v: parse_int(ctx, v, 0)),
        module="mod_wsgi",
    ),
    record(
        "WSGISocketPrefix",
        "WSGISocketPrefix prefix",
        GLOBAL,
        _ONE,
        "wsgihost's run directory",
        "Where the daemon process groups' UNIX sockets are made.",
        _server_setting("socket_prefix", lambda ctx, v: ctx.path(v)),
        module="mod_wsgi",
    ),
    record(
        "WSGIImportScript",
        "WSGIImportScript file-path process-group=name application-group=name",
        TOP,
        (1, 3),
        "",
        "A script a daemon process group loads when each of its processes starts, before any "
        "request. Both options are required, as in mod_wsgi.",
        _wsgi_import_script,
        module="mod_wsgi",
    ),
    record(
        "User",
        "User unix-userid",
        GLOBAL,
        _ONE,
        "started as root: www-data (else apache, else nobody)",
        "The user the front-end workers (and embedded-mode apps) run as, when "
        "wsgihost is started as root: the master keeps root to bind ports, open "
        "logs and create the daemon sockets, which only this user may connect to. "
        "Daemon process groups run as it too unless they name their own `user=`, "
        "as in mod_wsgi. A name or `#uid`, never root (refused, as by Apache). "
        "Started as root without it, they all run as the distribution's web user "
        "and a warning says so; `serve --user` overrides it. Started as any other "
        "user, it is ignored and nobody changes user.",
        _run_as("user"),
        module="mod_unixd",
    ),
    record(
        "Group",
        "Group unix-group",
        GLOBAL,
        _ONE,
        "the user's own group",
        "The group the front-end workers run as, when wsgihost is started as root, "
        "and daemon process groups that name no `group=` (even with `user=`, as in "
        "mod_wsgi). A name or `#gid`; `serve --group` overrides it.",
        _run_as("group"),
        module="mod_unixd",
    ),
)


CORE: tuple[Directive, ...] = SUPPORTED + IGNORED + REFUSED
assert len({d.name.lower() for d in CORE}) == len(CORE), "a directive is declared twice"

# The tables of the Apache modules wsgihost provides in modules of their own
# (see wsgihost.config.table). A module's record replaces the core's
# placeholder of the same name; two modules may not declare one name.
MODULE_TABLES: tuple[tuple[Directive, ...], ...] = (
    log_directives.DIRECTIVES,
    mod_refused.DIRECTIVES,
    mod_handlers.DIRECTIVES,
    mod_auth.DIRECTIVES,
    mod_authz.DIRECTIVES,
    mod_authn_file.DIRECTIVES,
    placeholders.DIRECTIVES,
    htaccess.DIRECTIVES,
    mod_log.DIRECTIVES,
    mod_wsgi.DIRECTIVES,
    mod_ssl.DIRECTIVES,
    mod_alias.DIRECTIVES,
    mod_remoteip.DIRECTIVES,
    mod_env.DIRECTIVES,
    macro.DIRECTIVES,
    mod_if.DIRECTIVES,
    mod_rewrite.DIRECTIVES,
    mod_headers.DIRECTIVES,
    mod_setenvif.DIRECTIVES,
    mod_autoindex.DIRECTIVES,
    mod_deflate.DIRECTIVES,
    mod_proxy.DIRECTIVES,
    mod_expires.DIRECTIVES,
    mod_mime.DIRECTIVES,
)


def _join(
    core: tuple[Directive, ...], tables: tuple[tuple[Directive, ...], ...]
) -> tuple[Directive, ...]:
    joined = {d.name.lower(): d for d in core}
    declared: set[str] = set()
    for table in tables:
        for d in table:
            key = d.name.lower()
            assert key not in declared, f"{d.name} is declared by two modules"
            declared.add(key)
            joined[key] = d
    return tuple(joined.values())


TABLE: tuple[Directive, ...] = _join(CORE, MODULE_TABLES)
INDEX: dict[str, Directive] = {d.name.lower(): d for d in TABLE}


def lookup(name: str) -> Directive | None:
    """The record for a directive or section name, in any letter case."""
    return INDEX.get(name.lower())


def unknown_message(name: str, section: bool) -> str:
    """What to say about a name the table does not have."""
    if name.lower().startswith("ssl"):
        return f"{name}: {TLS_WHY}"
    if section:
        choices = [d.name for d in TABLE if d.section]
        return f"unknown section <{name}>{suggest(name, choices)}"
    return f"unknown directive '{name}'{suggest(name, [d.name for d in TABLE if not d.section])}"
