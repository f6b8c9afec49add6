"""djsite's home page, hello world (the benchmark's start-up check) and the measured view."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from djbench.models import Post

PAGE = 20  # posts on the page


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"name": "benchmark"})


def hello(request: HttpRequest) -> HttpResponse:
    # bench/servers.py's start-up check expects exactly this answer at "/".
    return HttpResponse("Hello, World!\n", content_type="text/plain")


def posts(request: HttpRequest) -> HttpResponse:
    """The measured view: one SQLite query (the latest posts), one template."""
    latest = Post.objects.all()[:PAGE]
    return render(request, "posts.html", {"posts": latest, "count": PAGE})
