"""Copies of the distribution trees, ready to serve from a temporary folder.

Each copy is the tree as shipped with only what a test machine needs changed:
the port (a free one, in ``Listen`` and ``<VirtualHost>``), the folders the
tree names under ``/var`` (pointed into the temporary folder), and a mod_wsgi
site enabled the way each distribution does it (Debian: a file in
``sites-available/`` and a symbolic link in ``sites-enabled/``; RHEL: a file
in ``conf.d/``, and ``conf.modules.d/10-wsgi-python3.conf`` as RHEL's
python3-mod_wsgi package installs it). The folder is world-readable, since
both Apache and wsgihost run the site as www-data when started as root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

TREES = Path(__file__).resolve().parent
APP = TREES / "app.wsgi"
STATIC_TEXT = "a static file, served by the distribution's DocumentRoot\n"
INDEX_HTML = "<html><body>the default site's index</body></html>\n"


@dataclass
class Copy:
    """A prepared tree: ``conf`` is the main file to give the server."""

    root: Path
    conf: Path
    port: int
    log_dir: Path  # where the site's logs go (${APACHE_LOG_DIR}, or RHEL's logs/)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _edit(path: Path, *pairs: tuple[str, str]) -> None:
    text = path.read_text()
    for old, new in pairs:
        assert old in text, f"{old!r} is not in {path}"
        text = text.replace(old, new)
    path.write_text(text)


def _site_files(root: Path) -> tuple[Path, Path]:
    """The document root (index.html, hello.txt) and the app folder."""
    html = root / "www" / "html"
    html.mkdir(parents=True)
    (html / "index.html").write_text(INDEX_HTML)
    (html / "hello.txt").write_text(STATIC_TEXT)
    app = root / "app"
    app.mkdir()
    shutil.copy(APP, app / "app.wsgi")
    return html, app


def _wsgi_vhost(port: int, app: Path, log_dir: str) -> str:
    return textwrap.dedent(
        f"""\
        # A mod_wsgi site as its documentation writes one.
        <VirtualHost *:{port}>
            ServerName app.test
            DocumentRoot {app}
            WSGIDaemonProcess tree-app processes=1 threads=4
            WSGIProcessGroup tree-app
            WSGIScriptAlias /app {app}/app.wsgi
            <Directory {app}>
                Require all granted
            </Directory>
            ErrorLog {log_dir}/app_error.log
            CustomLog {log_dir}/app_access.log combined
        </VirtualHost>
        """
    )


def _open_up(root: Path) -> None:
    subprocess.run(["chmod", "-R", "a+rX", str(root)], check=True)
    # Apache's ETag of a file changed within the last second is weak (W/): age
    # the site's files, so both servers see a file as old as a deployed one is.
    old = time.time() - 3600
    for path in (*root.glob("www/**/*"), *root.glob("app/*")):
        os.utime(path, (old, old))


def debian(port: int, make_log_dir: bool = True) -> Copy:
    """Debian 12's /etc/apache2 in ``ROOT/apache2``, with ``app.test`` enabled."""
    root = Path(tempfile.mkdtemp(prefix="wsgihost-debian-"))
    conf = root / "apache2"
    shutil.copytree(TREES / "debian12", conf, symlinks=True)
    for sub in ("run", "lock"):
        (root / sub).mkdir()
    log_dir = root / "log"
    if make_log_dir:
        log_dir.mkdir()
    _edit(
        conf / "envvars",
        ("/var/run/apache2$SUFFIX", f"{root}/run"),
        ("/var/lock/apache2$SUFFIX", f"{root}/lock"),
        ("/var/log/apache2$SUFFIX", f"{log_dir}"),
    )
    _edit(conf / "ports.conf", ("Listen 80\n", f"Listen {port}\n"))
    _edit(conf / "apache2.conf", ("<Directory /var/www/>", f"<Directory {root}/www/>"))
    _edit(
        conf / "sites-available" / "000-default.conf",
        ("<VirtualHost *:80>", f"<VirtualHost *:{port}>"),
        ("DocumentRoot /var/www/html", f"DocumentRoot {root}/www/html"),
    )
    _, app = _site_files(root)
    (conf / "sites-available" / "app.conf").write_text(_wsgi_vhost(port, app, "${APACHE_LOG_DIR}"))
    (conf / "sites-enabled" / "app.conf").symlink_to("../sites-available/app.conf")
    _open_up(root)
    return Copy(root, conf / "apache2.conf", port, log_dir)


RHEL_WSGI_MODULE = """\
<IfModule !wsgi_module>
    LoadModule wsgi_module modules/mod_wsgi_python3.so
</IfModule>
"""


def rhel(port: int) -> Copy:
    """A RHEL 9-shaped /etc/httpd in ``ROOT/httpd``, with ``app.test`` in conf.d/.

    ``User apache`` becomes www-data (no ``apache`` user on a Debian machine),
    and ``logs`` is a folder, where RHEL has a link to /var/log/httpd.
    """
    root = Path(tempfile.mkdtemp(prefix="wsgihost-rhel-"))
    conf = root / "httpd"
    shutil.copytree(TREES / "rhel9", conf, symlinks=True)
    log_dir = conf / "logs"
    log_dir.mkdir()
    _edit(
        conf / "conf" / "httpd.conf",
        ('ServerRoot "/etc/httpd"', f'ServerRoot "{conf}"'),
        ("Listen 80\n", f"Listen {port}\n"),
        ('DocumentRoot "/var/www/html"', f'DocumentRoot "{root}/www/html"'),
        ('<Directory "/var/www">', f'<Directory "{root}/www">'),
        ('<Directory "/var/www/html">', f'<Directory "{root}/www/html">'),
        ("User apache\nGroup apache\n", "User www-data\nGroup www-data\n"),
    )
    (conf / "conf.modules.d" / "10-wsgi-python3.conf").write_text(RHEL_WSGI_MODULE)
    _, app = _site_files(root)
    (conf / "conf.d" / "app.conf").write_text(_wsgi_vhost(port, app, "logs"))
    _open_up(root)
    return Copy(root, conf / "conf" / "httpd.conf", port, log_dir)
