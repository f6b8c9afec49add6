"""wsgihost.routing: what a WSGI target tells the environ (DOCUMENT_ROOT, PATH_TRANSLATED)."""

from __future__ import annotations

from typing import Any

import pytest

from wsgihost.config.model import Address, Alias, Host, Server
from wsgihost.routing import Router, WSGITarget


def target(router: Router, path: bytes, host: bytes = b"example.com") -> WSGITarget:
    found = router.route("127.0.0.1", 80, host, path)
    assert isinstance(found, WSGITarget), found
    return found


def site(*aliases: Alias, vhost: dict[str, Any] | None = None, **main: Any) -> Router:
    vhosts = ()
    if vhost is not None:
        vhosts = (Host(addresses=(Address("*", None),), server_name="example.com", **vhost),)
    return Router(Server(listeners=(), main=Host(aliases=aliases, **main), vhosts=vhosts))


APP = Alias("/app", "/srv/app.wsgi", wsgi=True)
ROOT_APP = Alias("/", "/srv/root.wsgi", wsgi=True)


@pytest.mark.parametrize(
    "aliases, path, translated",
    [
        # PATH_INFO asked for as a URL of its own: under the DocumentRoot ...
        ((APP,), b"/app/some/path", "/srv/www/some/path"),
        ((APP,), b"/app/dir/", "/srv/www/dir/"),
        # ... under an Alias ...
        ((APP, Alias("/static/", "/srv/static/")), b"/app/static/a.css", "/srv/static/a.css"),
        # ... or by a script, with its own PATH_INFO (Apache's sub-request).
        ((APP, ROOT_APP), b"/app/x/y", "/srv/root.wsgi/x/y"),
        ((APP,), b"/app", None),  # no PATH_INFO, no PATH_TRANSLATED
    ],
)
def test_path_translated_follows_path_info_as_a_url(
    aliases: tuple[Alias, ...], path: bytes, translated: str | None
) -> None:
    found = target(site(*aliases, document_root="/srv/www"), path)
    assert found.path_translated == translated
    assert found.document_root == "/srv/www"


def test_without_a_document_root_apache_s_own_is_used() -> None:
    found = target(site(APP), b"/app/x")
    assert found.document_root is None
    assert found.path_translated == "/var/www/html/x"


def test_a_virtual_host_inherits_the_main_server_s_document_root() -> None:
    router = site(document_root="/srv/main", vhost={"aliases": (APP,)})
    found = target(router, b"/app/x")
    assert found.document_root == "/srv/main"
    assert found.path_translated == "/srv/main/x"


def test_a_directory_s_index_file_as_mod_dir_finds_it(tmp_path: Any) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.html").write_text("hi")
    router = site(APP, document_root=str(tmp_path))
    assert target(router, b"/app/docs/").path_translated == f"{tmp_path}/docs/index.html"
    # A directory without one, and one that does not exist, stay as they are.
    assert target(router, b"/app/").path_translated == f"{tmp_path}/"
    assert target(router, b"/app/none/").path_translated == f"{tmp_path}/none/"
