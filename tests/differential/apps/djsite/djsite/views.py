"""The views a typical small site has: a page, a form, an upload, a redirect, a session."""

import hashlib

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"name": "differential"})


def form(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return HttpResponse(
            "thanks, %s\n" % request.POST.get("name", "?"), content_type="text/plain"
        )
    return render(request, "form.html")


@require_POST
def upload(request: HttpRequest) -> JsonResponse:
    sent = request.FILES["file"]
    digest = hashlib.sha256()
    for part in sent.chunks():
        digest.update(part)
    return JsonResponse({"name": sent.name, "size": sent.size, "sha256": digest.hexdigest()})


def go(request: HttpRequest) -> HttpResponseRedirect:
    return HttpResponseRedirect("/form/")


def visit(request: HttpRequest) -> HttpResponse:
    request.session["visits"] = request.session.get("visits", 0) + 1
    return HttpResponse("visit %d\n" % request.session["visits"], content_type="text/plain")
