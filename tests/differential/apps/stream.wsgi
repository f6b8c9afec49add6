"""A response streamed in many pieces with no Content-Length.

``?size=N&chunk=M`` yields N bytes in pieces of M; the bytes are a pure
function of their offset, so a client can check every one it got.
"""

from urllib.parse import parse_qs

PATTERN = bytes(range(256)) * 256  # 64 KiB


def piece(offset, length):
    """``length`` bytes of the stream from ``offset``: the pattern, each 64 KiB block tagged."""
    out = bytearray()
    while length > 0:
        block = offset // len(PATTERN)
        start = offset % len(PATTERN)
        data = (b"[block %08d]" % block + PATTERN)[: len(PATTERN)][start : start + length]
        out += data
        offset += len(data)
        length -= len(data)
    return bytes(out)


def application(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    size = int(query.get("size", ["4194304"])[0])
    chunk = int(query.get("chunk", ["16384"])[0])
    start_response("200 OK", [("Content-Type", "application/octet-stream")])

    def body():
        for offset in range(0, size, chunk):
            yield piece(offset, min(chunk, size - offset))

    return body()
