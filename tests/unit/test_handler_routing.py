"""Handler mappings (SetHandler, AddHandler, WSGIHandlerScript) as the router resolves them:
which file is the script, SCRIPT_NAME and PATH_INFO, ExecCGI, the process sets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wsgihost.config import load
from wsgihost.config.model import DirSettings, Server
from wsgihost.handlermap import handler_of, walk
from wsgihost.routing import FileTarget, Refusal, Router, WSGITarget, set_key


def site(tmp_path: Path, body: str) -> Server:
    (tmp_path / "scripts" / "sub").mkdir(parents=True)
    (tmp_path / "scripts" / "app.wsgi").write_text("application = None\n")
    (tmp_path / "scripts" / "sub" / "deep.py").write_text("application = None\n")
    (tmp_path / "scripts" / "page.html").write_text("<p>static</p>\n")
    (tmp_path / "handler.wsgi").write_text("def handle_request(e, s): pass\n")
    conf = tmp_path / "site.conf"
    conf.write_text(f"Listen 8000\nServerName example.com\nDocumentRoot {tmp_path}\n{body}")
    server, problems = load(str(conf), {}, {})
    assert server is not None, [str(p) for p in problems]
    return server


def route(server: Server, path: str) -> Any:
    return Router(server).route("127.0.0.1", 8000, b"example.com", path.encode())


DIRECTORY = """
Alias /s/ {root}/scripts/
<Directory {root}/scripts>
    Options ExecCGI
    {mapping}
</Directory>
"""


def mapped(tmp_path: Path, mapping: str, extra: str = "") -> Server:
    text = DIRECTORY.format(root=tmp_path, mapping=mapping) + extra
    return site(tmp_path, text)


def test_set_handler_makes_each_file_its_own_app_with_the_rest_as_path_info(
    tmp_path: Path,
) -> None:
    server = mapped(tmp_path, "SetHandler wsgi-script")
    target = route(server, "/s/app.wsgi/a/b/")
    assert isinstance(target, WSGITarget)
    assert target.script == str(tmp_path / "scripts" / "app.wsgi")
    assert (target.script_name, target.path_info) == ("/s/app.wsgi", "/a/b/")
    deep = route(server, "/s/sub/deep.py")
    assert isinstance(deep, WSGITarget)
    assert (deep.script_name, deep.path_info) == ("/s/sub/deep.py", "")
    # %{RESOURCE}: each script its own application group, named by its URL.
    assert target.application_group == "example.com:8000|/s/app.wsgi"
    assert deep.application_group == "example.com:8000|/s/sub/deep.py"


def test_add_handler_goes_by_any_of_the_names_extensions(tmp_path: Path) -> None:
    server = mapped(tmp_path, "AddHandler wsgi-script .wsgi py")
    (tmp_path / "scripts" / "old.wsgi.bak").write_text("application = None\n")
    assert isinstance(route(server, "/s/app.wsgi"), WSGITarget)
    assert isinstance(route(server, "/s/sub/deep.py/x"), WSGITarget)
    assert isinstance(route(server, "/s/old.wsgi.bak"), WSGITarget)
    static = route(server, "/s/page.html")
    assert isinstance(static, FileTarget)


def test_without_exec_cgi_the_script_is_forbidden_with_mod_wsgis_log_line(
    tmp_path: Path,
) -> None:
    server = mapped(tmp_path, "Options -ExecCGI\n    AddHandler wsgi-script .wsgi")
    refused = route(server, "/s/app.wsgi")
    assert isinstance(refused, Refusal)
    assert refused.status == 403
    assert refused.log == (f"Options ExecCGI is off in this directory: {tmp_path}/scripts/app.wsgi")


def test_a_missing_script_is_404_with_mod_wsgis_log_line(tmp_path: Path) -> None:
    server = mapped(tmp_path, "SetHandler wsgi-script")
    refused = route(server, "/s/nothing.wsgi/x")
    assert isinstance(refused, Refusal)
    assert refused.status == 404
    assert refused.log is not None and refused.log.endswith("/scripts/nothing.wsgi")


def test_set_handler_none_and_remove_handler_undo_a_mapping(tmp_path: Path) -> None:
    extra = f"""
<Directory {tmp_path}/scripts/sub>
    SetHandler None
    RemoveHandler .py
