"""docs/directives.md is generated from the directive table and must not drift from it."""

from __future__ import annotations

from pathlib import Path

from wsgihost.config import daemon_options, directives, modules
from wsgihost.config.docs import COMMAND, render

DOCS = Path(__file__).resolve().parents[2] / "docs" / "directives.md"


def test_the_directive_reference_is_up_to_date() -> None:
    assert DOCS.read_text() == render(), f"docs/directives.md is out of date: run {COMMAND}"


def test_the_reference_covers_every_directive_and_option() -> None:
    text = render()
    for record in directives.TABLE:
        name = f"<{record.name}>" if record.section else record.name
        assert f"`{name}`" in text, name
    for option in daemon_options.DAEMON_OPTIONS:
        assert f"`{option.name}=" in text, option.name
    for module in modules.PROVIDED_MODULES:
        assert module in text
    assert "## TLS" in text
