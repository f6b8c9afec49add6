"""The parsed tree to the immutable model (pure).

Two passes. The first walks the tree and, for each directive, checks it
against its table record (known? allowed here? how many arguments?) and
runs the record's apply function, which validates the values and writes
them into the drafts. The second runs the checks that need the whole
configuration and freezes the drafts into a :class:`~wsgihost.config.model.Server`:

- at least one ``Listen`` (a ``<VirtualHost>`` address none covers is a warning);
- daemon process group names unique in the whole server (as mod_wsgi
  requires), and every group named by ``WSGIProcessGroup``, ``process-group=``
  or ``WSGIImportScript`` defined where it may be used: outside every virtual
  host (usable anywhere), or in a virtual host with the same ``ServerName``;
- ``CustomLog`` nicknames defined (``combined``, ``common``, ``referer`` and
  ``agent`` are predefined, as in the configuration Apache ships).

Nothing stops at the first problem. If any problem is an error there is no
model: a server never runs half a configuration.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from wsgihost.config import directives, mod_authz, mod_remoteip, mod_ssl, table
from wsgihost.config.draft import Context, HostDraft, ServerDraft
from wsgihost.config.model import (
    COMBINED,
    Address,
    DaemonGroup,
    Host,
    Listener,
    Logging,
    LogSpec,
    Section,
    Server,
    Where,
)
from wsgihost.config.parser import Node, Parsed
from wsgihost.config.problems import Problems
from wsgihost.config.values import suggest
from wsgihost.logs import COMMON

PREDEFINED_FORMATS = {
    "combined": COMBINED,
    "common": COMMON,
    "referer": "%{Referer}i -> %U",
    "agent": "%{User-agent}i",
}

_SECTION_TAGS = {
    "directory": "<Directory>",
    "location": "<Location>",
    "files": "<Files>",
    "if": "<If>",  # and <ElseIf>, <Else> (config/mod_if.py)
    "proxy": "<Proxy>",  # and <ProxyMatch> (config/mod_proxy.py)
}
_CONTEXT_ORDER = (table.SERVER, table.VHOST, table.DIRECTORY)


def build(
    parsed: Parsed, problems: Problems, remap: Mapping[int, int] | None = None
) -> Server | None:
    """The model of ``parsed``, or None if anything in it is an error.

    ``remap`` moves ports (``serve --remap-port 80=8080``): every ``Listen``
    and ``<VirtualHost>`` port in it is replaced, together, so the virtual
    hosts still match the connections they were written for.
    """
    main_file = parsed.files[0] if parsed.files else ""
    main = HostDraft(where=Where(main_file, 0), main=True)
    server = ServerDraft(server_root=parsed.server_root, main=main)
    _walk(Context("server", server, main, problems), parsed.nodes)
    if remap:
        _remap_ports(server, remap)
    if not server.listeners:
        _derive_listeners(server, main_file, problems)
    model = _finish(server, parsed, problems)
    return None if problems.has_errors else model


# -- the walk --------------------------------------------------------------------


def _here(ctx: Context) -> str:
    if ctx.level == "server":
        return "the main server config"
    if ctx.section is None:
        return "<VirtualHost>"
    return _SECTION_TAGS[ctx.section.kind]


def _expected(record: table.Directive) -> str:
    low, high = record.min_args, record.max_args
    if high == low:
        return f"expected {low} argument{'' if low == 1 else 's'}"
    if high is None:
        return f"expected at least {low} argument{'' if low == 1 else 's'}"
    return f"expected {low} to {high} arguments"


def _walk(ctx: Context, nodes: tuple[Node, ...]) -> None:
    problems = ctx.problems
    for node in nodes:
        record = directives.lookup(node.name)
        if record is None:
            problems.error(
                node.file, node.line, directives.unknown_message(node.name, node.is_section)
            )
            continue
        label = f"<{record.name}>" if record.section else record.name
        if record.section != node.is_section:
            message = (
                f"{record.name} is a section: write <{record.name} ...> ... </{record.name}>"
                if record.section
                else f"{record.name} is a directive, not a section"
            )
            problems.error(node.file, node.line, message)
            continue
        if record.kind == "refused":
            problems.error(node.file, node.line, f"{label}: {record.why}")
            continue
        inside = mod_authz.refused_inside(ctx, record.name, record.section)
        if inside is not None:
            problems.error(node.file, node.line, inside)
            continue
        if table.LEVEL_CONTEXT[ctx.level] not in record.contexts:
            allowed = ", ".join(c for c in _CONTEXT_ORDER if c in record.contexts)
            problems.error(
                node.file,
                node.line,
                f"{label} is not allowed in {_here(ctx)} (allowed in: {allowed})",
            )
            continue
        count = len(node.args)
        if count < record.min_args or (record.max_args is not None and count > record.max_args):
            hint = ""
            if any(a.startswith("#") for a in node.args):
                hint = "; '#' starts a comment only at the beginning of a line"
            problems.error(
                node.file,
                node.line,
                f"{label}: {_expected(record)}, got {count} ({record.syntax}){hint}",
            )
            continue
        if record.kind == "ignored" and record.apply is None:
            problems.warning(node.file, node.line, f"{label}: {record.why}; ignored")
            continue
        if record.apply is None:
            continue
        child = record.apply(ctx.at(node.file, node.line, label), list(node.args))
        if node.children is not None and child is not None:
            _walk(child, node.children)
            if child.on_close is not None:
                child.on_close()  # a section judged whole (an empty <RequireAll>, ...)


# -- the checks that need everything, and the freeze ----------------------------------------


def _address_text(address: Address) -> str:
    host = f"[{address.host}]" if ":" in address.host else address.host
    return f"{host}:{address.port if address.port is not None else '*'}"


def _same_ip(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return False


def _covered(address: Address, server: ServerDraft) -> bool:
    for listener in server.listeners:
        if address.port is not None and address.port != listener.port:
            continue
        if address.host in ("*", "_default_") or listener.host in ("", "0.0.0.0", "::"):
            return True
        if _same_ip(address.host, listener.host):
            return True
    return False


def _remap_ports(server: ServerDraft, remap: Mapping[int, int]) -> None:
    server.listeners[:] = [
        replace(listener, port=remap.get(listener.port, listener.port))
        for listener in server.listeners
    ]
    for vhost in server.vhosts:
        vhost.addresses[:] = [
            replace(a, port=remap.get(a.port, a.port)) if a.port is not None else a
            for a in vhost.addresses
        ]


def _derive_listeners(server: ServerDraft, main_file: str, problems: Problems) -> None:
    """A site file read on its own has no Listen (Debian keeps them in ports.conf):
    listen where its <VirtualHost> lines say, as ports.conf's ``Listen 80`` would.

    ``*:80`` becomes ``Listen 80`` (every address) and an address of its own
    ``Listen ADDR:PORT``, unless a wildcard on that port already covers it (both
    could not be bound). A virtual host with no port gives nothing to listen on.
    """
    wild: dict[int, HostDraft] = {}
    specific: dict[tuple[str, int], HostDraft] = {}
    for vhost in server.vhosts:
        for address in vhost.addresses:
            if address.port is None:
                continue
            if address.host in ("*", "_default_"):
                wild.setdefault(address.port, vhost)
            else:
                specific.setdefault((address.host, address.port), vhost)
    chosen = [(("", port), vhost) for port, vhost in wild.items()]
    chosen += [(key, vhost) for key, vhost in specific.items() if key[1] not in wild]
    for (host, port), vhost in chosen:
        listener = Listener(host, port, vhost.where)
        server.listeners.append(listener)
        problems.warning(
            vhost.where.file,
            vhost.where.line,
            f"no Listen in the configuration: listening on {_listen_text(listener)}, "
            "as this <VirtualHost> says (as Debian's ports.conf would)",
        )


def _listen_text(listener: Listener) -> str:
    host = listener.host or "*"
    return f"[{host}]:{listener.port}" if ":" in host else f"{host}:{listener.port}"


def _check_listeners(server: ServerDraft, main_file: str, problems: Problems) -> None:
    if not server.listeners:
        problems.error(
            main_file, 0, "no Listen directive: give at least one address, such as 'Listen 80'"
        )
    for vhost in server.vhosts:
        for address in vhost.addresses:
            if not _covered(address, server):
                # Apache starts with such a virtual host and never uses it
                # (a site file written for a port another tree opens): a
                # warning, so the rest of the site is served.
                hint = f" (add 'Listen {address.port}')" if address.port is not None else ""
                problems.warning(
                    vhost.where.file,
                    vhost.where.line,
                    f"<VirtualHost>: no Listen covers {_address_text(address)}, so it gets "
                    f"no requests{hint}",
                )
    seen: dict[tuple[frozenset[Address], str], HostDraft] = {}
    for vhost in server.vhosts:
        if vhost.server_name is None:
            continue
        key = (frozenset(vhost.addresses), vhost.server_name.lower())
        first = seen.setdefault(key, vhost)
        if first is not vhost:
            problems.warning(
                vhost.where.file,
                vhost.where.line,
                f"<VirtualHost>: ServerName {vhost.server_name} on the same addresses as the "
                f"virtual host at {first.where}, which is chosen first; this one never is",
            )


def _effective_name(host: HostDraft, main: HostDraft) -> str | None:
    """A virtual host without a ServerName has the main server's (as in Apache)."""
    name = host.server_name if host.server_name is not None else main.server_name
    return name.lower() if name is not None else None


