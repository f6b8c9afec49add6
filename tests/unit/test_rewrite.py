"""mod_rewrite's engine: directives read into rules (config/mod_rewrite.py) and applied
to requests in server and per-directory context (mods/rewrite), as Apache 2.4's
hook_uri2file and hook_fixup decide."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wsgihost.config import Problem, load
from wsgihost.config.model import Server
from wsgihost.mods.rewrite import activate
from wsgihost.mods.rewrite.escape import escape_backref, escape_uri
from wsgihost.mods.rewrite.maps import parse_txt
from wsgihost.mods.rewrite.module import RewriteModule, walk
from wsgihost.mods.rewrite.parse import parse_rule
from wsgihost.mods.rewrite.rules import MapSpec, RewriteDir, RewriteServer, Rule
from wsgihost.pipeline.hooks import Answer, Outcome, Redirect, Reroute
from wsgihost.pipeline.state import RequestState
from wsgihost.routing import Router


def read(tmp_path: Path, body: str) -> tuple[Server | None, list[Problem]]:
    conf = tmp_path / "site.conf"
    (tmp_path / "www").mkdir(exist_ok=True)
    conf.write_text(
        f"Listen 127.0.0.1:8000\nServerRoot {tmp_path}\nServerName example.test\n"
        f"DocumentRoot {tmp_path}/www\n{body}"
    )
    return load(str(conf), {}, {})


def module(tmp_path: Path, body: str) -> tuple[Server, RewriteModule]:
    server, problems = read(tmp_path, body)
    assert server is not None, [str(p) for p in problems]
    found = activate(server)
    assert isinstance(found, RewriteModule)
    return server, found


def request(
    server: Server,
    path: str,
    query: str = "",
    headers: tuple[tuple[str, str], ...] = (("Host", "example.test"),),
    https: bool = False,
) -> RequestState:
    return RequestState(
        "GET",
        path,
        query,
        [(n.encode(), v.encode()) for n, v in headers],
        server.main,
        client_addr="127.0.0.1",
        client_port=40000,
        local_addr="127.0.0.1",
        local_port=8000,
        https=https,
        unparsed_uri=path + ("?" + query if query else ""),
    )


def run(server: Server, mod: RewriteModule, r: RequestState) -> tuple[Outcome | None, RequestState]:
    """translate_name, then (as routing would) map_to_storage and fixups."""
    outcome = mod.translate_name(r)
    if outcome is not None or r.filename is not None:
        return outcome, r
    target = Router(server).route("127.0.0.1", 8000, b"example.test", r.uri.encode("latin-1"))
    r.target = target
    r.settings = getattr(target, "settings", None)
    return mod.fixups(r), r


def serve(tmp_path: Path, body: str, path: str, query: str = "", **kw: object) -> Outcome | None:
    server, mod = module(tmp_path, body)
    return run(server, mod, request(server, path, query, **kw))[0]  # type: ignore[arg-type]


# -- server context ------------------------------------------------------------

HTTPS = (
    "RewriteEngine On\nRewriteCond %{HTTPS} off\n"
    "RewriteRule ^ https://%{HTTP_HOST}%{REQUEST_URI} [L,R=301]\n"
)


def test_http_to_https_keeps_the_query(tmp_path: Path) -> None:
    found = serve(tmp_path, HTTPS, "/a b/c", "x=1&y=%20")
    # The path is escaped again for the Location; the untouched query is copied.
    assert found == Redirect(301, "https://example.test/a%20b/c?x=1&y=%20")


def test_https_request_is_not_redirected(tmp_path: Path) -> None:
    assert serve(tmp_path, HTTPS, "/a", https=True) is None


def test_www_canonicalisation_with_nocase_condition(tmp_path: Path) -> None:
    body = (
        "RewriteEngine On\nRewriteCond %{HTTP_HOST} !^www\\. [NC]\n"
        "RewriteRule ^/(.*)$ http://www.%{HTTP_HOST}/$1 [R=301,L]\n"
    )
    assert serve(tmp_path, body, "/p", headers=(("Host", "site.test"),)) == Redirect(
        301, "http://www.site.test/p"
    )
    assert serve(tmp_path, body, "/p", headers=(("Host", "WWW.site.test"),)) is None


def test_old_to_new_with_qsa(tmp_path: Path) -> None:
    body = "RewriteEngine On\nRewriteRule ^/old/(.*) /new/$1?from=old [R=302,L,QSA]\n"
    assert serve(tmp_path, body, "/old/x/y", "a=1") == Redirect(
        302, "http://example.test/new/x/y?from=old&a=1"
    )


@pytest.mark.parametrize(
    ("flags", "query", "expected"),
    [
        ("[R]", "a=1", "http://example.test/t?n=1"),
        ("[R,QSA]", "a=1", "http://example.test/t?n=1&a=1"),
        ("[R,QSD]", "a=1", "http://example.test/t?n=1"),
    ],
)
def test_query_flags(tmp_path: Path, flags: str, query: str, expected: str) -> None:
    body = f"RewriteEngine On\nRewriteRule ^/q$ /t?n=1 {flags}\n"
    assert serve(tmp_path, body, "/q", query) == Redirect(302, expected)


def test_trailing_question_mark_drops_the_query(tmp_path: Path) -> None:
    body = "RewriteEngine On\nRewriteRule ^/q$ /t? [R=301]\n"
    assert serve(tmp_path, body, "/q", "a=1") == Redirect(301, "http://example.test/t")


def test_qsd_without_substitution_query(tmp_path: Path) -> None:
    body = "RewriteEngine On\nRewriteRule ^/q$ /t [R,QSD]\n"
    assert serve(tmp_path, body, "/q", "a=1") == Redirect(302, "http://example.test/t")


def test_forbidden_gone_and_status(tmp_path: Path) -> None:
    body = (
        "RewriteEngine On\nRewriteRule ^/f - [F]\nRewriteRule ^/g - [G]\n"
        "RewriteRule ^/s /x [R=404]\n"
    )
    assert serve(tmp_path, body, "/f") == Answer(403)
    assert serve(tmp_path, body, "/g") == Answer(410)
    assert serve(tmp_path, body, "/s") == Answer(404)


def test_passthrough_sets_a_new_uri(tmp_path: Path) -> None:
    server, mod = module(tmp_path, "RewriteEngine On\nRewriteRule ^/app/(.*) /wsgi/$1 [PT]\n")
    r = request(server, "/app/x")
    assert mod.translate_name(r) is None
    assert r.uri == "/wsgi/x" and r.filename is None


def test_local_path_goes_under_document_root(tmp_path: Path) -> None:
    server, mod = module(tmp_path, "RewriteEngine On\nRewriteRule ^/a$ /b.html\n")
    r = request(server, "/a")
    assert mod.translate_name(r) is None
    assert r.filename == f"{tmp_path}/www/b.html"


def test_absolute_file_path_is_taken_as_is(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    server, mod = module(tmp_path, f"RewriteEngine On\nRewriteRule ^/a$ {tmp_path}/files/x\n")
    r = request(server, "/a")
    mod.translate_name(r)
    assert r.filename == f"{tmp_path}/files/x"


def test_own_url_is_reduced_to_a_path(tmp_path: Path) -> None:
    # ap_matches_request_vhost: the name and the port ServerName gives (80 here).
    body = "ServerName example.test:80\nRewriteEngine On\nRewriteRule ^/a$ http://example.test/b\n"
    server, mod = module(tmp_path, body)
    r = request(server, "/a")
    assert mod.translate_name(r) is None
    assert r.filename == f"{tmp_path}/www/b"


def test_own_url_without_a_configured_port_is_redirected(tmp_path: Path) -> None:
    # No port in ServerName: Apache's server port is 0, so nothing is reduced.
    body = "RewriteEngine On\nRewriteRule ^/a$ http://example.test/b\n"
    assert serve(tmp_path, body, "/a") == Redirect(302, "http://example.test/b")


def test_dot_matches_newline_and_dollar_is_the_end(tmp_path: Path) -> None:
    body = "RewriteEngine On\nRewriteRule ^/n/(.*)$ /to/$1 [R]\n"
    assert serve(tmp_path, body, "/n/a\nb") == Redirect(302, "http://example.test/to/a%0ab")
    body = "RewriteEngine On\nRewriteRule ^/d/a$ - [F]\n"
    assert serve(tmp_path, body, "/d/a\n") is None  # "$" is not before a final newline


def test_other_host_url_is_an_implicit_redirect(tmp_path: Path) -> None:
    body = "RewriteEngine On\nRewriteRule ^/a$ http://other.test/b\n"
    assert serve(tmp_path, body, "/a") == Redirect(302, "http://other.test/b")


def test_chain_skip_and_last(tmp_path: Path) -> None:
    body = (
        "RewriteEngine On\n"
        "RewriteRule ^/c/(.*) /c2/$1 [C]\nRewriteRule ^/c2/(.*) /c3/$1 [R,L]\n"
        "RewriteRule ^/s - [S=1]\nRewriteRule ^ /skipped [R,L]\nRewriteRule ^/s /after [R,L]\n"
        "RewriteRule ^/d/(.*) /d2/$1 [C]\nRewriteRule ^/nomatch /c3 [R,L]\n"
        "RewriteRule ^/d2/(.*) /d3/$1 [R,L]\n"
    )
    assert serve(tmp_path, body, "/c/x") == Redirect(302, "http://example.test/c3/x")
    assert serve(tmp_path, body, "/s") == Redirect(302, "http://example.test/after")
    # A chained rule that does not match ends the chain's rewriting, not the rules.
    assert serve(tmp_path, body, "/d/x") == Redirect(302, "http://example.test/skipped")


def test_redirect_without_last_goes_on(tmp_path: Path) -> None:
    body = "RewriteEngine On\nRewriteRule ^/a /b [R]\nRewriteRule ^(.*)$ /c [R]\n"
    # [R] without [L]: later rules see the qualified URL (and may rewrite it).
    assert serve(tmp_path, body, "/a") == Redirect(302, "http://example.test/c")


def test_env_flag_and_unset(tmp_path: Path) -> None:
    server, mod = module(
        tmp_path,
        "RewriteEngine On\nRewriteRule ^/e/(\\w+) - [E=WHO:$1,E=!GONE,E=FLAG]\n",
    )
    r = request(server, "/e/alice")
    r.env["GONE"] = "x"
    assert mod.translate_name(r) is None
    assert r.env["WHO"] == "alice" and r.env["FLAG"] == "" and "GONE" not in r.env
    assert r.env["SCRIPT_URL"] == "/e/alice"
    assert r.env["SCRIPT_URI"] == "http://example.test:8000/e/alice" or r.env[
        "SCRIPT_URI"
    ].startswith("http://example.test")


def test_conditions_or_and_backreferences(tmp_path: Path) -> None:
    body = (
        "RewriteEngine On\n"
        "RewriteCond %{QUERY_STRING} ^id=(\\d+)$ [OR]\n"
        "RewriteCond %{QUERY_STRING} ^item=(\\d+)$\n"
        "RewriteRule ^/p$ /item/%1? [R=301]\n"
    )
    assert serve(tmp_path, body, "/p", "id=7") == Redirect(301, "http://example.test/item/7")
    assert serve(tmp_path, body, "/p", "item=8") == Redirect(301, "http://example.test/item/8")
    assert serve(tmp_path, body, "/p", "other=1") is None


@pytest.mark.parametrize(
    ("cond", "value", "matches"),
    [
        ("=abc", "abc", True),
        ('=""', "", True),
        ("!=abc", "abc", False),
        ("<b", "a", True),
        (">b", "ab", True),  # Apache compares lengths first
        ("-eq5", "5", True),
        ("-ne5", "5", False),
        ("-gt10", "9", False),
        ("-le10", "10", True),
    ],
)
def test_comparison_conditions(tmp_path: Path, cond: str, value: str, matches: bool) -> None:
    body = f"RewriteEngine On\nRewriteCond %{{ENV:V}} {cond}\nRewriteRule ^ - [F]\n"
    server, mod = module(tmp_path, body)
    r = request(server, "/")
    r.env["V"] = value
    assert (mod.translate_name(r) == Answer(403)) is matches


def test_file_conditions(tmp_path: Path) -> None:
    body = (
        "RewriteEngine On\n"
        "RewriteCond %{DOCUMENT_ROOT}%{REQUEST_URI} -f\nRewriteRule ^ - [E=F:1]\n"
        "RewriteCond %{DOCUMENT_ROOT}%{REQUEST_URI} -d\nRewriteRule ^ - [E=D:1]\n"
        "RewriteCond %{DOCUMENT_ROOT}%{REQUEST_URI} -s\nRewriteRule ^ - [E=S:1]\n"
        "RewriteCond %{DOCUMENT_ROOT}%{REQUEST_URI} -l\nRewriteRule ^ - [E=L:1]\n"
    )
    www = tmp_path / "www"
    www.mkdir()
    (www / "empty").write_text("")
    (www / "full").write_text("x")
    (www / "dir").mkdir()
    os.symlink(www / "full", www / "link")
    server, mod = module(tmp_path, body)
    seen = {}
    for name in ("empty", "full", "dir", "link", "none"):
        r = request(server, "/" + name)
        mod.translate_name(r)
        seen[name] = "".join(k for k in "FDSL" if k in r.env)
    assert seen == {"empty": "F", "full": "FS", "dir": "D", "link": "FSL", "none": ""}


def test_next_flag_loop_limit_is_500(tmp_path: Path) -> None:
    body = "RewriteEngine On\nRewriteRule ^/(.*)$ /x$1 [N=20]\n"
    assert serve(tmp_path, body, "/loop") == Answer(500)


def test_next_flag_ends_when_rules_stop_matching(tmp_path: Path) -> None:
    body = "RewriteEngine On\nRewriteRule ^/(.*)-(.*)$ /$1_$2 [N]\nRewriteRule ^/(.*) /r/$1 [R]\n"
    assert serve(tmp_path, body, "/a-b-c") == Redirect(302, "http://example.test/r/a_b_c")


def test_escaping_backreferences(tmp_path: Path) -> None:
    body = "RewriteEngine On\nRewriteRule ^/s/(.*) /search?q=$1 [B,R]\n"
    assert serve(tmp_path, body, "/s/a b&c") == Redirect(
        302, "http://example.test/search?q=a+b%2526c"
    )
    assert escape_backref("a b&c/", None, None, False, False) == "a+b%26c%2f"
    assert escape_backref("a b", None, None, True, False) == "a%20b"
    assert escape_uri("a b?#%\r\n") == "a%20b%3f%23%25%0d%0a"


def test_noescape_keeps_the_fragment(tmp_path: Path) -> None:
    body = "RewriteEngine On\nRewriteRule ^/anchor/(.+) /page.html#$1 [NE,R]\n"
    assert serve(tmp_path, body, "/anchor/top") == Redirect(
        302, "http://example.test/page.html#top"
    )
    body = "RewriteEngine On\nRewriteRule ^/anchor/(.+) /page.html#$1 [R]\n"
    assert serve(tmp_path, body, "/anchor/top") == Redirect(
        302, "http://example.test/page.html%23top"
    )


def test_question_mark_from_a_backreference_is_refused(tmp_path: Path) -> None:
    # A decoded %3F must not become the query separator (Apache 2.4.60's fix).
    body = "RewriteEngine On\nRewriteRule ^/x/(.*) /y/$1 [L]\n"
    assert serve(tmp_path, body, "/x/a?b=1") == Answer(403)
    body = "RewriteEngine On\nRewriteRule ^/x/(.*) /y/$1 [L,UnsafeAllow3F]\n"
    server, mod = module(tmp_path, body)
    r = request(server, "/x/a?b=1")
    assert mod.translate_name(r) is None
    assert r.args == "b=1"


def test_crlf_in_a_redirect_is_escaped(tmp_path: Path) -> None:
    body = "RewriteEngine On\nRewriteRule ^/r/(.*) /to/$1 [R]\n"
    found = serve(tmp_path, body, "/r/a\r\nSet-Cookie: x")
    assert found == Redirect(302, "http://example.test/to/a%0d%0aSet-Cookie:%20x")


def test_crlf_in_a_query_is_refused_with_noescape(tmp_path: Path) -> None:
    body = "RewriteEngine On\nRewriteRule ^/r/(.*) /to?v=$1 [R,NE,UnsafeAllow3F]\n"
    assert serve(tmp_path, body, "/r/a\r\nb") == Answer(403)


def test_double_slash_from_a_backreference_stays_on_our_host(tmp_path: Path) -> None:
    # "//evil.test" from the client: a redirect qualified with our own host.
    body = "RewriteEngine On\nRewriteRule ^/go/(.*) /$1 [R]\n"
    assert serve(tmp_path, body, "/go//evil.test/x") == Redirect(
        302, "http://example.test//evil.test/x"
    )


def test_maps(tmp_path: Path) -> None:
    (tmp_path / "map.txt").write_text("# comment\nalpha /a-page\n beta ignored\nbeta /b-page\n")
    body = (
        "RewriteMap pages txt:map.txt\nRewriteMap lc int:tolower\n"
        "RewriteEngine On\n"
        "RewriteRule ^/m/(.*) ${pages:${lc:$1}|/missing} [R]\n"
    )
    assert serve(tmp_path, body, "/m/ALPHA") == Redirect(302, "http://example.test/a-page")
    assert serve(tmp_path, body, "/m/beta") == Redirect(302, "http://example.test/b-page")
    assert serve(tmp_path, body, "/m/zeta") == Redirect(302, "http://example.test/missing")
    assert parse_txt("a 1\na 2\n#b 3\n c 4\n") == {"a": "1"}


def test_vhost_does_not_inherit_the_main_rules_without_inherit(tmp_path: Path) -> None:
    body = (
        "RewriteEngine On\nRewriteRule ^/main - [F]\n"
        "<VirtualHost 127.0.0.1:8000>\nServerName v.test\nRewriteEngine On\n"
        "RewriteRule ^/own - [G]\n</VirtualHost>\n"
        "<VirtualHost 127.0.0.1:8000>\nServerName w.test\nRewriteEngine On\n"
        "RewriteOptions Inherit\nRewriteRule ^/own - [G]\n</VirtualHost>\n"
    )
    server, mod = module(tmp_path, body)
    v, w = server.vhosts
    for host, expected in ((v, None), (w, Answer(403))):
        r = request(server, "/main")
        r.host = host
        assert mod.translate_name(r) == expected
        r = request(server, "/own")
        r.host = host
        assert mod.translate_name(r) == Answer(410)


def test_engine_off_does_nothing(tmp_path: Path) -> None:
    assert serve(tmp_path, "RewriteEngine Off\nRewriteRule ^ - [F]\n", "/") is None
    assert serve(tmp_path, "RewriteRule ^ - [F]\n", "/") is None


# -- per-directory context -------------------------------------------------------


def _front_controller(tmp_path: Path, extra: str = "") -> tuple[Server, RewriteModule]:
    www = tmp_path / "www"
    www.mkdir(exist_ok=True)
    (www / "index.wsgi").write_text("")
    (www / "real.txt").write_text("x")
    return module(
        tmp_path,
        f"<Directory {www}>\nRewriteEngine On\n{extra}"
        "RewriteCond %{REQUEST_FILENAME} !-f\nRewriteCond %{REQUEST_FILENAME} !-d\n"
        "RewriteRule ^ index.wsgi [L]\n</Directory>\n",
    )


def test_front_controller_redirects_internally(tmp_path: Path) -> None:
    server, mod = _front_controller(tmp_path)
    found, _ = run(server, mod, request(server, "/blog/2024/post", "p=1"))
    assert found == Reroute("/index.wsgi", "p=1")
    found, _ = run(server, mod, request(server, "/real.txt"))
    assert found is None
    found, _ = run(server, mod, request(server, "/"))
    assert found is None  # the directory itself exists


def test_per_directory_prefix_is_stripped_and_base_applied(tmp_path: Path) -> None:
    www = tmp_path / "www"
    (www / "blog").mkdir(parents=True)
    server, mod = module(
        tmp_path,
        f"<Directory {www}/blog>\nRewriteEngine On\nRewriteBase /weblog/\n"
        "RewriteRule ^(\\w+)/(\\d+)$ show.py?cat=$1&n=$2 [L]\n"
        "RewriteRule ^go/(.*)$ $1 [R=301]\n</Directory>\n",
    )
    found, _ = run(server, mod, request(server, "/blog/news/12"))
    assert found == Reroute("/weblog/show.py", "cat=news&n=12")
    found, _ = run(server, mod, request(server, "/blog/go/x"))
    assert found == Redirect(301, "http://example.test/weblog/x")


def test_per_directory_result_is_read_as_a_url_again(tmp_path: Path) -> None:
    www = tmp_path / "www"
    www.mkdir()
    server, mod = module(
        tmp_path,
        f"<Directory {www}>\nRewriteEngine On\nRewriteRule ^enc/(.*)$ /out/%{{QUERY_STRING}}\n"
        "RewriteRule ^up$ /a/../../etc/passwd\n</Directory>\n",
    )
    found, _ = run(server, mod, request(server, "/enc/x", "a%2Fb"))
    assert found == Answer(404)  # an encoded slash, as AllowEncodedSlashes Off
    found, _ = run(server, mod, request(server, "/enc/x", "%41b"))
    assert found == Reroute("/out/Ab", "%41b")
    found, _ = run(server, mod, request(server, "/up"))
    assert found == Answer(400)  # above the root


def test_per_directory_needs_follow_symlinks(tmp_path: Path) -> None:
    server, mod = _front_controller(tmp_path, "Options -FollowSymLinks\n")
    found, _ = run(server, mod, request(server, "/nothing"))
    assert found == Answer(403)


def test_per_directory_inherit_order(tmp_path: Path) -> None:
    www = tmp_path / "www"
    (www / "sub").mkdir(parents=True)
    body = (
        f"<Directory {www}>\nRewriteEngine On\nRewriteRule ^sub/parent$ - [G]\n"
        "RewriteRule ^(.*)x$ - [F]\n</Directory>\n"
        f"<Directory {www}/sub>\nRewriteOptions Inherit\nRewriteRule ^own$ - [G]\n"
        "</Directory>\n"
    )
    server, mod = module(tmp_path, body)
    # The parent's rules come after, and see the child's prefix stripped.
    assert run(server, mod, request(server, "/sub/own"))[0] == Answer(410)
    assert run(server, mod, request(server, "/sub/ownx"))[0] == Answer(403)
    assert run(server, mod, request(server, "/sub/parent"))[0] is None


def test_walk_splits_path_info(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.py").write_text("")
    root = str(tmp_path)
    assert walk(f"{root}/d/f.py/x/y", root) == (f"{root}/d/f.py", "/x/y")
    assert walk(f"{root}/d/none/x", root) == (f"{root}/d/none", "/x")
    assert walk(f"{root}/d/", root) == (f"{root}/d/", "")


# -- configuration errors ----------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("RewriteRule ^ /x [Q]", "unknown flag 'Q'"),
        ("RewriteRule ^ /x L", "bad flag delimiters"),
        ("RewriteRule ( /x", "cannot compile regular expression '('"),
        ("RewriteRule ^ /x [R=299]", "invalid HTTP response code '299' for flag 'R'"),
        ("RewriteRule ^ http://b/ [P]", "proxying is not provided"),
        ("RewriteCond %{HTTPS} on [XX]", "unknown flag 'XX'"),
        ("RewriteEngine maybe", "expected On or Off, not 'maybe'"),
        ("RewriteOptions Inherit Sometimes", "unknown option 'Sometimes'"),
        ("RewriteBase /x", "RewriteBase is not allowed in the main server config"),
        ("RewriteMap m prg:/bin/cat", "would run once per server, as root"),
        ("RewriteMap m dbm:/x.db", "dbm: is not provided"),
        ("RewriteMap m int:rot13", "internal map not found:rot13"),
        ("RewriteMap m txt:/no/such/map.txt", "not found:/no/such/map.txt"),
    ],
)
def test_bad_lines_are_refused_with_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    server, problems = read(tmp_path, line + "\n")
    assert server is None
    assert any(message in str(p) and "site.conf:5" in str(p) for p in problems), [
        str(p) for p in problems
    ]


def test_posix_classes_are_read_as_pcre_reads_them(tmp_path: Path) -> None:
    body = (
        "RewriteEngine On\nRewriteRule ^/p/[[:alpha:]]+$ - [F]\n"
        "RewriteRule ^/p/[^[:digit:]]$ - [G]\n"
    )
    assert serve(tmp_path, body, "/p/abc") == Answer(403)
    assert serve(tmp_path, body, "/p/ab1") is None
    assert serve(tmp_path, body, "/p/-") == Answer(410)


def test_expr_conditions_with_captures(tmp_path: Path) -> None:
    body = (
        "RewriteEngine On\n"
        "RewriteCond expr \"%{QUERY_STRING} =~ /^id=([0-9]+)$/ && -n req('X-Ok')\"\n"
        "RewriteRule ^/e$ /item/%1? [R]\n"
    )
    assert serve(
        tmp_path, body, "/e", "id=42", headers=(("Host", "example.test"), ("X-Ok", "1"))
    ) == Redirect(302, "http://example.test/item/42")
    assert serve(tmp_path, body, "/e", "id=42") is None  # no X-Ok header
    server, problems = read(tmp_path, 'RewriteCond expr "%{QUERY_STRING} =="\n')
    assert server is None
    assert any("site.conf:5: RewriteCond: cannot compile expression" in str(p) for p in problems)


def test_dot_segments_in_a_rewritten_path(tmp_path: Path) -> None:
    body = (
        "RewriteEngine On\nRewriteRule ^/dl$ /files/%{QUERY_STRING} [L]\n"
        "RewriteRule ^/pt$ /files/%{QUERY_STRING} [PT]\n"
    )
    server, mod = module(tmp_path, body)
    r = request(server, "/dl", "../x/./y")
    assert mod.translate_name(r) is None
    assert r.filename == f"{tmp_path}/www/x/y"  # resolved, as Apache's directory walk
    r = request(server, "/pt", "../a/../b/")
    assert mod.translate_name(r) is None
    assert r.uri == "/b/"
    deep = "../" * (str(tmp_path).count("/") + 3) + "etc/hostname"
    assert mod.translate_name(request(server, "/dl", deep)) == Answer(403)  # above "/"
    assert mod.translate_name(request(server, "/pt", "../../x")) == Answer(403)


def _rules(*patterns: str) -> tuple[Rule, ...]:
    found = [parse_rule([p, "-"], ()) for p in patterns]
    assert all(isinstance(r, Rule) for r in found)
    return tuple(r for r in found if isinstance(r, Rule))


def test_per_directory_merges_as_config_perdir_merge() -> None:
    parent = RewriteDir(engine=True, base="/p/", base_set=True, directory="/d/", rules=_rules("a"))
    own = _rules("b")
    plain = parent.merge(RewriteDir(directory="/d/s/", rules=own))
    assert [r.pattern for r in plain.rules] == ["b"] and plain.engine and plain.base is None
    after = parent.merge(RewriteDir(options=frozenset({"Inherit"}), directory="/d/s/", rules=own))
    assert [r.pattern for r in after.rules] == ["b", "a"]
    before = parent.merge(
        RewriteDir(options=frozenset({"InheritBefore"}), directory="/d/s/", rules=own)
    )
    assert [r.pattern for r in before.rules] == ["a", "b"]
    kept = parent.merge(RewriteDir(options=frozenset({"MergeBase"}), directory="/d/s/"))
    assert kept.base == "/p/"  # MergeBase keeps the parent's RewriteBase
    down = RewriteDir(options=frozenset({"InheritDown"}), rules=_rules("a"))
    assert [r.pattern for r in down.merge(RewriteDir(rules=own)).rules] == ["b", "a"]
    ignoring = RewriteDir(options=frozenset({"IgnoreInherit"}), rules=own)
    assert [r.pattern for r in down.merge(ignoring).rules] == ["b"]


def test_server_merge_inherits_rules_and_maps_only_when_asked() -> None:
    main = RewriteServer(rules=_rules("m"), maps=(("x", MapSpec("int", "tolower")),))
    vhost = RewriteServer(rules=_rules("v"))
    assert [r.pattern for r in main.merge(vhost).rules] == ["v"]
    assert main.merge(vhost).map("x") is None
    inheriting = RewriteServer(options=frozenset({"Inherit"}), rules=_rules("v"))
    merged = main.merge(inheriting)
    assert [r.pattern for r in merged.rules] == ["v", "m"] and merged.map("x") is not None


def test_a_backreference_cannot_reach_the_file_system_root(tmp_path: Path) -> None:
    # prefix_stat (2.4.60): a path is taken as a file system path only when the rule
    # itself wrote its first segment; a client's /etc/... stays under DocumentRoot.
    server, mod = module(tmp_path, "RewriteEngine On\nRewriteRule ^/(.*) /$1\n")
    r = request(server, "/etc/hostname")
    mod.translate_name(r)
    assert r.filename == f"{tmp_path}/www/etc/hostname"
    server, mod = module(tmp_path, "RewriteEngine On\nRewriteRule ^/(.*) /$1 [UnsafePrefixStat]\n")
    r = request(server, "/etc/hostname")
    mod.translate_name(r)
    assert r.filename == "/etc/hostname"
    server, mod = module(tmp_path, "RewriteEngine On\nRewriteRule ^/h$ /etc/hostname\n")
    r = request(server, "/h")
    mod.translate_name(r)
    assert r.filename == "/etc/hostname"  # written by the rule: a file system path
