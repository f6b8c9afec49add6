"""The benchmark's Django project: the differential suite's djsite, plus a database.

djsite (tests/differential/apps/djsite) has no database, so its views render
templates from constants. The benchmark needs the usual shape of a real view, a
query and a template, so this copy adds one SQLite table (``Post``) and the
``/posts/`` view; djsite's own answers, recorded from Apache, stay as they are.
Middleware, sessions (signed cookies) and templates are djsite's.
"""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# A fixed key: nothing here is secret, and every server must render the same page.
SECRET_KEY = "wsgihost-benchmark-not-a-secret-" + "x" * 32
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = ["djbench"]  # for its model
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
ROOT_URLCONF = "djbench.urls"
WSGI_APPLICATION = "djbench.wsgi.application"
# bench/django.py writes the database beside the project's temporary copy, world
# readable (the app runs as www-data under Apache and wsgihost started as root).
# Django's default CONN_MAX_AGE (0): a connection per request, as most sites run.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {"context_processors": ["django.template.context_processors.csrf"]},
    }
]
USE_TZ = True
STATIC_URL = "/static/"