def _groups(server: ServerDraft, parsed: Parsed, problems: Problems) -> tuple[DaemonGroup, ...]:
    order = {name: index for index, name in enumerate(parsed.files)}
    found: list[tuple[DaemonGroup, HostDraft]] = [
        (group, host) for host in (server.main, *server.vhosts) for group in host.groups
    ]
    found.sort(key=lambda pair: (order.get(pair[0].where.file, -1), pair[0].where.line))
    owners: dict[str, tuple[DaemonGroup, HostDraft]] = {}
    result: list[DaemonGroup] = []
    for group, host in found:
        first = owners.get(group.name)
        if first is not None:
            problems.error(
                group.where.file,
                group.where.line,
                f"WSGIDaemonProcess: group '{group.name}' is already defined at "
                f"{first[0].where} (group names are unique in the whole server)",
            )
            continue
        owners[group.name] = (group, host)
        changes: dict[str, Any] = {}
        if not host.main:
            changes["server_name"] = host.server_name or server.main.server_name
        changes["error_log"] = host.error_log or server.main.error_log
        changes["log_level"] = host.log_level or server.main.log_level
        changes["request_error_logs"] = _request_error_logs(host, server)
        given = host.group_options.get(group.name, frozenset())
        if "socket-timeout" not in given:
            changes["socket_timeout"] = server.model.timeout  # mod_wsgi: Apache's Timeout
        if "queue-timeout" not in given and 0 < server.model.timeout < group.queue_timeout:
            # A request never waits in the backlog longer than Timeout allows
            # (the front end's deadline), so a shorter Timeout is the limit.
            changes["queue_timeout"] = server.model.timeout
        result.append(replace(group, **changes))

    for ref in server.group_refs:
        owner = owners.get(ref.name)
        if owner is None:
            problems.error(
                ref.where.file,
                ref.where.line,
                f"{ref.what}: no WSGIDaemonProcess defines group '{ref.name}'"
                + suggest(ref.name, owners),
            )
            continue
        group, host = owner
        if host.main or ref.host.main:
            continue
        if _effective_name(host, server.main) != _effective_name(ref.host, server.main):
            problems.error(
                ref.where.file,
                ref.where.line,
                f"{ref.what}: group '{ref.name}' is defined in the virtual host for "
                f"'{host.server_name}' ({group.where}); only virtual hosts with that "
                "ServerName may use it",
            )
    return tuple(result)


