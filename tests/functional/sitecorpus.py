"""The site-file corpus (tests/corpora/sitefiles): fixtures built from each file, and verdicts.

Each file in the corpus is a real mod_wsgi site file (its origin and licence
are in MANIFEST.json). To check one, this module:

1. renders it, if it is a template, with the values MANIFEST.json records;
2. moves every filesystem path it names into a private temporary root
   (``/opt/x`` becomes ``ROOT/opt/x``), argument by argument for the
   directives that take paths, so nothing outside the root is touched; the
   rest of each line is left exactly as written;
3. creates what those paths name there: document roots and <Directory>
   folders, WSGI scripts (a small app), the folders of log files, python-home;
4. writes it either alone (``as written``) or into a Debian-style tree
   (a copy of Debian 12's /etc/apache2 from tests/trees/debian12, with the
   file in sites-available/ and sites-enabled/, and any module its
   directives need outside <IfModule> enabled).

Apache's own verdicts, in MANIFEST.json, come from
:mod:`tests.functional.sitecorpus_apache`, which uses the same fixtures.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wsgihost.config import Problem
from wsgihost.config.envvars import environment

CORPUS = Path(__file__).resolve().parents[1] / "corpora" / "sitefiles"
MANIFEST = CORPUS / "MANIFEST.json"
EXPECTATIONS = CORPUS / "expectations.json"
DEBIAN_TREE = Path(__file__).resolve().parents[1] / "trees" / "debian12"
APACHE_MODULES = "/usr/lib/apache2/modules"

# Which module a directive needs, for those Debian does not enable by default.
_NEEDS = {
    "rewrite": ("rewrite",),
    "header": ("headers",),
    "requestheader": ("headers",),
    "ssl": ("ssl", "socache_shmcb"),
    "expires": ("expires",),
    "proxy": ("proxy", "proxy_http"),
    "authldap": ("ldap", "authnz_ldap"),
    "ldap": ("ldap",),
    "substitute": ("substitute",),
    "use": ("macro",),
    "macro": ("macro",),
    "remoteip": ("remoteip",),
    "scriptalias": ("cgi",),
    "authgroupfile": ("authz_groupfile",),
}

# Directives whose arguments name files or folders: argument index -> what it is
# ("dir", "file", "any": a file if its name has a dot, "log": a file whose folder
# must exist, "prefix": a path prefix whose folder must exist).
_PATH_ARGS: dict[str, dict[int, str]] = {
    "documentroot": {0: "dir"},
    "<directory": {0: "dir"},
    "alias": {1: "any"},
    "aliasmatch": {1: "prefix"},
    "scriptalias": {1: "any"},
    "scriptaliasmatch": {1: "prefix"},
    "wsgiscriptalias": {1: "script"},
    "wsgiscriptaliasmatch": {1: "prefix"},
    "errorlog": {0: "log"},
    "customlog": {0: "log"},
    "transferlog": {0: "log"},
    "wsgipythonhome": {0: "dir"},
    "wsgipythonpath": {0: "dirs"},
    "wsgisocketprefix": {0: "prefix"},
    "wsgiimportscript": {0: "script"},
    "wsgiaccessscript": {0: "script"},
    "wsgiauthuserscript": {0: "script"},
    "wsgiauthgroupscript": {0: "script"},
    "wsgidispatchscript": {0: "script"},
    "authuserfile": {0: "file"},
    "authgroupfile": {0: "file"},
    "sslcertificatefile": {0: "pem"},
    "sslcertificatekeyfile": {0: "pem"},
    "sslcertificatechainfile": {0: "pem"},
    "sslcacertificatefile": {0: "pem"},
    "serverroot": {0: "dir"},
    "pidfile": {0: "log"},
    "include": {0: "include"},
    "includeoptional": {0: "prefix"},
}
_PATH_OPTIONS = {"python-home": "dir", "home": "dir", "python-path": "dirs"}

SCRIPT = (
    "def application(environ, start_response):\n"
    '    start_response("200 OK", [("Content-Type", "text/plain")])\n'
    '    return [b"site corpus\\n"]\n'
)

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|\S+')


@dataclass(frozen=True)
class Entry:
    """One corpus file, as MANIFEST.json records it."""

    name: str
    file: str
    render: dict[str, str] = field(default_factory=dict)
    environ: dict[str, str] = field(default_factory=dict)
    apache: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        """The file with its template placeholders (if any) filled in."""
        text = (CORPUS / self.file).read_text()
        for placeholder, value in self.render.items():
            text = text.replace(placeholder, value)
        return text


def entries() -> list[Entry]:
    raw = json.loads(MANIFEST.read_text())["files"]
    return [
        Entry(
            name=e["name"],
            file=e["file"],
            render=e.get("render", {}),
            environ=e.get("environ", {}),
            apache=e.get("apache", {}),
        )
        for e in raw
    ]


@dataclass
class Fixture:
    """What the relocated paths name, to be created under the root.

    ``base`` is the server root that relative paths are taken from; nothing
    outside ``root`` is ever created.
    """

    root: str
    base: str
    dirs: set[str] = field(default_factory=set)
    files: set[str] = field(default_factory=set)
    scripts: set[str] = field(default_factory=set)
    maybe: set[str] = field(default_factory=set)
    includes: set[str] = field(default_factory=set)
    pems: set[str] = field(default_factory=set)  # SSL*File: certificates and keys

    def claim(self, path: str, kind: str) -> None:
        path = path.strip("\"'")
        if kind == "include" and "$" not in path:
            self.includes.add(path)
            return
        if any(c in path for c in "$*("):
            # A pattern or an unset ${VAR}: only its fixed leading folder can exist.
            path = path[: _first_special(path)].rsplit("/", 1)[0]
            kind = "dir"
        if not path:
            return
        if kind != "dirs" and not path.startswith("/"):
            path = os.path.join(self.base, path)
        if kind == "dirs":
            for one in path.split(":"):
                self.claim(one, "dir")
        elif kind == "dir":
            self.dirs.add(path.rstrip("/") or "/")
        elif kind == "script":
            (self.dirs if path.endswith("/") else self.scripts).add(path.rstrip("/"))
        elif kind == "file":
            self.files.add(path)
        elif kind == "pem":
            self.pems.add(path)
        elif kind in ("log", "prefix"):
            self.dirs.add(os.path.dirname(path.rstrip("/")))
        elif path.endswith("/") or "." not in os.path.basename(path):
            self.maybe.add(path.rstrip("/"))
        else:
            self.files.add(path)

    def create(self) -> None:
        inside = [p for p in self.dirs | self.maybe | self.scripts | self.files if self._inside(p)]
        for path in sorted(set(inside) & (self.dirs | (self.maybe - self.scripts - self.files))):
            os.makedirs(path, exist_ok=True)
        for path in sorted(set(inside) & (self.scripts | self.files)):
            if os.path.exists(path):
                continue  # there already (a folder also named, a file of the tree)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(SCRIPT if path in self.scripts else "")

        # A throw-away certificate where an SSL*File names one, its key where the
        # name says key: as sitecorpus_apache gives Apache (mod_ssl reads them).
        for path in sorted(p for p in self.pems if self._inside(p)):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            cert, key = _throwaway_pair()
            with open(path, "w") as f:
                f.write(key if "key" in path.lower() else cert)

        # Include (unlike IncludeOptional) must find a file: give a pattern that
        # matches nothing one, an empty configuration file.
        for pattern in sorted(self.includes):
            if not os.path.isabs(pattern):
                pattern = os.path.join(self.base, pattern)
            if self._inside(pattern) and not glob.glob(pattern):
                folder, name = os.path.split(pattern)
                os.makedirs(folder, exist_ok=True)
                Path(folder, name.replace("*", "fixture").replace("?", "x")).touch()

    def _inside(self, path: str) -> bool:
        return os.path.normpath(path).startswith(self.root + os.sep)


def _first_special(path: str) -> int:
    found = [i for i in (path.find(c) for c in "$*(") if i >= 0]
    return min(found) if found else len(path)


def _moved(token: str, root: str) -> str:
    quote = token[0] if token[:1] in "\"'" else ""
    body = token[len(quote) :]
    return quote + root + body if body.startswith("/") else token


def relocate(text: str, root: str, fixture: Fixture, environ: dict[str, str]) -> str:
    """``text`` with the paths its directives name moved under ``root``; claims them."""
    out = []
    for line in text.splitlines(keepends=True):
        tokens = list(_TOKEN.finditer(line))
        if not tokens or tokens[0].group().startswith("#"):
            out.append(line)
            continue
        name = tokens[0].group().lower().rstrip(">")
        pieces: dict[int, str] = {}
        wanted = _PATH_ARGS.get(name, {})
        for index, match in enumerate(tokens[1:]):
            value = match.group()
            if name.startswith("<") and index == len(tokens) - 2:
                value = value.removesuffix(">")
            kind = wanted.get(index)
            if name == "wsgidaemonprocess" and "=" in value:
                option, _, arg = value.partition("=")
                kind = _PATH_OPTIONS.get(option.lower())
                if kind is not None:
                    moved = _moved(arg, root) if kind != "dirs" else _move_list(arg, root)
                    pieces[index + 1] = f"{option}={moved}" + match.group()[len(value) :]
                    fixture.claim(_expand(moved, environ), kind)
                continue
            if kind is None or value.startswith("|") or value.lower().startswith("syslog"):
                continue
            moved = _moved(value, root) if kind != "dirs" else _move_list(value, root)
            pieces[index + 1] = moved + match.group()[len(value) :]
            fixture.claim(_expand(moved, environ), kind)
        for index in sorted(pieces, reverse=True):
            span = tokens[index].span()
            line = line[: span[0]] + pieces[index] + line[span[1] :]
        out.append(line)
    return "".join(out)


def _move_list(value: str, root: str) -> str:
    quote = value[0] if value[:1] in "\"'" else ""
    body = value[len(quote) :].rstrip(quote) if quote else value
    moved = ":".join(root + p if p.startswith("/") else p for p in body.split(":"))
    return f"{quote}{moved}{quote}"


def _expand(value: str, environ: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: environ.get(m[1], m[0]), value.strip("\"'"))


def needed_modules(text: str) -> list[str]:
    """Modules the file's directives need outside <IfModule>, beyond Debian's defaults."""
    depth = 0
    needed: list[str] = []
    for line in text.splitlines():
        word = line.strip().split(" ", 1)[0].lower()
        if word.startswith("<ifmodule"):
            depth += 1
        elif word.startswith("</ifmodule"):
            depth -= 1
        elif depth == 0 and word and not word.startswith("#"):
            bare = word.lstrip("<")
            for prefix, modules in _NEEDS.items():
                if bare.startswith(prefix) and not (prefix == "use" and bare != "use"):
                    needed += [m for m in modules if m not in needed]
    return needed


@dataclass(frozen=True)
class Built:
    config: Path
    environ: dict[str, str]
    server_root: Path


_PAIR: list[tuple[str, str]] = []


def _throwaway_pair() -> tuple[str, str]:
    """A self-signed certificate and its key (PEM), made once per process."""
    if not _PAIR:
        with tempfile.TemporaryDirectory() as tmp:
            key, cert = Path(tmp) / "k.pem", Path(tmp) / "c.pem"
            subprocess.run(
                [
                    *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
                    *("-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)),
                ],
                check=True,
                capture_output=True,
            )
            _PAIR.append((cert.read_text(), key.read_text()))
    return _PAIR[0]


def moved_environ(entry: Entry, root: Path) -> dict[str, str]:
    """The variables the file needs, their paths moved under ``root``."""
    return {k: _moved(v, str(root)) for k, v in entry.environ.items()}


def build_written(entry: Entry, root: Path) -> Built:
    """The file alone, as the main configuration, with what it names created."""
    environ = moved_environ(entry, root)
    fixture = Fixture(str(root), str(root))
    text = relocate(entry.text(), str(root), fixture, environ)
    fixture.create()
    config = root / f"{entry.name}.conf"
    config.write_text(text)
    return Built(config, environ, root)


def build_tree(entry: Entry, root: Path) -> Built:
    """Debian 12's /etc/apache2 (tests/trees/debian12) under ``root``, with the file enabled.

    As Debian enables a site: the file in sites-available/, a link in
    sites-enabled/; the modules its directives need (outside <IfModule>)
    enabled the same way. The tree's own paths move under ``root`` too.
    """
    etc = root / "etc" / "apache2"
    shutil.copytree(DEBIAN_TREE, etc, symlinks=True)
    envvars = etc / "envvars"
    envvars.write_text(envvars.read_text().replace("=/var/", f"={root}/var/"))
    environ, _ = environment(envvars.read_text(), {}, str(etc))
    environ.update(moved_environ(entry, root))
    fixture = Fixture(str(root), str(etc))
    for conf in sorted(etc.rglob("*.conf")):
        if not conf.is_symlink():
            conf.write_text(relocate(conf.read_text(), str(root), fixture, environ))
    text = entry.text()
    for module in needed_modules(text):
        for suffix in (".load", ".conf"):
            available = etc / "mods-available" / f"{module}{suffix}"
            if available.exists():
                (etc / "mods-enabled" / available.name).symlink_to(
                    f"../mods-available/{available.name}"
                )
    site = etc / "sites-available" / f"{entry.name}.conf"
    site.write_text(relocate(text, str(root), fixture, environ))
    (etc / "sites-enabled" / site.name).symlink_to(f"../sites-available/{site.name}")
    for name in ("APACHE_RUN_DIR", "APACHE_LOCK_DIR", "APACHE_LOG_DIR"):
        fixture.dirs.add(environ[name])
    fixture.create()
    return Built(etc / "apache2.conf", environ, etc)


# -- verdicts ---------------------------------------------------------------


# The feature each refusal is for, and who owns providing it. A refusal this
# table does not know is labelled "unowned: ...", which the expectations then
# show for what it is.
def _owned(names: str, owner: str) -> dict[str, str]:
    return dict.fromkeys(names.split(), owner)


_OWNERS: dict[str, str] = {
    **_owned(
        "rewriteengine rewriterule rewritecond rewritebase rewriteoptions rewritemap",
        "issue 16: mod_rewrite",
    ),
    **_owned(
        "redirect redirectmatch redirectpermanent redirecttemp",
        "issue 16: mod_alias Redirect",
    ),
    **_owned("if elseif else", "issue 16: <If>"),
    **_owned("macro use undefmacro", "issue 16: mod_macro"),
    **_owned("authtype authname authbasicprovider", "issue 17: AuthType/AuthName"),
    "authuserfile": "issue 17: AuthUserFile",
    "authgroupfile": "issue 17: AuthGroupFile",
    **_owned("limit limitexcept", "issue 17: <Limit>/<LimitExcept>"),
    **_owned("requireall requireany requirenone", "issue 17: <RequireAll>/<RequireAny>"),
    "satisfy": "issue 17: Satisfy",
    **_owned(
        "proxypass proxypassmatch proxypassreverse proxy proxymatch",
        "issue 18: mod_proxy",
    ),
    "wsgiaccessscript": "issue 14 (C): WSGIAccessScript",
    "wsgiauthuserscript": "issue 14 (C): WSGIAuthUserScript",
    "wsgiauthgroupscript": "issue 14 (C): WSGIAuthGroupScript",
    "wsgihandlerscript": "issue 14 (D): WSGIHandlerScript",
    "wsgidispatchscript": "issue 14 (D): WSGIDispatchScript",
    "errorlogformat": "issue 14 (B): ErrorLogFormat",
    **_owned("scriptalias scriptaliasmatch", "never: CGI (ScriptAlias)"),
    **_owned(
        "substitute substitutemaxlinelength substituteinheritbefore",
        "never: mod_substitute",
    ),
}

_NAME = re.compile(r"(?:unknown directive '|unknown section <)?<?(?P<name>[A-Za-z]\w*)")


def label(problem: Problem) -> str:
    """The feature and owner a refusal (an error) is for."""
    message = problem.message
    if message.startswith(("SSLVerifyClient: per-directory", "SSLVerifyDepth: per-directory")):
        return "TLS (mod_ssl): per-directory client verification (renegotiation)"
    if message.startswith("SSLVerifyClient: optional_no_ca"):
        return "TLS (mod_ssl): SSLVerifyClient optional_no_ca (Python's ssl)"
    if message.startswith(("SSLRequire:", "SSLUserName:")) or "mod_ssl directive" in message:
        return f"TLS (mod_ssl): {message.split(':', 1)[0]}"
    if "mod_authnz_ldap" in message:
        return "never: mod_authnz_ldap"
    if message.startswith("no Listen directive"):
        return "site file alone: no Listen (Apache starts no server either, AH00015)"
    if "no Listen covers" in message:
        # Apache accepts such a host and never matches it (ports.conf opens
        # the others); wsgihost refuses it. Not another issue's: the core's.
        return "core: a <VirtualHost> on a port no Listen opens (Apache accepts it)"
    match = _NAME.match(message)
    name = match["name"].lower() if match else ""
    if name.startswith("xsendfile"):
        return "not Apache's: mod_xsendfile (third-party; Apache refuses it too unless built)"
    if name == "wsgiscriptalias" and "unknown option" in message:
        return "mod_wsgi 4.9.4 refuses it too: a WSGIScriptAlias option"
    if name in ("sethandler", "addhandler"):
        if "cgi-script" in message:
            return "never: CGI (cgi-script handler)"
        return "issue 14 (D): SetHandler/AddHandler wsgi-script"
    if name == "require":
        rule = re.search(r"'Require ([\w-]+)", message)
        return f"issue 17: Require {rule[1] if rule else '...'}"
    if name in _OWNERS:
        return _OWNERS[name]
    if name.startswith(("authbasic", "authn", "authz", "authdigest")):
        # mod_auth_basic's and the authn/authz modules' other directives.
        return f"issue 17: {match['name'] if match else name}"
    return f"unowned: {message}"


def verdict(problems: Iterable[Problem]) -> str | list[str]:
    """``"accepted"``, or the sorted owners of its refusals."""
    labels = sorted({label(p) for p in problems if p.severity == "error"})
    return labels or "accepted"
