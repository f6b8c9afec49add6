"""Which project, settings and URLconf answered: they must be the blog's own."""

import os
import sys

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


def index(request: HttpRequest) -> HttpResponse:
    return HttpResponse("%s\n" % settings.BLOG_TITLE, content_type="text/plain")


def which(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "settings": settings.SETTINGS_MODULE,
            "environ": os.environ.get("DJANGO_SETTINGS_MODULE"),
            "urlconf": settings.ROOT_URLCONF,
            # The other project's modules are not loaded here.
            "djsite_loaded": "djsite" in sys.modules,
            "script_name": request.META.get("SCRIPT_NAME"),
        }
    )
