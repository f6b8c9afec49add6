"""<If>/<ElseIf>/<Else> merged per request by the pipeline (mods/ifsections.py): after
routing's sections, with the Vary an expression's headers call for, an
expression that fails counted false and logged, and the model (expressions
included) sent to the workers intact."""

from __future__ import annotations

import pickle
from pathlib import Path

from wsgihost.config import load
from wsgihost.config.model import Server
from wsgihost.mods.env import EnvModule
from wsgihost.mods.ifsections import IfModule, add_vary
from wsgihost.pipeline import Pipeline, RequestState, registry
from wsgihost.routing import Refusal, Router

SITE = """\
<Location /app>
    SetEnv WHERE location
    <If "req('X-Mode') == 'a'">
        SetEnv WHERE if
    </If>
    <ElseIf "%{QUERY_STRING} == 'b'">
        SetEnv WHERE elseif
    </ElseIf>
    <Else>
        SetEnv WHERE else
        <If "%{REQUEST_METHOD} == 'POST'">
            SetEnv NESTED post
        </If>
    </Else>
</Location>
<Location /app/later>
    SetEnv WHERE later
</Location>
<Location /broken>
    <If "file('/no/such/file/here') == ''">
        SetEnv BROKEN if
    </If>
</Location>
"""


def server(tmp_path: Path) -> Server:
    conf = tmp_path / "site.conf"
    conf.write_text(f"Listen 127.0.0.1:8080\nDocumentRoot {tmp_path}\n{SITE}")
    found, problems = load(str(conf), {}, {})
    assert found is not None, problems
    # As the master hands it to each front-end worker: the expressions survive it.
    return pickle.loads(pickle.dumps(found))  # type: ignore[no-any-return]


def request(
    site: Server,
    path: str,
    query: str = "",
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
) -> tuple[RequestState, list[tuple[str, str]]]:
    target = Router(site).route("127.0.0.1", 8080, None, path.encode())
    assert not isinstance(target, Refusal)
    r = RequestState(method, path, query, headers or [], target.host)
    r.settings = target.settings
    lines: list[tuple[str, str]] = []
    r.logger = lambda level, message, module: lines.append((f"{module}:{level}", message))
    pipeline = Pipeline([IfModule(), EnvModule()])
    assert pipeline.after_routing(r) is None and pipeline.before_handler(r) is None
    return r, lines


def test_the_sections_that_hold_are_merged_after_the_locations(tmp_path: Path) -> None:
    site = server(tmp_path)
    assert request(site, "/app/x")[0].env == {"WHERE": "else"}
    assert request(site, "/app/x", "b")[0].env == {"WHERE": "elseif"}
    r, _ = request(site, "/app/x", headers=[(b"X-Mode", b"a")])
    assert r.env == {"WHERE": "if"}
    # The <If> of /app outranks the later, deeper <Location>: it is merged last.
    assert request(site, "/app/later", headers=[(b"x-mode", b"a")])[0].env == {"WHERE": "if"}
    assert request(site, "/app/later")[0].env == {"WHERE": "else"}
    assert request(site, "/app/x", method="POST")[0].env == {"WHERE": "else", "NESTED": "post"}


def test_a_header_an_expression_read_goes_into_vary(tmp_path: Path) -> None:
    r, _ = request(server(tmp_path), "/app/x", headers=[(b"X-Mode", b"z")])
    assert r.headers_out == [("Vary", "X-Mode")]
    headers = [("Vary", "Accept")]
    add_vary(headers, ("X-Mode", "Cookie"))
    assert headers == [("Vary", "Accept, X-Mode, Cookie")]


def test_an_expression_that_fails_is_false_and_logged(tmp_path: Path) -> None:
    r, lines = request(server(tmp_path), "/broken")
    assert "BROKEN" not in r.env
    assert [level for level, _ in lines] == ["core:error", "core:error"]
    assert lines[0][1].startswith("Evaluation of expression from ")
    assert lines[1][1] == (
        "AH00039: Failed to evaluate <If > condition: Cannot open file /no/such/file/here"
    )


def test_the_module_is_active_only_where_if_sections_are(tmp_path: Path) -> None:
    assert "if" in [m.name for m in registry.build(server(tmp_path)).modules]
    conf = tmp_path / "plain.conf"
    conf.write_text(f"Listen 127.0.0.1:8080\nDocumentRoot {tmp_path}\n")
    plain, _ = load(str(conf), {}, {})
    assert plain is not None and "if" not in [m.name for m in registry.build(plain).modules]
