"""WSGI entry point, as ``django-admin startproject`` writes it."""

import os

from django.core.wsgi import get_wsgi_application

# Set, not setdefault, as Django's page on mod_wsgi advises (see djsite).
os.environ["DJANGO_SETTINGS_MODULE"] = "djbench.settings"

application = get_wsgi_application()
