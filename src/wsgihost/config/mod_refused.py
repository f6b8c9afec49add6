"""Apache modules wsgihost will not provide: their directives are refused for good.

Pure. Unlike the core's refusals (TLS, proxying, ...), which wait for a module
of wsgihost's own, these features are out of scope by design (issue 14, item 7):

- **mod_authnz_ldap** (``AuthLDAP*``, ``LDAP*``, ``Require ldap-*``): an LDAP
  client inside the server is a large attack surface and a second directory
  client to maintain; skipping the directives would open what they protect,
  so they are errors that point to authenticating in front of wsgihost, or in
  the app (Django's ``django-auth-ldap``, for example).
- **mod_substitute** (``Substitute``, ...): rewriting response bodies with
  regular expressions changes what clients get, so it is not silently skipped;
  the app (or a proxy in front) should produce the text it means.

CGI (``ScriptAlias``, ``ScriptAliasMatch``) is already refused by the core
table, and ``SetHandler cgi-script`` by the handler directives.
"""

from __future__ import annotations

from wsgihost.config.table import Directive, refused

LDAP_WHY = (
    "LDAP authentication (mod_authnz_ldap) is not provided by wsgihost, and skipping it "
    "would open what it protects: authenticate in a proxy in front of wsgihost, or in the "
    "app (for Django, django-auth-ldap)"
)

SUBSTITUTE_WHY = (
    "response bodies are not rewritten (mod_substitute is not provided by wsgihost), so "
    "clients would get the text unchanged: produce the intended text in the app, or "
    "rewrite it in a proxy in front"
)

_AUTHNZ_LDAP = (
    "AuthLDAPURL AuthLDAPBindDN AuthLDAPBindPassword AuthLDAPGroupAttribute "
    "AuthLDAPGroupAttributeIsDN AuthLDAPRemoteUserAttribute AuthLDAPRemoteUserIsDN "
    "AuthLDAPSubGroupAttribute AuthLDAPSubGroupClass AuthLDAPMaxSubGroupDepth "
    "AuthLDAPInitialBindAsUser AuthLDAPInitialBindPattern AuthLDAPCompareAsUser "
    "AuthLDAPSearchAsUser AuthLDAPAuthorizePrefix AuthLDAPBindAuthoritative "
    "AuthLDAPCompareDNOnServer AuthLDAPDereferenceAliases AuthLDAPCharsetConfig"
)

# mod_ldap's own directives: the connection pool and certificates the LDAP
# client would use. Refused with the same reason, since they only serve it.
_LDAP = (
    "LDAPTrustedGlobalCert LDAPTrustedClientCert LDAPTrustedMode LDAPVerifyServerCert "
    "LDAPReferrals LDAPReferralHopLimit LDAPSharedCacheSize LDAPSharedCacheFile "
    "LDAPCacheEntries LDAPCacheTTL LDAPOpCacheEntries LDAPOpCacheTTL "
    "LDAPConnectionTimeout LDAPConnectionPoolTTL LDAPTimeout LDAPRetries LDAPRetryDelay "
    "LDAPLibraryDebug"
)

_SUBSTITUTE = "Substitute SubstituteMaxLineLength SubstituteInheritBefore"


DIRECTIVES: tuple[Directive, ...] = tuple(
    refused(_AUTHNZ_LDAP, LDAP_WHY, module="mod_authnz_ldap")
    + refused(_LDAP, LDAP_WHY, module="mod_ldap")
    + refused(_SUBSTITUTE, SUBSTITUTE_WHY, module="mod_substitute")
)


def require_provider_refusal(provider: str) -> str | None:
    """The reason a ``Require`` provider is refused for good, or None.

    For the ``Require`` directive's owner: ``Require ldap-user``,
    ``ldap-group``, ``ldap-dn``, ``ldap-attribute`` and ``ldap-filter`` belong
    to mod_authnz_ldap.
    """
    if provider.lower().startswith("ldap-"):
        return f"'Require {provider}': {LDAP_WHY}"
    return None
