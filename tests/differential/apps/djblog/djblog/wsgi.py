"""WSGI entry point, as ``django-admin startproject`` writes it."""

import os

from django.core.wsgi import get_wsgi_application

# Set, not setdefault: as Django's "How to use Django with Apache and mod_wsgi"
# says, under mod_wsgi a second project's interpreter would otherwise inherit
# the first one's value from the process environment.
os.environ["DJANGO_SETTINGS_MODULE"] = "djblog.settings"

application = get_wsgi_application()
