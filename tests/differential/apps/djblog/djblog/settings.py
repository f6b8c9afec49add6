"""A second small Django project, beside djsite in one daemon process group.

In one interpreter the second project to load would run with the first one's
settings (Django's settings are process-wide). Each application group
(mod_wsgi: an interpreter; wsgihost: a set of processes) keeps them apart.
"""

SECRET_KEY = "differential-suite-blog-not-a-secret-" + "y" * 32
DEBUG = False
ALLOWED_HOSTS = ["djangos.test"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "djblog.urls"
WSGI_APPLICATION = "djblog.wsgi.application"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
BLOG_TITLE = "the blog"
