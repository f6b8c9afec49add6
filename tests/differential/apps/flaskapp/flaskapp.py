"""A small Flask app: JSON, a redirect, a cookie, an upload and a streamed answer."""

import hashlib

from flask import Flask, Response, jsonify, redirect, request, stream_with_context

app = Flask(__name__)


@app.get("/json")
def as_json() -> Response:
    return jsonify(framework="flask", args=request.args.to_dict(), path=request.path)


@app.get("/go")
def go() -> Response:
    return redirect("/json?from=go")


@app.get("/cookie")
def cookie() -> Response:
    response = jsonify(set=True)
    response.set_cookie("flavour", "oatmeal", max_age=3600, httponly=True, samesite="Lax")
    return response


@app.post("/upload")
def upload() -> Response:
    sent = request.files["file"]
    data = sent.read()
    return jsonify(name=sent.filename, size=len(data), sha256=hashlib.sha256(data).hexdigest())


@app.get("/stream")
def stream() -> Response:
    @stream_with_context
    def lines():
        for i in range(2000):
            yield "line %04d %s\n" % (i, request.args.get("tag", "-") * 40)

    return Response(lines(), mimetype="text/plain")
