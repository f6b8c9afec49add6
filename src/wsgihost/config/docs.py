"""The directive reference (``docs/directives.md``), generated from the table.

Regenerate it with::

    python -m wsgihost.config.docs > docs/directives.md

A unit test renders it again and fails when the file differs, so the
reference cannot drift from what the parser actually accepts.
"""

from __future__ import annotations

import sys
from dataclasses import fields

from wsgihost.config import directives, modules, table
from wsgihost.config.builder import PREDEFINED_FORMATS
from wsgihost.config.daemon_options import DAEMON_OPTIONS
from wsgihost.config.htaccess import override_class
from wsgihost.config.model import DaemonGroup
from wsgihost.config.table import Directive

COMMAND = "python -m wsgihost.config.docs > docs/directives.md"

_INTRO = """\
wsgihost reads the configuration Apache + mod_wsgi users already have: the same
directives, in the same syntax, so an existing site file works unchanged. Check
one with `wsgihost configtest --config FILE`: it prints `Syntax OK`, or every
problem as `FILE:LINE: message` (warnings as `FILE:LINE: warning: message`,
which do not fail it).

## Syntax

As Apache reads it:

- One directive per line; directive and section names are not case-sensitive.
- A line whose first character is `#` is a comment. There are no comments after
  a directive on the same line.
- A line ending in `\\` continues on the next one.
- Arguments are separated by white space; `"..."` or `'...'` groups one with
  spaces, and `\\"` puts a quote inside it. mod_wsgi's options may quote their
  value: `python-path="/srv/my app"`.
- `${NAME}` is replaced by a `Define`d value, else by the environment variable;
  an undefined one is an error. Lines inside a false `<IfDefine>` or
  `<IfModule>` are not expanded.
- Relative paths are taken from `ServerRoot`, which defaults to the folder of
  the main configuration file.

Every directive says where it may appear: *server config* (outside every
section), *virtual host* (inside `<VirtualHost>`), *directory* (inside
`<Directory>`, `<Location>`, `<Files>` and their `Match` forms). Sections nest
as in Apache: `<VirtualHost>` only at the top, `<Directory>` and `<Location>`
at the top or in a virtual host, `<Files>` also inside `<Directory>`.
*Override* names the `AllowOverride` class that lets a folder's `.htaccess`
hold the directive (`All`: any class), as Apache's documentation gives it.

Directives are of three kinds:

- **supported**: read and acted on (below);
- **accepted with a warning**: Apache features wsgihost does not provide but
  that are harmless to go without; the warning names the file and line;
- **refused**: features whose absence would change what clients get in a way
  that matters (authentication, CGI, redirects): an error saying what to
  do instead.

Anything else is an error, with a suggestion when a known name is close.
"""

_TLS = """\
## TLS

wsgihost terminates TLS itself, as mod_ssl does: a `<VirtualHost>` with
`SSLEngine on` speaks TLS on its addresses, with the certificate of
`SSLCertificateFile`/`SSLCertificateKeyFile` (and `SSLCertificateChainFile`).
As in Apache, whether a connection speaks TLS is decided by the virtual host
its address alone picks (the first on it); the client's SNI then picks the
virtual host whose certificate is shown, and the `Host` header routes the
request. A request whose `Host` names another TLS virtual host than SNI did,
with a different TLS setup (certificate, protocols, ciphers, client
verification), is answered 421 Misdirected Request, as mod_ssl answers it. A
plain HTTP request to a TLS port gets Apache's 400 page ("You're speaking plain
HTTP to an SSL-enabled server port"). ALPN offers `http/1.1` only.

Certificates and keys are read when the configuration is read (`configtest`
and `serve`, in the master): a missing file, a key that does not match its
certificate or an encrypted key is an error at its line. Each front-end worker
reads them again while it is still root, before it drops to `User`, so a key
readable by root only works, and no key material goes anywhere else (not to
the model handed to the workers, not to a file, not to a log line).

The app sees `wsgi.url_scheme` `https` (not `HTTPS`, which mod_wsgi leaves out
of a WSGI environ) and, where `SSLOptions +StdEnvVars` applies (in the virtual
host or a section), the `SSL_*` variables mod_ssl gives that Python's ssl can
give: SSL_PROTOCOL, SSL_CIPHER and its key sizes, SSL_SESSION_ID and
SSL_SESSION_RESUMED, SSL_SECURE_RENEG, SSL_VERSION_INTERFACE/LIBRARY,
SSL_SERVER_* and SSL_CLIENT_* of each certificate (S_DN and I_DN and their
parts, SAN_DNS_n, M_SERIAL, M_VERSION, V_START/END, A_KEY, A_SIG),
SSL_CLIENT_VERIFY and SSL_TLS_SNI; `+ExportCertData` adds SSL_SERVER_CERT and
SSL_CLIENT_CERT. `%{SSL_PROTOCOL}x`, `%{SSL_CIPHER}x` (and the other variables)
work in `LogFormat`. A configtest run by a user who cannot read a root-only key
says so with a warning. What differs from mod_ssl is in docs/differences.md.
"""