def _request_error_logs(owner: HostDraft, server: ServerDraft) -> tuple[str, ...]:
    """The error logs of the hosts that may use a group defined in ``owner``.

    A group defined in a virtual host serves only hosts with its ServerName
    (checked in _groups); one defined in the main server, any host.
    """
    name = _effective_name(owner, server.main)
    paths = [
        host.error_log or server.main.error_log
        for host in (server.main, *server.vhosts)
        if owner.main or _effective_name(host, server.main) == name
    ]
    return tuple(dict.fromkeys(path for path in paths if path))


def _log_specs(host: HostDraft, main: HostDraft, problems: Problems) -> tuple[LogSpec, ...]:
    known = {**PREDEFINED_FORMATS, **main.log_formats, **host.log_formats}
    specs: list[LogSpec] = []
    for log in host.access_logs:
        if log.format is not None:
            specs.append(LogSpec(log.path, log.format))
        elif log.nickname is not None:
            fmt = known.get(log.nickname)
            if fmt is None:
                problems.error(
                    log.where.file,
                    log.where.line,
                    f"CustomLog: unknown log format nickname '{log.nickname}'"
                    + suggest(log.nickname, known),
                )
                continue
            specs.append(LogSpec(log.path, fmt))
        else:
            specs.append(LogSpec(log.path, host.default_format or main.default_format or COMMON))
    return tuple(specs)