</Directory>
"""
    server = mapped(tmp_path, "SetHandler wsgi-script\n    AddHandler wsgi-script .py", extra)
    assert isinstance(route(server, "/s/app.wsgi"), WSGITarget)
    assert isinstance(route(server, "/s/sub/deep.py"), FileTarget)


def test_handler_script_serves_the_mapped_file_with_handle_request(tmp_path: Path) -> None:
    mapping = (
        f"WSGIHandlerScript my-handler {tmp_path}/handler.wsgi\n    AddHandler my-handler .html"
    )
    server = mapped(tmp_path, mapping)
    target = route(server, "/s/page.html/more")
    assert isinstance(target, WSGITarget)
    assert target.script == str(tmp_path / "handler.wsgi")
    assert target.filename == str(tmp_path / "scripts" / "page.html")
    assert target.settings.callable_object == "handle_request"
    assert (target.script_name, target.path_info) == ("/s/page.html", "/more")


def test_a_directory_is_left_to_the_static_server(tmp_path: Path) -> None:
    server = mapped(tmp_path, "SetHandler wsgi-script")
    assert isinstance(route(server, "/s/sub"), FileTarget)  # mod_dir's redirect to the slash


def test_a_directory_with_its_slash_is_refused_unless_it_has_an_index(tmp_path: Path) -> None:
    server = mapped(tmp_path, "SetHandler wsgi-script\n    DirectoryIndex deep.py")
    indexed = route(server, "/s/sub/")
    assert isinstance(indexed, WSGITarget)
    assert indexed.script_name == "/s/sub/deep.py"
    (tmp_path / "scripts" / "empty").mkdir()
    refused = route(server, "/s/empty/")
    assert isinstance(refused, Refusal) and refused.status == 403
    assert refused.log == (
        f"Attempt to invoke directory as WSGI application: {tmp_path}/scripts/empty/"
    )


def test_daemon_scripts_of_one_section_share_its_process_set(tmp_path: Path) -> None:
    group = "WSGIDaemonProcess handlers threads=2\n"
    server = site(
        tmp_path,
        group
        + DIRECTORY.format(
            root=tmp_path, mapping="SetHandler wsgi-script\n    WSGIProcessGroup handlers"
        ),
    )
    router = Router(server)
    one = route(server, "/s/app.wsgi")
    two = route(server, "/s/sub/deep.py")
    assert isinstance(one, WSGITarget) and isinstance(two, WSGITarget)
    assert one.application_group != two.application_group
    label = f"example.com:8000|<Directory {tmp_path}/scripts>"
    assert one.process_set == two.process_set == label
    assert ("handlers", label) in router.process_sets()
    assert set_key("handlers", one.process_set) == f"handlers|{label}"


def test_named_application_group_keeps_its_name(tmp_path: Path) -> None:
    mapping = "SetHandler wsgi-script\n    WSGIProcessGroup g\n    WSGIApplicationGroup shared"
    server = site(
        tmp_path, "WSGIDaemonProcess g\n" + DIRECTORY.format(root=tmp_path, mapping=mapping)
    )
    one = route(server, "/s/app.wsgi")
    assert isinstance(one, WSGITarget)
    assert one.application_group == "shared" and one.process_set == "shared"
    assert ("g", "shared") in Router(server).process_sets()


def test_a_dispatch_script_gives_every_group_the_hosts_application_groups(
    tmp_path: Path,
) -> None:
    body = f"""
WSGIDaemonProcess one
WSGIDaemonProcess two
WSGIScriptAlias /app {tmp_path}/scripts/app.wsgi process-group=one
WSGIDispatchScript {tmp_path}/handler.wsgi
"""
    server = site(tmp_path, body)
    router = Router(server)
    sets = router.process_sets()
    key = "example.com:8000|/app"
    assert ("one", key) in sets and ("two", key) in sets
    assert ("one", "") in sets and ("two", "") in sets  # %{GLOBAL}, a dispatch script's usual
    target = route(server, "/app/x")
    assert isinstance(target, WSGITarget)
    chosen = router.regroup(target, "two", None, None)
    assert chosen.settings.process_group == "two"
    assert chosen.application_group == key
    assert chosen.settings.dispatch_script == (str(tmp_path / "handler.wsgi"), None)


@pytest.mark.parametrize(
    "line, message",
    [
        ("SetHandler cgi-script", "CGI is not provided"),
        ("AddHandler cgi-script .cgi", "CGI is not provided"),
    ],
)
def test_cgi_is_refused(tmp_path: Path, line: str, message: str) -> None:
    conf = tmp_path / "site.conf"
    conf.write_text(f"Listen 8000\n<Location />\n{line}\n</Location>\n")
    server, problems = load(str(conf), {}, {})
    assert server is None
    assert any(message in p.message and p.line == 3 for p in problems)


def test_not_provided_handlers_are_warnings_naming_what_will_not_happen(tmp_path: Path) -> None:
    conf = tmp_path / "site.conf"
    conf.write_text(
        "Listen 8000\n<Location /server-status>\nSetHandler server-status\n</Location>\n"
    )
    server, problems = load(str(conf), {}, {})
    assert server is not None
    assert [p.severity for p in problems] == ["warning"]
    assert "status page will not exist" in problems[0].message


def test_walk_and_extensions(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f.x.wsgi").write_text("")
    assert walk(str(tmp_path), f"{tmp_path}/a/f.x.wsgi/p/q") == (
        f"{tmp_path}/a/f.x.wsgi",
        "/p/q",
        False,
    )
    assert walk(str(tmp_path), f"{tmp_path}/a/") == (f"{tmp_path}/a", "/", True)
    assert walk(str(tmp_path), f"{tmp_path}/none/p") == (f"{tmp_path}/none", "/p", False)
    settings = DirSettings(add_handlers=((".x", "one", "A"), (".wsgi", "two", "B")))
    assert handler_of("f.x.wsgi", settings) == ("two", "B")
    assert handler_of("f.wsgi.x", settings) == ("one", "A")
    assert handler_of("f.WSGI", settings) == ("two", "B")
    assert handler_of("wsgi", settings) is None


def test_a_htaccess_file_may_map_scripts_where_allow_override_lets_it(tmp_path: Path) -> None:
    from wsgihost.htaccess import HtaccessFiles

    body = f"""
