"""The access phases of a request, in Apache's order, and the one call the front end
makes: :func:`admit`.

Apache runs, before any handler: the access checkers (mod_access_compat's
Order/Allow/Deny, mod_wsgi's WSGIAccessScript), then mod_authz_core's rules
without a user; only when the rules need a user, authentication (AuthType
Basic: mod_auth_basic with the AuthBasicProvider) and the rules again with
the user. :func:`decide` is that sequence, with the status codes and
error-log lines of the modules it stands for; :func:`admit` runs it for one
request, on the event loop when nothing in it can block, else on a thread
of the worker's pool (DNS lookups, auth scripts), and then lets the request
go on or answers it.
"""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wsgihost.access import groupfile, hostnames, htpasswd
from wsgihost.access.basic import (
    Credentials,
    WrongScheme,
    challenge,
    credentials,
    fake_basic_credentials,
    fake_basic_spoof,
)
from wsgihost.access.compat import allows as compat_allows
from wsgihost.access.compat import uses_names
from wsgihost.access.providers import REGISTRY, SLOW
from wsgihost.access.rules import Outcome, evaluate, providers_in
from wsgihost.access.scripts import (
    ALLOW_ACCESS,
    CHECK_PASSWORD,
    GROUPS_FOR_USER,
    AuthScripts,
    ScriptFailed,
    auth_environ,
    prefix,
)
from wsgihost.config.model import AuthScript, DirSettings
from wsgihost.frontend import errordocs
from wsgihost.frontend.exchange import Exchange, Request
from wsgihost.logs import ErrorLog
from wsgihost.routing import FileTarget, ProxyTarget, WSGITarget
from wsgihost.wsgi.environ import unmap_ipv4

Target = WSGITarget | FileTarget | ProxyTarget  # (a proxied request: revproxy)
PROCEED = 0

_SCRIPTS = AuthScripts()  # one set per worker process, as one interpreter's modules


@dataclass
class Decision:
    """What the phases decided: PROCEED (0) or a status; and who the user is."""

    status: int = PROCEED
    realm: str | None = None  # for a 401: the challenge's realm
    user: str | None = None  # the authenticated user (the sent one, after a failure)
    auth_type: str | None = None


@dataclass
class RequestFacts:
    """The request as the rules and scripts see it (thread-safe to use from one thread)."""

    req: Request
    target: Target
    log_to: Callable[[str, str, str], None]  # (module, level, message)
    # mod_wsgi's configuration complaints: the main server's log, with no client.
    log_server: Callable[[str], None]
    client_addr: str = ""
    local_addr: str = ""
    user: str | None = None
    uri: str = ""
    method: str = ""
    filename: str = ""
    path_info: str = ""
    # mod_ssl's authentication hook: on where mod_ssl is loaded (its guard against
    # a faked certificate user runs for every request that authenticates) ...
    ssl_guard: bool = False
    # ... and with SSLOptions +FakeBasicAuth, the subject of the connection's
    # verified client certificate (None: no verified certificate, or the option off).
    fake_basic_user: str | None = None
    # The Authorization header mod_ssl put in the request, once it has (for the app
    # with WSGIPassAuthorization On, and the logs, as in Apache).
    faked_authorization: bytes | None = None
    wsgi_prefix: str = field(default_factory=prefix)
    _groups: frozenset[str] | None = None
    _groups_known: bool = False

    def __post_init__(self) -> None:
        head = self.req.head
        self.client_addr = unmap_ipv4(head.client_addr)
        self.local_addr = unmap_ipv4(head.server_addr)
        self.method = head.method
        target = self.target
        if isinstance(target, WSGITarget):
            self.uri = target.script_name + target.path_info
            self.filename = target.script
            self.path_info = target.path_info
        else:
            self.uri = target.url_path
            self.filename = target.path

    def log(self, module: str, message: str) -> None:
        self.log_to(module, "error", message)

    def remote_host(self) -> str | None:
        return hostnames.double_reverse(self.client_addr)

    def groups(self) -> frozenset[str] | None:
        if not self._groups_known:
            self._groups_known = True
            self._groups = _groups_for_user(self)
        return self._groups

    def file_groups(self) -> tuple[str | None, frozenset[str] | None]:
        """AuthGroupFile and the user's groups in it (None: the file cannot be read)."""
        path = self.target.settings.auth_group_file
        if path is None or self.user is None:
            return path, frozenset()
        try:
            return path, groupfile.user_groups(path, self.user)
        except OSError as e:
            why = f"({e.errno}){e.strerror}: " if e.errno is not None else ""
            self.log("authz_groupfile", f"{why}AH01665: Could not open group file: {path}")
            return path, None

    def environ(self, script: AuthScript) -> dict[str, Any]:
        host = self.target.host
        return auth_environ(
            self.req.head,
            self.uri,
            self.path_info,
            self.target.host.document_root,
            host.server_admin,
            host.server_name,
            script.application_group,
            self.target.settings.script_reloading is not False,
            lambda line: self.log("wsgi", line),
        )

    def call(self, script: AuthScript, function: tuple[str, str], *args: Any) -> Any:
        return _SCRIPTS.call(
            script,
            function,
            self.target.settings.script_reloading is not False,
            self.environ(script),
            args,
            lambda line: self.log("wsgi", line),
        )


