"""mod_deflate and the output-filter seam: the directives read, the filter chosen for
a response as mod_deflate chooses it, the headers it changes, the gzip stream it
makes piece by piece, and how the front end frames what it makes."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import pytest

from wsgihost.config import load
from wsgihost.config.model import Server
from wsgihost.frontend import filtered
from wsgihost.mods.deflate import DeflateModule, Gzip, accepts_gzip, add_vary
from wsgihost.pipeline import Module, OutHeaders, Pipeline, RequestState
from wsgihost.pipeline.hooks import BodyFilter
from wsgihost.pipeline.runner import fixup_vary
from wsgihost.routing import Refusal, Router


def read(tmp_path: Path, text: str) -> tuple[Server | None, list[str]]:
    (tmp_path / "www").mkdir(exist_ok=True)
    (tmp_path / "www" / "page.html").write_bytes(b"<p>hello</p>\n" * 100)
    conf = tmp_path / "site.conf"
    conf.write_text(f"Listen 127.0.0.1:8080\nDocumentRoot {tmp_path}/www\n{text}")
    server, problems = load(str(conf), {}, {})
    return server, [str(p).replace(str(tmp_path) + "/", "") for p in problems]


def request(server: Server, path: str, accept: str | None = "gzip", host: bytes = b"") -> Any:
    target = Router(server).route("127.0.0.1", 8080, host or None, path.encode())
    assert not isinstance(target, Refusal)
    headers = [(b"Accept-Encoding", accept.encode())] if accept is not None else []
    r = RequestState("GET", path, "", headers, target.host)
    r.settings = target.settings
    r.target = target
    return r


def choose(
    server: Server, r: RequestState, headers: list[tuple[str, str]], status: int = 200
) -> tuple[list[tuple[str, str]], Any]:
    pipeline = Pipeline([DeflateModule(server)])
    return pipeline.choose_filter(r, status, headers, None)


HTML = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "1300")]


# -- Accept-Encoding and Vary ------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "gzip"),
    [
        ("gzip", True),
        ("GZIP", True),
        ("deflate, gzip;q=0.5", True),
        ("gzip;q=0", False),
        ("gzip; q=0.000", False),
        ("gzip;q=0.001", True),
        ("x-gzip", False),
        ("*", False),
        ("identity", False),
        (None, False),
    ],
)
def test_accept_encoding_is_read_as_mod_deflate_reads_it(accept: str | None, gzip: bool) -> None:
    assert accepts_gzip(accept) is gzip


def test_vary_gets_the_name_once_in_one_header_joined_by_commas() -> None:
    headers = [("Vary", "Cookie"), ("X", "1"), ("vary", "accept-encoding, Origin")]
    add_vary(headers, "Accept-Encoding")
    assert headers == [("Vary", "Cookie,accept-encoding,Origin"), ("X", "1")]
    assert fixup_vary([("Vary", "A, B"), ("X", "1"), ("Vary", "b c")]) == [
        ("Vary", "A,B,c"),
        ("X", "1"),
    ]


# -- the gzip stream ------------------------------------------------------------------------


def test_the_stream_is_gzip_made_piece_by_piece_in_bounded_memory(tmp_path: Path) -> None:
    server, _ = read(tmp_path, "SetOutputFilter DEFLATE\n")
    assert server is not None
    flt = Gzip(DeflateModule(server).main_config, 0)
    piece = bytes(range(256)) * 256  # 64 KiB
    out = bytearray()
    for _ in range(160):  # 10 MiB through the filter, never more than a piece at once
        made = flt.feed(piece)
        assert len(made) < 2 * len(piece)
        out += made
    out += flt.finish()
    assert zlib.decompress(bytes(out), 31) == piece * 160
    assert out[:3] == b"\x1f\x8b\x08"


def test_an_apps_pieces_come_out_whole_and_a_static_files_in_one_stream(tmp_path: Path) -> None:
    server, _ = read(tmp_path, "SetOutputFilter DEFLATE\n")
    assert server is not None
    config = DeflateModule(server).main_config
    piece = b"a piece of a streamed page\n" * 3
    flushed = Gzip(config, 0, flush=True).feed(piece)
    assert zlib.decompressobj(31).decompress(flushed) == piece  # readable at once
    assert zlib.decompressobj(31).decompress(Gzip(config, 8096).feed(piece)) == b""


# -- which responses are compressed -----------------------------------------------------------


def test_by_type_compresses_a_200_of_a_listed_type_and_changes_its_headers(
    tmp_path: Path,
) -> None:
    server, problems = read(tmp_path, "AddOutputFilterByType DEFLATE text/html text/plain\n")
    assert server is not None and problems == []
    r = request(server, "/app")
    headers, flt = choose(server, r, [*HTML, ("ETag", '"abc"'), ("Vary", "Cookie")])
    assert isinstance(flt, Gzip)
    assert dict(headers) == {
        "Content-Type": "text/html; charset=utf-8",
        "ETag": '"abc-gzip"',
        "Vary": "Cookie,Accept-Encoding",
        "Content-Encoding": "gzip",
    }
    # Another status, another type: no filter, and nothing said about Accept-Encoding.
    assert choose(server, r, HTML, status=404) == (HTML, None)
    svg = [("Content-Type", "image/svg+xml")]
    assert choose(server, r, svg) == (svg, None)


def test_without_gzip_accepted_the_response_still_varies(tmp_path: Path) -> None:
    server, _ = read(tmp_path, "AddOutputFilterByType DEFLATE text/html\n")
    assert server is not None
    headers, flt = choose(server, request(server, "/app", accept=None), HTML)
    assert flt is None
    assert ("Vary", "Accept-Encoding") in headers
    assert ("Content-Length", "1300") in headers


@pytest.mark.parametrize(
    ("env", "extra", "compressed"),
    [
        ({"no-gzip": "1"}, [], False),
        ({"No-Gzip": "1"}, [], False),  # variables are named in any case
        ({"force-gzip": "1", "gzip-only-text/html": "0"}, [], True),
        ({"gzip-only-text/html": "1"}, [], True),  # it is text/html
        ({}, [("Content-Encoding", "gzip")], False),
        ({}, [("Content-Range", "bytes 0-9/100")], False),
        ({}, [("Content-Encoding", "identity")], True),
    ],
)
def test_what_leaves_a_response_alone(
    tmp_path: Path, env: dict[str, str], extra: list[tuple[str, str]], compressed: bool
) -> None:
    server, _ = read(tmp_path, "SetOutputFilter DEFLATE\n")
    assert server is not None
    r = request(server, "/app")
    r.env.update(env)
    headers, flt = choose(server, r, HTML + extra)
    assert (flt is not None) is compressed
    if not compressed:
        assert "Vary" not in dict(headers)


def test_a_small_static_file_is_left_alone(tmp_path: Path) -> None:
    server, _ = read(tmp_path, "SetOutputFilter DEFLATE\n")
    assert server is not None
    r = request(server, "/page.html")
    small = [("Content-Type", "text/html"), ("Content-Length", "68")]
    assert choose(server, r, small) == (small, None)
    _, flt = choose(server, r, [("Content-Type", "text/html"), ("Content-Length", "69")])
    assert flt is not None and flt.hold == 8096  # a static file's small result keeps a length


def test_add_output_filter_goes_by_the_file_extension(tmp_path: Path) -> None:
    server, _ = read(
        tmp_path,
        "AddOutputFilter DEFLATE .html\n<Location /plain>\nRemoveOutputFilter html\n</Location>\n",
    )
    assert server is not None
    _, flt = choose(server, request(server, "/page.html"), HTML)
    assert flt is not None
    _, none = choose(server, request(server, "/plain/page.html"), HTML)
    assert none is None


def test_server_settings_are_the_main_servers_unless_a_host_gives_its_own(
    tmp_path: Path,
) -> None:
    server, problems = read(
        tmp_path,
        "DeflateCompressionLevel 1\nDeflateBufferSize 100\n"
        "<VirtualHost *:8080>\nServerName plain.test\n</VirtualHost>\n"
        "<VirtualHost *:8080>\nServerName own.test\nDeflateAlterETag Remove\n</VirtualHost>\n",
    )
    assert server is not None and problems == []
    module = DeflateModule(server)
    plain, own = server.vhosts
    assert module.host_config.get(id(plain), module.main_config).level == 1
    assert module.host_config[id(own)].level == -1  # the defaults, not the main server's
    assert module.host_config[id(own)].alter_etag == "Remove"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("DeflateCompressionLevel 10", "DeflateCompressionLevel: Compression Level"),
        ("DeflateBufferSize 0", "DeflateBufferSize: DeflateBufferSize should be positive"),
        ("DeflateAlterETag Sometimes", "DeflateAlterETag: DeflateAlterETAG accepts only"),
        ("SetOutputFilter INCLUDES;DEFLATE", "warning: SetOutputFilter: output filter INCLUDES"),
        ("DeflateWindowSize 8", "warning: DeflateWindowSize: zlib takes a raw window"),
    ],
)
def test_bad_lines_are_refused_or_warned_about(tmp_path: Path, line: str, problem: str) -> None:
    _, problems = read(tmp_path, line + "\n")
    assert len(problems) == 1
    assert problem in problems[0]
    assert problems[0].startswith("site.conf:3:")
    # an error unless the test names a warning: the configuration is then refused
    assert ("warning" in problems[0]) is problem.startswith("warning")


# -- framing what the filter makes (frontend/filtered.py) -------------------------------------


class _Request:
    """The two things filtered.steps reads of a front-end Request."""

    def __init__(self, state: RequestState, is_head: bool = False) -> None:
        self.state = state
        self.is_head = is_head


def _Req(state: RequestState, is_head: bool = False) -> Any:
    return _Request(state, is_head)


def test_a_held_head_goes_out_with_a_length_when_the_result_stays_small(tmp_path: Path) -> None:
    server, _ = read(tmp_path, "SetOutputFilter DEFLATE\n")
    assert server is not None
    pipeline = Pipeline([DeflateModule(server)])
    req = _Req(request(server, "/page.html"))
    head = ("200 OK", [("Content-Type", "text/html"), ("Content-Length", "2600")])
    first = filtered.steps(pipeline, req, head, b"", False)
    assert first == [(None, b"", False, 0, True)]  # held: nothing written yet
    held = filtered.steps(pipeline, req, None, b"<p>hello</p>\n" * 100, False)
    assert held == [(None, b"", False, 1300, True)]
    [(sent_head, body, end, _, length)] = filtered.steps(
        pipeline, req, None, b"<p>hello</p>\n" * 100, True
    )
    assert sent_head[1][-1] == ("Content-Encoding", "gzip") and end and length
    assert zlib.decompress(body, 31) == b"<p>hello</p>\n" * 200


def test_an_apps_compressed_body_is_never_given_a_length(tmp_path: Path) -> None:
    server, _ = read(tmp_path, "SetOutputFilter DEFLATE\n")
    assert server is not None
    pipeline = Pipeline([DeflateModule(server)])
    r = request(server, "/app")
    r.target = None  # not a static file
    [(head, body, end, _, length)] = filtered.steps(
        pipeline,
        _Req(r),
        ("200 OK", HTML),
        b"x" * 1300,
        True,
    )
    assert head is not None and end and not length
    assert zlib.decompress(body, 31) == b"x" * 1300


# -- the seam, with a module of another kind ------------------------------------------------


class _Upper(BodyFilter):
    def feed(self, data: bytes) -> bytes:
        return data.upper()


class _Shout(Module):
    name = "shout"

    def output_filter(self, r: RequestState, out: OutHeaders, size: int | None) -> BodyFilter:
        out.headers.append(("X-Shouted", "yes"))
        return _Upper()


def test_any_module_may_filter_bodies_and_filters_chain_in_module_order(tmp_path: Path) -> None:
    server, _ = read(tmp_path, "SetOutputFilter DEFLATE\n")
    assert server is not None
    pipeline = Pipeline([_Shout(), DeflateModule(server)])
    assert len(pipeline.filters) == 2 and not Pipeline([]).filters
    r = request(server, "/app")
    r.target = None
    head = ("200 OK", [("Content-Type", "text/html")])
    [(sent, first, end, counted, _)] = filtered.steps(pipeline, _Req(r), head, b"abc" * 100, False)
    assert ("X-Shouted", "yes") in sent[1] and ("Content-Encoding", "gzip") in sent[1]
    assert not end and counted == 300  # the producer's bytes, not the filtered ones
    [(none, rest, end, _, _)] = filtered.steps(pipeline, _Req(r), None, b"def", True)
    assert none is None and end
    assert zlib.decompress(first + rest, 31) == b"ABC" * 100 + b"DEF"