Alias /s/ {tmp_path}/scripts/
<Directory {tmp_path}/scripts>
    AllowOverride FileInfo Options
</Directory>
"""
    server = site(tmp_path, body)
    (tmp_path / "scripts" / ".htaccess").write_text(
        "Options +ExecCGI\nAddHandler wsgi-script .wsgi\n"
    )
    router = Router(server, HtaccessFiles(str(tmp_path)))
    target = router.route("127.0.0.1", 8000, b"example.com", b"/s/app.wsgi/x")
    assert isinstance(target, WSGITarget)
    assert (target.script_name, target.path_info) == ("/s/app.wsgi", "/x")
    static = router.route("127.0.0.1", 8000, b"example.com", b"/s/page.html")
    assert isinstance(static, FileTarget)


def test_location_and_files_sections_map_handlers_too(tmp_path: Path) -> None:
    body = f"""
Alias /s/ {tmp_path}/scripts/
<Directory {tmp_path}/scripts>
    Options ExecCGI
</Directory>
<Location /s/sub>
    SetHandler wsgi-script
</Location>
<Files "*.wsgi">
    SetHandler wsgi-script
    WSGIPassAuthorization On
</Files>
"""
    server = site(tmp_path, body)
    deep = route(server, "/s/sub/deep.py/p")
    assert isinstance(deep, WSGITarget)
    assert (deep.script_name, deep.path_info) == ("/s/sub/deep.py", "/p")
    app = route(server, "/s/app.wsgi")
    assert isinstance(app, WSGITarget) and app.settings.pass_authorization is True
    assert isinstance(route(server, "/s/page.html"), FileTarget)
    # Each mapping section is a process set of its own, by its label.
    assert deep.process_set == "example.com:8000|<Location /s/sub>"
    assert app.process_set == "example.com:8000|<Files *.wsgi>"


def test_handler_script_options_override_the_sections(tmp_path: Path) -> None:
    body = f"""
WSGIDaemonProcess handlers
Alias /s/ {tmp_path}/scripts/
WSGIHandlerScript show {tmp_path}/handler.wsgi process-group=handlers pass-authorization=On
<Directory {tmp_path}/scripts>
    AddHandler show .html
</Directory>
"""
    server = site(tmp_path, body)
    target = route(server, "/s/page.html")
    assert isinstance(target, WSGITarget)
    assert target.settings.process_group == "handlers"
    assert target.settings.pass_authorization is True
    sets = Router(server).process_sets()
    key = ("handlers", f"example.com:8000|<Directory {tmp_path}/scripts>")
    assert sets[key] == {(str(tmp_path / "handler.wsgi"), "handle_request")}
    assert Router(server).reloading_scripts() == {str(tmp_path / "handler.wsgi"): {"handlers"}}


def test_files_inside_a_directory_take_its_process_group_for_their_set(tmp_path: Path) -> None:
    body = f"""
WSGIDaemonProcess g
Alias /s/ {tmp_path}/scripts/
<Directory {tmp_path}/scripts>
    Options ExecCGI
    WSGIProcessGroup g
    <Files "*.wsgi">
        SetHandler wsgi-script
    </Files>
</Directory>
"""
    server = site(tmp_path, body)
    target = route(server, "/s/app.wsgi")
    assert isinstance(target, WSGITarget) and target.settings.process_group == "g"
    assert ("g", target.process_set) in Router(server).process_sets()


def test_a_missing_handler_or_dispatch_script_is_a_warning(tmp_path: Path) -> None:
    conf = tmp_path / "site.conf"
    conf.write_text(
        "Listen 8000\n"
        f"WSGIHandlerScript show {tmp_path}/nothing.wsgi\n"
        f"WSGIDispatchScript {tmp_path}/nothing.py\n"
    )
    server, problems = load(str(conf), {}, {})
    assert server is not None
    assert [(p.line, p.severity) for p in problems] == [(2, "warning"), (3, "warning")]
    assert all("does not exist" in p.message for p in problems)