def _groups_for_user(facts: RequestFacts) -> frozenset[str] | None:
    """The user's groups from WSGIAuthGroupScript; None (logged) if there are none to have."""
    script = facts.target.settings.auth_group_script
    if script is None:
        facts.log_server(
            facts.wsgi_prefix + "Location of WSGI group authorization script not provided."
        )
        return None
    try:
        result = facts.call(script, GROUPS_FOR_USER, facts.user)
    except ScriptFailed:
        return None
    bad = (
        facts.wsgi_prefix + f"Groups for user returned from '{script.path}' must be an "
        "iterable sequence of byte strings."
    )
    try:
        items = list(result)
    except TypeError:
        facts.log("wsgi", bad)
        return None
    names: set[str] = set()
    for item in items:
        if isinstance(item, bytes):
            names.add(item.decode("latin-1"))
        elif isinstance(item, str):
            names.add(item)
        else:
            facts.log("wsgi", bad)
            return None
    return frozenset(names)


def decide(settings: DirSettings, facts: RequestFacts) -> Decision:
    """Apache's access, authentication and authorization phases for one request."""
    rules = settings.authz
    # The access checkers: mod_access_compat, then WSGIAccessScript. Under
    # Satisfy Any a client they let in needs nothing more, and one they keep
    # out is left to the Require rules (and a password) alone.
    compat = settings.compat
    any_of = compat is not None and compat.satisfy(facts.method) == "any"
    let_in = True
    if compat is not None and not compat_allows(compat, facts):
        facts.log(
            "access_compat", f"AH01797: client denied by server configuration: {facts.filename}"
        )
        if not any_of:
            return Decision(403)
        let_in = False
    script = settings.access_script
    if let_in and script is not None and not _allow_access(facts, script):
        if not any_of:
            return Decision(403)
        let_in = False
    if any_of and let_in:
        return Decision()
    # The rules without a user (mod_authz_core's access_checker_ex).
    if rules is None:
        if settings.auth_type:
            facts.log(
                "authz_core",
                "AH01627: AuthType configured with no corresponding authorization directives",
            )
            return Decision(500)
        return Decision()
    outcome = evaluate(rules, facts, REGISTRY)
    if outcome is Outcome.GRANTED:
        return Decision()
    if outcome is Outcome.ERROR:
        return Decision(500)
    if outcome is not Outcome.DENIED_NO_USER:
        facts.log("authz_core", f"AH01630: client denied by server configuration: {facts.filename}")
        return Decision(403)
    decision = _authenticate(settings, facts)
    if decision.status != PROCEED:
        return decision
    # The rules again, with the user (mod_authz_core's auth_checker).
    facts.user = decision.user
    outcome = evaluate(rules, facts, REGISTRY)
    if outcome is Outcome.GRANTED:
        return decision
    if outcome is Outcome.ERROR:
        return Decision(500, user=decision.user)
    if outcome is Outcome.DENIED_NO_USER:
        facts.log(
            "authz_core", f"AH01629: authorization failure (no authenticated user): {facts.uri}"
        )
    else:
        facts.log(
            "authz_core",
            f'AH01631: user {decision.user}: authorization failure for "{facts.uri}": ',
        )
    # mod_authz_core answers an authenticated user it denies with a 401
    # (AuthzSendForbiddenOnFailure Off), so the browser asks again.
    return Decision(401, settings.auth_name, decision.user)


def _allow_access(facts: RequestFacts, script: AuthScript) -> bool:
    """WSGIAccessScript's allow_access(environ, host): False (and a failure) deny."""
    try:
        # HostnameLookups Off: mod_wsgi passes the client's address as the host.
        allowed = facts.call(script, ALLOW_ACCESS, facts.client_addr)
    except ScriptFailed:
        allowed = False
    if allowed is None or allowed is True:
        return True
    if allowed is not False:
        facts.log(
            "wsgi",
            facts.wsgi_prefix + f"Indicator of host accessibility returned from '{script.path}' "
            "must a boolean or None.",
        )
    facts.log(
        "wsgi", facts.wsgi_prefix + f"Client denied by server configuration: '{facts.filename}'."
    )
    return False


