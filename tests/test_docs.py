"""The README is the front door and the documentation site (mkdocs.yml, docs/) the rest: the
README starts with the two commands, stays short and links only to what exists; the site builds
strictly with every page in its navigation; the tables that code generates are the code's."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

from orders.lifecycle import markdown_table

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def test_the_transition_table_in_the_docs_is_the_code_table():
    assert markdown_table() in (DOCS / "order-model.md").read_text()


def test_the_readme_starts_with_the_two_commands():
    blocks = README.read_text().split("```")[1::2]
    assert [block.strip() for block in blocks[:2]] == ["./scripts/serve", "./scripts/test"]


def test_the_readme_is_a_short_front_page_whose_links_resolve():
    text = README.read_text()
    assert len(text.splitlines()) < 250
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if not re.match(r"[a-z]+://", link)]
    assert local, "the README links to the documentation"
    assert [link for link in local if not (ROOT / link).exists()] == []


def nav_pages(items) -> list[str]:
    pages: list[str] = []
    for item in items:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


def test_every_page_of_the_site_is_in_its_navigation():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    pages = {str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md")}
    assert sorted(nav_pages(config["nav"])) == sorted(pages)


def test_the_site_builds_strictly(tmp_path):
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
    )
    assert built.returncode == 0, built.stderr[-3000:]
    assert (tmp_path / "site" / "contracts" / "order-process" / "index.html").exists()