def _sections(host: HostDraft) -> tuple[Section, ...]:
    frozen: dict[int, Section] = {}
    result: list[Section] = []
    for draft in host.sections:
        within = frozen.get(id(draft.within)) if draft.within is not None else None
        section = Section(
            kind=draft.kind,
            pattern=draft.pattern,
            regex=draft.regex,
            settings=draft.dir.freeze(),
            where=draft.where,
            within=within,
        )
        frozen[id(draft)] = section
        result.append(section)
    return tuple(result)


def _host(host: HostDraft, main: HostDraft, problems: Problems) -> Host:
    return Host(
        addresses=tuple(host.addresses),
        server_name=host.server_name,
        server_aliases=tuple(host.server_aliases),
        document_root=host.document_root,
        server_admin=host.server_admin or main.server_admin,  # Apache's inheritance
        aliases=tuple(host.aliases),
        settings=host.dir.freeze(),
        sections=_sections(host),
        error_log=host.error_log,
        access_logs=_log_specs(host, main, problems),
        where=host.where,
        log_level=host.log_level,
        trace_enable=host.trace_enable or main.trace_enable or "on",
        redirects=tuple(host.redirects),
        remoteip=mod_remoteip.merged(main.remoteip, host.remoteip),
    )


def _finish(server: ServerDraft, parsed: Parsed, problems: Problems) -> Server:
    main_file = parsed.files[0] if parsed.files else ""
    _check_listeners(server, main_file, problems)
    groups = _groups(server, parsed, problems)
    main = _host(server.main, server.main, problems)
    vhosts = tuple(_host(v, server.main, problems) for v in server.vhosts)
    if server.tls:  # SSLEngine and friends (mod_ssl): merged, certificates checked
        main, *rest = mod_ssl.finish(server, (main, *vhosts), problems)
        vhosts = tuple(rest)
    first_log = main.access_logs[0] if main.access_logs else None
    logging = Logging(
        error_log=main.error_log,
        access_log=first_log.path if first_log else None,
        access_format=first_log.format if first_log else COMBINED,
        level=main.log_level or Logging().level,
    )
    return replace(
        server.model,
        listeners=tuple(server.listeners),
        main=main,
        vhosts=vhosts,
        groups=groups,
        limits=server.limits,
        logging=logging,
        import_scripts=tuple(server.import_scripts),
        server_root=server.server_root,
        config_files=tuple(dict.fromkeys((*parsed.paths, *server.extra_files))),
        autoindex=parsed.loaded is None or "autoindex" in parsed.loaded,
        mod_ssl=parsed.loaded is None or "ssl" in parsed.loaded,
        proxy_protocol=server.proxy_protocol,
    )