def _authenticate(settings: DirSettings, facts: RequestFacts) -> Decision:
    """mod_auth_basic with the wsgi provider: the user, or the answer that refuses one."""
    # mod_ssl's hook comes first (ssl_hook_UserCheck, APR_HOOK_FIRST).
    header = facts.req.head.header(b"authorization")
    if facts.ssl_guard:
        spoof = fake_basic_spoof(header)
        if spoof is not None:
            facts.log("ssl", f"AH02035: Encountered FakeBasicAuth spoof: {spoof}")
            return Decision(403)
    fake = facts.fake_basic_user
    if fake is not None and ":" in fake:
        facts.log(
            "ssl", f"AH10096: Cannot use FakeBasicAuth for username containing a colon: {fake}"
        )
        return Decision(403)
    if fake is not None:
        encoded = base64.b64encode(f"{fake}:password".encode()).decode("ascii")
        facts.faked_authorization = f"Basic {encoded}".encode("ascii")
        facts.log_to(
            "ssl",
            "info",
            f'AH02036: Faking HTTP Basic Auth header: "Authorization: Basic {encoded}"',
        )
    auth_type = settings.auth_type
    if not auth_type:
        # mod_authn_core lets a request with no AuthType through unauthenticated,
        # and the core then refuses to authorize it without a user.
        facts.log(
            "core",
            "AH00027: No authentication done but request not allowed without authentication "
            f"for {facts.uri}. Authentication not configured?",
        )
        return Decision(500)
    realm = settings.auth_name
    if realm is None:
        facts.log("auth_basic", f"AH01615: need AuthName: {facts.uri}")
        return Decision(500)
    try:
        # With FakeBasicAuth, mod_ssl puts the certificate's subject and "password"
        # in the Authorization header, in place of any the client sent; only a
        # connection whose certificate was verified has one to put.
        sent = fake_basic_credentials(fake) if fake is not None else credentials(header)
    except WrongScheme:
        facts.log("auth_basic", f"AH01614: client used wrong authentication scheme: {facts.uri}")
        return Decision(401, realm)
    if sent is None:
        return Decision(401, realm)
    user = sent.user
    result = _NOT_FOUND
    for provider in (settings.auth_provider or "file").split():
        # mod_auth_basic asks the next provider only for a user this one does not know.
        result = (_check_file if provider == "file" else _check_wsgi)(settings, facts, sent)
        if result != _NOT_FOUND:
            break
    if result not in _RESULTS:
        return Decision(user=result, auth_type=auth_type)  # the user granted
    if settings.auth_basic_authoritative is False and result != _DENIED:
        # Left to another authentication module; there is none, so mod_authn_core's
        # last-resort hook refuses the request as a configuration error.
        facts.log(
            "authn_core", f"AH01796: AuthType {auth_type} configured without corresponding module"
        )
        return Decision(500, user=user, auth_type=auth_type)
    if result == _DENIED:
        facts.log(
            "auth_basic",
            f'AH01617: user {user}: authentication failure for "{facts.uri}": Password Mismatch',
        )
        return Decision(401, realm, user, auth_type)
    if result == _NOT_FOUND:
        facts.log("auth_basic", f"AH01618: user {user} not found: {facts.uri}")
        return Decision(401, realm, user, auth_type)
    return Decision(500, user=user, auth_type=auth_type)


# A provider's answer: the user granted (a name), or one of these.
_DENIED = "\0denied"
_NOT_FOUND = "\0not found"
_ERROR = "\0error"
_RESULTS = frozenset({_DENIED, _NOT_FOUND, _ERROR})


def _check_file(settings: DirSettings, facts: RequestFacts, sent: Credentials) -> str:
    """mod_authn_file: the AuthUserFile (on a thread: bcrypt is slow on purpose)."""
    path = settings.auth_user_file
    if path is None:
        facts.log("authn_file", "AH01619: AuthUserFile not specified in the configuration")
        return _ERROR
    # Apache hashes the bytes sent, whatever their encoding.
    answer = htpasswd.check(htpasswd.FILES, path, sent.user, sent.raw_password)
    if answer.message:
        facts.log("authn_file", answer.message)
    return {
        htpasswd.Lookup.GRANTED: sent.user,
        htpasswd.Lookup.DENIED: _DENIED,
        htpasswd.Lookup.NOT_FOUND: _NOT_FOUND,
        htpasswd.Lookup.ERROR: _ERROR,
    }[answer.lookup]


def _check_wsgi(settings: DirSettings, facts: RequestFacts, sent: Credentials) -> str:
    """mod_wsgi's provider: WSGIAuthUserScript's check_password."""
    script = settings.auth_user_script
    if script is None:
        facts.log_server(
            facts.wsgi_prefix + "Location of WSGI user authentication script not provided."
        )
        return _ERROR
    try:
        result = facts.call(script, CHECK_PASSWORD, sent.user, sent.password)
    except ScriptFailed:
        return _ERROR
    if result is True:
        return sent.user
    if isinstance(result, str):
        # The script names the user (never one of our markers: those start with NUL).
        return result if result not in _RESULTS else _ERROR
    if result is False:
        return _DENIED
    if result is None:
        return _NOT_FOUND
    facts.log(
        "wsgi",
        facts.wsgi_prefix + f"Exception occurred processing WSGI script '{script.path}'.",
    )
    facts.log(
        "wsgi",
        "TypeError: Basic auth provider must return True, False None or user name as string",
    )
    return _ERROR


