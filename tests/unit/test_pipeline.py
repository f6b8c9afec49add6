"""The request pipeline (wsgihost.pipeline) on its own: the phases run in Apache's
order, an outcome ends them, an internal redirect renames the environment, the
output-header hook sees every response, and a site that configures no module
gets an empty pipeline."""

from __future__ import annotations

from pathlib import Path

from wsgihost.config import load
from wsgihost.config.model import Host
from wsgihost.pipeline import (
    Answer,
    Module,
    Outcome,
    OutHeaders,
    Pipeline,
    RequestState,
    Reroute,
    registry,
)


def state(headers: list[tuple[bytes, bytes]] | None = None) -> RequestState:
    return RequestState("GET", "/a/b", "x=1", headers if headers is not None else [], Host())


class Recorder(Module):
    """A module with every hook, writing down the order it is called in."""

    def __init__(self, seen: list[str], tag: str = "", stop_at: str = "") -> None:
        self.seen = seen
        self.tag = tag
        self.stop_at = stop_at

    def _hook(self, name: str) -> Outcome | None:
        self.seen.append(self.tag + name)
        return Answer(403) if name == self.stop_at else None

    def post_read_request(self, r: RequestState) -> Outcome | None:
        return self._hook("post_read_request")

    def translate_name(self, r: RequestState) -> Outcome | None:
        return self._hook("translate_name")

    def map_to_storage(self, r: RequestState) -> Outcome | None:
        return self._hook("map_to_storage")

    def header_parser(self, r: RequestState) -> Outcome | None:
        return self._hook("header_parser")

    def type_checker(self, r: RequestState) -> Outcome | None:
        return self._hook("type_checker")

    def fixups(self, r: RequestState) -> Outcome | None:
        return self._hook("fixups")


def run_all(pipeline: Pipeline, r: RequestState) -> Outcome | None:
    return pipeline.before_routing(r) or pipeline.after_routing(r) or pipeline.before_handler(r)


def test_phases_run_in_apaches_order_module_by_module() -> None:
    seen: list[str] = []
    pipeline = Pipeline([Recorder(seen, "a:"), Recorder(seen, "b:")])
    assert run_all(pipeline, state()) is None
    phases = [
        "post_read_request",
        "translate_name",
        "map_to_storage",
        "header_parser",
        "type_checker",
        "fixups",
    ]
    assert seen == [f"{m}:{p}" for p in phases for m in "ab"]


def test_an_outcome_ends_the_phases_at_once() -> None:
    seen: list[str] = []
    pipeline = Pipeline([Recorder(seen, "a:", stop_at="translate_name"), Recorder(seen, "b:")])
    assert run_all(pipeline, state()) == Answer(403)
    assert seen == ["a:post_read_request", "b:post_read_request", "a:translate_name"]


def test_a_redirected_request_skips_post_read_request() -> None:
    seen: list[str] = []
    pipeline = Pipeline([Recorder(seen)])
    again = state().redirected("/elsewhere", "")
    assert pipeline.before_routing(again) is None
    assert seen == ["translate_name"]


class OnlyFixups(Module):
    def fixups(self, r: RequestState) -> Outcome | None:
        r.set_env("SEEN", "1")
        return None


def test_only_the_hooks_a_module_overrides_are_called() -> None:
    pipeline = Pipeline([OnlyFixups()])
    assert pipeline.uses("fixups")
    for phase in ("post_read_request", "translate_name", "header_parser", "output_headers"):
        assert not pipeline.uses(phase)
    r = state()
    pipeline.before_handler(r)
    assert r.env == {"SEEN": "1"}


def test_an_internal_redirect_renames_the_environment() -> None:
    headers = [(b"Host", b"example.test")]
    first = state(headers)
    first.env = {"FOO": "bar"}
    first.notes["kept"] = "no"
    first.err_headers_out.append(("X-Always", "1"))
    first.status = 404
    second = first.redirected("/errors/404", "")
    assert second.uri == "/errors/404" and second.args == ""
    assert second.env == {
        "REDIRECT_FOO": "bar",
        "REDIRECT_STATUS": "404",
        "REDIRECT_URL": "/a/b",
        "REDIRECT_QUERY_STRING": "x=1",
    }
    assert second.prev is first and second.redirects == 1
    assert second.headers_in is headers  # the same request headers (r->headers_in)
    assert second.err_headers_out == [("X-Always", "1")]
    assert second.notes == {}  # Apache starts the notes afresh
    assert not second.begun
    third = second.redirected("/again", "y=2")
    assert third.redirects == 2 and third.env["REDIRECT_REDIRECT_FOO"] == "bar"
    assert third.env["REDIRECT_REDIRECT_QUERY_STRING"] == "x=1"
    assert "REDIRECT_QUERY_STRING" not in third.env  # the second request had no query


