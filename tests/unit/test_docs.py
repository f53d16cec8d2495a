"""The documents stay honest: every page is in the site, every setting and benchmark documented.

The site itself (links, anchors, docstrings) is checked by ``mkdocs build --strict`` in
``make lint``; these are the checks MkDocs cannot make.
"""

from __future__ import annotations

import re
from pathlib import Path

from shancheng.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def _nav_pages(mkdocs_yml: str) -> set[str]:
    """Return the pages named in the ``nav:`` block (``- Title: page.md`` or ``- page.md``)."""
    nav = mkdocs_yml[mkdocs_yml.index("\nnav:\n") :]
    return set(re.findall(r"^\s+- (?:[^:\n]+: )?(\S+\.md)\s*$", nav, flags=re.MULTILINE))


def _section(markdown: str, heading: str) -> str:
    """Return the text under ``## heading`` up to the next second-level heading."""
    start = markdown.index(f"\n## {heading}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end != -1 else len(markdown)]


def test_every_docs_page_is_in_the_nav() -> None:
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    nav = _nav_pages((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert pages - nav == set(), "pages missing from mkdocs.yml's nav"
    assert nav - pages == {"cli.md"}, "the nav names pages that do not exist (cli.md is generated)"


def test_every_setting_is_in_the_readme_table() -> None:
    table = _section((ROOT / "README.md").read_text(encoding="utf-8"), "Settings")
    documented = {
        name
        for row in table.splitlines()
        if row.startswith("| `")
        for name in re.findall(r"`(\w+)`", row.split("|")[1])
    }
    assert set(Settings.model_fields) - documented == set(), "settings missing from the README"
    assert documented - set(Settings.model_fields) == set(), "the README lists unknown settings"


def test_every_benchmark_has_a_section_in_results() -> None:
    results = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^## (\w+) — ", results, flags=re.MULTILINE))
    scripts = {p.stem for p in (ROOT / "benchmarks").glob("*.py")}
    assert scripts - sections == set(), "benchmarks without a section in RESULTS.md"
    assert sections - scripts == set(), "RESULTS.md sections without a benchmark script"
