"""AuthUserFile, AuthGroupFile, AuthBasicProvider's list and the Digest refusals,
read from a site file as the gate gets them."""

from __future__ import annotations

from pathlib import Path

from wsgihost.config import load
from wsgihost.routing import Refusal, Router

SITE = """\
Listen 80
DocumentRoot {root}
<Location /both>
    AuthType Basic
    AuthName "Zone"
    AuthBasicProvider file
    AuthBasicProvider wsgi
    AuthUserFile users
    AuthGroupFile {root}/groups
    AuthBasicAuthoritative Off
    Require group staff
</Location>
"""


def test_providers_listed_in_order_and_files_resolved(tmp_path: Path) -> None:
    conf = tmp_path / "site.conf"
    conf.write_text(SITE.format(root=tmp_path))
    server, problems = load(str(conf), {}, {})
    assert server is not None, problems
    target = Router(server).route("127.0.0.1", 80, b"example.com", b"/both/x")
    assert not isinstance(target, Refusal)
    settings = target.settings
    assert settings.auth_provider == "file wsgi"  # a second line adds, as mod_auth_basic's
    # Relative to the ServerRoot, as ap_server_root_relative makes it.
    assert settings.auth_user_file is not None and settings.auth_user_file.endswith("/users")
    assert settings.auth_group_file == f"{tmp_path}/groups"
    assert settings.auth_basic_authoritative is False


def test_digest_is_refused_with_the_reason(tmp_path: Path) -> None:
    conf = tmp_path / "site.conf"
    conf.write_text(
        f"Listen 80\nDocumentRoot {tmp_path}\n<Location /d>\n    AuthDigestProvider file\n"
        "    AuthBasicUseDigestAlgorithm MD5\n</Location>\n"
    )
    server, problems = load(str(conf), {}, {})
    assert server is None
    messages = [p.message for p in problems]
    assert any("AuthDigestProvider" in m and "mod_auth_digest" in m for m in messages), messages
    assert any("AuthBasicUseDigestAlgorithm" in m for m in messages), messages