def test_a_reroute_is_an_outcome_like_any_other() -> None:
    class Rewrite(Module):
        def fixups(self, r: RequestState) -> Outcome | None:
            return Reroute("/index.php", "q=" + r.uri)

    assert Pipeline([Rewrite()]).before_handler(state()) == Reroute("/index.php", "q=/a/b")


def test_a_reroute_at_fixups_lets_the_later_fixups_run_first() -> None:
    class Rewrite(Module):
        def fixups(self, r: RequestState) -> Outcome | None:
            return Reroute("/front")

    class Stop(Module):
        def fixups(self, r: RequestState) -> Outcome | None:
            return Answer(500)

    # As Apache's: mod_rewrite only names the redirect, mod_env's fixup still runs.
    r = state()
    assert Pipeline([Rewrite(), OnlyFixups()]).before_handler(r) == Reroute("/front")
    assert r.env == {"SEEN": "1"}
    # An answer still ends the phase.
    assert Pipeline([Rewrite(), Stop(), OnlyFixups()]).before_handler(state()) == Answer(500)


class AddHeader(Module):
    def output_headers(self, r: RequestState, out: OutHeaders) -> None:
        (out.err_headers if out.error else out.headers).append(("X-Seen", str(out.status)))


def test_output_headers_join_what_modules_added_and_the_hook_runs() -> None:
    pipeline = Pipeline([AddHeader()])
    r = state()
    r.headers_out.append(("X-Success", "1"))
    r.err_headers_out.append(("X-Always", "1"))
    app = [("Content-Type", "text/plain")]
    sent = pipeline.output(r, 200, app)
    assert sent == [
        ("X-Always", "1"),
        ("Content-Type", "text/plain"),
        ("X-Success", "1"),
        ("X-Seen", "200"),
    ]
    assert app == [("Content-Type", "text/plain")]  # the app's own list is left alone
    # The server's own error page: headers_out is not sent, err_headers_out is.
    page = pipeline.output(r, 404, [("Content-Type", "text/html")], error=True)
    assert page == [("X-Always", "1"), ("X-Seen", "404"), ("Content-Type", "text/html")]


def test_with_nothing_to_do_the_output_hook_hands_back_the_same_list() -> None:
    headers = [("Content-Type", "text/plain")]
    assert Pipeline([OnlyFixups()]).output(state(), 200, headers) is headers


def test_request_headers_and_environment_are_apaches_tables() -> None:
    headers = [(b"Accept", b"a"), (b"accept", b"b"), (b"X-One", b"1")]
    r = state(headers)
    assert r.header("ACCEPT") == "a, b"  # merged as Apache merges them on reading
    r.set_header("x-one", "2")
    r.add_header("X-Two", "3")
    r.unset_header("accept")
    assert headers == [(b"x-one", b"2"), (b"X-Two", b"3")]  # the list the head holds
    r.set_env("Foo", "1")
    r.set_env("FOO", "2")  # one variable, the first spelling kept
    assert r.env == {"Foo": "2"}
    r.unset_env("foo")
    assert r.env == {}


def site(tmp_path: Path, text: str) -> Pipeline:
    conf = tmp_path / "site.conf"
    conf.write_text(f"Listen 127.0.0.1:8080\nDocumentRoot {tmp_path}\n{text}")
    server, problems = load(str(conf), {}, {})
    assert server is not None, problems
    return registry.build(server)


def test_a_site_that_configures_no_module_gets_an_empty_pipeline(tmp_path: Path) -> None:
    pipeline = site(tmp_path, f"<Directory {tmp_path}>\n  Require all granted\n</Directory>\n")
    assert not pipeline and pipeline.modules == ()


def test_a_module_is_active_only_where_it_is_configured(tmp_path: Path) -> None:
    pipeline = site(tmp_path, "<Location /x>\n  SetEnv A 1\n</Location>\n")
    assert [m.name for m in pipeline.modules] == ["env"]


def test_an_htaccess_file_may_configure_a_module(tmp_path: Path) -> None:
    pipeline = site(tmp_path, f"<Directory {tmp_path}>\n  AllowOverride FileInfo\n</Directory>\n")
    assert "env" in [m.name for m in pipeline.modules]
