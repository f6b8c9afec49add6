"""mod_authn_file's ``AuthUserFile``, mod_authz_groupfile's ``AuthGroupFile``,
mod_auth_basic's ``AuthBasicAuthoritative``, and the refusals of what is not
provided with them: mod_auth_digest and ``AuthBasicUseDigestAlgorithm``.

Pure. The files themselves are read per request (:mod:`wsgihost.access.htpasswd`,
:mod:`wsgihost.access.groupfile`), so a file changed takes effect without a
restart, and one missing at start is the 500 Apache gives, not a refused site.
"""

from __future__ import annotations

from dataclasses import replace

from wsgihost.config.draft import Context
from wsgihost.config.table import DIRECTORY, Directive, record, refused

_DIR = frozenset({DIRECTORY})

DIGEST_WHY = (
    "Digest authentication (mod_auth_digest) is not provided, and skipping it would "
    "open what it protects: use AuthType Basic over TLS"
)


def _user_file(ctx: Context, args: list[str]) -> None:
    ctx.dir.settings = replace(ctx.dir.settings, auth_user_file=ctx.path(args[0]))


def _group_file(ctx: Context, args: list[str]) -> None:
    ctx.dir.settings = replace(ctx.dir.settings, auth_group_file=ctx.path(args[0]))


def _authoritative(ctx: Context, args: list[str]) -> None:
    value = args[0].lower()
    if value not in ("on", "off"):
        ctx.error("AuthBasicAuthoritative must be On or Off")
        return
    ctx.dir.settings = replace(ctx.dir.settings, auth_basic_authoritative=value == "on")


DIRECTIVES: tuple[Directive, ...] = (
    record(
        "AuthUserFile",
        "AuthUserFile file-path",
        _DIR,
        (1, 1),
        "(none)",
        "The password file of AuthBasicProvider `file` (Apache's default provider), as "
        "`htpasswd` writes it: bcrypt (`-B`), apr1 MD5 (`-m`), `{SHA}` (`-s`), DES crypt "
        "(`-d`: only a password's first 8 bytes count); also glibc's `$1$`, `$5$` and `$6$` "
        "crypt. Read again when it changes. Checked as apr-util does on Linux: plain text "
        "(`-p`) never matches (13 characters of `./0-9A-Za-z` are a DES hash to crypt(3), "
        "and checked as one); yescrypt and other crypt(3) formats are refused for their "
        "user (a 500 and an error-log line naming the file and line), never accepted. A "
        "file that cannot be opened is a 500 (AH01620).",
        _user_file,
        module="mod_authn_file",
    ),
    record(
        "AuthGroupFile",
        "AuthGroupFile file-path",
        _DIR,
        (1, 1),
        "(none)",
        "The group file of `Require group`: lines `group: user user ...`. Read again "
        "when it changes; one that cannot be opened denies (AH01665), as in Apache.",
        _group_file,
        module="mod_authz_groupfile",
    ),
    record(
        "AuthBasicAuthoritative",
        "AuthBasicAuthoritative On|Off",
        _DIR,
        (1, 1),
        "On",
        "Off: a user no provider knows (or a provider's error) is left to another "
        "authentication module; wsgihost has none, so, as Apache with only "
        "mod_auth_basic, such a request gets a 500 (AH01796). A wrong password is "
        "still a 401.",
        _authoritative,
        module="mod_auth_basic",
    ),
    *refused(
        "AuthBasicUseDigestAlgorithm",
        "digest-algorithm password lookups (AuthBasicUseDigestAlgorithm, for providers "
        "storing Digest hashes) are not provided, and skipping them would change who "
        "gets in",
        module="mod_auth_basic",
    ),
    *refused(
        "AuthBasicFake",
        "AuthBasicFake is not provided: the fake Authorization header it makes would be "
        "missing for the app or the back end",
        module="mod_auth_basic",
    ),
    *(
        d
        for name in (
            "AuthDigestProvider",
            "AuthDigestDomain",
            "AuthDigestNonceLifetime",
            "AuthDigestAlgorithm",
            "AuthDigestQop",
        )
        for d in refused(name, DIGEST_WHY, module="mod_auth_digest")
    ),
)