# -- the front end's call -------------------------------------------------------------


def admit(conn: Exchange, req: Request, target: Target, proceed: Callable[[], None]) -> None:
    """Let ``req`` go on to ``proceed`` (on the loop) if access allows, else answer it."""
    settings = target.settings
    if (
        settings.authz is None
        and not settings.auth_type
        and settings.access_script is None
        and settings.require != "denied"
        and settings.compat is None
    ):
        proceed()  # nothing to check: the common case costs nothing
        return
    main = conn.worker.logs.error_log(conn.worker.server.main)
    facts = RequestFacts(req, target, _logger(conn, req, target), main.error)
    facts.ssl_guard = conn.worker.server.mod_ssl
    layer = getattr(conn, "tls", None)
    if layer is not None and layer.fake_basic_auth(target.host, settings.ssl_options):
        # Never a client without a certificate verified on this connection.
        facts.fake_basic_user = layer.verified_client_dn()
    if _blocks(settings):
        conn.worker.pool.submit(_decide_on_thread, conn, req, facts, proceed)
        return
    _finish(conn, req, decide(settings, facts), proceed, facts)


def _blocks(settings: DirSettings) -> bool:
    """Whether deciding may block: a script to run, or a provider that looks things up."""
    if settings.access_script is not None:
        return True
    if settings.compat is not None and uses_names(settings.compat):
        return True  # Allow/Deny from a host name: a DNS lookup
    rules = settings.authz
    if rules is None:
        return False
    used = providers_in(rules)
    # A password check (a script, or bcrypt in a file) runs wherever a user is asked for.
    checks_passwords = settings.auth_user_script is not None or bool(settings.auth_type)
    return bool(used & SLOW) or (checks_passwords and bool(used - {"all", "ip", "local"}))


def _decide_on_thread(
    conn: Exchange, req: Request, facts: RequestFacts, proceed: Callable[[], None]
) -> None:
    try:
        decision = decide(facts.target.settings, facts)
    except BaseException as e:  # a bug of ours: never a hung request
        facts.log_to("core", "error", f"internal error in the access phases: {e!r}")
        decision = Decision(500)
    conn.loop.call_soon_threadsafe(_finish, conn, req, decision, proceed, facts)


def _finish(
    conn: Exchange,
    req: Request,
    decision: Decision,
    proceed: Callable[[], None],
    facts: RequestFacts,
) -> None:
    head = req.head
    faked = facts.faked_authorization
    if faked is not None:
        # mod_ssl's apr_table_setn: the first Authorization field takes the faked
        # value, any other goes (a new list: the old one may still be read).
        fields: list[tuple[bytes, bytes]] = []
        for name, value in head.headers:
            if name.lower() != b"authorization":
                fields.append((name, value))
            elif faked:
                fields.append((name, faked))
                faked = b""
        if faked:
            fields.append((b"Authorization", faked))
        head.headers = fields
    if decision.user is not None:
        # r->user: the access log's %u, even for a 401 (Apache logs the name sent),
        # and with AUTH_TYPE the app's REMOTE_USER once it was authenticated.
        head.remote_user = decision.user
        head.auth_type = decision.auth_type
    status = decision.status
    if status == PROCEED:
        proceed()
    elif status == 401:
        # Through the server's error answers: ErrorDocument 401 and the signature apply.
        headers = [challenge(decision.realm)] if decision.realm is not None else []
        errordocs.answer(conn, req, 401, headers=headers)
    else:
        conn.answer(req, status)


_OS_STATUS = re.compile(r"(\(\d+\)[^:]*): (AH\d{5}: .*)", re.DOTALL)


def _logger(conn: Exchange, req: Request, target: Target) -> Callable[[str, str, str], None]:
    """Error-log lines of the request's virtual host, as the named Apache module writes them."""
    base = conn.worker.logs.error_log(target.host)
    client = conn.client()
    referer = req.head.header(b"referer")

    def log(module: str, level: str, message: str) -> None:
        # A copy named for the module (these lines are rare: no cache that a
        # reopened log could outlive).
        named: ErrorLog = copy.copy(base)
        named.module = module
        # An OS error's "(errno)text: " goes before the client, where Apache puts it.
        os_error = _OS_STATUS.fullmatch(message)
        if os_error is not None:
            named.log(level, os_error[2], client, referer, status=os_error[1])
        else:
            named.log(level, message, client, referer)

    return log
