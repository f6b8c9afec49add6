"""Two Django projects in one daemon process group, side by side.

Each WSGIScriptAlias has its own (default, ``%{RESOURCE}``) application group:
mod_wsgi runs each in an interpreter of its own, wsgihost in daemon processes
of its own. Each project must answer with its own settings (its wsgi.py sets
DJANGO_SETTINGS_MODULE with ``setdefault``), its own URLconf and templates,
and without the other's modules, whichever answered first.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.differential.cases import call, view
from tests.differential.compare import Differential
from tests.differential.servers import Server

pytestmark = pytest.mark.slow

HOST = "djangos.test:{port}"

CASES = {
    # name: target
    "appgroups-site-home": "/site/",
    "appgroups-site-redirect": "/site/go/",
    "appgroups-site-404": "/site/which/",  # the blog's URL, not the site's
    "appgroups-blog-index": "/blog/",
    "appgroups-blog-which": "/blog/which/",
    "appgroups-blog-404": "/blog/form/",  # the site's URL, not the blog's
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_two_django_projects_in_one_group(diff: Differential, case: str) -> None:
    def flow(server: Server) -> Any:
        return view(call(server, "GET", CASES[case], HOST), diff.masker(server))

    diff.check(case, flow)


def test_each_project_keeps_its_own_settings_after_the_other_answered(diff: Differential) -> None:
    def flow(server: Server) -> Any:
        # The site, then the blog, then the site again: each in its own settings.
        return [
            view(call(server, "GET", target, HOST), diff.masker(server))
            for target in ("/site/", "/blog/which/", "/site/go/", "/blog/")
        ]

    diff.check("appgroups-interleaved", flow)