def _cell(text: str) -> str:
    """Text for a table cell: a bare | would end the cell."""
    return text.replace("|", "\\|")


def _prose(text: str) -> str:
    """Escape ``<`` and ``>`` outside code spans, so ``<VirtualHost>`` is not taken for HTML."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def _contexts(record: Directive) -> str:
    order = (table.SERVER, table.VHOST, table.DIRECTORY)
    return ", ".join(c for c in order if c in record.contexts)


def _directive(record: Directive) -> list[str]:
    title = f"<{record.name}>" if record.section else record.name
    out = [f"### `{title}`", ""]
    out.append(f"- Syntax: `{record.syntax}`")
    out.append(f"- Context: {_contexts(record)}")
    if record.default:
        out.append(f"- Default: {_prose(record.default)}")
    out.append(f"- Module: {record.module}")
    override = override_class(record.name)
    out.append(f"- Override: {override}" if override else "- Override: not in .htaccess")
    if record.read_time:
        out.append("- Acted on while the files are read")
    out += ["", _prose(record.doc), ""]
    if record.name == "WSGIDaemonProcess":
        out += _daemon_options()
    return out


def _daemon_options() -> list[str]:
    defaults = {f.name: f.default for f in fields(DaemonGroup)}
    out = [
        "| option | default | meaning |",
        "|---|---|---|",
    ]
    for option in DAEMON_OPTIONS:
        default = option.default
        if not default:
            value = defaults[option.field]
            if value is None or value == ():
                default = "none"
            elif isinstance(value, bool):
                default = "On" if value else "Off"
            else:
                default = str(value)
        syntax = f"`{option.name}={option.value}`"
        out.append(f"| {_cell(syntax)} | {_cell(default)} | {_cell(_prose(option.doc))} |")
    out.append("")
    return out


def _grouped(records: tuple[Directive, ...]) -> list[str]:
    """One row per reason: the directives that share it, and the reason."""
    rows: dict[tuple[str, str], list[str]] = {}
    for record in records:
        name = f"<{record.name}>" if record.section else record.name
        rows.setdefault((record.module, record.why), []).append(f"`{name}`")
    out = ["| directives | module | why |", "|---|---|---|"]
    for (module, why), names in rows.items():
        out.append(f"| {', '.join(names)} | {module} | {_cell(_prose(why))} |")
    out.append("")
    return out


def _of_kind(kind: str) -> tuple[Directive, ...]:
    # From the joined table, so the directives that modules of their own
    # declare (and the core placeholders they replace) are documented as read.
    return tuple(d for d in directives.TABLE if d.kind == kind)


def render() -> str:
    """The whole reference, as Markdown."""
    lines = [
        "# Directive reference",
        "",
        f"<!-- Generated from src/wsgihost/config/directives.py by `{COMMAND}`;",
        "     do not edit by hand. -->",
        "",
        _INTRO,
    ]
    supported = _of_kind("supported")
    sections = [d for d in supported if d.section]
    plain = sorted((d for d in supported if not d.section), key=lambda d: d.name.lower())
    lines += ["## Sections", ""]
    for record in sections:
        lines += _directive(record)
    lines += ["## Directives", ""]
    for record in plain:
        lines += _directive(record)
    lines += [
        "## Modules `<IfModule>` finds",
        "",
        "With LoadModule lines (a distribution's tree), `<IfModule>` is true for the "
        "modules built into httpd (" + ", ".join(sorted(modules.BUILT_IN_MODULES)) + ") "
        "and those loaded by the LoadModule lines read before it, as in Apache; a "
        "loaded module wsgihost does not provide is a warning naming what will not "
        "happen. With no LoadModule at all (a site file on its own), it is true for "
        "these, by any of their names (`mod_wsgi.c`, `mod_wsgi`, `wsgi_module`), and "
        "false for every other module:",
        "",
        "| module | what wsgihost provides |",
        "|---|---|",
    ]
    for name, what in modules.PROVIDED_MODULES.items():
        label = {"core": "core", "http": "http_core"}.get(name, f"mod_{name}")
        label = name if name.startswith("mpm_") else label
        lines.append(f"| `{label}` | {_cell(_prose(what))} |")
    lines += [
        "",
        "## Log format nicknames",
        "",
        "Predefined, as in the configuration Apache ships; LogFormat may redefine them.",
        "",
        "| nickname | format |",
        "|---|---|",
    ]
    for nickname, fmt in PREDEFINED_FORMATS.items():
        lines.append(f"| `{nickname}` | `{_cell(fmt)}` |")
    lines += ["", "## Accepted with a warning", ""]
    lines += _grouped(_of_kind("ignored"))
    lines += [
        "## Refused",
        "",
        "Any other `SSL...` directive is refused in the same way as these, and "
        "`Require ldap-user`, `ldap-group`, `ldap-dn`, `ldap-attribute` and `ldap-filter` "
        "as mod_authnz_ldap's directives are.",
        "",
    ]
    lines += _grouped(_of_kind("refused"))
    lines.append(_TLS)
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
