"""Real mod_wsgi site files (tests/corpora/sitefiles) through configtest, as written and in a tree.

Every file is checked two ways (see :mod:`tests.functional.sitecorpus` for
the fixture each one gets): as written, as the main configuration on its
own, and inside a copy of Debian 12's /etc/apache2. The verdict, "accepted"
or the features its refusals are for with the issue that owns each, must be
the one tests/corpora/sitefiles/expectations.json records, in both
directions: a file newly refused fails, and so does one newly accepted whose
expectation still lists a refusal. When the issues that own those features
land, record again:

    WSGIHOST_RECORD=1 python -m pytest tests/functional/test_site_corpus.py -s

which rewrites expectations.json and prints the summary table (also printed
with ``-s`` on every run). Apache's own verdict on each file (``apache2 -t``
in the same tree) is in MANIFEST.json, recorded by
``python -m tests.functional.sitecorpus_apache --record-apache``.

The verdicts come from the configuration loader in-process (the whole corpus
takes seconds); test_the_real_command_gives_the_same_verdict runs the real
``wsgihost configtest`` on two of them to show the two agree.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.functional import sitecorpus
from tests.functional.sitecorpus import CORPUS, EXPECTATIONS, Entry, entries, verdict
from wsgihost.config import load

ENTRIES = entries()
MODES = ("as written", "in a tree")
RECORD = os.environ.get("WSGIHOST_RECORD") == "1"

Verdict = str | list[str]


def observe(entry: Entry, mode: str, tmp: Path) -> Verdict:
    root = tmp / "root"
    build = sitecorpus.build_written if mode == "as written" else sitecorpus.build_tree
    built = build(entry, root)
    _, problems = load(str(built.config), environ=built.environ)
    return verdict(problems)


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Verdict]]:
    return {
        e.name: {mode: observe(e, mode, tmp_path_factory.mktemp(e.name)) for mode in MODES}
        for e in ENTRIES
    }


def summary(observed: dict[str, dict[str, Verdict]]) -> str:
    """The table the lead engineer reads: how many pass, and what blocks the rest."""
    apache = {e.name: bool(e.apache.get("accepts")) for e in ENTRIES}
    lines = [f"{len(ENTRIES)} site files; Apache accepts {sum(apache.values())} (in a tree)"]
    for mode in MODES:
        passed = [n for n, v in observed.items() if v[mode] == "accepted"]
        of_apache = [n for n in passed if apache[n]]
        share = 100 * len(of_apache) / max(1, sum(apache.values()))
        lines.append(
            f"  {mode:<11}: configtest accepts {len(passed)}; of those Apache accepts, "
            f"{len(of_apache)} ({share:.0f}%)"
        )
    lines.append("refusals by owner (files: as written / in a tree / in a tree, of Apache's):")
    counts = {m: Counter(lab for v in observed.values() for lab in _labels(v[m])) for m in MODES}
    blocking = Counter(
        lab for n, v in observed.items() if apache[n] for lab in _labels(v[MODES[1]])
    )
    for owner in sorted(set(counts[MODES[0]]) | set(counts[MODES[1]])):
        written, tree = counts[MODES[0]][owner], counts[MODES[1]][owner]
        lines.append(f"  {written:>3} / {tree:>3} / {blocking[owner]:>3}  {owner}")
    return "\n".join(lines)


def _labels(v: Verdict) -> list[str]:
    return [] if v == "accepted" else list(v)


def test_record_or_print_the_summary(observed: dict[str, dict[str, Verdict]]) -> None:
    if RECORD:
        EXPECTATIONS.write_text(json.dumps(observed, indent=1, sort_keys=True) + "\n")
    print("\n" + summary(observed))
    # Every file has an expectation, and no expectation is for a file that is gone.
    assert set(json.loads(EXPECTATIONS.read_text())) == {e.name for e in ENTRIES}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_verdict_is_the_expected_one(
    entry: Entry, mode: str, observed: dict[str, dict[str, Verdict]]
) -> None:
    expected = json.loads(EXPECTATIONS.read_text())[entry.name][mode]
    got = observed[entry.name][mode]
    assert got == expected, (
        f"{entry.name} ({mode}): configtest now gives {got}, expectations.json says "
        f"{expected}; if the change is intended, record again with WSGIHOST_RECORD=1"
    )


def test_every_refusal_is_owned(observed: dict[str, dict[str, Verdict]]) -> None:
    """A refusal the owner table cannot place is a bug in wsgihost or in this corpus."""
    unowned = {
        (name, label)
        for name, verdicts in observed.items()
        for v in verdicts.values()
        for label in _labels(v)
        if label.startswith("unowned")
    }
    assert not unowned


def test_the_corpus_records_its_origins_and_licences() -> None:
    raw = json.loads((CORPUS / "MANIFEST.json").read_text())["files"]
    assert len(raw) >= 45
    assert len({e["name"] for e in raw}) == len(raw)
    for e in raw:
        assert re.fullmatch(r"[0-9a-f]{40}", e["commit"]), e["name"]
        assert e["url"] == f"https://github.com/{e['repository']}/blob/{e['commit']}/{e['path']}"
        assert e["licence"] and e["licence_files"], e["name"]
        for licence in e["licence_files"]:
            assert (CORPUS / licence).is_file(), licence
        assert (CORPUS / e["file"]).is_file(), e["file"]
        assert isinstance(e["apache"]["accepts"], bool), e["name"]
    # Files are kept unchanged; what a template needs is recorded, not edited in.
    for entry in ENTRIES:
        text = (CORPUS / entry.file).read_text()
        assert all(placeholder in text for placeholder in entry.render), entry.name


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_the_fixture_only_moves_paths_under_its_root(entry: Entry, tmp_path: Path) -> None:
    """The recipe changes nothing but where paths point: take the root out and the
    file is as written (rendered), and everything it created is inside the root."""
    root = tmp_path / "root"
    built = sitecorpus.build_written(entry, root)
    assert built.config.read_text().replace(str(root), "") == entry.text()
    fixture = sitecorpus.Fixture(str(root), str(root))
    sitecorpus.relocate(entry.text(), str(root), fixture, sitecorpus.moved_environ(entry, root))
    claimed = fixture.dirs | fixture.files | fixture.scripts | fixture.maybe | fixture.includes
    outside = sorted(p for p in claimed if p != str(root) and not p.startswith(f"{root}/"))
    assert not outside, f"{entry.name} names paths the fixture did not move: {outside}"


def test_the_real_command_gives_the_same_verdict(tmp_path: Path) -> None:
    """``wsgihost configtest`` itself, on one file it accepts and one it refuses."""
    expectations = json.loads(EXPECTATIONS.read_text())
    by_name = {e.name: e for e in ENTRIES}
    accepted = next(n for n, v in expectations.items() if v["in a tree"] == "accepted")
    refused = next(n for n, v in expectations.items() if v["in a tree"] != "accepted")
    for name, code in ((accepted, 0), (refused, 1)):
        built = sitecorpus.build_tree(by_name[name], tmp_path / name)
        run = subprocess.run(
            [sys.executable, "-m", "wsgihost", "configtest", "--config", str(built.config)],
            capture_output=True,
            text=True,
            env={**os.environ, **built.environ},
            timeout=60,
        )
        assert run.returncode == code, run.stdout + run.stderr
        if code == 0:
            assert "Syntax OK" in run.stdout + run.stderr
        else:
            # Each refusal names the file and line of the site file it is in.
            site = f"{built.server_root}/sites-enabled/{name}.conf:"
            assert re.search(re.escape(site) + r"\d+: ", run.stdout + run.stderr)
